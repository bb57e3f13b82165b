#!/usr/bin/env python3
"""`sushi run FILE --config CFG --backend hls` works for any valid config
(docs/hls.md): SubNets that are not candidates and carry no int8 ranges run
too (the backend calibrates on its default calibration set).

usage: check_cli_run.py SUSHI_EXE FMNIST_MODEL
"""
import json
import math
import subprocess
import sys

sys.dont_write_bytecode = True


def run(exe, target, cfg):
    r = subprocess.run([exe, "run", target, "--config", cfg, "--backend", "hls", "--json"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit("FAIL: sushi run %s --config %s --backend hls: exit %d\n%s" % (target, cfg, r.returncode, r.stderr))
    j = json.loads(r.stdout)
    out = j["output"]
    if j["backend"] != "hls" or not out or not all(math.isfinite(v) for v in out):
        sys.exit("FAIL: %s %s: bad output %s" % (target, cfg, r.stdout[:400]))
    best = max(range(len(out)), key=lambda k: (out[k], -k))
    if j["top5"][0]["class"] != best:
        sys.exit("FAIL: %s %s: top-1 %s is not the largest logit" % (target, cfg, j["top5"][0]))
    print("ok  %-28s %-60s top-1 class %d" % (target.split("/")[-1], cfg[:60], best))


def main():
    exe, model = sys.argv[1:3]
    # not a candidate of the shipped table: no stored ranges
    odd = '{"ks":[3,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5],"e":[4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4],"d":[3,3,3,3]}'
    for target, cfg in ((model, "min"), (model, "max"), (model, odd),
                        ("builtin:ofa-mbv3-w1.0", "min@40"), ("builtin:ofa-resnet50", "min@32")):
        run(exe, target, cfg)


if __name__ == "__main__":
    main()
