#!/usr/bin/python3
"""Plot a serving timeline written by `sushi serve --timeline` (docs/scheduler.md, "Timeline").

    plot_timeline.py TIMELINE.csv [--policy sushi] [--out docs/img/serve_timeline.png]
    plot_timeline.py --run [--sushi PATH] [--out ...]   # make the documented timeline first

Three panels over the query index of one policy: the SubNet the scheduler
chose (its MACs; the candidate's table accuracy on the right axis), the
service latency against the query's SLO (queries without an SLO have no SLO
mark), and the resident SubGraph (its bytes; the share of the served SubNet's
weight bytes found resident, mean over each cache window, on the right axis).
Dashed verticals mark the queries right after a cache update; impulses in the
bottom panel the reloads (bytes loaded when the resident SubGraph changed). Uses gnuplot
(matplotlib is not needed).

--run makes the figure of docs/scheduler.md: the shipped model served by the
cycle backend (zcu104 preset, 256 KiB persistent buffer), policy sushi, on a
generated trace (seed 1, 2000 queries):

    sushi serve models/fmnist-mbv3.sushi --backend cycle --accel zcu104 \\
        --pb-kib 256 --policy sushi --gen seed=1,queries=2000 --timeline T.csv
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODEL = os.path.join(ROOT, "models", "fmnist-mbv3.sushi")
RUN_ARGS = ["--backend", "cycle", "--accel", "zcu104", "--pb-kib", "256", "--policy", "sushi",
            "--gen", "seed=1,queries=2000"]


def find_sushi(explicit):
    if explicit:
        return explicit
    for build in ("build", "build-demo", "build-cli"):
        p = os.path.join(ROOT, build, "tools", "cli", "sushi")
        if os.access(p, os.X_OK):
            return p
    sys.exit("sushi not found: build it or pass --sushi")


def load(path, policy):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit("%s: no rows" % path)
    for need in ("resolution", "macs", "resident_bytes"):
        if need not in rows[0]:
            sys.exit("%s: no '%s' column (a timeline from an older sushi?)" % (path, need))
    policies = sorted({r["policy"] for r in rows})
    if policy is None:
        policy = "sushi" if "sushi" in policies else policies[0]
    rows = [r for r in rows if r["policy"] == policy]
    if not rows:
        sys.exit("%s: no rows of policy %s (has %s)" % (path, policy, ", ".join(policies)))
    return policy, rows


def window_hit_ratio(rows):
    """Hit share of weight bytes, mean over the queries between cache updates."""
    out, start = [0.0] * len(rows), 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i]["updated"] == "1":
            w = sum(int(r["weight_bytes"]) for r in rows[start:i])
            h = sum(int(r["hit_bytes"]) for r in rows[start:i])
            for k in range(start, i):
                out[k] = h / w if w else 0.0
            start = i
    return out


def plot(policy, rows, out, title):
    tmp = tempfile.mkdtemp(prefix="timeline_")
    try:
        dat = os.path.join(tmp, "t.dat")
        hit = window_hit_ratio(rows)
        with open(dat, "w") as fh:
            fh.write("# query macs_M accuracy_pct latency_ms slo_ms resident_kB hit_pct reload_kB\n")
            for r, h in zip(rows, hit):
                slo = float(r["slo_s"])
                fh.write("%s %g %g %g %s %g %g %s\n" % (
                    r["query"], int(r["macs"]) / 1e6, float(r["accuracy"]) * 100, float(r["latency_s"]) * 1e3,
                    "%g" % (slo * 1e3) if slo > 0 else "NaN", int(r["resident_bytes"]) / 1e3, h * 100,
                    "%g" % (int(r["reload_bytes"]) / 1e3) if int(r["reload_bytes"]) else "NaN"))
        updates = [int(r["query"]) for r in rows if r["updated"] == "1"]
        n = len(rows)
        missed = sum(1 for r in rows if r["slo_met"] == "0")
        lines = ['set terminal pngcairo size 1200,1000 font "Sans,9"', 'set output "%s"' % out,
                 'set multiplot layout 3,1 title "%s"' % title.replace('"', "'"),
                 "set grid", "set key below font ',8' maxrows 1", "set xrange [0:%d]" % n,
                 "set datafile missing 'NaN'", "set lmargin 10", "set rmargin 10"]
        for q in updates:
            lines.append("set arrow from %d, graph 0 to %d, graph 1 nohead dashtype 2 lw 0.8 lc rgb '#777777' front"
                         % (q, q))
        lines += [
            'set title "chosen SubNet (policy %s)"' % policy,
            'set ylabel "MMACs"', 'set y2label "table accuracy (%)"', "set y2tics", "set ytics nomirror",
            "plot '%s' using 1:2 with steps lw 1.5 lc rgb '#1f77b4' title 'MACs of the served SubNet', "
            "'' using 1:3 axes x1y2 with points pt 7 ps 0.25 lc rgb '#ff7f0e' title 'its table accuracy'" % dat,
            "unset y2tics", "unset y2label", "set ytics mirror",
            'set title "latency vs SLO (%d of %d queries missed their SLO)"' % (missed, n),
            'set ylabel "ms"',
            "plot '%s' using 1:4 with points pt 7 ps 0.3 lc rgb '#2ca02c' title 'service latency', "
            "'' using 1:5 with points pt 1 ps 0.35 lc rgb '#d62728' title 'SLO (latency-bound queries)'" % dat,
            # the x label sits between the axis and the legend: make room for both
            # (with the default margin the label was drawn over the legend)
            'set title "resident SubGraph"', 'set xlabel "query" offset 0,0.4', "set bmargin 5.5",
            'set ylabel "resident kB"', 'set y2label "hit share of weight bytes (%)"', "set y2tics",
            "set ytics nomirror", "set y2range [0:100]",
            "plot '%s' using 1:6 with steps lw 2 lc rgb '#9467bd' title 'resident SubGraph bytes', "
            "'' using 1:8 with impulses lw 3 lc rgb '#e377c2' title 'reload (kB loaded)', "
            "'' using 1:7 axes x1y2 with steps lw 1.2 lc rgb '#8c564b' title 'PB hit share (window mean)'" % dat,
            "unset multiplot"]
        script = os.path.join(tmp, "plot.gp")
        with open(script, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        subprocess.run(["gnuplot", script], check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("timeline", nargs="?", help="CSV of sushi serve --timeline")
    ap.add_argument("--policy", help="policy to plot (default sushi if present, else the first)")
    ap.add_argument("--run", action="store_true", help="make the documented timeline first (see above)")
    ap.add_argument("--sushi", help="path of the sushi binary (for --run)")
    ap.add_argument("--model", default=MODEL, help="SuperNet served by --run (default the shipped model)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "img", "serve_timeline.png"))
    args = ap.parse_args()
    if not shutil.which("gnuplot"):
        sys.exit("plot_timeline.py needs gnuplot: apt-get install gnuplot-nox (or scripts/deps --tools)")
    tmp = None
    title = "sushi serve timeline"
    if args.run:
        tmp = tempfile.mkdtemp(prefix="timeline_run_")
        args.timeline = os.path.join(tmp, "timeline.csv")
        cmd = [find_sushi(args.sushi), "serve", args.model] + RUN_ARGS + ["--timeline", args.timeline]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        title = "fmnist-mbv3 on the cycle backend (zcu104, PB 256 KiB), generated trace seed 1"
    elif not args.timeline:
        ap.error("give TIMELINE.csv or --run")
    try:
        policy, rows = load(args.timeline, args.policy)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        plot(policy, rows, args.out, title)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print("wrote %s" % args.out)


if __name__ == "__main__":
    main()
