#!/usr/bin/python3
"""Independent PyTorch reference for libsushi's cpu backend.

Run with Debian's python3 (torch 1.13 + numpy):

    /usr/bin/python3 tools/reference/torch_ref.py --dump-tool build-cpu/tests/cpu/dump_subnet \
        --out tests/cpu/golden

For each fixture below it runs dump_subnet (the library's own description of
the SubNet: its plan, the whole SuperNet tensors it reads, BN parameters and a
deterministic input), builds the SubNet from torch.nn modules -- slicing the
weights itself by OFA's prefix rule (first out channels, first in channels,
first c channels of depthwise/BN) -- runs it in float64, and writes a golden
file with the logits and per-layer summaries. It also counts MACs and params
with OFA's rules (conv: out_h*out_w*cout*cin/groups*k*k; linear: in*out;
params: every parameter incl. BN affine and biases) from the torch modules and
fails if they differ from the library's numbers, and checks every layer's
output shape against the plan.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
try:
    import torch  # noqa: E402
except ImportError:
    raise SystemExit("torch_ref.py needs PyTorch: apt-get install python3-torch (or scripts/deps --tools)")
import torch.nn as nn
import torch.nn.functional as F

torch.set_grad_enabled(False)


def mbv3_random(rng, r):
    return {"ks": [rng.choice([3, 5, 7]) for _ in range(20)], "e": [rng.choice([3, 4, 6]) for _ in range(20)],
            "d": [rng.choice([2, 3, 4]) for _ in range(5)], "r": r}


def resnet_random(rng, r):
    return {"d": [rng.choice([0, 1, 2]) for _ in range(5)], "e": [rng.choice([0.2, 0.25, 0.35]) for _ in range(18)],
            "w": [rng.choice([0, 1, 2]) for _ in range(6)], "r": r}


def fixtures():
    rng = random.Random(20231127)
    fx = []
    for name, rand_r in (("ofa-mbv3-w1.0", 48), ("ofa-mbv3-w1.2", 56)):
        fx.append((name, "min@64", 1))
        fx.append((name, "max@64", 2))
        c = mbv3_random(rng, rand_r)
        c["d"][0] = 2  # keep a mix: some stages short, one stage at max depth
        c["d"][3] = 4
        fx.append((name, json.dumps(c, separators=(",", ":")), 3))
    fx.append(("ofa-resnet50", "min@64", 4))
    fx.append(("ofa-resnet50", "max@64", 5))
    c = resnet_random(rng, 48)
    c["d"][0] = 2  # input stem with its skippable middle conv
    fx.append(("ofa-resnet50", json.dumps(c, separators=(",", ":")), 6))
    return fx


def act(x, kind):
    if kind == "relu":
        return F.relu(x)
    if kind == "hswish":
        return x * F.relu6(x + 3.0) / 6.0
    if kind == "hsigmoid":
        return F.relu6(x + 3.0) / 6.0
    return x


class Counter:
    def __init__(self):
        self.macs = 0
        self.params = 0


def tensor(blob, t):
    n = int(np.prod(t["shape"]))
    return torch.from_numpy(blob[t["at"]:t["at"] + n].astype(np.float64).reshape(t["shape"]))


class SE(nn.Module):
    """OFA SEModule: mean, reduce conv (bias), ReLU, expand conv (bias), h-sigmoid, scale."""

    def __init__(self, c, mid):
        super().__init__()
        self.reduce = nn.Conv2d(c, mid, 1, bias=True)
        self.expand = nn.Conv2d(mid, c, 1, bias=True)

    def forward(self, x):
        y = x.mean((2, 3), keepdim=True)
        y = act(self.expand(F.relu(self.reduce(y))), "hsigmoid")
        return x * y


def build(desc, blob):
    """One torch module (or callable) per plan layer, sliced by OFA's prefix rule."""
    mods = []
    for l in desc["layers"]:
        op, T = l["op"], l["tensors"]
        cin, cout, k = l["in"][0], l["out"][0], l["kernel"]
        m = None
        if op in ("conv", "dwconv"):
            groups = cin if op == "dwconv" else 1
            conv = nn.Conv2d(cin, cout, k, stride=l["stride"], padding=l["pad"], groups=groups,
                             bias="bias" in T).double()
            w = tensor(blob, T["weight"])
            conv.weight.copy_(w[:cout] if op == "dwconv" else w[:cout, :cin])
            if "bias" in T:
                conv.bias.copy_(tensor(blob, T["bias"])[:cout])
            seq = [conv]
            if "bn" in l:
                assert not l["bn"]["from_candidate"], "reference reads BN from the SuperNet tensors"
                bn = nn.BatchNorm2d(cout, eps=l["bn"]["eps"]).double().eval()
                bn.weight.copy_(tensor(blob, T["bn_gamma"])[:cout])
                bn.bias.copy_(tensor(blob, T["bn_beta"])[:cout])
                bn.running_mean.copy_(tensor(blob, T["bn_mean"])[:cout])
                bn.running_var.copy_(tensor(blob, T["bn_var"])[:cout])
                seq.append(bn)
            m = nn.Sequential(*seq)
        elif op == "linear":
            nin = cin * l["in"][1] * l["in"][2]
            m = nn.Linear(nin, cout, bias="bias" in T).double()
            m.weight.copy_(tensor(blob, T["weight"])[:cout, :nin])
            if "bias" in T:
                m.bias.copy_(tensor(blob, T["bias"])[:cout])
        elif op == "se":
            mid = l["se_mid"]
            m = SE(cin, mid).double()
            m.reduce.weight.copy_(tensor(blob, T["weight"])[:mid, :cin])
            m.reduce.bias.copy_(tensor(blob, T["bias"])[:mid])
            m.expand.weight.copy_(tensor(blob, T["weight2"])[:cin, :mid])
            m.expand.bias.copy_(tensor(blob, T["bias2"])[:cin])
        elif op == "maxpool":
            m = nn.MaxPool2d(k, l["stride"], l["pad"])
        elif op == "avgpool":
            m = nn.AvgPool2d(k, l["stride"], 0, ceil_mode=True, count_include_pad=False)
        mods.append(m)
    return mods


def count(desc, mods):
    """OFA's counting rules applied to the torch modules."""
    macs = params = 0
    for l, m in zip(desc["layers"], mods):
        if m is None or isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            continue
        for mod in m.modules():
            if isinstance(mod, nn.Conv2d):
                oh, ow = (l["out"][1], l["out"][2]) if not isinstance(m, SE) else (1, 1)
                macs += oh * ow * mod.out_channels * (mod.in_channels // mod.groups) * mod.kernel_size[0] * \
                    mod.kernel_size[1]
            elif isinstance(mod, nn.Linear):
                macs += mod.in_features * mod.out_features
        params += sum(p.numel() for p in m.parameters())
    return macs, params


def run(desc, blob, mods):
    vals = {0: tensor(blob, desc["input"]).unsqueeze(0)}
    summary = []
    for l, m in zip(desc["layers"], mods):
        x = vals[l["input"]]
        op = l["op"]
        if op in ("conv", "dwconv"):
            y = act(m(x), l["act"])
        elif op == "linear":
            y = act(m(x.flatten(1)), l["act"]).reshape(1, -1, 1, 1)
        elif op == "gap":
            y = x.mean((2, 3), keepdim=True)
        elif op == "add":
            y = act(x + vals[l["input2"]], l["act"])
        else:
            y = m(x)
        if list(y.shape[1:]) != l["out"]:
            raise SystemExit("%s: torch shape %s, plan %s" % (l["name"], list(y.shape[1:]), l["out"]))
        vals[l["output"]] = y
        summary.append({"name": l["name"], "mean": float(y.mean()), "absmax": float(y.abs().max())})
    return vals[desc["output_value"]].flatten(), summary


def make_one(tool, name, cfg, seed, tmp):
    prefix = os.path.join(tmp, "dump")
    subprocess.run([tool, name, cfg, str(seed), prefix], check=True)
    with open(prefix + ".json") as f:
        desc = json.load(f)
    blob = np.fromfile(prefix + ".bin", dtype="<f4")
    mods = build(desc, blob)
    macs, params = count(desc, mods)
    if macs != desc["macs"] or params != desc["params"]:
        raise SystemExit("%s %s: OFA counting gives macs %d params %d, libsushi %d %d" %
                         (name, cfg, macs, params, desc["macs"], desc["params"]))
    # the library's BN scale/shift must equal gamma / sqrt(var + eps), beta - mean * scale
    for l in desc["layers"]:
        if "bn" in l:
            c, T = l["out"][0], l["tensors"]
            g, b = tensor(blob, T["bn_gamma"])[:c], tensor(blob, T["bn_beta"])[:c]
            mu, var = tensor(blob, T["bn_mean"])[:c], tensor(blob, T["bn_var"])[:c]
            sc = g / torch.sqrt(var + l["bn"]["eps"])
            lib_sc = torch.from_numpy(blob[l["bn"]["scale_at"]:l["bn"]["scale_at"] + c].astype(np.float64))
            lib_sh = torch.from_numpy(blob[l["bn"]["shift_at"]:l["bn"]["shift_at"] + c].astype(np.float64))
            if (lib_sc - sc).abs().max() > 1e-5 * sc.abs().max() or \
                    (lib_sh - (b - mu * sc)).abs().max() > 1e-5 * (1 + (b - mu * sc).abs().max()):
                raise SystemExit("%s: BN scale/shift differ from gamma/beta/mean/var" % l["name"])
    logits, summary = run(desc, blob, mods)
    ops = sorted({(l["op"], l["kernel"], l["stride"], l["act"]) for l in desc["layers"]})
    return {
        "supernet": name, "config": cfg, "input_seed": seed, "resolution": desc["resolution"],
        "macs": macs, "params": params, "reference": "torch %s float64, tools/reference/torch_ref.py" % torch.__version__,
        "tolerance": "max |lib - ref| <= 1e-4 * max |ref| (logits and each layer's output summary)",
        "ops_covered": [list(o) for o in ops],
        "logits": [float("%.9g" % v) for v in logits.tolist()],
        "layers": [{"name": s["name"], "mean": float("%.9g" % s["mean"]), "absmax": float("%.9g" % s["absmax"])}
                   for s in summary],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump-tool", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, cfg, seed) in enumerate(fixtures()):
            g = make_one(args.dump_tool, name, cfg, seed, tmp)
            path = os.path.join(args.out, "%02d-%s.json" % (i, name))
            with open(path, "w") as f:
                json.dump(g, f, separators=(",", ":"))
                f.write("\n")
            print("%s: %s %s macs=%d params=%d |logits|max=%.4g" % (path, name, cfg[:40], g["macs"], g["params"],
                                                                   max(abs(v) for v in g["logits"])))


if __name__ == "__main__":
    main()
