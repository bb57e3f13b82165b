#!/usr/bin/env python3
"""Summarise the SUSHI experiment runs (tools/experiments/run_sushi_experiments.sh).

    summarise.py OUT_DIR [--img-dir DIR]

Reads OUT_DIR/runs/NET.ACCEL.KIND.SWEEPVALUE.json (each one `sushi serve
--json` object) and OUT_DIR/net_NET.json (`sushi subnets --json`: where the
accuracies come from), writes OUT_DIR/summary.csv (one row per run and policy,
with changes against the run's "none" policy), OUT_DIR/summary.md (headline
numbers with their conditions, per-sweep tables), OUT_DIR/plot_*.svg (one
plot per net, preset, sweep and metric; hand-written SVG, standard library
only) and, when gnuplot is installed, OUT_DIR/fig_NET_SWEEP.png (one figure
per net and sweep: presets x {mean latency, off-chip energy, served accuracy}),
copied to --img-dir DIR when given.
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys

SWEEPS = [("q", "Q (queries per cache update)", "window"),
          ("pb", "persistent buffer (KiB)", "pb_kib"),
          ("dwell", "mean dwell (queries per regime visit)", "dwell"),
          ("dwellpb", "mean dwell (queries per regime visit), small PB", "dwell")]
UNCALIBRATED = {"u50", "u50-sgs"}  # presets whose parameters are not fitted to a measurement
COLORS = {"none": "#888888", "static": "#1f77b4", "sushi": "#d62728", "lru": "#2ca02c",
          "lfu": "#9467bd", "oracle": "#ff7f0e"}


def load(out):
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "runs", "*.json"))):
        name = os.path.basename(path)[:-5]
        net, accel, kind, sweep = name.rsplit(".", 3)
        m = re.match(r"([a-z]+)(\d+)$", sweep)
        if not m:
            continue
        with open(path) as f:
            j = json.load(f)
        base = next(p for p in j["policies"] if p["policy"] == j["baseline"])
        for p in j["policies"]:
            def ch(k):
                b = base[k]
                return (p[k] / b - 1.0) if b else float("nan")
            rows.append({
                "net": net, "accel": accel, "kind": kind, "sweep": m.group(1), "value": int(m.group(2)),
                "policy": p["policy"], "window": j["window"], "pb_bytes": j["pb_bytes"],
                "dwell": j["trace"].get("dwell"), "queries": p["queries"],
                "latency_mean_s": p["latency_mean_s"], "latency_p99_s": p["latency_p99_s"],
                "accuracy_mean": p["accuracy_mean"], "slo_attainment": p["slo_attainment"],
                "accuracy_attainment": p["accuracy_attainment"], "pb_hit_ratio": p["pb_hit_ratio"],
                "offchip_bytes": p["offchip_bytes"], "energy_offchip_j": p["energy_offchip_j"],
                "energy_j": p["energy_j"], "reload_bytes": p["reload_bytes"],
                "latency_mean_change": ch("latency_mean_s"), "latency_p99_change": ch("latency_p99_s"),
                "energy_offchip_change": ch("energy_offchip_j"), "energy_change": ch("energy_j"),
                "accuracy_delta_pp": (p["accuracy_mean"] - base["accuracy_mean"]) * 100.0,
                "baseline": j["baseline"], "synthetic": j["synthetic"],
            })
    return rows


def pct(x):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else "%+.2f %%" % (100.0 * x)


def svg_plot(path, title, xlabel, ylabel, series, logx):
    """series: {label: [(x, y), ...]} -> a small line plot."""
    W, H, L, R, T, B = 520, 320, 64, 110, 30, 46
    pts = [pt for s in series.values() for pt in s if pt[1] is not None and not math.isnan(pt[1])]
    if not pts:
        return
    xs = [math.log10(x) if logx else x for x, _ in pts]
    ys = [y for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys + [0.0]), max(ys + [0.0])
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    pad = (y1 - y0) * 0.08
    y0, y1 = y0 - pad, y1 + pad

    def X(x):
        return L + ((math.log10(x) if logx else x) - x0) / (x1 - x0) * (W - L - R)

    def Y(y):
        return T + (y1 - y) / (y1 - y0) * (H - T - B)

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="11">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="18" font-size="13">%s</text>' % (L, title),
         '<line x1="%d" y1="%f" x2="%d" y2="%f" stroke="#bbb"/>' % (L, Y(0), W - R, Y(0)),
         '<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>' % (L, T, W - L - R, H - T - B),
         '<text x="%d" y="%d" text-anchor="middle">%s</text>' % ((L + W - R) // 2, H - 8, xlabel),
         '<text transform="translate(14,%d) rotate(-90)" text-anchor="middle">%s</text>' % ((T + H - B) // 2, ylabel)]
    for k in range(5):
        yv = y0 + (y1 - y0) * k / 4
        o.append('<text x="%d" y="%f" text-anchor="end">%.2f</text>' % (L - 4, Y(yv) + 4, yv))
    for x in sorted({x for x, _ in pts}):
        o.append('<text x="%f" y="%d" text-anchor="middle">%g</text>' % (X(x), H - B + 14, x))
    for i, (label, s) in enumerate(series.items()):
        s = [(x, y) for x, y in sorted(s) if y is not None and not math.isnan(y)]
        if not s:
            continue
        c = COLORS.get(label, "black")
        o.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                 % (c, " ".join("%f,%f" % (X(x), Y(y)) for x, y in s)))
        for x, y in s:
            o.append('<circle cx="%f" cy="%f" r="2.5" fill="%s"/>' % (X(x), Y(y), c))
        o.append('<text x="%d" y="%d" fill="%s">%s</text>' % (W - R + 8, T + 14 + 14 * i, c, label))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def preset_label(a):
    return a + " (uncalibrated)" if a in UNCALIBRATED else a


def net_provenance(out, net):
    """One line on the SuperNet's weights and accuracies, from OUT/net_NET.json."""
    path = os.path.join(out, "net_%s.json" % net)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        j = json.load(f)
    c = j.get("candidates", [])
    src = sorted({x.get("source", "none") for x in c})
    ds = sorted({x.get("dataset") or "-" for x in c})
    return "%s: %s weights, %d candidates, accuracies %s (%s)" % (
        net, "SYNTHETIC" if j.get("synthetic") else "trained", len(c),
        "/".join(s.upper() if s == "proxy" else s for s in src), ", ".join(ds))


FIG_METRICS = [("accuracy", "latency_mean_change", "accuracy-bound: mean latency change (%)", 100.0),
               ("accuracy", "energy_offchip_change", "accuracy-bound: off-chip energy change (%)", 100.0),
               ("latency", "accuracy_delta_pp", "latency-bound: served accuracy change (pp)", 1.0)]


def png_figure(path, net, sweep, xlabel, rows, accels, policies, params=None):
    """gnuplot multiplot: one row per preset, one column per metric, one line per policy."""
    gp = shutil.which("gnuplot")
    if not gp:
        return False
    pol = [p for p in policies if p != "none"]
    lines = ["set terminal pngcairo size 1500,%d font 'sans,10'" % (360 * len(accels) + 40),
             "set output '%s'" % path,
             "set multiplot layout %d,3 title '%s: %s sweep, change vs policy none (cycle model%s)'"
             % (len(accels), net, sweep, ", SENSITIVITY: " + params if params else ""),
             "set logscale x 2" if sweep != "q" else "set logscale x 10",
             # the legend goes under the x label, not over it: a fixed bottom margin
             # with room for both (the automatic one let them overlap)
             "set grid", "set key below horizontal font ',9' spacing 1.1", "set bmargin 7",
             "set xlabel '%s' offset 0,0.3" % xlabel]
    for a in accels:
        for kind, key, title, scale in FIG_METRICS:
            lines.append("set title '%s on %s' font ',10'" % (title, preset_label(a)))
            lines.append("set xzeroaxis")
            plots = []
            for p in pol:
                pts = sorted((r["value"], r[key] * scale) for r in rows
                             if r["net"] == net and r["accel"] == a and r["kind"] == kind
                             and r["sweep"] == sweep and r["policy"] == p and not math.isnan(r[key]))
                if not pts:
                    continue
                name = "$%s_%s_%s" % (re.sub(r"\W", "_", a), kind[0], p)
                lines.append("%s << EOD" % name)
                lines += ["%g %.6g" % pt for pt in pts]
                lines.append("EOD")
                plots.append("%s using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb '%s' title '%s'"
                             % (name, COLORS.get(p, "black"), p))
            if plots:
                lines.append("plot " + ", ".join(plots))
            else:
                lines.append("set multiplot next")
    lines.append("unset multiplot")
    r = subprocess.run([gp], input="\n".join(lines) + "\n", text=True, capture_output=True)
    if r.returncode != 0:
        sys.stderr.write("summarise: gnuplot failed for %s: %s\n" % (path, r.stderr.strip()[:500]))
        return False
    return True


def sweep_label(rows, sw, label):
    if sw == "dwellpb":
        pbs = sorted({r["pb_bytes"] // 1024 for r in rows if r["sweep"] == sw})
        return "mean dwell (queries per regime visit), PB %s KiB" % "/".join(str(p) for p in pbs)
    return label


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="results/sushi")
    ap.add_argument("--img-dir", help="copy the PNG figures (fig_*.png) there")
    args = ap.parse_args()
    out = args.out
    rows = load(out)
    if not rows:
        sys.exit("summarise: no runs in %s/runs" % out)
    keys = list(rows[0].keys())
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)

    def sel(**kw):
        return [r for r in rows if all(r[k] == v for k, v in kw.items())]

    nets = sorted({r["net"] for r in rows})
    order = ["zcu104", "zcu104-sgs", "u50", "u50-sgs"]  # the edge presets first
    accels = sorted({r["accel"] for r in rows}, key=lambda a: (order.index(a) if a in order else len(order), a))
    policies = []
    for r in rows:
        if r["policy"] not in policies:
            policies.append(r["policy"])
    md = ["# SUSHI experiments: summary", ""]
    cond = os.path.join(out, "conditions.txt")
    params = None
    if os.path.exists(cond):
        text = open(cond).read().strip()
        for line in text.splitlines():
            if line.startswith("PARAMS"):
                params = line.split(":", 1)[1].strip()
        if params:
            md += ["**SENSITIVITY RUN: cycle-model parameters overridden (%s); these are not the calibrated "
                   "presets.**" % params, ""]
        md += ["Conditions:", "", "```", text, "```", ""]
    md += ["All numbers: cycle model of SushiAccel (`--backend cycle`); changes are against the same preset "
           "with policy `none` on the same trace. Base point: Q = 100, mean dwell 100 queries, the preset's "
           "PB. Built-in OFA SuperNets have SYNTHETIC weights and PROXY accuracies (docs/accuracy-proxy.md). "
           "The u50 preset is UNCALIBRATED (assumed clock, call overhead and buffer sizes; "
           "docs/accelerator.md section 5); zcu104 is fitted to measured ZCU104 layer latencies.", ""]
    prov = [net_provenance(out, n) for n in nets]
    if any(prov):
        md += ["SuperNets:", ""] + ["- " + p for p in prov if p] + [""]

    md += ["## Base point", "",
           "| SuperNet | preset | PB | policy | accuracy-bound: mean latency | p99 | off-chip energy | energy | "
           "PB hit | latency-bound: served accuracy |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for net in nets:
        for a in accels:
            for p in policies:
                ra = sel(net=net, accel=a, kind="accuracy", sweep="q", value=100, policy=p)
                rl = sel(net=net, accel=a, kind="latency", sweep="q", value=100, policy=p)
                if not ra or not rl:
                    continue
                ra, rl = ra[0], rl[0]
                md.append("| %s | %s | %.2f MB | %s | %s | %s | %s | %s | %.1f %% | %+.3f pp (%.2f %%) |" % (
                    net, preset_label(a), ra["pb_bytes"] / 1e6, p, pct(ra["latency_mean_change"]), pct(ra["latency_p99_change"]),
                    pct(ra["energy_offchip_change"]), pct(ra["energy_change"]), 100 * ra["pb_hit_ratio"],
                    rl["accuracy_delta_pp"], 100 * rl["accuracy_mean"]))
    md += [""]

    md += ["## Best over the sweeps (policy sushi; the oracle in brackets at the same point)", "",
           "| SuperNet | preset | largest mean-latency cut | where | largest off-chip energy cut | where | "
           "largest served-accuracy gain | where |", "|---|---|---|---|---|---|---|---|"]

    def best(net, a, kind, key, sign):
        cands = [r for r in sel(net=net, accel=a, kind=kind, policy="sushi") if not math.isnan(r[key])]
        if not cands:
            return None, None
        r = max(cands, key=lambda r: sign * r[key])
        o = sel(net=net, accel=a, kind=kind, sweep=r["sweep"], value=r["value"], policy="oracle")
        return r, (o[0] if o else None)

    def where(r):
        return "%s=%d (Q %d, PB %.2f MB, dwell %g)" % (r["sweep"], r["value"], r["window"], r["pb_bytes"] / 1e6,
                                                        r["dwell"])

    for net in nets:
        for a in accels:
            l, lo = best(net, a, "accuracy", "latency_mean_change", -1)
            e, eo = best(net, a, "accuracy", "energy_offchip_change", -1)
            c, co = best(net, a, "latency", "accuracy_delta_pp", 1)
            if not l or not c:
                continue
            md.append("| %s | %s | %s (%s) | %s | %s (%s) | %s | %+.3f pp (%+.3f) | %s |" % (
                net, preset_label(a), pct(l["latency_mean_change"]), pct(lo["latency_mean_change"]) if lo else "-", where(l),
                pct(e["energy_offchip_change"]), pct(eo["energy_offchip_change"]) if eo else "-", where(e),
                c["accuracy_delta_pp"], co["accuracy_delta_pp"] if co else float("nan"), where(c)))
    md += [""]

    for sw, label, _ in SWEEPS:
        if not sel(sweep=sw):
            continue
        label = sweep_label(rows, sw, label)
        md += ["## Sweep: %s" % label, ""]
        for kind, key, unit in (("accuracy", "latency_mean_change", "mean latency change"),
                                ("accuracy", "energy_offchip_change", "off-chip energy change"),
                                ("latency", "accuracy_delta_pp", "served accuracy change (pp)")):
            md += ["%s-bound streams, %s:" % (kind, unit), "",
                   "| SuperNet | preset | %s | %s |" % (sw, " | ".join(policies)),
                   "|---|---|---|" + "---|" * len(policies)]
            for net in nets:
                for a in accels:
                    vals = sorted({r["value"] for r in sel(net=net, accel=a, kind=kind, sweep=sw)})
                    for v in vals:
                        cells = []
                        for p in policies:
                            r = sel(net=net, accel=a, kind=kind, sweep=sw, value=v, policy=p)
                            if not r:
                                cells.append("-")
                            elif key == "accuracy_delta_pp":
                                cells.append("%+.3f" % r[0][key])
                            else:
                                cells.append(pct(r[0][key]))
                        md.append("| %s | %s | %d | %s |" % (net, preset_label(a), v, " | ".join(cells)))
                    if vals:
                        series = {p: [(r["value"], (100 * r[key]) if key != "accuracy_delta_pp" else r[key])
                                      for r in sel(net=net, accel=a, kind=kind, sweep=sw, policy=p)]
                                  for p in policies if p != "none"}
                        fname = "plot_%s_%s_%s_%s.svg" % (net, a, sw, key)
                        svg_plot(os.path.join(out, fname),
                                 "%s on %s: %s-bound, %s" % (net, preset_label(a), kind, unit),
                                 label, "%" if key != "accuracy_delta_pp" else "pp", series, logx=True)
            md += [""]
    figs = []
    for net in nets:
        for sw, label, _ in SWEEPS:
            if not sel(net=net, sweep=sw):
                continue
            fname = "fig_%s_%s.png" % (net, sw)
            if png_figure(os.path.join(out, fname), net, sw, sweep_label(rows, sw, label), rows, accels, policies,
                          params):
                figs.append(fname)
    if figs:
        md += ["## Figures", ""] + ["![%s](%s)" % (f[:-4], f) for f in figs] + [""]
        if args.img_dir:
            os.makedirs(args.img_dir, exist_ok=True)
            for f in figs:
                shutil.copyfile(os.path.join(out, f), os.path.join(args.img_dir, f))
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
