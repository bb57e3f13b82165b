#!/usr/bin/python3
"""Plot the persistent-buffer sweep of bench_cycle (docs/accelerator.md, "PB sweep").

    plot_pb_sweep.py [--bench PATH | --csv SWEEP.csv] [--out docs/img/pb_sweep.png]

Without --csv it runs `bench_cycle --no-perf` (found in build-cycle/ or
build/, or given by --bench) and plots its stdout. Two rows (ofa-resnet50,
ofa-mbv3-w1.0) x two columns (latency, off-chip energy), each relative to the
same SubNet with no PB, one line per (preset, SubNet); dashed verticals mark
the presets' PB sizes. Uses matplotlib when importable, else gnuplot.
"""
import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FAMILIES = ["ofa-resnet50", "ofa-mbv3-w1.0"]
METRICS = [("latency_ms", "latency / latency without PB"),
           ("energy_offchip_mj", "off-chip energy / without PB")]
PRESET_PB_MIB = {"zcu104": 3.0, "u50": 22.0}  # backends/cycle/model.c presets


def find_bench(explicit):
    if explicit:
        return explicit
    for build in ("build-cycle", "build"):
        p = os.path.join(ROOT, build, "bench", "cycle", "bench_cycle")
        if os.access(p, os.X_OK):
            return p
    sys.exit("bench_cycle not found: build it or pass --bench / --csv")


def load(args):
    if args.csv:
        with open(args.csv, newline="") as f:
            text = f.read()
    else:
        text = subprocess.run([find_bench(args.bench), "--no-perf"], check=True, capture_output=True,
                              text=True).stdout
    series = {}  # (family, preset, subnet) -> list of rows
    for r in csv.DictReader(io.StringIO(text)):
        series.setdefault((r["supernet"], r["preset"], r["subnet"]), []).append(r)
    return series


def relative(rows, key):
    base = float(rows[0][key])
    return [(float(r["pb_mib"]), float(r[key]) / base if base else 1.0) for r in rows]


def label(preset, subnet, rows):
    mib = int(rows[0]["subnet_weight_bytes"]) / 2 ** 20
    return "%s, %s SubNet (%.1f MiB)" % (preset, subnet, mib)


def plot_matplotlib(series, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
    for i, fam in enumerate(FAMILIES):
        for j, (key, ylabel) in enumerate(METRICS):
            ax = axes[i][j]
            for (f, preset, subnet), rows in sorted(series.items()):
                if f != fam:
                    continue
                xs, ys = zip(*relative(rows, key))
                ax.plot(xs, ys, "-" if preset == "zcu104" else "--", label=label(preset, subnet, rows))
            for p, mib in PRESET_PB_MIB.items():
                ax.axvline(mib, color="grey", linestyle=":", linewidth=1)
            ax.set_title(fam)
            ax.set_ylabel(ylabel)
            ax.grid(True, alpha=0.3)
            if i == 1:
                ax.set_xlabel("persistent buffer (MiB)")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_gnuplot(series, out):
    tmp = tempfile.mkdtemp(prefix="pb_sweep_")
    try:
        lines = ['set terminal pngcairo size 1200,1000 font "Sans,9"', 'set output "%s"' % out,
                 "set multiplot layout 2,2", "set grid", "set key below font ',8' maxrows 2",
                 "set xrange [0:28]"]
        for p, mib in PRESET_PB_MIB.items():
            lines.append("set arrow from %g, graph 0 to %g, graph 1 nohead dashtype 2 lw 1.5 lc rgb 'black' front"
                         % (mib, mib))
            lines.append("set label '%s PB' at %g, graph 0.5 rotate by 90 offset -0.8,0 font ',8' front" % (p, mib))
        n = 0
        for fam in FAMILIES:
            for key, ylabel in METRICS:
                plots = []
                for (f, preset, subnet), rows in sorted(series.items()):
                    if f != fam:
                        continue
                    path = os.path.join(tmp, "s%d.dat" % n)
                    n += 1
                    with open(path, "w") as fh:
                        for x, y in relative(rows, key):
                            fh.write("%g %g\n" % (x, y))
                    dash = 1 if preset == "zcu104" else 2
                    plots.append("'%s' using 1:2 with lines lw 2 dashtype %d title '%s'" %
                                 (path, dash, label(preset, subnet, rows)))
                lines += ['set title "%s"' % fam, 'set ylabel "%s"' % ylabel,
                          'set xlabel "persistent buffer (MiB)"', "plot " + ", ".join(plots)]
        lines.append("unset multiplot")
        script = os.path.join(tmp, "plot.gp")
        with open(script, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        subprocess.run(["gnuplot", script], check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench")
    ap.add_argument("--csv")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "pb_sweep.png"))
    args = ap.parse_args()
    series = load(args)
    if not series:
        sys.exit("no sweep rows")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    try:
        import matplotlib  # noqa: F401
        plot_matplotlib(series, args.out)
    except ImportError:
        if not shutil.which("gnuplot"):
            sys.exit("plot_pb_sweep.py needs matplotlib or gnuplot: apt-get install gnuplot-nox (or scripts/deps --tools)")
        plot_gnuplot(series, args.out)
    print("wrote %s" % args.out)


if __name__ == "__main__":
    main()
