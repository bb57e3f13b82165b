#!/usr/bin/python3
"""A fair CPU comparison: libsushi vs PyTorch (eager and frozen) vs OpenCV DNN.

    /usr/bin/python3 bench/cpu/bench_fair.py --build build-rel [--rounds 9] [--reps 20] \
        [--only CASE ...] [--json out.jsonl]
    /usr/bin/python3 bench/cpu/bench_fair.py --build build-rel --speedup 2 --only "ofa-resnet50 max@224" \
        [--engines libsushi torch-frozen] [--rounds 12]

--speedup N measures thread scaling instead: every round runs each engine on
the case's SubNet at 1 thread and at N threads, all of them in a fresh
process and in an order rotated every round, and prints per engine the
median, minimum and maximum over rounds of the per-round ratio
(1-thread ms / N-thread ms). On a shared machine the ratio of one pair moves
a lot from minute to minute (docs/performance.md); the median over pairs
taken side by side, and the peer's ratio in the same rounds, are the figures.
With bench/cpu/llc_probe built, every round is also classed by whether the
first two CPUs shared their last-level cache before and after it ("shared",
"split" or "mixed"; a VM host moves its vCPUs between the two), and the
summary gives each engine's figures over all rounds and per class. The
probe also says whether the two CPUs gave two whole cores of arithmetic
before and after the round ("full"; "contended" when the host gave part of
one to another guest); every row names both classes ("llc", "cores": "all"
where it does not pick), and when both kinds of rounds occurred the summary
also has rows per cores class and per pair of classes. The comparison's
multi-thread cases record the classes of each round ("llc_rounds" and
"cores_rounds" in their summary row, "llc" and "cores" in --json).

Every case (a SubNet, a thread count) is run by each engine in a fresh
process, engines alternating in an order rotated every round, so all engines
see the same machine load. Each process loads its model, runs WARMUP untimed
and REPS timed forward passes (float32, batch 1, the same input) and reports
its median; the figure of a case is the median over rounds of the per-round
ratio libsushi / peer. The PyTorch peer of a round is the faster of:

* eager: torch.nn modules with BatchNorm folded into the convolutions and
  fused activations (F.relu / F.hardswish / F.hardsigmoid, in place where
  possible), under torch.inference_mode();
* frozen: the same module traced and torch.jit.freeze()d (which also folds
  and fuses), under torch.inference_mode().

OpenCV DNN (4.6, Debian's python3-opencv) runs an ONNX export of the same
module (opset 10, whose Clip carries min and max as attributes; h-swish exported as x * clip(x + 3, 0, 6) / 6, which its
importer maps to ReLU6, as OpenCV 4.6 has no HardSwish importer).

Models come from the library's own description of the SubNet
(tools/reference/dump_subnet: plan, the SuperNet tensors, the SubNet's
effective BN scale/shift, a deterministic input), so every engine computes the
same function; outputs are checked against libsushi's (max |diff| / max |ref|
printed, > 1e-4 flagged). The environment is used as it is (OPENBLAS_CORETYPE
and friends are not touched); load averages are recorded per round.

One addition, for the peers' sake: every engine's process runs with glibc's
malloc told to keep freed memory (MALLOC_MMAP_THRESHOLD_=32 MiB,
MALLOC_TRIM_THRESHOLD_=4 GiB; PEER_MALLOC_ENV). PyTorch and OpenCV allocate
their activations at every forward pass; with glibc's defaults the large ones
are fresh mmap()s, and on this machine the page faults took ~2/3 of
PyTorch's time (MobileNetV3 max@224 frozen: ~60 ms, 18.5 ms with the
setting, which is what a tuned deployment or jemalloc gives). libsushi
allocates nothing per run, so the setting only makes the peers faster.
Needs python3-torch, python3-opencv (and python3-onnx is not needed).
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
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FMNIST = os.path.join(ROOT, "models", "fmnist-mbv3.sushi")

# (name, supernet, config, threads)
CASES = [
    ("fmnist-mbv3 min@16", FMNIST, "min@16", 1),
    ("fmnist-mbv3 max@28", FMNIST, "max@28", 1),
    ("ofa-mbv3-w1.0 min@160", "ofa-mbv3-w1.0", "min@160", 1),
    ("ofa-mbv3-w1.0 max@224", "ofa-mbv3-w1.0", "max@224", 1),
    ("ofa-resnet50 min@160", "ofa-resnet50", "min@160", 1),
    ("ofa-resnet50 max@224", "ofa-resnet50", "max@224", 1),
    ("ofa-resnet50 max@224 t2", "ofa-resnet50", "max@224", 2),
    ("ofa-mbv3-w1.0 max@224 t2", "ofa-mbv3-w1.0", "max@224", 2),
]
ENGINES = ["libsushi", "torch-eager", "torch-frozen", "opencv"]
PEER_MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(4 << 30)}


# ---------------------------------------------------------------- workers

def build_module(desc, blob, onnx_safe=False):
    """A torch.nn.Module computing the dumped SubNet in float32 with BN folded."""
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def t(ref, n=None):
        k = int(np.prod(ref["shape"]))
        a = blob[ref["at"]:ref["at"] + k].reshape(ref["shape"])
        return a

    def vec(at, n):
        return blob[at:at + n]

    def hswish(x):
        if onnx_safe:
            return x * torch.clamp(x + 3.0, 0.0, 6.0) / 6.0
        return F.hardswish(x)

    def hsigmoid(x):
        if onnx_safe:
            return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0
        return F.hardsigmoid(x)

    def act(x, kind):
        if kind == "relu":
            return F.relu(x)
        if kind == "hswish":
            return hswish(x)
        if kind == "hsigmoid":
            return hsigmoid(x)
        return x

    class SE(nn.Module):
        def __init__(self, c, mid, w1, b1, w2, b2):
            super().__init__()
            self.reduce = nn.Conv2d(c, mid, 1, bias=True)
            self.expand = nn.Conv2d(mid, c, 1, bias=True)
            with torch.no_grad():
                self.reduce.weight.copy_(torch.from_numpy(w1))
                self.reduce.bias.copy_(torch.from_numpy(b1))
                self.expand.weight.copy_(torch.from_numpy(w2))
                self.expand.bias.copy_(torch.from_numpy(b2))

        def forward(self, x):
            y = F.adaptive_avg_pool2d(x, 1)
            y = hsigmoid(self.expand(F.relu(self.reduce(y))))
            return x * y

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = nn.ModuleList()
            self.plan = []
            for l in desc["layers"]:
                op, T = l["op"], l["tensors"]
                cin, cout, k = l["in"][0], l["out"][0], l["kernel"]
                m = nn.Identity()
                if op in ("conv", "dwconv"):
                    groups = cin if op == "dwconv" else 1
                    w = t(T["weight"])
                    w = w[:cout] if op == "dwconv" else w[:cout, :cin]
                    # k5/k3 depthwise filters are stored tensors of their own (format.md)
                    w = w.reshape(cout, cin // groups, k, k)
                    b = t(T["bias"])[:cout] if "bias" in T else np.zeros(cout, np.float32)
                    if "bn" in l:
                        sc = vec(l["bn"]["scale_at"], cout)
                        sh = vec(l["bn"]["shift_at"], cout)
                        w = w * sc[:, None, None, None]
                        b = b * sc + sh
                    m = nn.Conv2d(cin, cout, k, stride=l["stride"], padding=l["pad"], groups=groups, bias=True)
                    with torch.no_grad():
                        m.weight.copy_(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)))
                        m.bias.copy_(torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32)))
                elif op == "linear":
                    nin = cin * l["in"][1] * l["in"][2]
                    m = nn.Linear(nin, cout, bias="bias" in T)
                    with torch.no_grad():
                        m.weight.copy_(torch.from_numpy(np.ascontiguousarray(t(T["weight"])[:cout, :nin])))
                        if "bias" in T:
                            m.bias.copy_(torch.from_numpy(np.ascontiguousarray(t(T["bias"])[:cout])))
                elif op == "se":
                    mid = l["se_mid"]
                    m = SE(cin, mid, np.ascontiguousarray(t(T["weight"])[:mid, :cin]).reshape(mid, cin, 1, 1),
                           np.ascontiguousarray(t(T["bias"])[:mid]),
                           np.ascontiguousarray(t(T["weight2"])[:cin, :mid]).reshape(cin, mid, 1, 1),
                           np.ascontiguousarray(t(T["bias2"])[:cin]))
                elif op == "maxpool":
                    m = nn.MaxPool2d(k, l["stride"], l["pad"])
                elif op == "avgpool":
                    m = nn.AvgPool2d(k, l["stride"], 0, ceil_mode=True, count_include_pad=False)
                self.mods.append(m)
                self.plan.append((op, l["act"], l["input"], l["input2"], l["output"]))
            self.out = desc["output_value"]

        def forward(self, x):
            vals = {0: x}
            for (op, a, i, i2, o), m in zip(self.plan, self.mods):
                v = vals[i]
                if op in ("conv", "dwconv"):
                    y = act(m(v), a)
                elif op == "linear":
                    y = act(m(torch.flatten(v, 1)), a)
                elif op == "gap":
                    y = F.adaptive_avg_pool2d(v, 1)
                elif op == "add":
                    y = act(v + vals[i2], a)
                else:
                    y = m(v)
                vals[o] = y
            return torch.flatten(vals[self.out], 1)

    return Net().eval()


def load_dump(prefix):
    import numpy as np
    with open(prefix + ".json") as f:
        desc = json.load(f)
    blob = np.fromfile(prefix + ".bin", dtype="<f4")
    inp = desc["input"]
    n = inp["shape"][0] * inp["shape"][1] * inp["shape"][2]
    x = blob[inp["at"]:inp["at"] + n].reshape([1] + inp["shape"]).copy()
    return desc, blob, x


def median_of(fn, warmup, reps):
    for _ in range(warmup):
        out = fn()
    ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms), ms, out


def worker(args):
    import numpy as np
    desc, blob, x = load_dump(args.dump)
    eng = args.worker
    if eng.startswith("torch"):
        import torch
        torch.set_num_threads(args.threads)
        net = build_module(desc, blob)
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            if eng == "torch-frozen":
                net = torch.jit.freeze(torch.jit.trace(net, xt))
            med, ms, out = median_of(lambda: net(xt), args.warmup, args.reps)
        y = out.numpy().ravel()
    elif eng == "opencv":
        import cv2
        import torch
        cv2.setNumThreads(args.threads)
        net = build_module(desc, blob, onnx_safe=True)
        path = args.out + ".onnx"
        with torch.no_grad():
            torch.onnx.export(net, torch.from_numpy(x), path, opset_version=10, input_names=["x"],
                              output_names=["y"])
        cvnet = cv2.dnn.readNetFromONNX(path)
        cvnet.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        cvnet.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)

        def run():
            cvnet.setInput(x)
            return cvnet.forward()
        med, ms, out = median_of(run, args.warmup, args.reps)
        y = np.asarray(out).ravel()
    else:
        raise SystemExit("unknown engine " + eng)
    np.asarray(y, dtype="<f4").tofile(args.out)
    print(json.dumps({"engine": eng, "threads": args.threads, "median_ms": med, "ms": ms}))


# ---------------------------------------------------------------- driver

def dump_case(build, sn, cfg, tmp):
    """The library's dump of SubNet cfg of sn into tmp/dump.* (what every engine
    builds its model from), and its input as raw float32 in tmp/dump.in."""
    prefix = os.path.join(tmp, "dump")
    subprocess.run([os.path.join(build, "tests", "cpu", "dump_subnet"), sn, cfg, "7", prefix],
                   check=True, stdout=subprocess.DEVNULL)
    _, _, x = load_dump(prefix)
    x.astype("<f4").tofile(prefix + ".in")


def run_engine(eng, case, tmp, build, warmup, reps):
    name, sn, cfg, threads = case
    prefix = os.path.join(tmp, "dump")
    out = os.path.join(tmp, eng + ".out")
    if eng == "libsushi":
        cmd = [os.path.join(build, "bench", "cpu", "fair_sushi"), sn, cfg, prefix + ".in", str(threads),
               str(warmup), str(reps), out]
    else:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", eng, "--dump", prefix, "--threads",
               str(threads), "--warmup", str(warmup), "--reps", str(reps), "--out", out]
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **PEER_MALLOC_ENV))
    if p.returncode != 0:
        return {"engine": eng, "error": (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["out"] = out
    return r


# remote / local read bandwidth of bench/cpu/llc_probe at or above which two
# CPUs are taken to share their last-level cache (seen here: 0.83-0.98 when
# they do, 0.38-0.45 when they do not)
LLC_SHARED_RATIO = 0.7
# llc_probe's compute_scaling at or above which the two CPUs are taken to
# give two whole cores of arithmetic (seen here: 1.91-2.01)
COMPUTE_FULL = 1.85


def probe(build):
    """bench/cpu/llc_probe's figures now (a dict with "ratio" and
    "compute_scaling"), or None without it."""
    exe = os.path.join(build, "bench", "cpu", "llc_probe")
    if not os.path.exists(exe):
        return None
    p = subprocess.run([exe], capture_output=True, text=True)
    return json.loads(p.stdout) if p.returncode == 0 else None


def llc_class(before, after):
    """'shared' / 'split' when the probes before and after a round agree,
    'mixed' when they do not, None without probes."""
    if before is None or after is None:
        return None
    a, b = before["ratio"] >= LLC_SHARED_RATIO, after["ratio"] >= LLC_SHARED_RATIO
    return ("shared" if a else "split") if a == b else "mixed"


def cores_class(before, after):
    """'full' when both probes saw two whole cores of arithmetic, else
    'contended' (the host gave part of a core to someone else), None without
    probes."""
    if before is None or after is None:
        return None
    return "full" if min(before["compute_scaling"], after["compute_scaling"]) >= COMPUTE_FULL else "contended"


def probe_note(before, after):
    """the round's probes, for its line"""
    if before is None or after is None:
        return ""
    return ", LLC %s (probe %.2f/%.2f), cores %s (compute %.2f/%.2f)" % (
        llc_class(before, after), before["ratio"], after["ratio"], cores_class(before, after),
        before["compute_scaling"], after["compute_scaling"])


def speedup(args, cases):
    """--speedup N: per-round 1-thread / N-thread ratio of every engine, and
    whether the first two CPUs shared their last-level cache in the round."""
    n = args.speedup
    seen = set()
    for name, sn, cfg, _ in cases:
        if (sn, cfg) in seen:
            continue
        seen.add((sn, cfg))
        runs = [(e, t) for e in args.engines for t in (1, n)]
        ms = {r: [] for r in runs}
        ratios = {e: [] for e in args.engines}
        classes, cores = [], []
        with tempfile.TemporaryDirectory() as tmp:
            dump_case(args.build, sn, cfg, tmp)
            for r in range(args.rounds):
                order = runs[r % len(runs):] + runs[:r % len(runs)]
                res = {}
                before = probe(args.build)
                for eng, t in order:
                    res[(eng, t)] = run_engine(eng, (name, sn, cfg, t), tmp, args.build, args.warmup, args.reps)
                    if "error" in res[(eng, t)]:
                        print("%s: %s at %d threads failed: %s" % (name, eng, t, res[(eng, t)]["error"]))
                        return 1
                for run in runs:
                    ms[run].append(res[run]["median_ms"])
                for e in args.engines:
                    ratios[e].append(res[(e, 1)]["median_ms"] / res[(e, n)]["median_ms"])
                after = probe(args.build)
                classes.append(llc_class(before, after))
                cores.append(cores_class(before, after))
                print("# round %d (load %.1f%s): %s" % (r, os.getloadavg()[0], probe_note(before, after), ", ".join(
                    "%s %.3g/%.3g ms = %.2fx" % (e, res[(e, 1)]["median_ms"], res[(e, n)]["median_ms"], ratios[e][-1])
                    for e in args.engines)))
                sys.stdout.flush()
        case = "%s %s" % (sn if os.sep not in sn else os.path.basename(sn), cfg)
        for e in args.engines:
            # all rounds, then the rounds of each LLC class; when the rounds
            # also differ in their cores class, of each cores class and of
            # each pair of classes seen
            # ("all" picks every round)
            groups = [("all", "all")] + [(c, "all") for c in sorted(set(c for c in classes if c))]
            if len(set(c for c in cores if c)) > 1:
                groups += [("all", c) for c in sorted(set(c for c in cores if c))]
                groups += [(a, b) for a, b in sorted(set(zip(classes, cores))) if a and b]
            for llc, core in groups:
                pick = [i for i in range(len(ratios[e]))
                        if llc in ("all", classes[i]) and core in ("all", cores[i])]
                rs = [ratios[e][i] for i in pick]
                row = {"case": case, "engine": e, "threads": n, "llc": llc, "cores": core, "rounds": len(pick),
                       "ms_1": statistics.median(ms[(e, 1)][i] for i in pick),
                       "ms_n": statistics.median(ms[(e, n)][i] for i in pick),
                       "speedup_median": statistics.median(rs), "speedup_min": min(rs), "speedup_max": max(rs)}
                print(json.dumps(row))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", help="meson build dir (release) with bench/cpu/fair_sushi and tests/cpu/dump_subnet")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--only", nargs="+", help="case names (see CASES) or substrings")
    ap.add_argument("--engines", nargs="+", default=ENGINES)
    ap.add_argument("--json", help="append every round's raw results to this JSON-lines file")
    ap.add_argument("--speedup", type=int, metavar="N",
                    help="thread scaling: each engine at 1 and N threads per round (see above)")
    # worker mode
    ap.add_argument("--worker")
    ap.add_argument("--dump")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    if not args.build:
        ap.error("--build is required")
    import numpy as np
    cases = [c for c in CASES if not args.only or any(o == c[0] or o in c[0] for o in args.only)]
    if args.speedup:
        if args.speedup < 2:
            ap.error("--speedup needs N >= 2")
        return speedup(args, cases)
    log = open(args.json, "a") if args.json else None
    print("# bench_fair: %d rounds x %d reps (+%d warm-up), engines %s" % (args.rounds, args.reps, args.warmup,
                                                                           ", ".join(args.engines)))
    print("# OPENBLAS_CORETYPE=%s, %d cores, started %s" % (os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
                                                          os.cpu_count(), time.strftime("%Y-%m-%d %H:%M:%S")))
    print("# every engine with %s" % " ".join("%s=%s" % kv for kv in sorted(PEER_MALLOC_ENV.items())))
    summary = []
    for case in cases:
        name, sn, cfg, threads = case
        with tempfile.TemporaryDirectory() as tmp:
            dump_case(args.build, sn, cfg, tmp)
            meds = {e: [] for e in args.engines}
            ratios = {e: [] for e in args.engines if e != "libsushi"}
            ratios["torch-best"] = []
            errs = {}
            loads = []
            llcs, cores = [], []
            for r in range(args.rounds):
                order = args.engines[r % len(args.engines):] + args.engines[:r % len(args.engines)]
                res = {}
                loads.append(os.getloadavg()[0])
                # several threads: note the cache placement of the round (see --speedup)
                before = probe(args.build) if threads > 1 else None
                for eng in order:
                    res[eng] = run_engine(eng, case, tmp, args.build, args.warmup, args.reps)
                after = probe(args.build) if threads > 1 else None
                llcs.append(llc_class(before, after))
                cores.append(cores_class(before, after))
                if log:
                    log.write(json.dumps({"case": name, "round": r, "order": order, "load1": loads[-1],
                                          "llc": llcs[-1], "cores": cores[-1],
                                          "results": {e: {k: v for k, v in res[e].items() if k != "out"}
                                                      for e in res}}) + "\n")
                    log.flush()
                ref = res.get("libsushi")
                if not ref or "error" in ref:
                    print("%s: libsushi failed: %s" % (name, ref and ref.get("error")))
                    break
                y0 = np.fromfile(ref["out"], dtype="<f4")
                for e in args.engines:
                    if "error" in res[e]:
                        errs[e] = res[e]["error"]
                        continue
                    meds[e].append(res[e]["median_ms"])
                    if e != "libsushi":
                        y = np.fromfile(res[e]["out"], dtype="<f4")
                        d = float(np.max(np.abs(y - y0)) / max(1e-30, float(np.max(np.abs(y0))))) \
                            if y.shape == y0.shape else float("inf")
                        errs.setdefault(e + ":maxrel", 0.0)
                        errs[e + ":maxrel"] = max(errs[e + ":maxrel"], d)
                        ratios[e].append(ref["median_ms"] / res[e]["median_ms"])
                tb = [res[e]["median_ms"] for e in ("torch-eager", "torch-frozen") if e in res and "error" not in res[e]]
                if tb:
                    ratios["torch-best"].append(ref["median_ms"] / min(tb))
        row = {"case": name, "threads": threads, "rounds": len(meds.get("libsushi", [])),
               "load1_median": statistics.median(loads) if loads else None}
        if any(llcs):
            row["llc_rounds"] = {c: llcs.count(c) for c in sorted(set(llcs)) if c}
            row["cores_rounds"] = {c: cores.count(c) for c in sorted(set(cores)) if c}
        for e in args.engines:
            row[e + "_ms"] = statistics.median(meds[e]) if meds[e] else None
        for e, v in ratios.items():
            row["ratio_vs_" + e] = statistics.median(v) if v else None
        row["checks"] = errs
        summary.append(row)
        print(json.dumps(row))
        sys.stdout.flush()
    print()
    print("| case | libsushi ms | torch eager ms | torch frozen ms | OpenCV ms | vs best PyTorch | vs OpenCV | load |")
    print("|---|---|---|---|---|---|---|---|")

    def f(v, fmt="%.3g"):
        return "-" if v is None else fmt % v
    for r in summary:
        print("| %s | %s | %s | %s | %s | **%s** | **%s** | %s |" % (
            r["case"], f(r.get("libsushi_ms")), f(r.get("torch-eager_ms")), f(r.get("torch-frozen_ms")),
            f(r.get("opencv_ms")), f(r.get("ratio_vs_torch-best"), "%.2f"), f(r.get("ratio_vs_opencv"), "%.2f"),
            f(r["load1_median"], "%.1f")))
    bad = [(r["case"], k, v) for r in summary for k, v in r["checks"].items()
           if k.endswith(":maxrel") and v > 1e-4]
    for c, k, v in bad:
        print("OUTPUT MISMATCH: %s %s = %.3g" % (c, k, v))
    errors = [(r["case"], k, v) for r in summary for k, v in r["checks"].items() if not k.endswith(":maxrel")]
    for c, k, v in errors:
        print("ENGINE FAILED: %s %s: %s" % (c, k, v))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
