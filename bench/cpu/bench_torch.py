#!/usr/bin/python3
"""PyTorch 1.13 side of the cpu-backend benchmark (docs/performance.md).

    /usr/bin/python3 bench/cpu/bench_torch.py --dump-tool build-cpu-rel/tests/cpu/dump_subnet \
        --threads 1 --reps 20 [--cpu-json bench_cpu.jsonl]

Builds each SubNet with tools/reference/torch_ref.py's module builder from the
library's dump (float32, eval mode, batch 1), times `reps` forward passes
under torch.no_grad() after 3 warm-up runs, and prints one JSON line per
SubNet with the median. With --cpu-json (the output of bench_cpu) it also
prints libsushi / PyTorch median ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "reference"))
import torch_ref  # noqa: E402

SUBNETS = [("ofa-mbv3-w1.0", "max@224"), ("ofa-mbv3-w1.0", "min@224"),
           ("ofa-resnet50", "max@224"), ("ofa-resnet50", "min@224")]


def forward(desc, mods, x):
    vals = {0: x}
    for l, m in zip(desc["layers"], mods):
        a = vals[l["input"]]
        op = l["op"]
        if op in ("conv", "dwconv"):
            y = torch_ref.act(m(a), l["act"])
        elif op == "linear":
            y = m(a.flatten(1))
        elif op == "gap":
            y = a.mean((2, 3), keepdim=True)
        elif op == "add":
            y = torch_ref.act(a + vals[l["input2"]], l["act"])
        else:
            y = m(a)
        vals[l["output"]] = y
    return vals[desc["output_value"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump-tool", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--cpu-json")
    ap.add_argument("--only", nargs=2, metavar=("SUPERNET", "CONFIG"), help="time this SubNet only")
    ap.add_argument("--summary", nargs="+", metavar="JSONL",
                    help="only summarise JSON lines of interleaved runs (bench/cpu/run_bench.sh)")
    args = ap.parse_args()
    if args.summary:
        return summarise(args.summary)
    torch.set_num_threads(args.threads)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in ([tuple(args.only)] if args.only else SUBNETS):
            prefix = os.path.join(tmp, "d")
            subprocess.run([args.dump_tool, name, cfg, "7", prefix], check=True)
            desc = json.load(open(prefix + ".json"))
            blob = np.fromfile(prefix + ".bin", dtype="<f4")
            mods = [m.float().eval() if m is not None else None for m in torch_ref.build(desc, blob)]
            x = torch_ref.tensor(blob, desc["input"]).float().unsqueeze(0)
            with torch.no_grad():
                for _ in range(3):
                    forward(desc, mods, x)
                t = []
                for _ in range(args.reps):
                    t0 = time.perf_counter()
                    forward(desc, mods, x)
                    t.append(time.perf_counter() - t0)
            med = statistics.median(t) * 1e3
            results[(name, cfg)] = med
            print(json.dumps({"torch": torch.__version__, "supernet": name, "config": cfg, "threads": args.threads,
                              "reps": args.reps, "median_ms": round(med, 3), "min_ms": round(min(t) * 1e3, 3),
                              "macs": desc["macs"]}), flush=True)
            del mods, blob
    if args.cpu_json:
        lib = {}
        for line in open(args.cpu_json):
            d = json.loads(line)
            if "median_ms" in d:
                lib[(d["supernet"], d["config"])] = d["median_ms"]
        print("| SubNet | libsushi ms | PyTorch ms | ratio |")
        print("|---|---|---|---|")
        for k, v in results.items():
            if k in lib:
                print("| %s %s | %.2f | %.2f | %.2f |" % (k[0], k[1], lib[k], v, lib[k] / v))


def summarise(paths):
    """Median over rounds of each side's per-round median; ratio libsushi / PyTorch."""
    lib, ref, gemm, big, im2col, wino, wino_i = {}, {}, {}, [], {}, {}, {}
    for p in paths:
        for line in open(p):
            d = json.loads(line)
            if "sgemm2048_gflops" in d:
                big.append(d["sgemm2048_gflops"])
            elif "torch" in d:
                ref.setdefault((d["supernet"], d["config"], d["threads"]), []).append(d["median_ms"])
            elif "median_ms" in d:
                k = (d["supernet"], d["config"], d["threads"])
                lib.setdefault(k, []).append(d["median_ms"])
                gemm.setdefault(k, []).append(d["gemm1x1_gflops"])
                if d.get("im2col_median_ms"):
                    im2col.setdefault(k, []).append(d["im2col_median_ms"])
                    wino.setdefault(k, []).append(d["wino_ms"])
                    wino_i.setdefault(k, []).append(d["wino_as_im2col_ms"])
    print("| SubNet | threads | rounds | libsushi median ms | PyTorch median ms | ratio | 1x1 GEMM GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for k in sorted(lib):
        if k in ref:
            a, b = statistics.median(lib[k]), statistics.median(ref[k])
            print("| %s %s | %d | %d | %.2f | %.2f | %.2f | %.1f |" % (k[0], k[1], k[2], len(lib[k]), a, b, a / b,
                                                                     statistics.median(gemm[k])))
    if im2col:
        # the same SubNets in the same bench_cpu process with every 3x3 conv on
        # im2col (SUSHI_CPU_CONV=im2col), and the Winograd layers' share
        print("\n| SubNet | threads | libsushi median ms | same, all im2col | PyTorch | ratio im2col | "
              "Winograd layers ms | same layers on im2col ms |")
        print("|---|---|---|---|---|---|---|---|")
        for k in sorted(lib):
            if k in ref and k in im2col:
                a, i, b = statistics.median(lib[k]), statistics.median(im2col[k]), statistics.median(ref[k])
                print("| %s %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
                    k[0], k[1], k[2], a, i, b, i / b, statistics.median(wino[k]), statistics.median(wino_i[k])))
    if big:
        print("\nOpenBLAS sgemm 2048^3: median %.1f GFLOP/s over %d runs" % (statistics.median(big), len(big)))


if __name__ == "__main__":
    main()
