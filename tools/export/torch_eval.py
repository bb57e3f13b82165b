#!/usr/bin/python3
"""PyTorch reference evaluation of the candidates of an exported Fashion-MNIST
SuperNet, to compare with the accuracies `sushi eval` measured with the C library.

For each candidate (or --cands i,j,...): set the SubNet in the PyTorch SuperNet
(tools/train/fmnist_supernet.py), recalibrate BN on the first 2000 training
images exactly as the exporter did, evaluate top-1 on the 10,000 test images
(float32, eval mode), and compare with the accuracy stored in the file.

    /usr/bin/python3 tools/export/torch_eval.py [--file models/fmnist-mbv3.sushi]
        [--ckpt tools/train/fmnist_supernet.pt] [--cands 0,26,49] [--json OUT.json]
Exit status 1 when a stored measured accuracy differs by more than --tol points (default 0.1).
"""
import argparse
import json
import math
import os
import sys
import time

try:
    import torch  # noqa: E402
except ImportError:
    raise SystemExit("torch_eval.py needs PyTorch: apt-get install python3-torch (or scripts/deps --tools)")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import fmnist_supernet as fs  # noqa: E402
import export_fmnist as ex  # noqa: E402
from check_export import torch_cfg  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=os.path.join(ROOT, "models", "fmnist-mbv3.sushi"))
    ap.add_argument("--ckpt", default=os.path.join(ROOT, "tools", "train", "fmnist_supernet.pt"))
    ap.add_argument("--cands", default="")
    ap.add_argument("--json", default="")
    ap.add_argument("--tol", type=float, default=0.1, help="points")
    args = ap.parse_args()
    import sushi
    torch.set_grad_enabled(False)
    model, _ = fs.load_checkpoint(args.ckpt)
    sn = sushi.SuperNet.load(args.file)
    n_c = sn.info["n_candidates"]
    cands = [int(x) for x in args.cands.split(",")] if args.cands else list(range(n_c))
    xtr, _ = fs.load_fmnist("train")
    calib = fs.normalize(xtr[:ex.CALIB_IMAGES])
    xte, yte = fs.load_fmnist("test")
    xte = fs.normalize(xte)
    rows, worst, ok = [], 0.0, True
    t0 = time.time()
    for i in cands:
        c = sn.candidate(i)
        r = c["config"].resolution
        model.set_active_subnet(**torch_cfg(c["config"]))
        fs.recalibrate_bn(model, fs.resize(calib, r), ex.CALIB_BATCH)
        acc = fs.evaluate(model, fs.resize(xte, r), yte)
        stored = c["accuracy"]
        d = None if (stored is None or math.isnan(stored)) else 100.0 * abs(acc - stored)
        if d is not None:
            worst = max(worst, d)
            ok &= d <= args.tol + 1e-9
        rows.append({"index": i, "r": r, "macs": c["macs"], "torch_top1": acc,
                     "c_top1": None if d is None else stored, "diff_points": d})
        print("candidate %2d  MACs %9d  torch %.4f  C %s  diff %s" % (
            i, c["macs"], acc, "-" if d is None else "%.4f" % stored,
            "-" if d is None else "%.2f pt" % d), flush=True)
    print("%d candidates in %.0f s; max |torch - C| = %.2f points (tol %.2f): %s"
          % (len(cands), time.time() - t0, worst, args.tol, "OK" if ok else "MISMATCH"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"file": args.file, "rows": rows, "max_diff_points": worst}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
