"""Declare a SuperNet, map trained (or random) weights onto it, write a .sushi file.

The builder is the Python side of "bring your own SuperNet" (docs/bring-your-own.md):

    from sushi.builder import Builder, provenance
    b = Builder("my-cnn", num_classes=10, channels=1, mean=[0.286], std=[0.353],
                resolutions=[20, 24, 28], default_resolution=28)
    b.elastic(ks=[3, 5], e=[2, 3])
    g = b.depth_group([1, 2])
    b.conv("stem", 1, 16, kernel=3, stride=2, act="relu", bn=True)
    b.mbconv("blocks.0", 16, 24, stride=2, act="relu", elastic_ks=True, elastic_e=True,
             mid_round="floor", mid_divisor=4, dgroup=g)
    ...
    b.gap("pool"); b.linear("classifier", 40, 10, bias=True)
    b.write("my-cnn.sushi", model.state_dict(),
            provenance(trained=False, text="random initialisation, torch.manual_seed(0)"))

It needs numpy only: a state_dict is any mapping name -> array-like (a torch
tensor, a numpy array, anything `numpy.asarray` takes) with a `.shape`.
The unit kinds, their parameters and the tensor names are those of
docs/format.md sections 4 and 5; the hidden-width rule of 4.3.1 is computed
here exactly as libsushi computes it (`hidden_width`), so `mid_max` and
`se_mid_max` are derived, not typed. The file is written atomically (temporary
file in the same directory, fsync, rename) by `sushi.writer`; it has no
candidates: make the table with `sushi candidates` (or `SuperNet.with_candidates`)
and measure it with `sushi recalibrate` / `sushi eval`.
"""
import math
import re

from . import writer as _w

__all__ = ["Builder", "BuilderError", "StateDictError", "provenance", "hidden_width",
           "make_divisible"]

ACTS = ("none", "relu", "hswish", "hsigmoid")


class BuilderError(ValueError):
    """A declaration libsushi would refuse (the message names the unit and the value)."""


class StateDictError(ValueError):
    """Tensors that do not fit the declared SuperNet. `problems` holds one line per
    tensor (missing, extra, wrong shape, wrong dtype, not finite); str() is all of them."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("%d problem(s) mapping the state_dict onto the SuperNet:\n  %s"
                         % (len(self.problems), "\n  ".join(self.problems)))


# ------------------------------------------------------------ hidden-width rule (format 4.3.1)
def _c_round(x):
    """C's round(): to nearest, halves away from zero (Python's round() is half-even)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _f32(x):
    """x as the float32 the file stores, back in double (the C reader's value)."""
    import struct
    return struct.unpack("<f", struct.pack("<f", float(x)))[0]


def make_divisible(v, d=8):
    """OFA's make_divisible(v, d, min_value=d), in double as libsushi computes it."""
    nv = max(d, math.floor((v + d / 2) / d) * d)
    if nv < 0.9 * v:
        nv += d
    return int(nv)


def round_mid(v, mid_round="ofa", mid_divisor=8):
    """The rule R of docs/format.md 4.3.1 applied to the value v."""
    d = mid_divisor
    if mid_round == "ofa":
        return make_divisible(v, d)
    if mid_round == "floor":
        nv = math.floor(v / d) * d
    elif mid_round == "ceil":
        nv = math.ceil(v / d) * d
    else:
        raise BuilderError("mid_round %r, expected one of %s" % (mid_round, ", ".join(_w.MID_ROUNDS)))
    return int(max(d, nv))


def hidden_width(base, e, mid_round="ofa", mid_divisor=8):
    """Hidden channels of an MBConv (base = active input channels) or a bottleneck
    (base = active output channels) at expand ratio e: R(round(base x e)), with e
    the float32 the file stores, exactly as libsushi computes it. Use it in the
    PyTorch model too, so both sides agree on every SubNet's width."""
    return round_mid(_c_round(base * _f32(e)), mid_round, mid_divisor)


def se_width(mid, mid_round="ofa", mid_divisor=8):
    """Squeeze-excite hidden channels of an MBConv with `mid` hidden channels: R(floor(mid / 4))."""
    return round_mid(mid // 4, mid_round, mid_divisor)


# ------------------------------------------------------------------ provenance
def provenance(trained, text, dataset=None, **extra):
    """The file's provenance map (docs/format.md 3), honest by construction.

    trained: were these weights trained? False (random initialisation, or weights
      not yet trained) makes the file `synthetic` and the text says UNTRAINED.
    text: what the weights are and where they come from (non-empty; e.g. the
      training script, its seed and number of steps).
    dataset: what they were trained on (required when trained, refused when not).
    extra: more keys kept in the map (e.g. seed=0, steps=20)."""
    if not isinstance(text, str) or not text.strip():
        raise BuilderError("provenance: text must say what the weights are and where they come from")
    if trained:
        if not dataset:
            raise BuilderError("provenance: trained=True needs dataset= (what the weights were trained on)")
        full = "trained weights (on %s): %s" % (dataset, text)
        m = {"synthetic": False, "text": full, "trained": True, "dataset": dataset}
    else:
        if dataset:
            raise BuilderError("provenance: trained=False but dataset=%r: untrained weights were "
                               "not trained on anything (say what they are in text)" % (dataset,))
        full = "SYNTHETIC weights: UNTRAINED (%s); not trained on any data" % text
        m = {"synthetic": True, "text": full, "trained": False}
    for k, v in extra.items():
        if k in m:
            raise BuilderError("provenance: %s is set by the builder" % k)
        m[k] = v
    return m


# --------------------------------------------------------------------- builder
_NAME_RE = re.compile(r"^[^\x00]{1,95}$")


class Builder:
    """A SuperNet declaration: input, classes, elastic space, then units in network order.

    name is required and is the user's choice (no default: a SuperNet named like
    another, e.g. a shipped model, is only ever what the caller wrote)."""

    def __init__(self, name, *, num_classes, channels, mean, std, resolutions,
                 default_resolution=None, family="custom", bn_eps=1e-5, seed=0):
        if not isinstance(name, str) or not name.strip():
            raise BuilderError("name: a non-empty SuperNet name is required (it is never defaulted)")
        if not 1 <= int(channels) <= 4:
            raise BuilderError("channels: %r, expected 1..4" % (channels,))
        if len(mean) != channels or len(std) != channels:
            raise BuilderError("mean/std: %d and %d values, expected one per channel (%d)"
                               % (len(mean), len(std), channels))
        if any(not s > 0 for s in std):
            raise BuilderError("std: %r, every value must be > 0" % (list(std),))
        res = sorted(int(r) for r in resolutions)
        if not res or len(set(res)) != len(res):
            raise BuilderError("resolutions: %r, expected distinct sizes" % (list(resolutions),))
        dr = res[-1] if default_resolution is None else int(default_resolution)
        if dr not in res:
            raise BuilderError("default_resolution: %d is not one of %s" % (dr, res))
        self.name, self.family = name, family
        self.num_classes = int(num_classes)
        self.channels = int(channels)
        self.mean, self.std = [float(x) for x in mean], [float(x) for x in std]
        self.resolutions, self.default_resolution = res, dr
        self.bn_eps, self.seed = float(bn_eps), int(seed)
        self.ks, self.e = [], []
        self.depth_groups, self.width_groups = [], []
        self.units = []
        self.n_ks_slots = self.n_e_slots = 0

    # ---- elastic space
    def elastic(self, ks=(), e=()):
        """Kernel-size and expand-ratio choices shared by every elastic slot."""
        ks, e = sorted(int(k) for k in ks), sorted(float(x) for x in e)
        if any(k % 2 == 0 for k in ks):
            raise BuilderError("elastic.ks: %s, kernel sizes must be odd" % ks)
        if len(ks) > 8 or len(e) > 8:
            raise BuilderError("elastic: at most 8 choices per dimension")
        if any(not 0 < x <= 64 for x in e):
            raise BuilderError("elastic.e: %s, ratios must be in (0, 64]" % e)
        self.ks, self.e = ks, e
        return self

    def depth_group(self, choices, base=0, mode="prefix"):
        """A config `d` entry: its member units (dgroup=, in order) are active as
        `base + d` prefix ("prefix") or all iff d is the largest ("all-if-max").
        Returns the group index to pass as dgroup=."""
        if mode not in ("prefix", "all-if-max"):
            raise BuilderError("depth_group.mode: %r, expected prefix or all-if-max" % (mode,))
        self.depth_groups.append({"choices": sorted(int(c) for c in choices), "base": int(base),
                                  "mode": mode})
        return len(self.depth_groups) - 1

    def width_group(self, channels):
        """A config `w` entry: output channels for each width index (non-decreasing).
        Returns the group index to pass as out_wgroup=."""
        ch = [int(c) for c in channels]
        if ch != sorted(ch):
            raise BuilderError("width_group.channels: %s must be non-decreasing" % ch)
        self.width_groups.append({"channels": ch})
        return len(self.width_groups) - 1

    # ---- units (docs/format.md 4.3); name = tensor-name prefix
    def _add(self, kind, name, in_max, out_max, **kw):
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise BuilderError("unit name %r: 1..95 bytes of text expected" % (name,))
        if any(u["name"] == name for u in self.units):
            raise BuilderError("unit name %r is used twice" % name)
        if kw.get("act", "none") not in ACTS:
            raise BuilderError("%s: act %r, expected one of %s" % (name, kw["act"], ", ".join(ACTS)))
        for key in ("dgroup", "out_wgroup"):
            g = kw.get(key, -1)
            groups = self.depth_groups if key == "dgroup" else self.width_groups
            if g != -1 and not 0 <= g < len(groups):
                raise BuilderError("%s: %s %d is not a declared group" % (name, key, g))
        if kw.get("dgroup", -1) >= 0:
            kw["dindex"] = sum(1 for u in self.units if u["dgroup"] == kw["dgroup"])
        try:
            u = _w.unit(kind, name, int(in_max), int(out_max), **kw)
        except (KeyError, ValueError) as exc:
            raise BuilderError("%s: %s" % (name, exc)) from None
        self.units.append(u)
        return u

    def conv(self, name, in_ch, out_ch, *, kernel=1, stride=1, act="none", bias=False, bn=False,
             residual=False, out_wgroup=-1, dgroup=-1):
        """A convolution `name.conv` (+ `name.bn` when bn)."""
        return self._add("conv", name, in_ch, out_ch, kernel=kernel, stride=stride, act=act, bias=bias,
                         bn=bn, residual=residual, out_wgroup=out_wgroup, dgroup=dgroup)

    def mbconv(self, name, in_ch, out_ch, *, kernel=None, stride=1, act="relu", se=False,
               residual=False, elastic_ks=False, elastic_e=False, e=1, mid_round="ofa",
               mid_divisor=8, out_wgroup=-1, dgroup=-1):
        """An inverted-residual block (OFA's MBConvLayer): optional 1x1 expand, depthwise
        k x k (`stride` here), optional SE, 1x1 project. elastic_ks / elastic_e give it
        its own config slot over elastic.ks / elastic.e; otherwise kernel / e are fixed
        (e=1: no expand conv). Hidden widths follow the unit's rule (mid_round, mid_divisor)."""
        kw = dict(stride=stride, act=act, se=se, residual=residual, out_wgroup=out_wgroup,
                  dgroup=dgroup, mid_round=mid_round, mid_divisor=mid_divisor)
        if elastic_ks:
            if not self.ks:
                raise BuilderError("%s: elastic_ks needs elastic(ks=...) first" % name)
            if kernel is not None and kernel != self.ks[-1]:
                raise BuilderError("%s: kernel %d with elastic_ks (the stored kernel is the largest, %d)"
                                   % (name, kernel, self.ks[-1]))
            kw.update(kernel=self.ks[-1], ks_slot=self.n_ks_slots, dw=list(self.ks))
        else:
            k = 3 if kernel is None else int(kernel)
            if k % 2 == 0:
                raise BuilderError("%s: kernel %d must be odd" % (name, k))
            kw.update(kernel=k, dw=[k])
        if elastic_e:
            if not self.e:
                raise BuilderError("%s: elastic_e needs elastic(e=...) first" % name)
            kw.update(e_slot=self.n_e_slots)
            e_max = self.e[-1]
        else:
            if not 0 < float(e) <= 64:
                raise BuilderError("%s: e %r, expected a ratio in (0, 64]" % (name, e))
            kw.update(e_fixed=float(e))
            e_max = float(e)
        expands = elastic_e or float(e) != 1
        mid = hidden_width(int(in_ch), e_max, mid_round, mid_divisor) if expands else int(in_ch)
        kw["mid_max"] = mid
        kw["se_mid_max"] = se_width(mid, mid_round, mid_divisor) if se else 0
        u = self._add("mbconv", name, in_ch, out_ch, **kw)
        self.n_ks_slots += 1 if elastic_ks else 0
        self.n_e_slots += 1 if elastic_e else 0
        return u

    def bottleneck(self, name, in_ch, out_ch, *, kernel=3, stride=1, residual=False,
                   mid_round="ofa", mid_divisor=8, out_wgroup=-1, dgroup=-1):
        """A ResNet bottleneck (OFA's ResNetBottleneckBlock) with its own elastic e slot
        (the ratio applies to the output width); residual=False adds the projection
        shortcut `name.downsample` (average pool when stride > 1, then 1x1 conv + BN)."""
        if not self.e:
            raise BuilderError("%s: a bottleneck needs elastic(e=...) first" % name)
        mid = hidden_width(int(out_ch), self.e[-1], mid_round, mid_divisor)
        u = self._add("bottleneck", name, in_ch, out_ch, kernel=kernel, stride=stride, act="relu",
                      residual=residual, e_slot=self.n_e_slots, mid_max=mid, mid_round=mid_round,
                      mid_divisor=mid_divisor, out_wgroup=out_wgroup, dgroup=dgroup)
        self.n_e_slots += 1
        return u

    def maxpool(self, name, channels, *, kernel, stride, pad=0):
        return self._add("maxpool", name, channels, channels, kernel=kernel, stride=stride, pad=pad)

    def gap(self, name, channels=0):
        """Global average pool (any channel count: in_max / out_max are informational)."""
        return self._add("gap", name, channels, channels)

    def linear(self, name, in_features, out_features, *, bias=True, act="none"):
        """`name.linear`: out x (in . H . W) times the flattened value."""
        return self._add("linear", name, in_features, out_features, bias=bias, act=act)

    # ---- tensors
    def tensor_table(self):
        """[(name, shape)] the file stores, in table order (docs/format.md 5)."""
        return _w.tensor_table(self.units)

    def map_state_dict(self, state_dict, *, rename=None, ignore=(r"\.num_batches_tracked$",),
                       center_crop_kernels=False):
        """{file tensor name: float32 little-endian bytes} from state_dict.

        rename: dict or function, file tensor name -> state_dict key, for models whose
          module names differ from the file's (default: the same name).
        ignore: regular expressions of state_dict keys that are not weights (default:
          BN's num_batches_tracked).
        center_crop_kernels: a missing smaller depthwise kernel `..._k<k>` is the centre
          k x k of the largest one (a model with elastic kernels by centre cropping;
          OFA's transform matrices are applied by the exporter instead, docs/ofa-export.md).
        Raises StateDictError with one line per missing, extra, mis-shaped, non-float or
        non-finite tensor (all of them, not only the first)."""
        import numpy as np
        if callable(rename):
            key_of = rename
        elif rename:
            key_of = lambda n: rename.get(n, n)  # noqa: E731
        else:
            key_of = lambda n: n  # noqa: E731
        pats = [re.compile(p) for p in ignore]
        problems, out, used = [], {}, set()
        table = self.tensor_table()
        for name, shape in table:
            key = key_of(name)
            crop = None
            if key not in state_dict:
                m = re.match(r"^(.*\.conv\.depth_conv\.conv\.weight)_k(\d+)$", name)
                if center_crop_kernels and m and key_of(m.group(1)) in state_dict:
                    crop = int(m.group(2))
                    key = key_of(m.group(1))
                else:
                    problems.append("%s: missing (expected shape %s)%s"
                                    % (name, list(shape), "" if key == name else " [state_dict key %s]" % key))
                    continue
            used.add(key)
            t = state_dict[key]
            if hasattr(t, "detach"):  # a torch tensor, without importing torch
                t = t.detach().cpu().numpy()
            a = np.asarray(t)
            if a.dtype.kind != "f":
                problems.append("%s: dtype %s, expected a floating-point tensor" % (name, a.dtype))
                continue
            if crop is not None:
                K = a.shape[-1] if a.ndim == 4 else 0
                if a.ndim != 4 or K < crop:
                    problems.append("%s: cannot crop %dx%d from %s of shape %s"
                                    % (name, crop, crop, key, list(a.shape)))
                    continue
                o = (K - crop) // 2
                a = a[:, :, o:o + crop, o:o + crop]
            if list(a.shape) != list(shape):
                problems.append("%s: expected shape %s, found %s%s"
                                % (name, list(shape), list(a.shape),
                                   "" if key == name else " [state_dict key %s]" % key))
                continue
            a = np.ascontiguousarray(a, dtype="<f4")
            if not np.isfinite(a).all():
                problems.append("%s: %d value(s) not finite" % (name, int((~np.isfinite(a)).sum())))
                continue
            out[name] = a.tobytes()
        for key in state_dict:
            if key in used or any(p.search(key) for p in pats):
                continue
            problems.append("%s: extra tensor of shape %s, not used by the declared SuperNet"
                            % (key, list(getattr(state_dict[key], "shape", ()))))
        if problems:
            raise StateDictError(problems)
        return out

    # ---- file
    def top_level(self, prov):
        if not isinstance(prov, dict) or "synthetic" not in prov or "text" not in prov:
            raise BuilderError("provenance: use sushi.builder.provenance(trained=..., text=...)")
        F32, num = _w.F32, _w.num
        return {
            "format": "sushi-supernet", "version": 1, "name": self.name, "family": self.family,
            "provenance": dict(prov), "seed": self.seed,
            "input": {"channels": self.channels, "mean": [F32(x) for x in self.mean],
                      "std": [F32(x) for x in self.std], "resolutions": list(self.resolutions),
                      "default_resolution": self.default_resolution},
            "num_classes": self.num_classes,
            "bn_eps": F32(self.bn_eps),
            "elastic": {"ks": list(self.ks), "e": [num(x) for x in self.e],
                        "n_ks_slots": self.n_ks_slots, "n_e_slots": self.n_e_slots,
                        "depth_groups": [dict(g) for g in self.depth_groups],
                        "width_groups": [dict(g) for g in self.width_groups]},
        }

    def write(self, path, state_dict, provenance, **map_options):
        """Map state_dict (map_state_dict, same options) and write the SuperNet to path
        atomically, with an empty candidate table. provenance: from provenance().
        Returns the number of bytes written. libsushi checks the architecture when the
        file is loaded (`sushi info FILE`; errors name the unit and field)."""
        if not self.units:
            raise BuilderError("no units declared")
        top = self.top_level(provenance)
        tensors = self.map_state_dict(state_dict, **map_options)
        return _w.write_supernet(path, top, self.units, [], tensors)
