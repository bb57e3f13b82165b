#!/usr/bin/python3
"""Stage 2 of the Fashion-MNIST SuperNet: add elastic input resolution {16, 20, 24, 28}.

Stage 1 (train_fmnist.py) trained elastic kernel / expand / depth at the native 28x28.  Its
smallest SubNet (ks3 e3 d2, 5.27 M MACs) reached 90.45 %, only 1.9 points below the largest, because
Fashion-MNIST is easy for any convnet at full resolution.  OFA's answer to "the small end of the
space is not small enough" is elastic resolution, trained progressively after the other
dimensions; this script is that step.  It starts from the stage-1 checkpoint and fine-tunes the
whole SuperNet with the sandwich rule, now also sampling the input resolution:

  largest  SubNet @ 28 : cross-entropy with labels
  smallest SubNet @ 16 : soft cross-entropy vs. the largest's detached softmax (in-place distillation)
  2 random SubNets, each at a random resolution from the list: same distillation loss

Images are augmented at 28x28 (random crop from 2-px zero padding, horizontal flip), normalised,
then resized with fmnist_supernet.resize() (bilinear, align_corners=False) -- the same operation the
C library applies at inference (sushi_input_from_u8), so train and serve see the same pixels.

Usage (repo root, Debian python with torch 1.13):
  /usr/bin/python3 tools/train/finetune_resolution.py > tools/train/finetune.log 2>&1
Inputs : tools/train/fmnist_supernet_stage1.pt (the stage-1 checkpoint)
Outputs: tools/train/fmnist_supernet.pt, tools/train/train_summary.json (stage-2 results; the
         stage-1 summary is kept as train_summary_stage1.json)
"""
import argparse
import copy
import json
import os
import random
import sys
import time

# Same environment tuning as train_fmnist.py (speed only), set before torch loads.
_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "MALLOC_MMAP_THRESHOLD_": "268435456",
        "MALLOC_TRIM_THRESHOLD_": "1073741824", "MALLOC_TOP_PAD_": "268435456"}
if __name__ == "__main__" and any(k not in os.environ for k in _ENV):
    os.environ.update({k: v for k, v in _ENV.items() if k not in os.environ})
    os.execv(sys.executable, [sys.executable] + sys.argv)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_fmnist as tf  # noqa: E402  (imports torch)


try:
    import torch  # noqa: E402
except ImportError:
    raise SystemExit("finetune_resolution.py needs PyTorch: apt-get install python3-torch (or scripts/deps --tools)")
import torch.nn.functional as F  # noqa: E402

fs = tf.fs
HERE = tf.HERE

SEED = 20232
RESOLUTIONS = [16, 20, 24, 28]
HPARAMS = {
    "stage": 2,
    "init": "fmnist_supernet_stage1.pt",
    "epochs": 3,
    "batch_size": 128,
    "optimizer": "AdamW",
    "lr": 1e-3,
    "betas": [0.9, 0.999],
    "weight_decay": 1e-4,
    "warmup_steps": 100,
    "resolutions": RESOLUTIONS,
    "n_random_subnets": 2,
    "kd_temperature": 1.0,
    "aug": {"random_crop_pad": 2, "pad_value": 0, "hflip": 0.5},
    "bn_calib_images": 2000,
    "bn_calib_batch": 500,
    "eval_random_subnets": 5,
    "threads": 2,
    "channels_last": True,
}

MAX = {"ks": 7, "e": 6, "d": 4}
MIN = {"ks": 3, "e": 3, "d": 2}


def measure(model, cfg, r, calib, xte, yte, n_cal_batch):
    model.set_active_subnet(**cfg)
    fs.recalibrate_bn(model, fs.resize(calib, r), n_cal_batch)
    acc = fs.evaluate(model, fs.resize(xte, r), yte)
    params, macs = fs.active_cost(model)  # MACs counted at the arch resolution (28)
    return {"config": dict(model.get_active_subnet_config(), r=r), "test_acc": acc,
            "params": params, "macs_at_28": macs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=HPARAMS["epochs"])
    ap.add_argument("--subset", type=int, default=0, help="use only the first N train images")
    ap.add_argument("--init", default=os.path.join(HERE, HPARAMS["init"]))
    ap.add_argument("--out", default=os.path.join(HERE, "fmnist_supernet.pt"))
    ap.add_argument("--summary", default=os.path.join(HERE, "train_summary.json"))
    args = ap.parse_args()
    hp = dict(HPARAMS, epochs=args.epochs, subset=args.subset)

    torch.set_num_threads(hp["threads"])
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(SEED)
    gen = torch.Generator().manual_seed(SEED)

    xtr, ytr = fs.load_fmnist("train")
    xte, yte = fs.load_fmnist("test")
    calib = fs.normalize(xtr[:hp["bn_calib_images"]])
    xte_n = fs.normalize(xte)
    if args.subset:
        xtr, ytr = xtr[:args.subset], ytr[:args.subset]

    model, ck1 = fs.load_checkpoint(args.init)
    model.channels_last = hp["channels_last"]
    print("stage 2 from %s (stage-1 seed %s, %s epochs); resolutions %s" % (
        args.init, ck1.get("seed"), ck1.get("epochs"), RESOLUTIONS), flush=True)

    opt = torch.optim.AdamW(tf.param_groups(model, hp["weight_decay"]), lr=hp["lr"],
                            betas=tuple(hp["betas"]))
    n = xtr.size(0)
    steps_per_epoch = n // hp["batch_size"]
    total = steps_per_epoch * hp["epochs"]
    t0 = time.time()
    step = 0
    history = []
    rmax, rmin = max(RESOLUTIONS), min(RESOLUTIONS)
    for epoch in range(hp["epochs"]):
        model.train()
        perm = torch.randperm(n, generator=gen)
        run = {"max": 0.0, "min": 0.0, "rand": 0.0, "acc": 0.0}
        for it in range(steps_per_epoch):
            idx = perm[it * hp["batch_size"]:(it + 1) * hp["batch_size"]]
            x = tf.augment(xtr[idx], gen, hp["aug"]["random_crop_pad"], hp["aug"]["hflip"])
            y = ytr[idx]
            lr = tf.lr_at(step, total, hp["lr"], hp["warmup_steps"])
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad(set_to_none=True)
            model.set_max_net()
            out = model(fs.resize(x, rmax))
            loss = F.cross_entropy(out, y)
            loss.backward()
            soft = F.softmax(out.detach() / hp["kd_temperature"], 1)
            run["max"] += loss.item()
            run["acc"] += (out.argmax(1) == y).float().mean().item()
            for k in range(1 + hp["n_random_subnets"]):
                if k == 0:
                    model.set_min_net()
                    r = rmin
                else:
                    model.sample_active_subnet(rng)
                    r = rng.choice(RESOLUTIONS)
                l2 = tf.soft_ce(model(fs.resize(x, r)) / hp["kd_temperature"], soft)
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
        t1 = time.time()
        amax = measure(model, MAX, rmax, calib, xte_n, yte, hp["bn_calib_batch"])
        amin = measure(model, MIN, rmin, calib, xte_n, yte, hp["bn_calib_batch"])
        history.append({"epoch": epoch + 1, "max_acc": amax["test_acc"], "min_acc": amin["test_acc"],
                        "elapsed_s": round(time.time() - t0, 1)})
        print("== epoch %d: test acc largest@%d %.4f smallest@%d %.4f (eval %.0fs, total %.0fs)" % (
            epoch + 1, rmax, amax["test_acc"], rmin, amin["test_acc"], time.time() - t1,
            time.time() - t0), flush=True)
    train_time = time.time() - t0

    results = {}
    for r in RESOLUTIONS:
        results["largest@%d" % r] = measure(model, MAX, r, calib, xte_n, yte, hp["bn_calib_batch"])
        results["smallest@%d" % r] = measure(model, MIN, r, calib, xte_n, yte, hp["bn_calib_batch"])
    erng = random.Random(SEED + 1)
    for i in range(hp["eval_random_subnets"]):
        cfg = model.sample_active_subnet(erng)
        r = erng.choice(RESOLUTIONS)
        results["random_%d" % i] = measure(model, cfg, r, calib, xte_n, yte, hp["bn_calib_batch"])
    for k, v in results.items():
        print("%-13s acc %.4f params %7d  d=%s r=%d" % (k, v["test_acc"], v["params"],
                                                        v["config"]["d"], v["config"]["r"]))
    model.set_max_net()
    fs.recalibrate_bn(model, calib, hp["bn_calib_batch"])
    wall = time.time() - t0

    arch = copy.deepcopy(ck1["arch"])
    arch["resolution_list"] = RESOLUTIONS
    arch["resize"] = "bilinear, align_corners=False, applied to the normalised 28x28 image"
    ckpt = {"state_dict": {k: v.clone() for k, v in model.state_dict().items()},
            "arch": arch, "hparams": hp, "seed": SEED, "wall_time_s": round(wall, 1),
            "train_time_s": round(train_time, 1), "epochs": hp["epochs"],
            "stage1": {"seed": ck1.get("seed"), "epochs": ck1.get("epochs"),
                       "wall_time_s": ck1.get("wall_time_s"), "hparams": ck1.get("hparams")},
            "torch_version": torch.__version__}
    torch.save(ckpt, args.out)
    summary = {"stage": 2, "seed": SEED, "epochs": hp["epochs"], "wall_time_s": round(wall, 1),
               "train_time_s": round(train_time, 1), "hparams": hp,
               "note": "reference accuracies (PyTorch fp32, BN recalibrated per SubNet and "
                       "resolution on the first 2000 training images, 10000 test images); "
                       "macs_at_28 is the MAC count at 28x28",
               "results": results, "history": history, "checkpoint": os.path.basename(args.out)}
    with open(args.summary, "w") as f:
        json.dump(summary, f, indent=1)
    print("saved %s and %s; wall time %.0fs" % (args.out, args.summary, wall), flush=True)


if __name__ == "__main__":
    main()
