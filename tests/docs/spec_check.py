#!/usr/bin/env python3
"""docs/format.md, implemented from the text alone, against libsushi.

Three checks, each an independent implementation of one part of the spec
(numpy + python3-cbor2 only; nothing is imported from libsushi or its tools):

1. seed generator (section 6.1): every tensor of ofa-mbv3-w1.0, written by
   `sushi zoo --weights f32`, is regenerated from the file's `seed` and the
   tensor's name and must match bit for bit;
2. layer plan (section 4.4): for several configs of both built-in families the
   plan derived from the units (layer names, ops, activations, shapes, strides,
   kernels, padding) must equal `sushi subnet --layers --json`; the lengths of
   `act_ranges` / `int8_ranges` follow from it (checked against the shipped
   model's stored `int8_ranges`);
3. BN statistics order (section 7.2): a copy of ofa-resnet50 whose candidate
   carries `bn_stats` written in the documented order (downsample first) must
   give the same logits as the built-in; the same statistics in the order the
   old text gave (downsample last) must not.

Usage: spec_check.py SUSHI_BINARY SRCDIR. Exit 77 (skip) without numpy/cbor2.
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

try:
    import cbor2
    import numpy as np
except ImportError as e:  # pragma: no cover
    print(f"skip: {e} (python3-numpy, python3-cbor2)")
    sys.exit(77)

SUSHI, SRC = sys.argv[1], sys.argv[2]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def sushi(*args):
    r = subprocess.run([SUSHI, *args], capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"sushi {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def load(path):
    with open(path, "rb") as f:
        d = cbor2.load(f)
    return d.value if isinstance(d, cbor2.CBORTag) else d


# ---------------------------------------------------------------- 6.1

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def splitmix64_stream(state, n):
    """Outputs 1..n of splitmix64 from `state`: increment first, then mix."""
    with np.errstate(over="ignore"):
        z = np.uint64(state) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def seed_tensor(seed, name, shape, role):
    n = int(np.prod(shape)) if shape else 1
    if role == "weight":
        fan_in = float(np.prod(shape[1:]))
        a = np.float32(math.sqrt(6.0 / fan_in))
        lo, hi = -a, a
    elif role == "gamma":
        lo, hi = np.float32(0.5), np.float32(1.0)
    elif role == "var":
        lo, hi = np.float32(0.5), np.float32(1.5)
    else:
        lo, hi = np.float32(-0.1), np.float32(0.1)
    z = splitmix64_stream(seed ^ fnv1a64(name), n)
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
    return (lo + (hi - lo) * u).astype(np.float32)


def role_of(name, shape):
    if name.endswith("bn.weight"):
        return "gamma"
    if name.endswith("bn.running_var"):
        return "var"
    if len(shape) >= 2:  # conv [out, in, k, k], linear [out, in]
        return "weight"
    return "other"  # biases, BN beta and running mean


def check_generator(tmp):
    path = os.path.join(tmp, "mbv3-f32.sushi")
    sushi("zoo", "ofa-mbv3-w1.0", "-o", path, "--weights", "f32")
    d = load(path)
    seed = d["seed"]
    n = bad = 0
    for t in d["weights"]["tensors"]:
        shape = t["shape"]
        want = np.frombuffer(t["data"], dtype="<f4")
        got = seed_tensor(seed, t["name"], shape, role_of(t["name"], shape))
        n += 1
        if got.tobytes() != want.tobytes():
            bad += 1
            if bad <= 3:
                k = int(np.argmax(got.view(np.uint32) != want.view(np.uint32)))
                print(f"  {t['name']} {shape}: element {k}: spec {got[k]!r}, file {want[k]!r}")
    check(bad == 0, f"6.1: {bad} of {n} tensors differ from the documented generator")
    names = [t["name"] for t in d["weights"]["tensors"]]
    check(any(x.endswith("weight_k5") for x in names) and any(".se." in x for x in names),
          "6.1: the check covered k5/k3 filters and SE weights")
    print(f"6.1 generator: {n} tensors of ofa-mbv3-w1.0 reproduced bit for bit" if bad == 0 else "")


# ---------------------------------------------------------------- 4.4 plan


def c_round(x):
    """C round(): half away from zero (x >= 0 here)."""
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def make_divisible(v, divisor=8):
    nv = math.floor((v + divisor / 2.0) / divisor) * divisor
    nv = max(nv, divisor)
    if nv < 0.9 * v:
        nv += divisor
    return int(nv)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def plan(sn, cfg):
    """The layer plan of docs/format.md 4.4: list of dicts like sushi subnet --layers."""
    units, el = sn["units"], sn["elastic"]
    dgroups, wgroups = el.get("depth_groups", []), el.get("width_groups", [])
    r = cfg["r"][0] if isinstance(cfg["r"], list) else cfg["r"]
    layers = []
    cur = [sn["input"]["channels"], r, r]  # the value flowing between units

    def conv_hw(h, k, s, p):
        return (h + 2 * p - k) // s + 1

    def emit(name, op, act, inp, out_c, k, s, p, out_hw=None, bn=False):
        h = out_hw if out_hw is not None else conv_hw(inp[1], k, s, p)
        layers.append({"name": name, "op": op, "act": act, "in": list(inp), "out": [out_c, h, h],
                       "kernel": k, "stride": s, "pad": p, "bn": bn})
        return [out_c, h, h]

    for u in units:
        g = u.get("dgroup", -1)
        if g >= 0:
            grp = dgroups[g]
            d = cfg["d"][g]
            active = d == grp["choices"][-1] if grp.get("mode", "prefix") == "all-if-max" \
                else u.get("dindex", 0) < grp.get("base", 0) + d
            if not active:
                continue
        kind, name = u["kind"], u["name"]
        wg = u.get("out_wgroup", -1)
        out = wgroups[wg]["channels"][cfg["w"][wg]] if wg >= 0 else u["out_max"]
        act = u.get("act", "none")
        x = cur
        if kind == "conv":
            k, s = u.get("kernel", 1), u.get("stride", 1)
            y = emit(name, "conv", act, x, out, k, s, k // 2, bn=u.get("bn", False))
            if u.get("residual", False):
                y = emit(name + ".add", "add", "none", y, y[0], 0, 0, 0, out_hw=y[1])
            cur = y
        elif kind == "mbconv":
            k = cfg["ks"][u["ks_slot"]] if u.get("ks_slot", -1) >= 0 else u.get("kernel", 1)
            e = f32(cfg["e"][u["e_slot"]]) if u.get("e_slot", -1) >= 0 else f32(u.get("e_fixed", 1))
            expand = u.get("e_slot", -1) >= 0 or u.get("e_fixed", 1) != 1
            mid = make_divisible(c_round(x[0] * e)) if expand else x[0]
            y = x
            if expand:
                y = emit(name + ".conv.inverted_bottleneck", "conv", act, y, mid, 1, 1, 0, bn=True)
            y = emit(name + ".conv.depth_conv", "dwconv", act, y, mid, k, u.get("stride", 1), k // 2, bn=True)
            if u.get("se", False):
                y = emit(name + ".conv.depth_conv.se", "se", "none", y, mid, 1, 1, 0, out_hw=y[1])
                layers[-1]["se_mid"] = make_divisible(mid // 4)
            y = emit(name + ".conv.point_linear", "conv", "none", y, out, 1, 1, 0, bn=True)
            if u.get("residual", False):
                y = emit(name + ".add", "add", "none", y, out, 0, 0, 0, out_hw=y[1])
            cur = y
        elif kind == "bottleneck":
            e = f32(cfg["e"][u["e_slot"]])
            mid = make_divisible(c_round(out * e))
            s = u.get("stride", 1)
            res = x
            if not u.get("residual", False):
                if s > 1:  # avgpool_conv: ceil mode, kernel = stride, no padding
                    h = -(-(x[1] - s) // s) + 1
                    if (h - 1) * s >= x[1]:
                        h -= 1
                    res = emit(name + ".downsample.avg_pool", "avgpool", "none", res, x[0], s, s, 0, out_hw=h)
                res = emit(name + ".downsample", "conv", "none", res, out, 1, 1, 0, bn=True)
            y = emit(name + ".conv1", "conv", "relu", x, mid, 1, 1, 0, bn=True)
            k = u.get("kernel", 1)
            y = emit(name + ".conv2", "conv", "relu", y, mid, k, s, k // 2, bn=True)
            y = emit(name + ".conv3", "conv", "none", y, out, 1, 1, 0, bn=True)
            cur = emit(name + ".add", "add", "relu", y, out, 0, 0, 0, out_hw=y[1])
        elif kind == "maxpool":
            k, s, p = u.get("kernel", 1), u.get("stride", 1), u.get("pad", 0)
            cur = emit(name, "maxpool", "none", x, x[0], k, s, p)  # floor
        elif kind == "gap":
            cur = emit(name, "gap", "none", x, x[0], 0, 1, 0, out_hw=1)
        elif kind == "linear":
            cur = emit(name, "linear", act, x, u["out_max"], 1, 1, 0, out_hw=1)
    return layers


def bn_channels(layers):
    return [(l["name"], l["out"][0]) for l in layers if l["bn"]]


def check_plan(tmp):
    cases = []
    for fam in ("ofa-mbv3-w1.0", "ofa-resnet50"):
        path = os.path.join(tmp, fam + "-seed.sushi")
        sushi("zoo", fam, "-o", path, "--weights", "seed")
        sn = load(path)
        cands = sn["candidates"]
        picks = [cands[0], cands[len(cands) // 2], cands[-1]]
        cases += [(path, sn, c["config"]) for c in picks]
    model = os.path.join(SRC, "models", "fmnist-mbv3.sushi")
    if os.path.exists(model):
        sn = load(model)
        cases += [(model, sn, c["config"]) for c in sn["candidates"][:4]]
        for i, c in enumerate(sn["candidates"]):
            if "int8_ranges" in c:
                ls = plan(sn, c["config"])
                n_values = len(ls) + 1
                want = 2 * (n_values + len(ls))
                got = len(c["int8_ranges"]) // 4
                check(got == want, f"7.4: candidate {i}: int8_ranges has {got} floats, the plan says {want}")
    n = 0
    for path, sn, cfg in cases:
        ours = plan(sn, cfg)
        j = json.loads(sushi("subnet", path, "--config", json.dumps(cfg), "--layers", "--json"))
        theirs = j["layers"]
        if len(ours) != len(theirs):
            check(False, f"4.4: {path} {json.dumps(cfg)}: {len(ours)} layers from the spec, {len(theirs)} from sushi")
            continue
        for a, b in zip(ours, theirs):
            keys = ("name", "op", "act", "in", "out") + (("kernel", "stride", "pad") if a["op"] != "add" else ())
            diff = [k for k in keys if a[k] != b[k]]
            if diff:
                check(False, f"4.4: {path}: layer {b['index']} {b['name']}: " +
                      ", ".join(f"{k} spec {a[k]} sushi {b[k]}" for k in diff))
                break
        n += 1
    print(f"4.4 plan: {n} configs of 3 SuperNets derived layer for layer")


# ---------------------------------------------------------------- 7.2


def check_bn_order(tmp):
    path = os.path.join(tmp, "ofa-resnet50-seed.sushi")
    if not os.path.exists(path):
        sushi("zoo", "ofa-resnet50", "-o", path, "--weights", "seed")
    sn = load(path)
    seed = sn["seed"]
    # the smallest candidate: cheap to run
    ci = min(range(len(sn["candidates"])), key=lambda i: sn["candidates"][i]["macs"])
    cand = sn["candidates"][ci]
    cfg = cand["config"]
    layers = plan(sn, cfg)

    def stats(order):
        out = []
        for name, c in order:
            # the SuperNet's own running statistics, first c channels (6.1)
            mean = seed_tensor(seed, name + ".bn.running_mean", [c], "other")
            var = seed_tensor(seed, name + ".bn.running_var", [c], "var")
            out += [mean, var]
        return np.concatenate(out).astype("<f4").tobytes()

    doc_order = bn_channels(layers)
    check(any(n.endswith(".downsample") for n, _ in doc_order), "7.2: the candidate has a downsample BN")
    # the order the old text gave: conv1, conv2, conv3, then downsample, per bottleneck
    old_order, pending = [], None
    for n, c in doc_order:
        if n.endswith(".downsample"):
            pending = (n, c)
            continue
        old_order.append((n, c))
        if pending and n.endswith(".conv3"):
            old_order.append(pending)
            pending = None

    cfg_text = json.dumps(cfg)
    ref = json.loads(sushi("run", "builtin:ofa-resnet50", "--config", cfg_text, "--backend", "cpu", "--json"))

    def run_with(order, tag):
        d = load(path)
        d["candidates"][ci]["bn_stats"] = stats(order)
        d["candidates"][ci].pop("filler", None)
        p = os.path.join(tmp, f"r50-bn-{tag}.sushi")
        with open(p, "wb") as f:
            cbor2.dump(cbor2.CBORTag(55799, d), f)
        r = subprocess.run([SUSHI, "subnet", p, "--config", cfg_text, "--json"], capture_output=True, text=True)
        if r.returncode != 0:
            return None, r.stderr.strip()
        r = subprocess.run([SUSHI, "run", p, "--config", cfg_text, "--backend", "cpu", "--json"],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            return None, r.stderr.strip()
        return json.loads(r.stdout), ""

    got, err = run_with(doc_order, "doc")
    check(got is not None, f"7.2: the file written in the documented order does not load or run: {err}")
    if got is not None:
        check(got["output"] == ref["output"],
              "7.2: BN statistics in the documented order do not compute what the built-in computes")
        print(f"7.2 BN order: candidate {ci} ({len(doc_order)} BN layers) written per the spec gives the "
              "built-in's logits exactly")
    bad, err = run_with(old_order, "old")
    check(bad is None or bad["output"] != ref["output"],
          "7.2: the old order (downsample last) gave the same logits: the check cannot tell them apart")
    print("7.2 control: downsample-last order " + ("refused: " + err if bad is None else "gives other logits"))


def main():
    with tempfile.TemporaryDirectory(prefix="sushi-spec-") as tmp:
        check_generator(tmp)
        check_plan(tmp)
        check_bn_order(tmp)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("docs/format.md: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
