#!/usr/bin/python3
"""Offline test of tools/export/ofa_export.py (docs/ofa-export.md).

For each OFA family: build a SuperNet state_dict with OFA's own parameter names and shapes
(as OFAMobileNetV3 / OFAResNets.state_dict() give them, elastic modules nested one level deeper,
7to5_matrix / 5to3_matrix included) and seeded random values, export it, and compare the logits
of the C library (`sushi run FILE --backend cpu --input RAW --json`, the build's CLI) with an
independent NumPy forward of the OFA SuperNet computed from the state_dict itself (OFA's
forward semantics: set_active_subnet, DynamicSeparableConv2d.get_active_filter at run time,
DynamicSE, make_divisible mid channels, ResNet input-stem skipping, avgpool_conv downsample)
for several SubNets of each family, at reduced resolution. BN running statistics are set by
a calibration pass of the largest SubNet (as OFA's set_running_statistics), and residual
branches end with a small BN gamma: random nets without both are chaotic (see calibrate()).

Pass rule (as tests/cpu golden tests, docs/cpu.md): max |lib - ref| <= 1e-4 * max |ref|.
Negative checks: an export whose 7to5 matrix is transposed must mismatch on a SubNet using
k5/k3 (and still match when every kernel is 7); broken checkpoints (missing, unexpected,
wrong-shape tensors) must be refused naming the tensor; the exported architecture must equal
the built-in family's (`sushi info --json --units`, `sushi subnet --layers --json`).

Environment: SUSHI_CLI = path of the built `sushi` (set by tests/export/meson.build).
Exit 0 = pass, 1 = fail, 77 = skipped.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:
    print("numpy missing: skipped")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))
import ofa_export as oe  # noqa: E402

SUSHI = os.environ.get("SUSHI_CLI", "")
REL_TOL = 1e-4
failures = []


def check(cond, what):
    print("%s  %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        failures.append(what)


# ---------------- OFA helpers (written from OFA's code, independent of the exporter) ----------

def mkdiv(v, divisor=8):
    """ofa.utils.make_divisible (min_value = divisor)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def relu(x):
    return np.maximum(x, 0)


def hsig(x):
    return np.clip(x + 3, 0, 6) / 6


def hswish(x):
    return x * hsig(x)


ACT = {"relu": relu, "h_swish": hswish, None: lambda x: x}


def conv2d(x, w, stride=1, groups=1):
    """x [N, C, H, W], w [O, C/groups, k, k]; OFA's 'same' padding k // 2; float64."""
    k = w.shape[-1]
    p = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, ho, wo = win.shape[:4]
    if groups == 1:
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
        out = cols @ w.reshape(w.shape[0], -1).T
        return out.reshape(n, ho, wo, w.shape[0]).transpose(0, 3, 1, 2)
    assert groups == c == w.shape[0] and w.shape[1] == 1
    return np.einsum("nchwij,cij->nchw", win, w[:, 0])


# BN calibration (OFA's set_running_statistics, for the test's random SuperNets): when set to
# (state_dict, rng), bn() first stores the statistics of its input batch, slightly jittered, as
# the layer's running statistics. A net with random running statistics is badly conditioned
# (activations grow through the blocks; 1e-7 relative noise moved its logits by 1e-3).
CALIB = None


def bn(x, sd, p, eps=1e-5):
    c = x.shape[1]
    if CALIB is not None:
        src, rng = CALIB
        m, v = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        m = m + 0.1 * np.sqrt(v) * rng.standard_normal(c)
        v = v * rng.uniform(0.8, 1.25, c) + 0.05 * v.mean()  # no near-constant channel
        for key, val in ((".running_mean", m), (".running_var", v)):
            src[p + key][:c] = val
            sd[p + key][:c] = src[p + key][:c]
    g, b = sd[p + ".weight"][:c], sd[p + ".bias"][:c]
    m, v = sd[p + ".running_mean"][:c], sd[p + ".running_var"][:c]
    e = (None, slice(None), None, None)
    return (x - m[e]) / np.sqrt(v[e] + eps) * g[e] + b[e]


def calibrate(sd, fwd, cfg, r, seed):
    """Set every BN's running statistics from the SubNet cfg (the largest: every BN, every
    channel) on 4 random images of r x r."""
    global CALIB
    rng = np.random.default_rng(seed)
    CALIB = (sd, rng)
    try:
        fwd(sd, cfg, rng.standard_normal((4, 3, r, r)))
    finally:
        CALIB = None


def active_dw_filter(sd, p, ks_set, k, c):
    """DynamicSeparableConv2d.get_active_filter(c, k) with KERNEL_TRANSFORM_MODE = 1."""
    w = sd[p + ".conv.weight"][:c]
    kmax = max(ks_set)
    if k == kmax:
        return w
    cur = w
    for i in range(len(ks_set) - 1, 0, -1):
        src, dst = ks_set[i], ks_set[i - 1]
        if src <= k:
            break
        s = src // 2 - dst // 2
        centre = cur[:, :, s:s + dst, s:s + dst]
        flat = centre.reshape(-1, dst * dst)
        cur = (flat @ sd["%s.%dto%d_matrix" % (p, src, dst)].T).reshape(centre.shape)  # F.linear
    return cur


# ---------------- OFA-MobileNetV3 ----------------

MBV3_STAGES = [  # (base width, stride, act, se) of the 5 elastic stages (OFAMobileNetV3)
    (24, 2, "relu", False), (40, 2, "relu", True), (80, 2, "h_swish", False),
    (112, 1, "h_swish", True), (160, 2, "h_swish", True)]


# BN gamma at the end of residual branches: small, as in a trained net (and "zero-gamma"
# initialisation), so that the random test nets are not chaotic (with gamma ~ 1 a relative
# perturbation of 1e-7 grew to 4e-5 through OFA-ResNet50's 18 blocks).
RESIDUAL_GAMMA = (0.1, 0.4)


class Gen:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.sd = {}

    def w(self, key, shape, fan_in=None):
        fan_in = fan_in or int(np.prod(shape[1:]))
        b = np.sqrt(6.0 / fan_in)
        self.sd[key] = self.rng.uniform(-b, b, shape).astype(np.float32)

    def vec(self, key, n, lo=-0.1, hi=0.1):
        self.sd[key] = self.rng.uniform(lo, hi, n).astype(np.float32)

    def bn(self, p, c, gamma=(0.5, 1.5)):
        self.vec(p + ".weight", c, *gamma)
        self.vec(p + ".bias", c)
        self.vec(p + ".running_mean", c, -0.2, 0.2)
        self.vec(p + ".running_var", c, 0.5, 1.5)
        self.sd[p + ".num_batches_tracked"] = np.array(1000, dtype=np.int64)

    def matrix(self, key, n):  # a learned transform: identity plus a perturbation
        self.sd[key] = (np.eye(n) + self.rng.normal(0, 0.15, (n, n))).astype(np.float32)


def mbv3_state_dict(wm, seed):
    """OFAMobileNetV3(ks [3,5,7], e [3,4,6], d [2,3,4], width_mult=wm).state_dict() names."""
    g = Gen(seed)
    w0, w1 = mkdiv(16 * wm), mkdiv(16 * wm)
    g.w("first_conv.conv.weight", [w0, 3, 3, 3])
    g.bn("first_conv.bn", w0)
    g.w("blocks.0.conv.depth_conv.conv.weight", [w0, 1, 3, 3])  # static MBConvLayer, e = 1
    g.bn("blocks.0.conv.depth_conv.bn", w0)
    g.w("blocks.0.conv.point_linear.conv.weight", [w1, w0, 1, 1])
    g.bn("blocks.0.conv.point_linear.bn", w1)
    cin, i = w1, 1
    for base, _, _, se in MBV3_STAGES:
        cout = mkdiv(base * wm)
        for _ in range(4):
            p = "blocks.%d.conv." % i
            mid = mkdiv(round(cin * 6))
            g.w(p + "inverted_bottleneck.conv.conv.weight", [mid, cin, 1, 1])
            g.bn(p + "inverted_bottleneck.bn.bn", mid)
            g.w(p + "depth_conv.conv.conv.weight", [mid, 1, 7, 7], fan_in=25)
            g.matrix(p + "depth_conv.conv.7to5_matrix", 25)
            g.matrix(p + "depth_conv.conv.5to3_matrix", 9)
            g.bn(p + "depth_conv.bn.bn", mid)
            if se:
                sm = mkdiv(mid // 4)
                g.w(p + "depth_conv.se.fc.reduce.weight", [sm, mid, 1, 1])
                g.vec(p + "depth_conv.se.fc.reduce.bias", sm)
                g.w(p + "depth_conv.se.fc.expand.weight", [mid, sm, 1, 1])
                g.vec(p + "depth_conv.se.fc.expand.bias", mid)
            g.w(p + "point_linear.conv.conv.weight", [cout, mid, 1, 1])
            g.bn(p + "point_linear.bn.bn", cout, gamma=RESIDUAL_GAMMA)
            cin, i = cout, i + 1
    fe, last = mkdiv(960 * wm), mkdiv(1280 * wm)
    g.w("final_expand_layer.conv.weight", [fe, cin, 1, 1])
    g.bn("final_expand_layer.bn", fe)
    g.w("feature_mix_layer.conv.weight", [last, fe, 1, 1])
    g.w("classifier.linear.weight", [1000, last])
    g.vec("classifier.linear.bias", 1000)
    return g.sd


def mbv3_forward(sd, cfg, x):
    """OFAMobileNetV3.forward after set_active_subnet(ks, e, d), eval mode, float64."""
    sd = {k: v.astype(np.float64) for k, v in sd.items() if v.dtype != np.int64}
    x = hswish(bn(conv2d(x, sd["first_conv.conv.weight"], 2), sd, "first_conv.bn"))
    y = relu(bn(conv2d(x, sd["blocks.0.conv.depth_conv.conv.weight"], 1, groups=x.shape[1]), sd,
                "blocks.0.conv.depth_conv.bn"))
    y = bn(conv2d(y, sd["blocks.0.conv.point_linear.conv.weight"]), sd, "blocks.0.conv.point_linear.bn")
    x = x + y if y.shape == x.shape else y
    for s, (_, stride, act, se) in enumerate(MBV3_STAGES):
        for j in range(cfg["d"][s]):
            i = 1 + 4 * s + j
            p = "blocks.%d.conv." % i
            k, e = cfg["ks"][i - 1], cfg["e"][i - 1]
            cin = x.shape[1]
            mid = mkdiv(round(cin * e))
            st = stride if j == 0 else 1
            y = ACT[act](bn(conv2d(x, sd[p + "inverted_bottleneck.conv.conv.weight"][:mid, :cin]), sd,
                            p + "inverted_bottleneck.bn.bn"))
            f = active_dw_filter(sd, p + "depth_conv.conv", [3, 5, 7], k, mid)
            y = ACT[act](bn(conv2d(y, f, st, groups=mid), sd, p + "depth_conv.bn.bn"))
            if se:
                sm = mkdiv(mid // 4)
                q = p + "depth_conv.se.fc."
                z = y.mean(axis=(2, 3))
                z = relu(z @ sd[q + "reduce.weight"][:sm, :mid, 0, 0].T + sd[q + "reduce.bias"][:sm])
                z = hsig(z @ sd[q + "expand.weight"][:mid, :sm, 0, 0].T + sd[q + "expand.bias"][:mid])
                y = y * z[:, :, None, None]
            w = sd[p + "point_linear.conv.conv.weight"]
            y = bn(conv2d(y, w[:, :mid]), sd, p + "point_linear.bn.bn")
            x = x + y if (st == 1 and cin == w.shape[0]) else y
    x = hswish(bn(conv2d(x, sd["final_expand_layer.conv.weight"]), sd, "final_expand_layer.bn"))
    x = x.mean(axis=(2, 3))
    x = hswish(x @ sd["feature_mix_layer.conv.weight"][:, :, 0, 0].T)
    return x @ sd["classifier.linear.weight"].T + sd["classifier.linear.bias"]


# ---------------- OFA-ResNet50 ----------------

RN_WM = [0.65, 0.8, 1.0]
RN_BASE_DEPTH = [2, 2, 4, 2]
RN_STRIDES = [1, 2, 2, 2]


def rn_channels():
    inch = [mkdiv(64 * w) for w in RN_WM]
    mid_in = [mkdiv(c // 2) for c in inch]
    stages = [[mkdiv(s * w) for w in RN_WM] for s in (256, 512, 1024, 2048)]
    return mid_in, inch, stages


def resnet50_state_dict(seed):
    """OFAResNets(d [0,1,2], e [0.2,0.25,0.35], w [0.65,0.8,1.0]).state_dict() names."""
    g = Gen(seed)
    mid_in, inch, stages = rn_channels()
    g.w("input_stem.0.conv.conv.weight", [mid_in[-1], 3, 3, 3])
    g.bn("input_stem.0.bn.bn", mid_in[-1])
    g.w("input_stem.1.conv.conv.conv.weight", [mid_in[-1], mid_in[-1], 3, 3])
    g.bn("input_stem.1.conv.bn.bn", mid_in[-1])
    g.w("input_stem.2.conv.conv.weight", [inch[-1], mid_in[-1], 3, 3])
    g.bn("input_stem.2.bn.bn", inch[-1])
    cin, b = inch, 0
    for s in range(4):
        out = stages[s]
        for i in range(RN_BASE_DEPTH[s] + 2):
            p = "blocks.%d." % b
            mid = mkdiv(round(out[-1] * 0.35))
            g.w(p + "conv1.conv.conv.weight", [mid, cin[-1], 1, 1])
            g.bn(p + "conv1.bn.bn", mid)
            g.w(p + "conv2.conv.conv.weight", [mid, mid, 3, 3])
            g.bn(p + "conv2.bn.bn", mid)
            g.w(p + "conv3.conv.conv.weight", [out[-1], mid, 1, 1])
            g.bn(p + "conv3.bn.bn", out[-1], gamma=RESIDUAL_GAMMA)
            if i == 0:  # stride 2, or in != out channel lists: avgpool_conv downsample
                g.w(p + "downsample.conv.conv.weight", [out[-1], cin[-1], 1, 1])
                g.bn(p + "downsample.bn.bn", out[-1])
            cin, b = out, b + 1
    g.w("classifier.linear.linear.weight", [1000, cin[-1]])
    g.vec("classifier.linear.linear.bias", 1000)
    return g.sd


def avgpool_ceil(x, k):
    """nn.AvgPool2d(k, k, padding=0, ceil_mode=True): partial windows average what they cover."""
    if k == 1:
        return x
    n, c, h, w = x.shape
    ho, wo = -(-h // k), -(-w // k)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * k:(i + 1) * k, j * k:(j + 1) * k].mean(axis=(2, 3))
    return out


def maxpool3s2p1(x):
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    return win.max(axis=(4, 5))


def resnet_forward(sd, cfg, x):
    """OFAResNets.forward after set_active_subnet(d, e, w), eval mode, float64."""
    sd = {k: v.astype(np.float64) for k, v in sd.items() if v.dtype != np.int64}
    mid_in, inch, stages = rn_channels()
    d, e, w = cfg["d"], cfg["e"], cfg["w"]
    c0, c2 = mid_in[w[0]], inch[w[1]]
    x = relu(bn(conv2d(x, sd["input_stem.0.conv.conv.weight"][:c0], 2), sd, "input_stem.0.bn.bn"))
    if d[0] == 2:  # input_stem_skipping = (d[0] != max(depth_list))
        y = relu(bn(conv2d(x, sd["input_stem.1.conv.conv.conv.weight"][:c0, :c0]), sd,
                    "input_stem.1.conv.bn.bn"))
        x = x + y
    x = relu(bn(conv2d(x, sd["input_stem.2.conv.conv.weight"][:c2, :c0]), sd, "input_stem.2.bn.bn"))
    x = maxpool3s2p1(x)
    b = 0
    for s in range(4):
        n = RN_BASE_DEPTH[s] + 2
        for i in range(n):
            if i < RN_BASE_DEPTH[s] + d[1 + s]:
                p = "blocks.%d." % b
                out = stages[s][w[2 + s]]
                mid = mkdiv(round(out * e[b]))
                cin = x.shape[1]
                st = RN_STRIDES[s] if i == 0 else 1
                if i == 0:
                    r = avgpool_ceil(x, st)
                    r = bn(conv2d(r, sd[p + "downsample.conv.conv.weight"][:out, :cin]), sd,
                           p + "downsample.bn.bn")
                else:
                    r = x
                y = relu(bn(conv2d(x, sd[p + "conv1.conv.conv.weight"][:mid, :cin]), sd,
                            p + "conv1.bn.bn"))
                y = relu(bn(conv2d(y, sd[p + "conv2.conv.conv.weight"][:mid, :mid], st), sd,
                            p + "conv2.bn.bn"))
                y = bn(conv2d(y, sd[p + "conv3.conv.conv.weight"][:out, :mid]), sd, p + "conv3.bn.bn")
                x = relu(y + r)
            b += 1
    x = x.mean(axis=(2, 3))
    return x @ sd["classifier.linear.linear.weight"][:, :x.shape[1]].T + sd["classifier.linear.linear.bias"]


# ---------------- running the library ----------------

def run_lib(path, cfg, r, x, tmp):
    raw = os.path.join(tmp, "x.raw")
    x.astype("<f4").tofile(raw)
    c = dict(cfg, r=r)
    p = subprocess.run([SUSHI, "run", path, "--config", json.dumps(c), "--backend", "cpu",
                        "--input", raw, "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("sushi run failed (%d): %s" % (p.returncode, p.stderr.strip()))
    return np.array(json.loads(p.stdout)["output"], dtype=np.float64)


def compare(path, sd, fwd, cfg, r, label, tmp, rng, expect_match=True):
    x = rng.standard_normal((3, r, r)).astype(np.float32)
    t0 = time.time()
    ref = fwd(sd, cfg, x[None].astype(np.float64))[0]
    t1 = time.time()
    got = run_lib(path, cfg, r, x, tmp)
    t2 = time.time()
    err, scale = float(np.max(np.abs(got - ref))), float(np.max(np.abs(ref)))
    rel = err / scale
    ok = rel <= REL_TOL
    check(ok == expect_match, "%s @%d: max|lib-ref| = %.3g, max|ref| = %.3g, rel %.2e (%s %.0e) "
          "[ref %.1fs, lib %.1fs]" % (label, r, err, scale, rel,
                                      "<=" if expect_match else "must exceed", REL_TOL, t1 - t0, t2 - t1))
    return rel


def cli_json(*args):
    p = subprocess.run([SUSHI] + list(args) + ["--json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("sushi %s: %s" % (" ".join(args), p.stderr.strip()))
    return json.loads(p.stdout)


def arch_of(target, cfgs):
    """What libsushi derives from a SuperNet's architecture: `sushi info --units` (elastic
    space, units, tensor count, weight elements) and `sushi subnet --layers` (per-layer plan
    and costs) of a few configs, without the fields that name the file or its provenance."""
    info = cli_json("info", target, "--units")
    for k in ("file", "synthetic", "provenance", "candidates"):
        info.pop(k)
    plans = []
    for c in cfgs:
        sub = cli_json("subnet", target, "--config", json.dumps(c), "--layers")
        for k in ("file", "synthetic", "candidate", "accuracy", "accuracy_source"):
            sub.pop(k)
        plans.append(sub)
    return info, plans


def same_arch(path, builtin, cfgs, label):
    a, b = arch_of(path, cfgs), arch_of("builtin:" + builtin, cfgs)
    check(a == b, "%s: architecture, tensor table and SubNet plans equal builtin:%s's "
          "(%d units, %d tensors, %d weights)" % (label, builtin, a[0]["units"], a[0]["tensors"],
                                                  a[0]["weight_elems"]))


def mixed_mbv3(rng, d):
    return {"ks": [int(rng.choice([3, 5, 7])) for _ in range(20)],
            "e": [int(rng.choice([3, 4, 6])) for _ in range(20)], "d": d}


def main():
    if not SUSHI or not os.access(SUSHI, os.X_OK):
        print("SUSHI_CLI not set to the built sushi: skipped")
        return 77
    t_start = time.time()
    rng = np.random.default_rng(20261127)
    with tempfile.TemporaryDirectory(prefix="ofa-export-") as tmp:
        # ---- OFA-MobileNetV3 w1.0: exported through the CLI from a .npz ----
        mx = {"ks": [7] * 20, "e": [6] * 20, "d": [4] * 5}
        sd = mbv3_state_dict(1.0, seed=1)
        calibrate(sd, mbv3_forward, mx, 64, seed=11)
        npz = os.path.join(tmp, "mbv3.npz")
        np.savez(npz, **sd)
        f10 = os.path.join(tmp, "mbv3-w1.0.sushi")
        check(oe.main(["--family", "mbv3-w1.0", npz, "-o", f10]) == 0, "export mbv3-w1.0 from .npz")
        mn = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5}
        mixed = mixed_mbv3(rng, [3, 4, 2, 4, 3])
        same_arch(f10, "ofa-mbv3-w1.0", [dict(c, r=224) for c in (mx, mn, mixed)], "mbv3-w1.0")
        compare(f10, sd, mbv3_forward, mx, 40, "mbv3-w1.0 max", tmp, rng)
        compare(f10, sd, mbv3_forward, mn, 32, "mbv3-w1.0 min", tmp, rng)
        compare(f10, sd, mbv3_forward, mixed, 40, "mbv3-w1.0 mixed ks/e/d", tmp, rng)
        compare(f10, sd, mbv3_forward, {"ks": [5] * 20, "e": [4] * 20, "d": [4] * 5}, 48,
                "mbv3-w1.0 ks5 e4 d4", tmp, rng)

        # ---- negative: a transposed 7to5 matrix (the F.linear convention broken) ----
        bad = dict(sd)
        for i in range(1, 21):
            k = "blocks.%d.conv.depth_conv.conv.7to5_matrix" % i
            bad[k] = np.ascontiguousarray(sd[k].T)
        fbad = os.path.join(tmp, "bad.sushi")
        oe.export("mbv3-w1.0", bad, fbad, "test: transposed 7to5 matrices")
        compare(fbad, sd, mbv3_forward, mixed, 40, "transposed 7to5: mixed SubNet detected", tmp, rng,
                expect_match=False)
        compare(fbad, sd, mbv3_forward, mx, 40, "transposed 7to5: all-k7 SubNet unaffected", tmp, rng)
        os.unlink(fbad)

        # ---- negative: broken checkpoints are refused, naming the tensor ----
        def refused(mod, needle, what):
            s2 = dict(sd)
            mod(s2)
            try:
                oe.export("mbv3-w1.0", s2, os.path.join(tmp, "never.sushi"), "test")
                check(False, "refused: " + what)
            except oe.ExportError as e:
                check(needle in str(e), "refused: %s (%s)" % (what, str(e).splitlines()[1].strip()))
            check(not os.path.exists(os.path.join(tmp, "never.sushi")), "nothing written: " + what)

        refused(lambda s: s.pop("blocks.7.conv.depth_conv.conv.5to3_matrix"),
                "missing: blocks.7.conv.depth_conv.conv.5to3_matrix", "missing 5to3_matrix")
        refused(lambda s: s.__setitem__("blocks.3.conv.extra.weight", np.zeros(3, np.float32)),
                "unexpected: blocks.3.conv.extra.weight", "unexpected tensor")
        refused(lambda s: s.__setitem__("blocks.9.conv.point_linear.conv.conv.weight",
                                        np.zeros((80, 480, 1, 1), np.float32)),
                "wrong shape: blocks.9.conv.point_linear.conv.conv.weight", "wrong shape")
        refused(lambda s: s.__setitem__("blocks.2.conv.depth_conv.bn.bn.running_var",
                                        -s["blocks.2.conv.depth_conv.bn.bn.running_var"]),
                "negative running variance", "negative running_var")
        os.unlink(f10)
        os.unlink(npz)
        del sd, bad

        # ---- OFA-MobileNetV3 w1.2, static names and a DataParallel prefix ----
        sd = mbv3_state_dict(1.2, seed=2)
        calibrate(sd, mbv3_forward, mx, 64, seed=12)
        alt = {}
        for k, v in sd.items():  # OFA's load_state_dict also accepts the static names
            k2 = k.replace(".conv.conv.weight", ".conv.weight").replace(".bn.bn.", ".bn.")
            alt["module." + k2] = v
        f12 = os.path.join(tmp, "mbv3-w1.2.sushi")
        oe.export("mbv3-w1.2", alt, f12, "test")
        same_arch(f12, "ofa-mbv3-w1.2", [dict(c, r=160) for c in (mx, mn)], "mbv3-w1.2")
        compare(f12, sd, mbv3_forward, mx, 40, "mbv3-w1.2 max", tmp, rng)
        compare(f12, sd, mbv3_forward, mn, 32, "mbv3-w1.2 min", tmp, rng)
        compare(f12, sd, mbv3_forward, mixed_mbv3(rng, [2, 3, 4, 3, 2]), 44, "mbv3-w1.2 mixed ks/e/d",
                tmp, rng)
        os.unlink(f12)
        del sd, alt

        # ---- OFA-ResNet50 ----
        sd = resnet50_state_dict(seed=3)
        calibrate(sd, resnet_forward, {"d": [2] * 5, "e": [0.35] * 18, "w": [2] * 6}, 64, seed=13)
        frn = os.path.join(tmp, "resnet50.sushi")
        oe.export("resnet50", sd, frn, "test")
        es = [0.2, 0.25, 0.35]
        same_arch(frn, "ofa-resnet50", [{"d": [2] * 5, "e": [0.35] * 18, "w": [2] * 6, "r": 224},
                                        {"d": [0] * 5, "e": [0.2] * 18, "w": [0] * 6, "r": 128},
                                        {"d": [1, 2, 0, 1, 2], "e": [es[i % 3] for i in range(18)],
                                         "w": [1, 0, 2, 1, 0, 2], "r": 192}], "resnet50")
        compare(frn, sd, resnet_forward, {"d": [2] * 5, "e": [0.35] * 18, "w": [2] * 6}, 48,
                "resnet50 max", tmp, rng)
        compare(frn, sd, resnet_forward, {"d": [0] * 5, "e": [0.2] * 18, "w": [0] * 6}, 32,
                "resnet50 min", tmp, rng)
        compare(frn, sd, resnet_forward,
                {"d": [2, 1, 0, 2, 1], "e": [es[int(i)] for i in rng.integers(0, 3, 18)],
                 "w": [0, 2, 1, 0, 2, 1]}, 48, "resnet50 mixed d/e/w (stem kept)", tmp, rng)
        compare(frn, sd, resnet_forward,
                {"d": [1, 2, 2, 0, 1], "e": [es[int(i)] for i in rng.integers(0, 3, 18)],
                 "w": [2, 1, 0, 2, 1, 0]}, 40, "resnet50 mixed d/e/w (stem skipped)", tmp, rng)
    print("%d failure(s), %.1f s" % (len(failures), time.time() - t_start))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
