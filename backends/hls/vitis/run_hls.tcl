# Vitis HLS project for the SushiAccel kernel (backends/hls/kernel).
#   vitis_hls -f run_hls.tcl            ;# csim + csynth (default)
#   vitis_hls -f run_hls.tcl -tclargs csim
#   vitis_hls -f run_hls.tcl -tclargs csynth
#   vitis_hls -f run_hls.tcl -tclargs cosim   ;# csim + csynth + RTL co-simulation
#   vitis_hls -f run_hls.tcl -tclargs all     ;# ... + export_design (Vivado IP)
# Target: ZCU104 (xczu7ev-ffvc1156-2-e), 100 MHz. See README.md.
set here   [file dirname [file normalize [info script]]]
set kdir   [file normalize "$here/../kernel"]
set cpudir [file normalize "$here/../../cpu"]
set target [expr {[llength $argv] > 0 ? [lindex $argv 0] : "csynth"}]

open_project -reset sushi_accel_prj
set_top sushi_accel
add_files "$kdir/sushi_accel.c" -cflags "-std=c11 -I$kdir -I$cpudir"
add_files -tb "$here/tb_sushi_accel.c" -cflags "-std=c11 -I$kdir -I$cpudir"
open_solution -reset "zcu104" -flow_target vivado
set_part {xczu7ev-ffvc1156-2-e}
create_clock -period 10 -name default
config_interface -m_axi_addr64 -m_axi_latency 64
config_compile -pipeline_loops 0

switch -- $target {
    csim   { csim_design }
    csynth { csim_design; csynth_design }
    cosim  { csim_design; csynth_design; cosim_design -trace_level none }
    all    { csim_design; csynth_design; cosim_design; export_design -format ip_catalog }
    default { puts "unknown target $target (csim|csynth|cosim|all)"; exit 1 }
}
exit
