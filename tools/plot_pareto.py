#!/usr/bin/python3
"""Pareto plot of a SuperNet's candidate table: measured top-1 accuracy vs MACs and
vs modelled latency (cycle backend: SushiAccel model, no resident SubGraph, batch 1).
Uses gnuplot (matplotlib is not installed) and the Python binding.

    SUSHI_LIBRARY=build/libsushi.so /usr/bin/python3 tools/plot_pareto.py \
        [models/fmnist-mbv3.sushi] [-o docs/img/pareto_fmnist.png] [--tsv OUT.tsv]
Prints the Pareto front (in MACs) and whether it is monotone.
"""
import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))


def pareto(rows, key):
    """Rows not dominated: no other row with key <= and accuracy > (strictly better)."""
    front, best = [], -1.0
    for r in sorted(rows, key=lambda r: (r[key], -r["acc"])):
        if r["acc"] > best:
            front.append(r)
            best = r["acc"]
    return front


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?", default=os.path.join(ROOT, "models", "fmnist-mbv3.sushi"))
    ap.add_argument("-o", "--out", default=os.path.join(ROOT, "docs", "img", "pareto_fmnist.png"))
    ap.add_argument("--tsv", default="")
    args = ap.parse_args()
    import sushi
    sn = sushi.SuperNet.load(args.file)
    cyc = sn.backend("cycle") if "cycle" in sn.context.backends else None
    rows = []
    for i in range(sn.info["n_candidates"]):
        c = sn.candidate(i)
        if c["accuracy"] is None or math.isnan(c["accuracy"]):
            continue
        lat = float("nan")
        if cyc is not None:
            s = sn.subnet(i)
            lat = cyc.cost(s)["latency_s"] * 1e3
            s.close()
        rows.append({"i": i, "macs": c["macs"] / 1e6, "acc": 100 * c["accuracy"], "lat": lat})
    if not rows:
        sys.exit("%s: no measured accuracies (run `sushi eval` first)" % args.file)
    fm = pareto(rows, "macs")
    fl = pareto(rows, "lat") if cyc is not None else []
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "all.tsv"), "w") as f:
        for r in rows:
            f.write("%d\t%.4f\t%.3f\t%.5f\n" % (r["i"], r["macs"], r["acc"], r["lat"]))
    for name, fr in (("fm.tsv", fm), ("fl.tsv", fl)):
        with open(os.path.join(tmp, name), "w") as f:
            for r in fr:
                f.write("%d\t%.4f\t%.3f\t%.5f\n" % (r["i"], r["macs"], r["acc"], r["lat"]))
    if args.tsv:
        with open(args.tsv, "w") as f:
            f.write("index\tMMACs\ttop1_pct\tcycle_latency_ms\n")
            f.write(open(os.path.join(tmp, "all.tsv")).read())
    name = sn.info["name"]
    panels = 2 if cyc is not None else 1
    gp = """set terminal pngcairo size %d,520 font 'sans,11'
set output '%s'
set grid
set key top left
set yrange [%.1f:%.1f]
set ylabel 'top-1 accuracy (%%), Fashion-MNIST test, C library'
set multiplot layout 1,%d title '%s: %d candidates, accuracies measured by sushi eval (cpu backend, float32)'
set xlabel 'MACs (M)'
plot '%s/all.tsv' u 2:3 w p pt 7 ps 0.8 lc rgb '#4477aa' t 'candidates', \\
     '%s/fm.tsv' u 2:3 w lp pt 6 ps 1.4 lw 2 lc rgb '#cc3311' t 'Pareto front'
""" % (560 * panels, args.out, math.floor(min(r["acc"] for r in rows)) - 0.5,
       math.ceil(max(r["acc"] for r in rows)) + 0.5, panels, name, len(rows), tmp, tmp)
    if cyc is not None:
        gp += """set xlabel 'modelled latency (ms, cycle backend, batch 1, nothing resident)'
plot '%s/all.tsv' u 4:3 w p pt 7 ps 0.8 lc rgb '#4477aa' t 'candidates', \\
     '%s/fl.tsv' u 4:3 w lp pt 6 ps 1.4 lw 2 lc rgb '#cc3311' t 'Pareto front'
""" % (tmp, tmp)
    gp += "unset multiplot\n"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if not shutil.which("gnuplot"):
        sys.exit("plot_pareto.py needs gnuplot: apt-get install gnuplot-nox (or scripts/deps --tools)")
    subprocess.run(["gnuplot"], input=gp.encode(), check=True)
    accs = [r["acc"] for r in sorted(fm, key=lambda r: r["macs"])]
    mono = all(a < b for a, b in zip(accs, accs[1:]))
    print("%s: %d candidates; Pareto front in MACs (%d points): %s" % (
        args.out, len(rows), len(fm), ", ".join("#%d %.2fM %.2f%%" % (r["i"], r["macs"], r["acc"]) for r in fm)))
    print("front monotone in MACs: %s (by construction: the non-dominated set is increasing)" % mono)
    srt = sorted(rows, key=lambda r: r["macs"])
    print("smallest (%.2f MMACs) %.2f %%, largest (%.2f MMACs) %.2f %%, spread %.2f points; best %.2f %%"
          % (srt[0]["macs"], srt[0]["acc"], srt[-1]["macs"], srt[-1]["acc"],
             srt[-1]["acc"] - srt[0]["acc"], max(r["acc"] for r in rows)))


if __name__ == "__main__":
    main()
