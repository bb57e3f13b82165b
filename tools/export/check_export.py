#!/usr/bin/python3
"""Check an exported SuperNet file against PyTorch: for a few candidates, run the
PyTorch SuperNet (tools/train/fmnist_supernet.py; BN recalibrated exactly as the
exporter did) and libsushi's cpu backend (Python binding, float32) on N test
images; print the max abs logit difference and top-1 agreement.

    /usr/bin/python3 tools/export/check_export.py [--file models/fmnist-mbv3.sushi]
        [--ckpt tools/train/fmnist_supernet.pt] [-n 500] [--cands 0,13,26]
Exit status 1 when a max abs diff exceeds --tol (default 1e-3) or top-1 disagrees.
"""
import argparse
import os
import sys

import numpy as np
try:
    import torch  # noqa: E402
except ImportError:
    raise SystemExit("check_export.py needs PyTorch: apt-get install python3-torch (or scripts/deps --tools)")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import fmnist_supernet as fs  # noqa: E402
import export_fmnist as ex  # noqa: E402


def torch_cfg(c):
    return {"ks": list(c.ks), "e": [float(x) if not float(x).is_integer() else int(x) for x in c.e],
            "d": list(c.d)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=os.path.join(ROOT, "models", "fmnist-mbv3.sushi"))
    ap.add_argument("--ckpt", default=os.path.join(ROOT, "tools", "train", "fmnist_supernet.pt"))
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--cands", default="")
    ap.add_argument("--tol", type=float, default=1e-3)
    args = ap.parse_args()
    import sushi
    torch.set_grad_enabled(False)
    model, _ = fs.load_checkpoint(args.ckpt)
    sn = sushi.SuperNet.load(args.file)
    b = sn.backend("cpu")
    n_c = sn.info["n_candidates"]
    cands = [int(x) for x in args.cands.split(",")] if args.cands else sorted({0, n_c // 2, n_c - 1})
    xtr, _ = fs.load_fmnist("train")
    calib = fs.normalize(xtr[:ex.CALIB_IMAGES])
    xte, yte = fs.load_fmnist("test")
    x = fs.normalize(xte[:args.n])
    ok = True
    for i in cands:
        c = sn.candidate(i)
        cfg = torch_cfg(c["config"])
        r = c["config"].resolution
        model.set_active_subnet(**cfg)
        fs.recalibrate_bn(model, fs.resize(calib, r), ex.CALIB_BATCH)
        model.eval()
        xr = fs.resize(x, r)
        ref = model(xr).numpy()
        s = sn.subnet(i)
        got = b.run(s, xr.numpy())
        diff = float(np.abs(got - ref).max())
        agree = float((got.argmax(1) == ref.argmax(1)).mean())
        acc_c = float((got.argmax(1) == yte[:args.n].numpy()).mean())
        acc_t = float((ref.argmax(1) == yte[:args.n].numpy()).mean())
        print("candidate %2d  r %d  MACs %9d  max|logit diff| %.3g (max|logit| %.3g)  top-1 agreement %.4f  "
              "acc C %.4f torch %.4f  (%d images)" % (i, r, c["macs"], diff, float(np.abs(ref).max()),
                                                      agree, acc_c, acc_t, args.n))
        ok &= diff <= args.tol and agree == 1.0
        s.close()
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
