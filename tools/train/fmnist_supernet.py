"""OFA-MobileNetV3-style weight-shared SuperNet for Fashion-MNIST (1x28x28).

Importable model definition shared by train_fmnist.py, the (future) exporter to
libsushi's C format and PyTorch reference scripts.  Needs only torch + numpy.

Conventions (follow OFA, mit-han-lab/once-for-all, elastic_nn/ and utils/layers.py):

* Input: 1x28x28, pixel/255 normalised with mean 0.2860, std 0.3530.
* blocks.0 is the static first_block (MBConv expand 1, dw 3x3, identity residual).
  blocks.1 .. blocks.16 are the elastic MBConv blocks, stage i block j ->
  blocks.(1 + 4*i + j).  Stage depth d keeps the FIRST d blocks of the stage.
* Elastic width: mid = make_divisible(round(in_ch * e), 8); a SubNet uses the
  first `mid` output channels of inverted_bottleneck, the first `mid` channels of
  the depthwise conv / BNs / SE, and the first `mid` input channels of
  point_linear.  SE: se_mid = make_divisible(mid // 4, 8); reduce uses
  weight[:se_mid, :mid], bias[:se_mid]; expand uses weight[:mid, :se_mid], bias[:mid].
  BN layers are prefix shared: gamma/beta/running stats [:c].
* Elastic kernel (OFA DynamicSeparableConv2d, KERNEL_TRANSFORM_MODE=1): one 7x7
  depthwise weight W7 (C,1,7,7) plus '7to5_matrix' (25x25) and '5to3_matrix' (9x9).
      k5 = F.linear(W7[:, :, 1:6, 1:6].reshape(C, 25), M75).reshape(C,1,5,5)
      k3 = F.linear(k5[:, :, 1:4, 1:4].reshape(C, 9),  M53).reshape(C,1,3,3)
  NOTE F.linear(x, M) = x @ M^T, i.e. k5_flat[c, j] = sum_i M75[j, i] * centre_flat[c, i]
  (row-major flattening of the kxk window).  k3 is derived from the TRANSFORMED
  k5, not from the raw 7x7.  Padding = k // 2.
* Activations: relu = max(x,0); h_swish = x * relu6(x+3)/6; h_sigmoid = relu6(x+3)/6.
* BN eps = 1e-5 (PyTorch default), training momentum 0.1.  Running stats in a
  checkpoint are only valid for the SubNet they were calibrated for (the saved
  state_dict is calibrated for the largest SubNet); use recalibrate_bn().
"""
import copy
import gzip
import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FMNIST_MEAN = 0.2860
FMNIST_STD = 0.3530
FMNIST_DIR = "/usr/share/datasets/fashion-mnist"

DEFAULT_ARCH = {
    "name": "ofa_mbv3_fmnist",
    "input_shape": [1, 28, 28],
    "resolution": 28,
    "n_classes": 10,
    "normalize": {"mean": FMNIST_MEAN, "std": FMNIST_STD, "scale": "pixel/255"},
    "first_conv": {"in": 1, "out": 16, "kernel": 3, "stride": 1, "act": "h_swish",
                   "bias": False, "bn": True},
    "first_block": {"in": 16, "out": 16, "kernel": 3, "stride": 1, "expand_ratio": 1,
                    "act": "relu", "se": False, "residual": True},
    "stages": {
        "width": [24, 40, 64, 96],
        "stride": [2, 1, 2, 2],
        "act": ["relu", "relu", "h_swish", "h_swish"],
        "se": [False, True, False, True],
        "max_depth": 4,
    },
    "ks_list": [3, 5, 7],
    "expand_ratio_list": [3, 4, 6],
    "depth_list": [2, 3, 4],
    "channel_divisor": 8,
    "se_reduction": 4,
    "final_expand": {"in": 96, "out": 576, "act": "h_swish", "bn": True, "bias": False},
    "feature_mix": {"in": 576, "out": 256, "act": "h_swish", "bn": False, "bias": False},
    "classifier": {"in": 256, "out": 10, "bias": True, "dropout": 0.1},
    "bn": {"eps": 1e-5, "momentum": 0.1},
    "kernel_transform_mode": 1,
    "kernel_transform": "k5 = F.linear(centre5x5(W7).flat, 7to5_matrix) (= x @ M^T); "
                        "k3 = F.linear(centre3x3(k5).flat, 5to3_matrix)",
}


# ----------------------------------------------------------------------------- utils
def make_divisible(v, divisor=8, min_val=None):
    """OFA's make_divisible (ofa/utils/common_tools.py)."""
    if min_val is None:
        min_val = divisor
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # do not round down by more than 10%
        new_v += divisor
    return new_v


def mid_channels(in_ch, e, divisor=8):
    return make_divisible(round(in_ch * e), divisor)


def se_channels(mid, reduction=4, divisor=8):
    return make_divisible(mid // reduction, divisor)


def act_fn(name, x):
    if name == "relu":
        return F.relu(x)
    if name == "h_swish":
        return F.hardswish(x)  # x * relu6(x + 3) / 6
    if name in (None, "none"):
        return x
    raise ValueError(name)


# Optional cost tracer: when a list, every conv/linear appends its active shapes.
_TRACE = None


def _trace(kind, out, weight, groups=1, bias=None, bn_ch=0):
    if _TRACE is not None:
        _TRACE.append((kind, tuple(out.shape), tuple(weight.shape), groups,
                       0 if bias is None else bias.numel(), bn_ch))


def _conv(x, w, b=None, stride=1, padding=0, groups=1):
    y = F.conv2d(x, w, b, stride, padding, 1, groups)
    _trace("conv", y, w, groups, b)
    return y


# ----------------------------------------------------------------------------- layers
class DynBN(nn.BatchNorm2d):
    """BatchNorm2d whose first C channels are used for a C-channel input (prefix sharing)."""

    def forward(self, x):
        c = x.size(1)
        factor = 0.0
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            factor = (1.0 / float(self.num_batches_tracked)) if self.momentum is None \
                else self.momentum
        if _TRACE is not None:
            _TRACE.append(("bn", tuple(x.shape), (c,), 1, 0, c))
        return F.batch_norm(x, self.running_mean[:c], self.running_var[:c],
                            self.weight[:c], self.bias[:c],
                            self.training or not self.track_running_stats, factor, self.eps)


class DynPointConv(nn.Module):
    """1x1 conv, no bias; uses weight[:out_c, :in_c]."""

    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, 1, 1))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")

    def forward(self, x, out_c=None):
        out_c = self.weight.size(0) if out_c is None else out_c
        return _conv(x, self.weight[:out_c, :x.size(1)].contiguous())


class DynDWConv(nn.Module):
    """Depthwise conv with OFA elastic kernel (7x7 weight + 7to5 / 5to3 transform matrices)."""

    def __init__(self, channels, ks_list, stride):
        super().__init__()
        self.ks_set = sorted(set(ks_list))
        self.max_ks = self.ks_set[-1]
        self.stride = stride
        self.weight = nn.Parameter(torch.empty(channels, 1, self.max_ks, self.max_ks))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        for i in range(len(self.ks_set) - 1):
            small, large = self.ks_set[i], self.ks_set[i + 1]
            self.register_parameter("%dto%d_matrix" % (large, small),
                                    nn.Parameter(torch.eye(small * small)))

    def get_active_filter(self, channels, ks):
        filt = self.weight[:channels]
        for i in range(len(self.ks_set) - 1, 0, -1):
            src = self.ks_set[i]
            if src <= ks:
                break
            tgt = self.ks_set[i - 1]
            s = (src - tgt) // 2
            centre = filt[:, :, s:s + tgt, s:s + tgt].reshape(channels, tgt * tgt)
            m = getattr(self, "%dto%d_matrix" % (src, tgt))
            filt = F.linear(centre, m).view(channels, 1, tgt, tgt)
        return filt

    def forward(self, x, ks):
        c = x.size(1)
        w = self.get_active_filter(c, ks).contiguous()
        return _conv(x, w, None, self.stride, ks // 2, c)


class DynSE(nn.Module):
    def __init__(self, max_mid, reduction=4, divisor=8):
        super().__init__()
        self.reduction, self.divisor = reduction, divisor
        se_mid = se_channels(max_mid, reduction, divisor)
        self.fc = nn.Module()
        self.fc.reduce = nn.Conv2d(max_mid, se_mid, 1, bias=True)
        self.fc.expand = nn.Conv2d(se_mid, max_mid, 1, bias=True)

    def forward(self, x):
        c = x.size(1)
        n = se_channels(c, self.reduction, self.divisor)
        y = F.adaptive_avg_pool2d(x, 1)
        y = _conv(y, self.fc.reduce.weight[:n, :c].contiguous(), self.fc.reduce.bias[:n])
        y = F.relu(y, inplace=True)
        y = _conv(y, self.fc.expand.weight[:c, :n].contiguous(), self.fc.expand.bias[:c])
        return x * F.hardsigmoid(y)  # relu6(y + 3) / 6


class _Unit(nn.Module):
    """conv -> bn -> act (-> se), names .conv/.bn/.se like OFA's static layers."""

    def __init__(self, conv, bn, act, se=None):
        super().__init__()
        self.conv, self.bn, self.act = conv, bn, act
        if se is not None:
            self.se = se


class MBBlock(nn.Module):
    """One (elastic) MBConv block; .conv holds inverted_bottleneck/depth_conv/point_linear."""

    def __init__(self, cin, cout, stride, act, use_se, ks_list, e_list, residual,
                 divisor=8, se_reduction=4, expand_fixed=None):
        super().__init__()
        self.cin, self.cout, self.stride, self.act_name = cin, cout, stride, act
        self.use_se, self.residual = use_se, residual
        self.ks_list, self.e_list = sorted(ks_list), sorted(e_list)
        self.divisor = divisor
        max_e = max(self.e_list)
        max_mid = mid_channels(cin, max_e, divisor)
        self.conv = nn.Module()
        if max_e != 1:
            self.conv.inverted_bottleneck = _Unit(DynPointConv(cin, max_mid), DynBN(max_mid), act)
        else:
            self.conv.inverted_bottleneck = None
        self.conv.depth_conv = _Unit(DynDWConv(max_mid, self.ks_list, stride), DynBN(max_mid), act,
                                     DynSE(max_mid, se_reduction, divisor) if use_se else None)
        self.conv.point_linear = _Unit(DynPointConv(max_mid, cout), DynBN(cout), None)
        self.active_ks = max(self.ks_list)
        self.active_e = max_e

    def active_mid(self):
        return mid_channels(self.cin, self.active_e, self.divisor)

    def forward(self, x):
        c = self.conv
        y = x
        if c.inverted_bottleneck is not None:
            u = c.inverted_bottleneck
            y = act_fn(self.act_name, u.bn(u.conv(y, self.active_mid())))
        u = c.depth_conv
        y = act_fn(self.act_name, u.bn(u.conv(y, self.active_ks)))
        if self.use_se:
            y = u.se(y)
        u = c.point_linear
        y = u.bn(u.conv(y))
        return x + y if self.residual else y


# ----------------------------------------------------------------------------- supernet
class FMNISTSuperNet(nn.Module):
    def __init__(self, arch=None):
        super().__init__()
        self.arch = copy.deepcopy(arch or DEFAULT_ARCH)
        a = self.arch
        div, red = a["channel_divisor"], a["se_reduction"]
        fc = a["first_conv"]
        self.first_conv = _Unit(nn.Conv2d(fc["in"], fc["out"], fc["kernel"], fc["stride"],
                                          fc["kernel"] // 2, bias=False),
                                DynBN(fc["out"]), fc["act"])
        fb = a["first_block"]
        blocks = [MBBlock(fb["in"], fb["out"], fb["stride"], fb["act"], fb["se"],
                          [fb["kernel"]], [fb["expand_ratio"]], fb["residual"], div, red)]
        st = a["stages"]
        self.stage_blocks = []  # list of lists of block indices
        cin = fb["out"]
        for w, s, act, se in zip(st["width"], st["stride"], st["act"], st["se"]):
            idx = []
            for j in range(st["max_depth"]):
                stride = s if j == 0 else 1
                residual = (j > 0)  # first block of a stage: stride/width change, no shortcut
                idx.append(len(blocks))
                blocks.append(MBBlock(cin, w, stride, act, se, a["ks_list"],
                                      a["expand_ratio_list"], residual, div, red))
                cin = w
            self.stage_blocks.append(idx)
        self.blocks = nn.ModuleList(blocks)
        fe, fm, cl = a["final_expand"], a["feature_mix"], a["classifier"]
        assert fe["in"] == cin
        self.final_expand_layer = _Unit(DynPointConv(fe["in"], fe["out"]), DynBN(fe["out"]),
                                        fe["act"])
        self.feature_mix_layer = nn.Module()
        self.feature_mix_layer.conv = DynPointConv(fm["in"], fm["out"])
        self.classifier = nn.Module()
        self.classifier.linear = nn.Linear(cl["in"], cl["out"], bias=True)
        self.dropout = cl["dropout"]
        nn.init.normal_(self.classifier.linear.weight, 0, 0.01)
        nn.init.zeros_(self.classifier.linear.bias)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum, m.eps = a["bn"]["momentum"], a["bn"]["eps"]
        self.runtime_depth = [st["max_depth"]] * len(st["width"])
        self.channels_last = True

    # -- OFA-style SubNet selection ------------------------------------------------
    @property
    def n_elastic(self):
        return sum(len(s) for s in self.stage_blocks)

    def set_active_subnet(self, ks=None, e=None, d=None):
        n, ns = self.n_elastic, len(self.stage_blocks)

        def expand(v, k):
            if v is None:
                return [None] * k
            return list(v) if isinstance(v, (list, tuple)) else [v] * k

        ks, e, d = expand(ks, n), expand(e, n), expand(d, ns)
        assert len(ks) == n and len(e) == n and len(d) == ns, "ks/e need %d, d needs %d" % (n, ns)
        for i, b in enumerate(self.blocks[1:]):
            if ks[i] is not None:
                assert ks[i] in b.ks_list, ks[i]
                b.active_ks = ks[i]
            if e[i] is not None:
                assert e[i] in b.e_list, e[i]
                b.active_e = e[i]
        for i, di in enumerate(d):
            if di is not None:
                assert di in self.arch["depth_list"], di
                self.runtime_depth[i] = di

    def set_max_net(self):
        a = self.arch
        self.set_active_subnet(max(a["ks_list"]), max(a["expand_ratio_list"]), max(a["depth_list"]))

    def set_min_net(self):
        a = self.arch
        self.set_active_subnet(min(a["ks_list"]), min(a["expand_ratio_list"]), min(a["depth_list"]))

    def sample_active_subnet(self, rng):
        a = self.arch
        cfg = {"ks": [rng.choice(a["ks_list"]) for _ in range(self.n_elastic)],
               "e": [rng.choice(a["expand_ratio_list"]) for _ in range(self.n_elastic)],
               "d": [rng.choice(a["depth_list"]) for _ in range(len(self.stage_blocks))]}
        self.set_active_subnet(**cfg)
        return cfg

    def get_active_subnet_config(self):
        bl = self.blocks[1:]
        return {"ks": [b.active_ks for b in bl], "e": [b.active_e for b in bl],
                "d": list(self.runtime_depth)}

    # -- forward ------------------------------------------------------------------
    def forward(self, x):
        u = self.first_conv
        x = act_fn(u.act, u.bn(_conv(x, u.conv.weight, None, u.conv.stride, u.conv.padding)))
        if self.channels_last:  # ~3x faster depthwise backward on CPU; same math
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.blocks[0](x)
        for idx, d in zip(self.stage_blocks, self.runtime_depth):
            for i in idx[:d]:
                x = self.blocks[i](x)
        u = self.final_expand_layer
        x = act_fn(u.act, u.bn(u.conv(x)))
        x = F.adaptive_avg_pool2d(x, 1)
        x = F.hardswish(self.feature_mix_layer.conv(x))
        x = torch.flatten(x, 1)
        if self.training and self.dropout > 0:
            x = F.dropout(x, self.dropout, True)
        w, b = self.classifier.linear.weight, self.classifier.linear.bias
        y = F.linear(x, w, b)
        if _TRACE is not None:
            _TRACE.append(("linear", tuple(y.shape), tuple(w.shape), 1, b.numel(), 0))
        return y


def build_supernet(arch=None):
    return FMNISTSuperNet(arch)


# ----------------------------------------------------------------------------- cost
def active_cost(model):
    """Params and MACs of the active SubNet as a static network, counted like OFA:
    params = conv/linear weights (+bias) + BN gamma/beta of active channels (the
    kernel-transform matrices are folded into the static kxk kernel, not counted);
    MACs = conv: out_elements * cin/groups * k*k, linear: in*out (batch 1)."""
    global _TRACE
    was_training = model.training
    model.eval()
    _TRACE = []
    try:
        with torch.no_grad():
            model(torch.zeros(1, *model.arch["input_shape"]))
        trace = _TRACE
    finally:
        _TRACE = None
        model.train(was_training)
    params = macs = 0
    for kind, out, w, groups, nbias, bn_ch in trace:
        if kind == "bn":
            params += 2 * bn_ch
        elif kind == "conv":
            params += int(np.prod(w)) + nbias
            macs += int(np.prod(out[1:])) * w[1] * w[2] * w[3]  # w[1] = cin/groups
        elif kind == "linear":
            params += int(np.prod(w)) + nbias
            macs += w[0] * w[1]
    return params, macs


# ----------------------------------------------------------------------------- data
def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    assert (magic >> 8) == 0x08, "expected unsigned-byte IDX"
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_fmnist(split="train", root=FMNIST_DIR):
    """Returns (images uint8 tensor N x 1 x 28 x 28, labels int64 tensor N) in file order."""
    pre = "train" if split == "train" else "t10k"
    x = _read_idx(os.path.join(root, "%s-images-idx3-ubyte.gz" % pre))
    y = _read_idx(os.path.join(root, "%s-labels-idx1-ubyte.gz" % pre))
    return (torch.from_numpy(x.copy()).unsqueeze(1),
            torch.from_numpy(y.astype(np.int64)))


def normalize(images_u8):
    return (images_u8.float() / 255.0 - FMNIST_MEAN) / FMNIST_STD


def resize(x, r):
    """Elastic resolution (OFA-style): bilinear resize of a NORMALISED float batch (N,C,H,W) to r x r,
    PyTorch semantics align_corners=False, no antialiasing.  Identity when r == H == W.
    libsushi's sushi_input_from_u8() implements exactly this (docs/fashion-mnist.md)."""
    if x.shape[-1] == r and x.shape[-2] == r:
        return x
    return F.interpolate(x, size=(r, r), mode="bilinear", align_corners=False)


def _as_input(images):
    return normalize(images) if images.dtype == torch.uint8 else images


# ----------------------------------------------------------------------------- eval
@torch.no_grad()
def recalibrate_bn(model, images, batch_size=500):
    """Reset all BN running stats and recompute them for the ACTIVE SubNet with a
    cumulative average (momentum=None) over `images` (uint8 or normalised float,
    ~2000 un-augmented training images).  Only the active prefix of each BN is
    touched; channels beyond it keep reset values (mean 0, var 1)."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    was_training = model.training
    model.train()
    drop = model.dropout
    model.dropout = 0.0
    x = _as_input(images)
    for i in range(0, x.size(0), batch_size):
        model(x[i:i + batch_size])
    model.dropout = drop
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.train(was_training)


@torch.no_grad()
def evaluate(model, images, labels, batch_size=1000):
    """Top-1 accuracy (fraction) of the active SubNet in eval mode (uses running stats)."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, images.size(0), batch_size):
        out = model(_as_input(images[i:i + batch_size]))
        correct += (out.argmax(1) == labels[i:i + batch_size]).sum().item()
    model.train(was_training)
    return correct / images.size(0)


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    model = build_supernet(ck["arch"])
    model.load_state_dict(ck["state_dict"])
    return model, ck
