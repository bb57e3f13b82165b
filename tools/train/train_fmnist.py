#!/usr/bin/python3
"""Train the OFA-MobileNetV3-style Fashion-MNIST SuperNet (CPU, weight sharing).

Each step (sandwich rule + in-place distillation, BigNAS/OFA style):
  largest SubNet  : cross-entropy with labels
  smallest SubNet : soft cross-entropy vs. the largest's (detached) softmax
  2 random SubNets: same distillation loss
gradients of the 4 losses are accumulated, then one optimiser step.

Usage (from the repo root, Debian python with torch 1.13):
  /usr/bin/python3 tools/train/train_fmnist.py                       # full run
  /usr/bin/python3 tools/train/train_fmnist.py --epochs 1 --subset 6000 --out /tmp/x.pt  # speed check
Outputs: tools/train/fmnist_supernet.pt, tools/train/train_summary.json
"""
import argparse
import copy
import json
import math
import os
import random
import sys
import time

# Environment tuning (no effect on the maths).  glibc malloc: keep freed activation buffers instead of returning them to the
# OS (cuts sys time / page faults ~10x on this CPU box).
# Must be in the environment before the process starts, hence the re-exec.
_MALLOC_ENV = {"OMP_WAIT_POLICY": "PASSIVE",  # no OpenMP spin-waits: 3-7x faster when the box is shared
               "MALLOC_MMAP_THRESHOLD_": "268435456", "MALLOC_TRIM_THRESHOLD_": "1073741824",
               "MALLOC_TOP_PAD_": "268435456"}
if __name__ == "__main__" and any(k not in os.environ for k in _MALLOC_ENV):
    os.environ.update({k: v for k, v in _MALLOC_ENV.items() if k not in os.environ})
    os.execv(sys.executable, [sys.executable] + sys.argv)

try:
    import torch  # noqa: E402
except ImportError:
    raise SystemExit("train_fmnist.py needs PyTorch: apt-get install python3-torch (or scripts/deps --tools)")
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fmnist_supernet as fs  # noqa: E402

# ----------------------------------------------------------------------------- config
SEED = 20231

ARCH = copy.deepcopy(fs.DEFAULT_ARCH)
# Channel numbers reduced from [24, 40, 64, 96] / 576 so that the largest SubNet is
# < 1 M params and an epoch fits the CPU budget (see README.md).
ARCH["stages"]["width"] = [16, 24, 40, 64]
ARCH["final_expand"].update({"in": 64, "out": 384})
ARCH["feature_mix"].update({"in": 384, "out": 256})
ARCH["classifier"].update({"in": 256})

HPARAMS = {
    "epochs": 7,
    "max_only_epochs": 2,          # OFA convention: train the full network first (labels only),
                                   # then sandwich + in-place distillation for the rest
    "batch_size": 128,
    "optimizer": "AdamW",
    "lr": 3e-3,
    "betas": [0.9, 0.999],
    "weight_decay": 1e-4,          # not applied to BN, biases, kernel-transform matrices
    "warmup_steps": 200,           # linear warm-up, then cosine to 0 (per step)
    "n_random_subnets": 2,
    "kd_temperature": 1.0,
    "aug": {"random_crop_pad": 2, "pad_value": 0, "hflip": 0.5},
    "bn_calib_images": 2000,       # first 2000 training images (file order), no augmentation
    "bn_calib_batch": 500,
    "eval_random_subnets": 5,
    "threads": 2,
    "channels_last": True,
}


# ----------------------------------------------------------------------------- helpers
def augment(x_u8, gen, pad, hflip_p):
    """Random crop with zero padding (raw pixel 0) + horizontal flip; returns normalised float."""
    n, _, h, w = x_u8.shape
    xp = F.pad(x_u8.float(), (pad, pad, pad, pad), value=0.0)
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (oy[:, None] + torch.arange(h))[:, :, None]          # n,h,1
    cols = (ox[:, None] + torch.arange(w))[:, None, :]          # n,1,w
    out = xp[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = torch.rand(n, generator=gen) < hflip_p
    out = torch.where(flip[:, None, None, None], out.flip(3), out)
    return (out / 255.0 - fs.FMNIST_MEAN) / fs.FMNIST_STD


def soft_ce(logits, soft_target):
    return -(soft_target * F.log_softmax(logits, 1)).sum(1).mean()


def param_groups(model, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim <= 1 or name.endswith("_matrix"):
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return 0.5 * base * (1 + math.cos(math.pi * t))


def derived_blocks(model):
    a = model.arch
    out = []
    for i, b in enumerate(model.blocks):
        stage = -1 if i == 0 else next(s for s, idx in enumerate(model.stage_blocks) if i in idx)
        mids = {str(e): fs.mid_channels(b.cin, e, a["channel_divisor"]) for e in b.e_list}
        out.append({"index": i, "stage": stage, "in": b.cin, "out": b.cout, "stride": b.stride,
                    "act": b.act_name, "se": b.use_se, "residual": b.residual,
                    "ks_list": b.ks_list, "expand_ratio_list": b.e_list, "mid": mids,
                    "se_mid": {k: fs.se_channels(v, a["se_reduction"], a["channel_divisor"])
                               for k, v in mids.items()} if b.use_se else None})
    return out


def measure(model, cfg, calib, xte, yte, n_cal_batch):
    model.set_active_subnet(**cfg)
    fs.recalibrate_bn(model, calib, n_cal_batch)
    acc = fs.evaluate(model, xte, yte)
    params, macs = fs.active_cost(model)
    return {"config": model.get_active_subnet_config(), "test_acc": acc,
            "params": params, "macs": macs}


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=HPARAMS["epochs"])
    ap.add_argument("--subset", type=int, default=0, help="use only the first N train images")
    ap.add_argument("--out", default=os.path.join(HERE, "fmnist_supernet.pt"))
    ap.add_argument("--summary", default=os.path.join(HERE, "train_summary.json"))
    args = ap.parse_args()
    hp = dict(HPARAMS, epochs=args.epochs, subset=args.subset)

    torch.set_num_threads(hp["threads"])
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(SEED)            # SubNet sampling
    gen = torch.Generator().manual_seed(SEED)  # shuffling + augmentation

    xtr, ytr = fs.load_fmnist("train")
    xte, yte = fs.load_fmnist("test")
    calib = fs.normalize(xtr[:hp["bn_calib_images"]])
    xte_n = fs.normalize(xte)
    if args.subset:
        xtr, ytr = xtr[:args.subset], ytr[:args.subset]

    model = fs.build_supernet(ARCH)
    model.channels_last = hp["channels_last"]
    model.set_max_net()
    pmax, mmax = fs.active_cost(model)
    model.set_min_net()
    pmin, mmin = fs.active_cost(model)
    print("arch widths %s final_expand %d feature_mix %d" % (
        ARCH["stages"]["width"], ARCH["final_expand"]["out"], ARCH["feature_mix"]["out"]))
    print("largest SubNet: %d params, %d MACs; smallest: %d params, %d MACs; supernet tensors: %d"
          % (pmax, mmax, pmin, mmin, sum(p.numel() for p in model.parameters())), flush=True)

    opt = torch.optim.AdamW(param_groups(model, hp["weight_decay"]), lr=hp["lr"],
                            betas=tuple(hp["betas"]))
    n = xtr.size(0)
    steps_per_epoch = n // hp["batch_size"]  # drop last partial batch
    total = steps_per_epoch * hp["epochs"]
    t0 = time.time()
    step = 0
    history = []
    for epoch in range(hp["epochs"]):
        model.train()
        perm = torch.randperm(n, generator=gen)
        run = {"max": 0.0, "min": 0.0, "rand": 0.0, "acc": 0.0}
        sandwich = epoch >= hp["max_only_epochs"]
        for it in range(steps_per_epoch):
            idx = perm[it * hp["batch_size"]:(it + 1) * hp["batch_size"]]
            x = augment(xtr[idx], gen, hp["aug"]["random_crop_pad"], hp["aug"]["hflip"])
            y = ytr[idx]
            lr = lr_at(step, total, hp["lr"], hp["warmup_steps"])
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            model.set_max_net()
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            soft = F.softmax(out.detach() / hp["kd_temperature"], 1)
            run["max"] += loss.item()
            run["acc"] += (out.argmax(1) == y).float().mean().item()
            for k in range(1 + hp["n_random_subnets"] if sandwich else 0):
                if k == 0:
                    model.set_min_net()
                else:
                    model.sample_active_subnet(rng)
                l2 = soft_ce(model(x) / hp["kd_temperature"], soft)
                l2.backward()
                run["min" if k == 0 else "rand"] += l2.item() / (1 if k == 0 else hp["n_random_subnets"])
            opt.step()
            step += 1
            if (it + 1) % 25 == 0 or it + 1 == steps_per_epoch:
                k = it + 1
                el = time.time() - t0
                print("ep %d it %d/%d lr %.5f loss_max %.4f train_acc_max %.4f kd_min %.4f "
                      "kd_rand %.4f | %.0fs elapsed, eta %.0fs" % (
                          epoch + 1, k, steps_per_epoch, lr, run["max"] / k, run["acc"] / k,
                          run["min"] / k, run["rand"] / k, el, el / step * (total - step)),
                      flush=True)
        # quick monitor: largest + smallest after BN recalibration
        t1 = time.time()
        amax = measure(model, {"ks": 7, "e": 6, "d": 4}, calib, xte_n, yte, hp["bn_calib_batch"])
        amin = measure(model, {"ks": 3, "e": 3, "d": 2}, calib, xte_n, yte, hp["bn_calib_batch"]) \
            if sandwich else {"test_acc": float("nan")}
        history.append({"epoch": epoch + 1, "max_acc": amax["test_acc"], "min_acc": amin["test_acc"],
                        "elapsed_s": round(time.time() - t0, 1)})
        print("== epoch %d: test acc largest %.4f smallest %.4f (eval %.0fs, total %.0fs)" % (
            epoch + 1, amax["test_acc"], amin["test_acc"], time.time() - t1, time.time() - t0),
            flush=True)
    train_time = time.time() - t0

    # ------------------------------------------------------------------ final evaluation
    results = {"largest": measure(model, {"ks": 7, "e": 6, "d": 4}, calib, xte_n, yte,
                                  hp["bn_calib_batch"]),
               "smallest": measure(model, {"ks": 3, "e": 3, "d": 2}, calib, xte_n, yte,
                                   hp["bn_calib_batch"])}
    erng = random.Random(SEED + 1)
    for i in range(hp["eval_random_subnets"]):
        cfg = model.sample_active_subnet(erng)
        results["random_%d" % i] = measure(model, cfg, calib, xte_n, yte, hp["bn_calib_batch"])
    for k, r in results.items():
        print("%-9s acc %.4f params %7d MACs %9d  d=%s" % (k, r["test_acc"], r["params"],
                                                          r["macs"], r["config"]["d"]))
    # leave the checkpoint's BN running stats calibrated for the LARGEST SubNet
    model.set_max_net()
    fs.recalibrate_bn(model, calib, hp["bn_calib_batch"])
    wall = time.time() - t0

    arch = copy.deepcopy(ARCH)
    arch["blocks"] = derived_blocks(model)
    arch["block_index"] = "blocks.0 = first_block; stage i block j = blocks.(1+4*i+j)"
    arch["bn_running_stats"] = "calibrated for the largest SubNet (ks=7,e=6,d=4)"
    ckpt = {"state_dict": {k: v.clone() for k, v in model.state_dict().items()},
            "arch": arch, "hparams": hp, "seed": SEED, "wall_time_s": round(wall, 1),
            "train_time_s": round(train_time, 1), "epochs": hp["epochs"],
            "torch_version": torch.__version__}
    torch.save(ckpt, args.out)
    summary = {"seed": SEED, "epochs": hp["epochs"], "wall_time_s": round(wall, 1),
               "train_time_s": round(train_time, 1), "hparams": hp,
               "note": "reference accuracies (PyTorch fp32, BN recalibrated on the first 2000 "
                       "training images per SubNet, 10000 test images)",
               "results": results, "history": history, "checkpoint": os.path.basename(args.out)}
    with open(args.summary, "w") as f:
        json.dump(summary, f, indent=1)
    print("saved %s and %s; wall time %.0fs" % (args.out, args.summary, wall), flush=True)


if __name__ == "__main__":
    main()
