#!/usr/bin/python3
"""Depthwise layers alone: libsushi vs PyTorch (oneDNN), 1 thread.

    /usr/bin/python3 bench/cpu/bench_dw.py --build build-rel [--rounds 5] [--reps 25] \
        [--supernet ofa-mbv3-w1.0] [--config max@224]

Every depthwise convolution (groups = channels) of the SubNet is timed alone:
REPS runs in a row on its own input (caches warm, as a layer benchmark
times a layer), median per layer, summed over the layers. PyTorch runs each
layer as the nn.Conv2d of bench_fair.py's module (BN folded into weight and
bias; the activation is left out, which only favours PyTorch: libsushi's
figure includes BN and the activation), its input captured from a forward
pass of that module. libsushi's figure is layer_threads' "alone_1" (the same
method on its own kernels). The two run in fresh processes, alternating,
with the malloc setting of bench_fair.py; per round the ratio libsushi /
PyTorch is printed, and the median of the ratios at the end.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_fair  # noqa: E402


def torch_worker(prefix, reps):
    import torch
    torch.set_num_threads(1)
    desc, blob, x = bench_fair.load_dump(prefix)
    net = bench_fair.build_module(desc, blob)
    captured = []
    hooks = [m.register_forward_pre_hook(lambda m, a: captured.append((m, a[0].clone())))
             for m in net.mods if isinstance(m, torch.nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels]
    with torch.inference_mode():
        net(torch.from_numpy(x))
        for h in hooks:
            h.remove()
        per = []
        for m, v in captured:
            for _ in range(3):
                m(v)
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                m(v)
                ts.append((time.perf_counter() - t0) * 1e3)
            per.append(statistics.median(ts))
    print(json.dumps({"layers": len(per), "ms": sum(per), "per_layer": per}))


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **bench_fair.PEER_MALLOC_ENV))
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (cmd[0], p.stderr.strip()[-400:]))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--supernet", default="ofa-mbv3-w1.0")
    ap.add_argument("--config", default="max@224")
    ap.add_argument("--worker")
    args = ap.parse_args()
    if args.worker:
        return torch_worker(args.worker, args.reps)
    if not args.build:
        ap.error("--build is required")
    print("# bench_dw: %s %s, %d rounds x %d reps, 1 thread, OPENBLAS_CORETYPE=%s, started %s"
          % (args.supernet, args.config, args.rounds, args.reps, os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
             time.strftime("%Y-%m-%d %H:%M:%S")))
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "dump")
        subprocess.run([os.path.join(args.build, "tests", "cpu", "dump_subnet"), args.supernet, args.config, "7",
                        prefix], check=True, stdout=subprocess.DEVNULL)
        for r in range(args.rounds):
            res = {}
            order = ["libsushi", "torch"] if r % 2 == 0 else ["torch", "libsushi"]
            load = os.getloadavg()[0]
            for eng in order:
                if eng == "torch":
                    out = run([sys.executable, os.path.abspath(__file__), "--worker", prefix, "--reps",
                               str(args.reps)])
                    res[eng] = json.loads(out.strip().splitlines()[-1])
                else:
                    out = run([os.path.join(args.build, "bench", "cpu", "layer_threads"), "--threads", "1", "--reps",
                               str(args.reps), args.supernet, args.config])
                    for line in out.splitlines():
                        d = json.loads(line)
                        if d.get("kind") == "dwconv" and "layers" in d:
                            res[eng] = {"layers": d["layers"], "ms": d["alone_1"]}
            if res["torch"]["layers"] != res["libsushi"]["layers"]:
                raise SystemExit("layer counts differ: %s" % res)
            ratio = res["libsushi"]["ms"] / res["torch"]["ms"]
            ratios.append(ratio)
            print("round %d (load %.2f): %d layers, libsushi %.3f ms, PyTorch %.3f ms, ratio %.2f"
                  % (r, load, res["torch"]["layers"], res["libsushi"]["ms"], res["torch"]["ms"], ratio))
    print("median ratio libsushi / PyTorch: %.2f" % statistics.median(ratios))


if __name__ == "__main__":
    main()
