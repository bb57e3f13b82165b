#!/usr/bin/env python3
"""Where the latency of a SubNet goes on the cycle model, and how much of it a
persistent buffer (PB) can remove at all (docs/reproducing.md, "Where we fall
short, and why").

    latency_breakdown.py [--cli PATH] [--nets N ...] [--accels A ...]
                         [--variant NAME:K=V,K=V ...] [--out DIR]

Everything comes from the cycle backend:

* ceiling: for every candidate of the SuperNet's table, the latency with
  nothing resident and with the SubNet's own weights all resident (PB large
  enough: pb_kib = 4194304), through the Python binding (bindings/python,
  sushi_backend_cost; the CLI equivalent per SubNet is `sushi cost FILE
  --config CFG --cached CFG --set pb_kib=4194304`); 1 - resident / none is
  the largest latency cut SubGraph Stationary can give that SubNet, whatever
  the policy. Reported as min / median / max over the candidates.
* breakdown: for the smallest and largest SubNet (`--config min|max`), the
  per-layer CSV (`sushi cost --csv`) summed into
    call overhead  = kernel calls x call_overhead_us,
    host           = what the engine does not run (pooling, SE, ...),
    engine bound   = sum over engine layers of max(compute, activation
                     stream) cycles / f: time a PB cannot remove,
    exposed weights= sum of (cycles - max(compute, stream)) / f: the weight
                     load not hidden by double buffering, the only engine time
                     a PB hit removes;
  and the number of weight-bound layers (weight cycles > compute and stream
  cycles) with their share of the latency (`sushi cost`, one process each).

Variants are labelled parameter overrides (`--set`), e.g.
`cdriver:call_overhead_us=5` (docs/accelerator.md section 7: a C driver
instead of PYNQ); the preset itself is always the variant `preset`.
Standard library only.
"""
import argparse
import csv
import glob
import io
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIG_PB_KIB = 4194304  # 4 GiB: every SubNet fits


def find_cli(explicit):
    if explicit:
        return explicit
    for c in sorted(glob.glob(os.path.join(ROOT, "build*", "tools", "cli", "sushi"))):
        if os.access(c, os.X_OK):
            return c
    sys.exit("latency_breakdown: no build*/tools/cli/sushi; pass --cli")


def model(net):
    return net if os.path.isfile(net) else "builtin:" + net


def sets(variant):
    out = []
    for kv in variant:
        out += ["--set", kv]
    return out


def cost_json(cli, net, cfg, accel, variant, resident):
    cmd = [cli, "cost", model(net), "--config", cfg, "--accel", accel, "--json"] + sets(variant)
    if resident:
        cmd += ["--cached", cfg, "--set", "pb_kib=%d" % BIG_PB_KIB]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def cost_csv(cli, net, cfg, accel, variant):
    cmd = [cli, "cost", model(net), "--config", cfg, "--accel", accel, "--csv"] + sets(variant)
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(text)))


def breakdown(cli, net, cfg, accel, variant):
    j = cost_json(cli, net, cfg, accel, variant, False)
    p = j["params"]
    f = p["freq_mhz"]  # cycles per microsecond
    rows = cost_csv(cli, net, cfg, accel, variant)
    tot = {"latency": 0.0, "overhead": 0.0, "host": 0.0, "bound": 0.0, "exposed": 0.0,
           "wb_layers": 0, "wb_latency": 0.0, "layers": 0, "calls": 0}
    per_layer = []
    for r in rows:
        lat = float(r["latency_us"])
        calls = int(r["calls"])
        cyc = int(r["cycles"])
        m = max(int(r["cycles_compute"]), int(r["cycles_stream"]))
        cw = int(r["cycles_weights"])
        ov = calls * p["call_overhead_us"]
        eng = cyc / f
        tot["latency"] += lat
        tot["overhead"] += ov
        tot["host"] += max(0.0, lat - ov - eng)
        tot["bound"] += m / f
        tot["exposed"] += (cyc - m) / f
        tot["calls"] += calls
        if calls:
            tot["layers"] += 1
        if cw > m:
            tot["wb_layers"] += 1
            tot["wb_latency"] += lat
        per_layer.append((r["name"], r["op"], "K%s C%s %sx%s %sx%s s%s" % (r["K"], r["C"], r["R"], r["S"], r["X"],
                                                                          r["Y"], r["stride_x"]),
                          lat, (cyc - m) / f, cw, m, int(r["weight_bytes"])))
    res = cost_json(cli, net, cfg, accel, variant, True)
    tot["resident_latency"] = res["cost"]["latency_s"] * 1e6
    tot["model_latency"] = j["cost"]["latency_s"] * 1e6
    tot["weight_bytes"] = j["cost"]["weight_bytes"]
    tot["act_bytes"] = j["cost"]["act_bytes"]
    tot["offchip_bytes"] = j["cost"]["offchip_bytes"]
    tot["offchip_resident"] = res["cost"]["offchip_bytes"]
    tot["energy_offchip"] = j["cost"]["energy_offchip_j"]
    tot["energy_offchip_resident"] = res["cost"]["energy_offchip_j"]
    return tot, per_layer


def ceilings(net, accel, variant):
    """1 - latency(own weights resident) / latency(nothing resident) for every
    candidate with an accuracy, in process through the Python binding (the
    same sushi_backend_cost the CLI calls; thousands of SubNets in seconds)."""
    import sushi  # bindings/python, libsushi from SUSHI_LIBRARY or build*/
    sn = sushi.SuperNet.load(net) if os.path.isfile(net) else sushi.SuperNet.builtin(net)
    b = sn.backend("cycle")

    def configure(pb_kib=None):
        b.set_param("preset", {"zcu104": 0, "u50": 1, "zcu104-sgs": 2, "u50-sgs": 3}[accel])  # resets every parameter
        for kv in variant:
            k, v = kv.split("=")
            b.set_param(k, float(v))
        if pb_kib:
            b.set_param("pb_kib", pb_kib)
    cuts = []
    for i, c in enumerate(sn.candidates):
        if c.get("accuracy") is None:
            continue
        s = sn.subnet(i)
        configure()
        a = b.cost(s)["latency_s"]
        configure(BIG_PB_KIB)
        g = sushi.SubGraph.of(s)
        r = b.cost(s, g)["latency_s"]
        cuts.append(1.0 - r / a)
        g.close()
        s.close()
    b.close()
    sn.close()
    return cuts


def parse_variant(s):
    name, _, kv = s.partition(":")
    return name, [x for x in kv.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli")
    ap.add_argument("--nets", nargs="+", default=["ofa-resnet50", "ofa-mbv3-w1.0", "models/fmnist-mbv3.sushi"])
    ap.add_argument("--accels", nargs="+", default=["zcu104", "u50"])
    ap.add_argument("--variant", action="append", default=[], help="NAME:K=V[,K=V..] (cycle parameters)")
    ap.add_argument("--layers", type=int, default=8, help="top layers by exposed weight time to list")
    ap.add_argument("--out", help="also write the per-layer tables as CSV there")
    args = ap.parse_args()
    cli = find_cli(args.cli)
    variants = [("preset", [])] + [parse_variant(v) for v in args.variant]
    nets = [n for n in args.nets if not n.endswith(".sushi") or os.path.isfile(n)]

    md = ["# Latency breakdown and SGS ceiling (cycle model)", "",
          "Command: `tools/experiments/latency_breakdown.py %s`" % " ".join(
              ["--nets"] + args.nets + ["--accels"] + args.accels + sum([["--variant", v] for v in args.variant], [])),
          "", "cli: `%s`; the u50 preset is UNCALIBRATED (docs/accelerator.md section 5)." % os.path.relpath(cli, ROOT),
          "", "## Ceiling: latency cut with the SubNet's whole weights resident, over the candidate table", "",
          "| SuperNet | preset | variant | candidates | min | median | max |", "|---|---|---|---|---|---|---|"]
    if "SUSHI_LIBRARY" not in os.environ:
        os.environ["SUSHI_LIBRARY"] = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(cli))),
                                                   "libsushi.so")
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    for net in nets:
        for a in args.accels:
            for vname, v in variants:
                cuts = ceilings(net, a, v)
                md.append("| %s | %s | %s | %d | %.1f %% | %.1f %% | %.1f %% |" % (
                    os.path.basename(net).replace(".sushi", ""), a + (" (uncal.)" if a == "u50" else ""), vname,
                    len(cuts), 100 * min(cuts), 100 * statistics.median(cuts), 100 * max(cuts)))
                sys.stderr.write("ceiling %s %s %s done\n" % (net, a, vname))
    md += ["", "## Breakdown of the smallest and largest SubNet (ms; share of the latency)", "",
           "| SuperNet | SubNet | preset | variant | latency | call overhead | host | engine bound (compute/stream) "
           "| exposed weight load | weight-bound layers (latency share) | all weights resident | weights / "
           "activations off-chip (MB) | off-chip energy cut when resident |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    tops = []
    for net in nets:
        for cfg in ("min", "max"):
            for a in args.accels:
                for vname, v in variants:
                    t, pl = breakdown(cli, net, cfg, a, v)
                    L = t["latency"]

                    def sh(x):
                        return "%.2f (%.0f %%)" % (x / 1e3, 100 * x / L)
                    md.append("| %s | %s | %s | %s | %.2f | %s | %s | %s | %s | %d of %d (%.0f %%) | %.2f (%+.1f %%) "
                              "| %.2f / %.2f | %.1f %% |" % (
                                  os.path.basename(net).replace(".sushi", ""), cfg,
                                  a + (" (uncal.)" if a == "u50" else ""), vname, t["model_latency"] / 1e3,
                                  sh(t["overhead"]), sh(t["host"]), sh(t["bound"]), sh(t["exposed"]), t["wb_layers"],
                                  t["layers"], 100 * t["wb_latency"] / L, t["resident_latency"] / 1e3,
                                  100 * (t["resident_latency"] / t["model_latency"] - 1), t["weight_bytes"] / 1e6,
                                  t["act_bytes"] / 1e6,
                                  100 * (1 - t["energy_offchip_resident"] / t["energy_offchip"])))
                    if vname == "preset":
                        tops.append((net, cfg, a, pl))
                    if args.out:
                        os.makedirs(args.out, exist_ok=True)
                        with open(os.path.join(args.out, "layers_%s_%s_%s_%s.csv" % (
                                os.path.basename(net).replace(".sushi", ""), cfg, a, vname)), "w", newline="") as fo:
                            w = csv.writer(fo)
                            w.writerow(["name", "op", "shape", "latency_us", "exposed_weight_us", "cycles_weights",
                                        "cycles_bound", "weight_bytes"])
                            w.writerows(pl)
    md += ["", "## Layers with the most exposed weight-load time (preset)", ""]
    for net, cfg, a, pl in tops:
        if cfg != "max":
            continue
        pl = sorted(pl, key=lambda x: -x[4])[:args.layers]
        md += ["%s, %s SubNet, %s:" % (os.path.basename(net).replace(".sushi", ""), cfg,
                                       a + (" (uncalibrated)" if a == "u50" else "")), "",
               "| layer | op | shape | latency µs | exposed weight µs | weight cycles | compute/stream cycles | "
               "weight bytes |", "|---|---|---|---|---|---|---|---|"]
        md += ["| %s | %s | %s | %.1f | %.1f | %d | %d | %d |" % x for x in pl] + [""]
    print("\n".join(md))


if __name__ == "__main__":
    main()
