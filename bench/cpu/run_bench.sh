#!/bin/sh
# Interleaved libsushi / PyTorch benchmark (docs/performance.md, "CPU backend").
# The machine is shared: each round runs libsushi then PyTorch on one SubNet,
# so both sides see the same load; the summary takes medians over rounds.
#   bench/cpu/run_bench.sh BUILD_DIR [ROUNDS] [THREADS...]
set -eu
B=${1:?usage: run_bench.sh BUILD_DIR [ROUNDS] [THREADS...]}
ROUNDS=${2:-3}
shift 2 || shift $#
THREADS=${*:-1 2}
HERE=$(dirname "$0")
# OpenBLAS's kernels follow OPENBLAS_CORETYPE when set (docs/cpu.md); the
# environment decides, bench_cpu prints which kernels ran ("core").
OUT=${OUT:-bench-cpu.jsonl}
: > "$OUT"
for t in $THREADS; do
  for r in $(seq "$ROUNDS"); do
    for sc in "ofa-mbv3-w1.0 max@224" "ofa-mbv3-w1.0 min@224" "ofa-resnet50 max@224" "ofa-resnet50 min@224"; do
      set -- $sc
      "$B/bench/cpu/bench_cpu" --threads "$t" --reps 10 "$1" "$2" >> "$OUT"
      /usr/bin/python3 "$HERE/bench_torch.py" --dump-tool "$B/tests/cpu/dump_subnet" --threads "$t" --reps 10 \
        --only "$1" "$2" >> "$OUT"
    done
  done
done
/usr/bin/python3 "$HERE/bench_torch.py" --dump-tool "$B/tests/cpu/dump_subnet" --summary "$OUT"
