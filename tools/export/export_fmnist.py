#!/usr/bin/python3
"""Export the trained Fashion-MNIST SuperNet (tools/train/fmnist_supernet.pt) to
libsushi's format v1 (docs/format.md): models/fmnist-mbv3.sushi.

    /usr/bin/python3 tools/export/export_fmnist.py [--ckpt PT] [-o OUT] [--n-random 33]

* units mirror tools/train/fmnist_supernet.py exactly (first_conv, blocks.0 static
  MBConv e=1, 4 stages x 4 elastic MBConv blocks, final_expand_layer, GAP,
  feature_mix_layer (1x1, no BN, h-swish), classifier);
* depthwise 7x7 stored under the base name, k5 / k3 pre-materialised with the
  learned 7to5 / 5to3 transforms (DynDWConv.get_active_filter) as ..._k5 / ..._k3;
* candidate table: at every input resolution (16, 20, 24, 28) the 8 uniform corners
  of (ks, e, d) and the uniform centre (incl. the global min and max), plus
  --n-random random ones (seeded, random resolution), each with BN statistics
  recalibrated in PyTorch on the first 2000 training images resized to its resolution (fmnist_supernet.recalibrate_bn,
  batch 500, as in training) stored in plan order (docs/format.md 7.2; the plan
  order and the costs macs/params/weight_bytes are taken from libsushi itself
  through the Python binding, which also checks the result loads);
* accuracy null, accuracy_source "none": accuracies come only from `sushi eval`.
Needs a libsushi build (SUSHI_LIBRARY or build*/libsushi.so; docs/python.md).
"""
import argparse
import os
import random
import struct
import sys
import tempfile
import time

import numpy as np
try:
    import torch  # noqa: E402
except ImportError:
    raise SystemExit("export_fmnist.py needs PyTorch: apt-get install python3-torch (or scripts/deps --tools)")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import fmnist_supernet as fs  # noqa: E402
import sushi_writer as sw  # noqa: E402

ACT = {"relu": "relu", "h_swish": "hswish", None: "none", "none": "none"}
CALIB_IMAGES = 2000
CALIB_BATCH = 500
CAND_SEED = 4242


def build_units(model):
    a = model.arch
    div, red = a["channel_divisor"], a["se_reduction"]
    units = []
    fc = a["first_conv"]
    units.append(sw.unit("conv", "first_conv", fc["in"], fc["out"], kernel=fc["kernel"],
                         stride=fc["stride"], act=ACT[fc["act"]], bn=True))
    fb = a["first_block"]
    b0 = model.blocks[0]
    assert b0.conv.inverted_bottleneck is None
    units.append(sw.unit("mbconv", "blocks.0", fb["in"], fb["out"], kernel=fb["kernel"],
                         stride=fb["stride"], act=ACT[fb["act"]], se=fb["se"], residual=fb["residual"],
                         e_fixed=1, mid_max=fb["in"], dw=[fb["kernel"]],
                         se_mid_max=fs.se_channels(fb["in"], red, div) if fb["se"] else 0))
    ks_list, e_list = sorted(a["ks_list"]), sorted(a["expand_ratio_list"])
    slot = 0
    for g, idx in enumerate(model.stage_blocks):
        for j, bi in enumerate(idx):
            b = model.blocks[bi]
            mid = fs.mid_channels(b.cin, max(e_list), div)
            assert b.conv.depth_conv.conv.weight.shape[0] == mid
            units.append(sw.unit("mbconv", "blocks.%d" % bi, b.cin, b.cout, kernel=max(ks_list),
                                 stride=b.stride, act=ACT[b.act_name], se=b.use_se,
                                 residual=b.residual, ks_slot=slot, e_slot=slot, mid_max=mid,
                                 se_mid_max=fs.se_channels(mid, red, div) if b.use_se else 0,
                                 dgroup=g, dindex=j, dw=ks_list))
            slot += 1
    fe, fm, cl = a["final_expand"], a["feature_mix"], a["classifier"]
    units.append(sw.unit("conv", "final_expand_layer", fe["in"], fe["out"], act=ACT[fe["act"]],
                         bn=True))
    units.append(sw.unit("gap", "global_avg_pool", 0, 0))
    units.append(sw.unit("conv", "feature_mix_layer", fm["in"], fm["out"], act=ACT[fm["act"]],
                         bn=False))
    units.append(sw.unit("linear", "classifier", cl["in"], cl["out"], bias=True))
    return units


def f32le(t):
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype="<f4").tobytes()


@torch.no_grad()
def build_tensors(model, units):
    sd = model.state_dict()
    out = {}
    for name, shape in sw.tensor_table(units):
        if ".conv.depth_conv.conv.weight_k" in name:
            base, k = name.split("_k")
            mod = model.get_submodule(base[:-len(".weight")])
            t = mod.get_active_filter(mod.weight.shape[0], int(k))
        else:
            t = sd[name]
        assert list(t.shape) == list(shape), (name, t.shape, shape)
        out[name] = f32le(t)
    return out


def resolutions(model):
    a = model.arch
    return sorted(a.get("resolution_list", [a["resolution"]]))


def candidate_configs(model, n_random):
    """[(cfg, r)]: at every resolution the 8 uniform corners ks {min, max} x e {min, max} x
    d {min, max} plus the uniform centre, then n_random random SubNets (per-block ks/e,
    per-stage d, resolution) from CAND_SEED. Includes the global min and max."""
    a = model.arch
    n, ns = model.n_elastic, len(model.stage_blocks)
    ks_l, e_l, d_l = sorted(a["ks_list"]), sorted(a["expand_ratio_list"]), sorted(a["depth_list"])
    mid = lambda v: v[len(v) // 2]  # noqa: E731
    out = []
    for r in resolutions(model):
        for d in (d_l[0], d_l[-1]):
            for e in (e_l[0], e_l[-1]):
                for ks in (ks_l[0], ks_l[-1]):
                    out.append(({"ks": [ks] * n, "e": [e] * n, "d": [d] * ns}, r))
        out.append(({"ks": [mid(ks_l)] * n, "e": [mid(e_l)] * n, "d": [mid(d_l)] * ns}, r))
    rng = random.Random(CAND_SEED)
    seen = {str(c) for c in out}
    n_fixed = len(out)
    while len(out) < n_fixed + n_random:
        c = ({"ks": [rng.choice(ks_l) for _ in range(n)],
              "e": [rng.choice(e_l) for _ in range(n)],
              "d": [rng.choice(d_l) for _ in range(ns)]}, rng.choice(resolutions(model)))
        if str(c) not in seen:
            seen.add(str(c))
            out.append(c)
    return out


def sushi_config(cfg, r):
    return {"ks": list(cfg["ks"]), "e": [sw.num(x) for x in cfg["e"]], "d": list(cfg["d"]), "r": r}


SHIPPED_NAME = "fmnist-mbv3"
RANDOM_INIT_NAME = "fmnist-mbv3-random-init"


def provenance(random_init, ck, res, torch_version):
    """The provenance map and text of the exported file (issue 15 item 8).

    A --random-init export holds untrained weights: it is synthetic
    (provenance.synthetic = true, trained = false, no training dataset) and its
    text says so without claiming any training. A trained export describes the
    checkpoint's two training stages."""
    if random_init:
        text = ("SYNTHETIC weights: UNTRAINED random initialisation (torch.manual_seed(0)) of the "
                "OFA-MobileNetV3-style SuperNet of tools/train/train_fmnist.py (ARCH), exported by "
                "tools/export/export_fmnist.py --random-init to test the exporter; not trained on any data. "
                "Per-SubNet BN statistics recalibrated in PyTorch on the first %d Fashion-MNIST training images. "
                "Accuracies: none stored; any later ones are measured by `sushi eval` (C library)." % CALIB_IMAGES)
        return {"synthetic": True, "text": text, "trained": False, "seed": 0}, text
    hp = ck.get("hparams", {})
    text = ("trained weights: OFA-MobileNetV3-style SuperNet trained on Fashion-MNIST train (60,000 images) "
            "by tools/train/train_fmnist.py (stage 1: elastic ks/e/d at 28x28) and "
            "tools/train/finetune_resolution.py (stage 2: + elastic resolution %s; seed %s, %s epochs, "
            "wall time %.0f s, torch %s; sandwich rule + in-place distillation); exported by tools/export/export_fmnist.py with "
            "per-SubNet BN statistics recalibrated in PyTorch on the first %d training images. "
            "Accuracies: measured by `sushi eval` (C library) only."
            % (res, ck.get("seed"), ck.get("epochs", hp.get("epochs")), ck.get("wall_time_s", 0.0),
               ck.get("torch_version", torch_version), CALIB_IMAGES))
    return {"synthetic": False, "text": text, "trained": True, "dataset": "fashion-mnist/train",
            "seed": int(ck.get("seed", 0)), "training_wall_time_s": float(ck.get("wall_time_s", 0.0))}, text


def top_level(model, ck, prov_map, name):
    a = model.arch
    ks, es = sorted(a["ks_list"]), sorted(a["expand_ratio_list"])
    return {
        "format": "sushi-supernet", "version": 1, "name": name, "family": "mbv3",
        "provenance": prov_map,
        "seed": int(ck.get("seed", 0)),
        "input": {"channels": 1, "mean": [sw.F32(fs.FMNIST_MEAN)], "std": [sw.F32(fs.FMNIST_STD)],
                  "resolutions": resolutions(model), "default_resolution": a["resolution"]},
        "num_classes": a["n_classes"],
        "bn_eps": sw.F32(a["bn"]["eps"]),
        "elastic": {"ks": ks, "e": [sw.num(x) for x in es], "n_ks_slots": model.n_elastic,
                    "n_e_slots": model.n_elastic,
                    "depth_groups": [{"choices": sorted(a["depth_list"]), "base": 0, "mode": "prefix"}
                                     for _ in model.stage_blocks],
                    "width_groups": []},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(ROOT, "tools", "train", "fmnist_supernet.pt"))
    ap.add_argument("-o", "--out", default=None,
                    help="output file (default models/fmnist-mbv3.sushi; required with --random-init, "
                         "which must not replace the shipped model)")
    ap.add_argument("--name", default=None,
                    help="SuperNet name (default %s, or %s with --random-init)" % (SHIPPED_NAME, RANDOM_INIT_NAME))
    ap.add_argument("--n-random", type=int, default=28,
                    help="random candidates besides the 9 uniform ones per resolution")
    ap.add_argument("--random-init", action="store_true", help="testing: untrained model, train.py's ARCH")
    args = ap.parse_args()
    if args.random_init and args.out is None:
        ap.error("--random-init needs -o FILE (it must not replace the shipped models/fmnist-mbv3.sushi)")
    if args.out is None:
        args.out = os.path.join(ROOT, "models", "fmnist-mbv3.sushi")
    name = args.name or (RANDOM_INIT_NAME if args.random_init else SHIPPED_NAME)
    torch.manual_seed(0)
    t0 = time.time()
    if args.random_init:
        import train_fmnist as tf
        model = fs.build_supernet(tf.ARCH)
        ck = {"seed": 0, "wall_time_s": 0.0, "epochs": 0}
    else:
        model, ck = fs.load_checkpoint(args.ckpt)
    model.eval()
    units = build_units(model)
    tensors = build_tensors(model, units)
    prov_map, _ = provenance(args.random_init, ck, resolutions(model), torch.__version__)
    top = top_level(model, ck, prov_map, name)
    cfgs = candidate_configs(model, args.n_random)

    # phase 1: architecture + weights only, load it in libsushi to get plans and costs
    import sushi
    fd, tmp = tempfile.mkstemp(suffix=".sushi")
    os.close(fd)
    try:
        sw.write_supernet(tmp, top, units, [], tensors)
        sn = sushi.SuperNet.load(tmp)
        xtr, _ = fs.load_fmnist("train")
        calib = fs.normalize(xtr[:CALIB_IMAGES])
        bn_mods = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
        cands = []
        for i, (cfg, r) in enumerate(cfgs):
            scfg = sushi_config(cfg, r)
            s = sn.subnet(scfg)
            st = s.stats
            model.set_active_subnet(**cfg)
            fs.recalibrate_bn(model, fs.resize(calib, r), CALIB_BATCH)
            stats = []
            for L in s.layers:
                m = bn_mods.get(L["name"] + ".bn")
                if m is None:
                    continue
                c = L["out_c"]
                stats.append(m.running_mean[:c].numpy())
                stats.append(m.running_var[:c].numpy())
            bn = np.concatenate(stats).astype("<f4").tobytes()
            cands.append({"config": scfg, "accuracy": None, "accuracy_source": "none",
                          "dataset": "fashion-mnist/test", "metric": "top1",
                          "macs": int(st["macs"]), "params": int(st["params"]),
                          "weight_bytes": int(st["weight_bytes"]), "bn_stats": bn})
            s.close()
            print("candidate %2d: r %d macs %9d params %7d  d=%s" % (i, r, st["macs"], st["params"], cfg["d"]),
                  flush=True)
        sn.close()
    finally:
        os.unlink(tmp)
    # restore the checkpoint's own BN statistics (largest SubNet) for the SuperNet tensors:
    # they were taken before recalibration, so `tensors` already holds them.
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    n = sw.write_supernet(args.out, top, units, cands, tensors)
    sn = sushi.SuperNet.load(args.out)
    print("%s: %d bytes, %d candidates, %d tensors (%.0f s)"
          % (args.out, n, sn.info["n_candidates"], sn.info["n_tensors"], time.time() - t0))


if __name__ == "__main__":
    main()
