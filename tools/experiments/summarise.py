#!/usr/bin/env python3
"""Summarise the SUSHI experiment runs (tools/experiments/run_sushi_experiments.sh).

    summarise.py OUT_DIR

Reads OUT_DIR/runs/NET.ACCEL.KIND.SWEEPVALUE.json (each one `sushi serve
--json` object), writes OUT_DIR/summary.csv (one row per run and policy, with
changes against the run's "none" policy), OUT_DIR/summary.md (headline numbers
with their conditions, per-sweep tables) and OUT_DIR/plot_*.svg. Standard
library only (no matplotlib here): the plots are hand-written SVG.
"""
import csv
import glob
import json
import math
import os
import re
import sys

SWEEPS = [("q", "Q (queries per cache update)", "window"),
          ("pb", "persistent buffer (KiB)", "pb_kib"),
          ("dwell", "mean dwell (queries per regime visit)", "dwell")]
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


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "results/sushi"
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
    accels = sorted({r["accel"] for r in rows})
    policies = []
    for r in rows:
        if r["policy"] not in policies:
            policies.append(r["policy"])
    md = ["# SUSHI experiments: summary", ""]
    cond = os.path.join(out, "conditions.txt")
    if os.path.exists(cond):
        md += ["Conditions:", "", "```", open(cond).read().strip(), "```", ""]
    md += ["All numbers: cycle model of SushiAccel (`--backend cycle`), SYNTHETIC weights, PROXY accuracies "
           "(docs/accuracy-proxy.md); changes are against the same preset with policy `none` on the same "
           "trace. Base point: Q = 100, mean dwell 100 queries, the preset's PB.", ""]

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
                    net, a, ra["pb_bytes"] / 1e6, p, pct(ra["latency_mean_change"]), pct(ra["latency_p99_change"]),
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
                net, a, pct(l["latency_mean_change"]), pct(lo["latency_mean_change"]) if lo else "-", where(l),
                pct(e["energy_offchip_change"]), pct(eo["energy_offchip_change"]) if eo else "-", where(e),
                c["accuracy_delta_pp"], co["accuracy_delta_pp"] if co else float("nan"), where(c)))
    md += [""]

    for sw, label, _ in SWEEPS:
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
                        md.append("| %s | %s | %d | %s |" % (net, a, v, " | ".join(cells)))
                    if vals:
                        series = {p: [(r["value"], (100 * r[key]) if key != "accuracy_delta_pp" else r[key])
                                      for r in sel(net=net, accel=a, kind=kind, sweep=sw, policy=p)]
                                  for p in policies if p != "none"}
                        fname = "plot_%s_%s_%s_%s.svg" % (net, a, sw, key)
                        svg_plot(os.path.join(out, fname), "%s on %s: %s-bound, %s" % (net, a, kind, unit),
                                 label, "%" if key != "accuracy_delta_pp" else "pp", series, logx=True)
            md += [""]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
