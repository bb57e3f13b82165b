#!/usr/bin/python3
"""Test of bench/cpu/llc_probe's output, which bench_fair.py --speedup reads:

    check_llc_probe.py LLC_PROBE

Runs the probe on a small buffer and checks its one JSON line: the fields
bench_fair.py reads, positive rates, and ratios that are the quotients of
the rates printed (to their rounding). Skips (exit 77) where fewer than two
CPUs are usable (the probe's exit status 2)."""
import json
import subprocess
import sys


def main():
    p = subprocess.run([sys.argv[1], "256"], capture_output=True, text=True, timeout=120)
    if p.returncode == 2:
        print("skip: fewer than two usable CPUs: " + p.stderr.strip())
        return 77
    if p.returncode != 0:
        print("llc_probe failed (exit %d): %s" % (p.returncode, p.stderr.strip()))
        return 1
    lines = p.stdout.strip().splitlines()
    if len(lines) != 1:
        print("expected one line, got %d: %r" % (len(lines), p.stdout))
        return 1
    d = json.loads(lines[0])
    want = ["cpus", "kib", "local_gbs", "remote_gbs", "ratio", "alone_gops", "pair_gops", "compute_scaling"]
    if sorted(d) != sorted(want):
        print("fields %s, expected %s" % (sorted(d), sorted(want)))
        return 1
    bad = []
    if len(d["cpus"]) != 2 or d["cpus"][0] == d["cpus"][1]:
        bad.append("cpus %r: not two distinct CPUs" % d["cpus"])
    if d["kib"] != 256:
        bad.append("kib %r, asked 256" % d["kib"])
    for k in ("local_gbs", "remote_gbs", "alone_gops", "pair_gops"):
        if not d[k] > 0:
            bad.append("%s %r not positive" % (k, d[k]))
    if not bad:
        # the printed rates are rounded to 0.1 and 0.01, the ratios to 0.01
        r = d["remote_gbs"] / d["local_gbs"]
        if abs(r - d["ratio"]) > 0.005 + 0.1 / d["local_gbs"] * (1 + r):
            bad.append("ratio %r but remote / local = %.4f" % (d["ratio"], r))
        c = d["pair_gops"] / d["alone_gops"]
        if abs(c - d["compute_scaling"]) > 0.005 + 0.01 / d["alone_gops"] * (1 + c):
            bad.append("compute_scaling %r but pair / alone = %.4f" % (d["compute_scaling"], c))
        # two CPUs cannot do more than about twice what one does, nor (even
        # on a busy machine, medians of 7) less than a small part of it
        if not 0.2 < d["compute_scaling"] < 2.5:
            bad.append("compute_scaling %r outside (0.2, 2.5)" % d["compute_scaling"])
    for b in bad:
        print(b)
    print(lines[0])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
