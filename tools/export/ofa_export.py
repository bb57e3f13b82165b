#!/usr/bin/python3
"""Export a real Once-for-All (OFA) SuperNet checkpoint to libsushi's format v1.

    /usr/bin/python3 tools/export/ofa_export.py --family mbv3-w1.0 \
        ofa_mbv3_d234_e346_k357_w1.0 -o ofa-mbv3-w1.0.sushi
    /usr/bin/python3 tools/export/ofa_export.py --family mbv3-w1.2 \
        ofa_mbv3_d234_e346_k357_w1.2 -o ofa-mbv3-w1.2.sushi
    /usr/bin/python3 tools/export/ofa_export.py --family resnet50 \
        ofa_resnet50_d=0+1+2_e=0.2+0.25+0.35_w=0.65+0.8+1.0 -o ofa-resnet50.sushi

CHECKPOINT is a PyTorch file (needs torch; either a bare state_dict or a dict holding it under
"state_dict", as OFA's model zoo ships them) or a .npz of name -> array (numpy only).

Families (mit-han-lab/once-for-all, ofa/imagenet_classification/elastic_nn/networks):
  mbv3-w1.0, mbv3-w1.2  OFAMobileNetV3(ks_list [3,5,7], expand_ratio_list [3,4,6], depth_list [2,3,4],
                        width_mult 1.0 / 1.2)
  resnet50              OFAResNets(depth_list [0,1,2], expand_ratio_list [0.2,0.25,0.35],
                        width_mult_list [0.65,0.8,1.0])
The architecture written is the one of libsushi's built-ins (lib/zoo.c, same OFA constructor
rules; tests/export checks that `sushi info --units` of an export equals the built-in's) and
every tensor shape of the checkpoint is checked against it.

Names: OFA's elastic modules nest their torch modules one level deeper than the static SubNet
modules (DynamicConv2d.conv, DynamicBatchNorm2d.bn, DynamicLinear.linear), so a SuperNet
state_dict says `blocks.5.conv.inverted_bottleneck.conv.conv.weight` where the static name
(libsushi's, docs/format.md section 5) is `blocks.5.conv.inverted_bottleneck.conv.weight`.
Both spellings are accepted (OFA's own load_state_dict accepts both), as are the old
`.mobile_inverted_conv.` block names and a `module.` (DataParallel) prefix; `num_batches_tracked`
entries are ignored. Any other key is an error, as is a missing tensor, a wrong shape, a
non-finite value or a negative running variance.

Depthwise kernels: the 7x7 filter is stored as `...depth_conv.conv.weight`; the 5x5 and 3x3 filters
of elastic blocks are materialised once here with the checkpoint's learned `7to5_matrix` /
`5to3_matrix`, exactly as DynamicSeparableConv2d.get_active_filter (KERNEL_TRANSFORM_MODE = 1)
does: the centre 5x5 of the 7x7 filter, flattened per channel, times 7to5_matrix^T
(F.linear) gives the 5x5 filter; the centre 3x3 of *that* times 5to3_matrix^T gives the 3x3.
They are stored as `..._k5`, `..._k3`; the matrices themselves are not stored.

Channel order: OFA sorts channels by importance during progressive shrinking
(re_organize_middle_weights); the checkpoint already holds them sorted, and SubNets are prefix
slices, so nothing is reordered here.

BN: the checkpoint's running_mean / running_var (whatever OFA last stored for the full SuperNet)
are written as the SuperNet's BN vectors. OFA re-estimates BN statistics for each SubNet on
training images before evaluating it (set_running_statistics); without ImageNet here no
per-SubNet statistics are written, so SubNets other than the largest use slices of the
checkpoint's statistics (docs/ofa-export.md).

Candidates: none by default. --candidates builtin copies the built-in family's candidate
configs and their costs (same architecture, same costs) with accuracy null / source "none"
(accuracies are never invented; docs/format.md 7.1); needs the Python binding and a libsushi
build (SUSHI_LIBRARY or build*/libsushi.so).
"""
import argparse
import hashlib
import os
import re
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import sushi_writer as sw  # noqa: E402

DIV = 8  # MyNetwork.CHANNEL_DIVISIBLE
SE_REDUCTION = 4  # SEModule.REDUCTION
BN_EPS = 1e-5  # OFA bn_param (0.1, 1e-5)
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
RESOLUTIONS = list(range(32, 225, 4))
MAX_PROBLEMS = 40  # problems listed in an ExportError  # as lib/zoo.c (OFA trains at 128..224 step 4)

FAMILIES = {
    "mbv3-w1.0": ("ofa-mbv3-w1.0", "mbv3", 1.0),
    "mbv3-w1.2": ("ofa-mbv3-w1.2", "mbv3", 1.2),
    "resnet50": ("ofa-resnet50", "resnet", None),
}


class ExportError(Exception):
    """A checkpoint that does not match the family: the message lists every problem."""


def make_divisible(v, divisor=DIV, min_val=None):
    """OFA's ofa.utils.make_divisible."""
    if min_val is None:
        min_val = divisor
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# ---------- architecture (docs/format.md section 4; same rules as lib/zoo.c) ----------

def mbv3_arch(wm):
    base = [16, 16, 24, 40, 80, 112, 160, 960, 1280]
    width = [make_divisible(b * wm) for b in base[:7]]
    final_expand, last = make_divisible(base[7] * wm), make_divisible(base[8] * wm)
    strides, acts = [2, 2, 2, 1, 2], ["relu", "relu", "hswish", "hswish", "hswish"]
    ses = [False, True, False, True, True]
    ks, es, depth = [3, 5, 7], [3, 4, 6], [2, 3, 4]
    u = [sw.unit("conv", "first_conv", 3, width[0], kernel=3, stride=2, act="hswish", bn=True),
         sw.unit("mbconv", "blocks.0", width[0], width[1], kernel=3, act="relu", e_fixed=1,
                 mid_max=width[0], dw=[3], residual=width[0] == width[1])]
    cin, blk = width[1], 1
    for s in range(5):
        for i in range(max(depth)):
            stride = strides[s] if i == 0 else 1
            mid = make_divisible(round(cin * max(es)))
            u.append(sw.unit("mbconv", "blocks.%d" % blk, cin, width[2 + s], kernel=max(ks),
                             stride=stride, act=acts[s], se=ses[s],
                             residual=stride == 1 and cin == width[2 + s], ks_slot=blk - 1,
                             e_slot=blk - 1, mid_max=mid,
                             se_mid_max=make_divisible(mid // SE_REDUCTION) if ses[s] else 0,
                             dgroup=s, dindex=i, dw=list(ks)))
            cin, blk = width[2 + s], blk + 1
    u += [sw.unit("conv", "final_expand_layer", cin, final_expand, act="hswish", bn=True),
          sw.unit("gap", "global_avg_pool", 0, 0),
          sw.unit("conv", "feature_mix_layer", final_expand, last, act="hswish"),
          sw.unit("linear", "classifier", last, 1000, bias=True)]
    elastic = {"ks": ks, "e": es, "n_ks_slots": blk - 1, "n_e_slots": blk - 1,
               "depth_groups": [{"choices": depth, "base": 0, "mode": "prefix"} for _ in range(5)],
               "width_groups": []}
    return u, elastic


def resnet50_arch():
    wms, es, depth = [0.65, 0.8, 1.0], [0.2, 0.25, 0.35], [0, 1, 2]
    stage_width, base_depth, strides = [256, 512, 1024, 2048], [2, 2, 4, 2], [1, 2, 2, 2]
    inch = [make_divisible(64 * w) for w in wms]
    groups = [[make_divisible(c // 2) for c in inch], inch]
    groups += [[make_divisible(sw_ * w) for w in wms] for sw_ in stage_width]
    mid_in, stem = groups[0][-1], groups[1][-1]
    u = [sw.unit("conv", "input_stem.0", 3, mid_in, out_wgroup=0, kernel=3, stride=2, act="relu",
                 bn=True),
         sw.unit("conv", "input_stem.1.conv", mid_in, mid_in, out_wgroup=0, kernel=3, act="relu",
                 bn=True, residual=True, dgroup=0, dindex=0),
         sw.unit("conv", "input_stem.2", mid_in, stem, out_wgroup=1, kernel=3, act="relu", bn=True),
         sw.unit("maxpool", "max_pooling", 0, 0, kernel=3, stride=2, pad=1)]
    cin, blk = stem, 0
    for s in range(4):
        out = groups[2 + s][-1]
        for i in range(base_depth[s] + max(depth)):
            u.append(sw.unit("bottleneck", "blocks.%d" % blk, cin, out, out_wgroup=2 + s, kernel=3,
                             stride=strides[s] if i == 0 else 1, act="relu", e_slot=blk,
                             mid_max=make_divisible(round(out * max(es))),
                             residual=i != 0, dgroup=1 + s, dindex=i))
            cin, blk = out, blk + 1
    u += [sw.unit("gap", "global_avg_pool", 0, 0),
          sw.unit("linear", "classifier", cin, 1000, bias=True)]
    elastic = {"ks": [], "e": [sw.F32(e) for e in es], "n_ks_slots": 0, "n_e_slots": blk,
               "depth_groups": [{"choices": depth, "base": 0, "mode": "all-if-max"}]
               + [{"choices": depth, "base": b, "mode": "prefix"} for b in base_depth],
               "width_groups": [{"channels": g} for g in groups]}
    return u, elastic


# ---------- checkpoint names (OFA) -> libsushi names ----------

def dynamic_alias(name):
    """The name OFA's elastic module gives a static tensor name (one more nesting level)."""
    for pat, rep in ((r"\.conv\.weight$", ".conv.conv.weight"),
                     (r"\.bn\.(weight|bias|running_mean|running_var)$", r".bn.bn.\1"),
                     (r"\.linear\.(weight|bias)$", r".linear.linear.\1")):
        if re.search(pat, name):
            return re.sub(pat, rep, name)
    return None


def source_spec(units):
    """[(sushi name, shape, source aliases)] for every checkpoint tensor the family needs, plus
    the depthwise transform matrices ("<dw weight name>:7to5_matrix", [25, 25], etc.)."""
    spec = []
    dw_multi = {}
    for u in units:
        if u["kind"] == "mbconv" and len(u["dw"]) > 1:
            dw_multi[u["name"] + ".conv.depth_conv.conv.weight"] = sorted(u["dw"])
    for name, shape in sw.tensor_table(units):
        if re.search(r"\.weight_k\d+$", name):
            continue  # materialised from the largest kernel and the matrices
        aliases = [name] + ([dynamic_alias(name)] if dynamic_alias(name) else [])
        spec.append((name, shape, aliases))
        if name in dw_multi:
            ks = dw_multi[name]
            mod = name[:-len(".weight")]  # the DynamicSeparableConv2d: ...depth_conv.conv
            for big, small in zip(ks[:0:-1], ks[-2::-1]):
                key = "%dto%d_matrix" % (big, small)
                spec.append(("%s:%s" % (name, key), [small * small, small * small],
                             ["%s.%s" % (mod, key)]))
    return spec


def normalise_key(k):
    if k.startswith("module."):
        k = k[len("module."):]
    return k.replace(".mobile_inverted_conv.", ".conv.")


def match_state_dict(units, sd):
    """Map checkpoint entries to the spec; raise ExportError listing every problem."""
    spec = source_spec(units)
    by_alias = {}
    for name, shape, aliases in spec:
        for a in aliases:
            assert a not in by_alias, a  # the aliases of distinct tensors never collide
            by_alias[a] = (name, shape)
    got, problems, extra, bad = {}, [], [], set()
    for key, val in sd.items():
        k = normalise_key(key)
        if k.endswith("num_batches_tracked"):
            continue
        if k not in by_alias:
            extra.append(key)
            continue
        name, shape = by_alias[k]
        if name in got:
            problems.append("duplicate: %r and %r are the same tensor %s" % (got[name][0], key, name))
            continue
        a = np.asarray(val)
        if list(a.shape) != list(shape):
            problems.append("wrong shape: %s is %s, expected %s" % (key, list(a.shape), shape))
            bad.add(name)
            continue
        a = a.astype(np.float32)
        if not np.all(np.isfinite(a)):
            problems.append("non-finite values in %s" % key)
        elif name.endswith(".running_var") and np.any(a < 0):
            problems.append("negative running variance in %s" % key)
        got[name] = (key, a)
    missing = [" or ".join(aliases) for name, _, aliases in spec if name not in got and name not in bad]
    for m in missing:
        problems.append("missing: %s" % m)
    for e in extra:
        problems.append("unexpected: %s" % e)
    if problems:
        shown = problems[:MAX_PROBLEMS] + (["... and %d more" % (len(problems) - MAX_PROBLEMS)]
                                           if len(problems) > MAX_PROBLEMS else [])
        hint = ("\n  (most tensors do not match: is --family right?)"
                if len(missing) + len(bad) > len(spec) // 2 else "")
        raise ExportError("%d problem(s):\n  %s%s" % (len(problems), "\n  ".join(shown), hint))
    return {name: a for name, (_, a) in got.items()}


def sub_filter(w, k):
    """Centre k x k of [C, 1, K, K] filters (OFA's sub_filter_start_end)."""
    c, d = w.shape[-1] // 2, k // 2
    return w[:, :, c - d:c + d + 1, c - d:c + d + 1]


def materialise_dw(w, matrices, ks):
    """{k: filter [C, 1, k, k]} for every k of ks from the largest filter w, following
    DynamicSeparableConv2d.get_active_filter: chain of transforms from the largest kernel
    down, each F.linear(centre.view(-1, k*k), M) = centre @ M.T (float64 accumulation)."""
    ks = sorted(ks)
    out = {ks[-1]: w}
    cur = w.astype(np.float64)
    for big, small in zip(ks[:0:-1], ks[-2::-1]):
        m = matrices["%dto%d_matrix" % (big, small)].astype(np.float64)
        centre = sub_filter(cur, small)
        cur = (centre.reshape(-1, small * small) @ m.T).reshape(centre.shape)
        out[small] = cur.astype(np.float32)
    return out


def build_tensors(units, src):
    """name -> float32 array for every tensor of the table."""
    t = {}
    for name, shape in sw.tensor_table(units):
        m = re.search(r"^(.*\.weight)_k(\d+)$", name)
        if m:
            base, k = m.group(1), int(m.group(2))
            u = next(u for u in units if base.startswith(u["name"] + ".conv.depth_conv"))
            mats = {key.split(":")[1]: a for key, a in src.items() if key.startswith(base + ":")}
            t[name] = materialise_dw(src[base], mats, u["dw"])[k]
        else:
            t[name] = src[name]
        assert list(t[name].shape) == list(shape), (name, t[name].shape, shape)
    return t


# ---------- checkpoint loading ----------

def load_checkpoint(path):
    """name -> numpy array from a .npz or a PyTorch file."""
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    try:
        import torch
    except ImportError:
        raise ExportError("%s: loading a PyTorch checkpoint needs torch (use /usr/bin/python3, "
                          "or convert it to .npz of name -> array)" % path)
    ck = torch.load(path, map_location="cpu")
    if isinstance(ck, dict) and "state_dict" in ck and isinstance(ck["state_dict"], dict):
        ck = ck["state_dict"]
    if not isinstance(ck, dict):
        raise ExportError("%s: expected a state_dict (or a dict with 'state_dict'), found %s"
                          % (path, type(ck).__name__))
    return {k: v.detach().cpu().numpy() for k, v in ck.items() if hasattr(v, "detach")}


# ---------- writing ----------

def write_file(path, top, units, candidates, tensors):
    data = {k: np.ascontiguousarray(v, dtype="<f4").tobytes() for k, v in tensors.items()}
    return sw.write_supernet(path, top, units, candidates, data)


def top_level(family, provenance):
    name, fam, _ = FAMILIES[family]
    return {"format": "sushi-supernet", "version": 1, "name": name, "family": fam,
            "provenance": {"synthetic": False, "text": provenance},
            "seed": 0,
            "input": {"channels": 3, "mean": [sw.F32(x) for x in IMAGENET_MEAN],
                      "std": [sw.F32(x) for x in IMAGENET_STD], "resolutions": RESOLUTIONS,
                      "default_resolution": 224},
            "num_classes": 1000, "bn_eps": sw.F32(BN_EPS)}


def family_arch(family):
    _, fam, wm = FAMILIES[family]
    return mbv3_arch(wm) if fam == "mbv3" else resnet50_arch()


def builtin_candidates(family):
    """The built-in family's candidate configs with costs from libsushi, accuracy "none"."""
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
    import sushi
    ref = sushi.SuperNet.builtin(FAMILIES[family][0])
    cands = []
    for c in ref.candidates:
        cfg = c["config"].to_dict()
        if "e" in cfg:
            cfg["e"] = [sw.num(x) if float(x).is_integer() else sw.F32(x) for x in cfg["e"]]
        cands.append({"config": cfg, "accuracy": None, "accuracy_source": "none",
                      "dataset": "imagenet/val", "metric": "top1", "macs": int(c["macs"]),
                      "params": int(c["params"]), "weight_bytes": int(c["weight_bytes"])})
    ref.close()
    return cands


def export(family, sd, out, provenance, candidates="none"):
    units, elastic = family_arch(family)
    src = match_state_dict(units, sd)
    tensors = build_tensors(units, src)
    top = top_level(family, provenance)
    top["elastic"] = elastic
    cands = builtin_candidates(family) if candidates == "builtin" else []
    return write_file(out, top, units, cands, tensors), len(tensors), len(cands)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", required=True, choices=sorted(FAMILIES))
    ap.add_argument("checkpoint", help="OFA SuperNet state_dict: .pth/.pt (torch) or .npz")
    ap.add_argument("-o", "--output", required=True, help=".sushi file to write")
    ap.add_argument("--candidates", choices=["none", "builtin"], default="none",
                    help="candidate table: empty (default) or the built-in family's configs with "
                    "unmeasured accuracies (needs the Python binding)")
    ap.add_argument("--provenance", default=None, help="provenance text (default: file name and SHA-256)")
    args = ap.parse_args(argv)
    try:
        sd = load_checkpoint(args.checkpoint)
        if args.provenance is None:
            h = hashlib.sha256()
            with open(args.checkpoint, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            args.provenance = (
                "OFA checkpoint %s (sha256 %s), %s, exported by tools/export/ofa_export.py: "
                "k5/k3 depthwise filters materialised through the checkpoint's 7to5/5to3 matrices; "
                "BN: the checkpoint's own running statistics (not recalibrated per SubNet); "
                "accuracies: not measured" % (os.path.basename(args.checkpoint), h.hexdigest(),
                                              FAMILIES[args.family][0]))
        d = os.path.dirname(os.path.abspath(args.output))
        fd, tmp = tempfile.mkstemp(dir=d, suffix=".tmp")
        os.close(fd)
        try:
            n, nt, nc = export(args.family, sd, tmp, args.provenance, args.candidates)
            os.replace(tmp, args.output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except ExportError as e:
        print("ofa_export: %s: %s" % (args.checkpoint, e), file=sys.stderr)
        return 1
    print("%s: %d bytes, %d tensors, %d candidates" % (args.output, n, nt, nc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
