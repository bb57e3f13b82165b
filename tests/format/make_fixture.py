#!/usr/bin/env python3
"""Write tests/format/tiny-v1.sushi, the golden SuperNet file of the format tests.

An independent implementation of docs/format.md (format v1) in plain Python
(standard library only): its own CBOR encoder, tensor table, 64-byte payload
alignment, CRC-32C. It follows the deterministic-writer rules of the spec, so
libsushi must load the file and write it back byte for byte
(tests/format/test_format.c: golden_fixture_*). Run it again only when the
format changes:

    python3 tests/format/make_fixture.py [OUTPUT]

The SuperNet is the "tiny-test" architecture of the tests (1x28x28 input,
3x3 conv, two elastic MBConv blocks, GAP, linear). Its weights are a formula,
not trained, so the file says synthetic = true and every accuracy is null
with accuracy_source "none": nothing here was measured.
"""
import math
import os
import struct
import sys

ALIGN = 64


# ---------- CBOR (RFC 8949), definite lengths, shortest heads ----------

def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n <= 0xFF:
        return bytes([major << 5 | 24, n])
    if n <= 0xFFFF:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    if n <= 0xFFFFFFFF:
        return bytes([major << 5 | 26]) + struct.pack(">I", n)
    return bytes([major << 5 | 27]) + struct.pack(">Q", n)


class F32(float):
    """A number written as a CBOR float32."""


class F64(float):
    """A number written as a CBOR float64."""


class Raw(bytes):
    """Already-encoded CBOR."""


def enc(v):
    if isinstance(v, Raw):
        return bytes(v)
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, F32):
        return b"\xfa" + struct.pack(">f", v)
    if isinstance(v, F64):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, str):
        b = v.encode("utf-8")
        return head(3, len(b)) + b
    if isinstance(v, (bytes, bytearray)):
        return head(2, len(v)) + bytes(v)
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):  # insertion order = key order in the file
        return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(type(v))


def num(x):
    """Expand ratios: integer when integral (as in OFA arch dicts), else float32."""
    return int(x) if float(x).is_integer() else F32(x)


# ---------- CRC-32C (Castagnoli), bitwise ----------

def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


# ---------- the architecture ----------

def make_divisible(v, divisor=8):
    nv = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if nv < 0.9 * v:
        nv += divisor
    return nv


UNIT_DEFAULTS = dict(out_wgroup=-1, kernel=1, stride=1, pad=0, act="none", bias=False, bn=False,
                     se=False, residual=False, ks_slot=-1, e_slot=-1, e_fixed=1, mid_max=0,
                     se_mid_max=0, dgroup=-1, dindex=0, dw=[])
UNIT_KEYS = ["kind", "name", "in_max", "out_max", "out_wgroup", "kernel", "stride", "pad", "act",
             "bias", "bn", "se", "residual", "ks_slot", "e_slot", "e_fixed", "mid_max",
             "se_mid_max", "dgroup", "dindex", "dw"]


def unit(kind, name, in_max, out_max, **kw):
    u = dict(UNIT_DEFAULTS, kind=kind, name=name, in_max=in_max, out_max=out_max)
    u.update(kw)
    return u


UNITS = [unit("conv", "first_conv", 1, 8, kernel=3, stride=2, bn=True, act="relu")]
for i in range(2):
    UNITS.append(unit("mbconv", "blocks.%d" % i, 8, 8, kernel=5, act="hswish", ks_slot=i, e_slot=i,
                      dw=[3, 5], mid_max=make_divisible(round(8 * 3)), se=(i == 0),
                      se_mid_max=make_divisible(24 // 4) if i == 0 else 0, residual=True,
                      dgroup=0, dindex=i))
UNITS.append(unit("gap", "global_avg_pool", 0, 0))
UNITS.append(unit("linear", "classifier", 8, 10, bias=True))


def tensor_table(units):
    """docs/format.md section 5: (name, shape) in table order."""
    t = []

    def bn(p, c):
        for s in ("weight", "bias", "running_mean", "running_var"):
            t.append(("%s.bn.%s" % (p, s), [c]))

    for u in units:
        p, k = u["name"], u["kind"]
        if k == "conv":
            t.append((p + ".conv.weight", [u["out_max"], u["in_max"], u["kernel"], u["kernel"]]))
            if u["bias"]:
                t.append((p + ".conv.bias", [u["out_max"]]))
            if u["bn"]:
                bn(p, u["out_max"])
        elif k == "mbconv":
            mid = u["mid_max"]
            if u["e_slot"] >= 0 or u["e_fixed"] != 1:
                t.append((p + ".conv.inverted_bottleneck.conv.weight", [mid, u["in_max"], 1, 1]))
                bn(p + ".conv.inverted_bottleneck", mid)
            dw = sorted(u["dw"], reverse=True)
            for j, ks in enumerate(dw):
                suffix = "" if j == 0 else "_k%d" % ks
                t.append((p + ".conv.depth_conv.conv.weight" + suffix, [mid, 1, ks, ks]))
            bn(p + ".conv.depth_conv", mid)
            if u["se"]:
                se = u["se_mid_max"]
                q = p + ".conv.depth_conv.se.fc."
                t += [(q + "reduce.weight", [se, mid, 1, 1]), (q + "reduce.bias", [se]),
                      (q + "expand.weight", [mid, se, 1, 1]), (q + "expand.bias", [mid])]
            t.append((p + ".conv.point_linear.conv.weight", [u["out_max"], mid, 1, 1]))
            bn(p + ".conv.point_linear", u["out_max"])
        elif k == "linear":
            t.append((p + ".linear.weight", [u["out_max"], u["in_max"]]))
            if u["bias"]:
                t.append((p + ".linear.bias", [u["out_max"]]))
    return t


def tensor_values(i, name, shape):
    n = math.prod(shape)
    if name.endswith("running_var"):
        return [0.5 + 0.25 * (1 + math.cos(0.7 * j + i)) for j in range(n)]
    if name.endswith("bn.weight"):
        return [0.75 + 0.2 * math.sin(0.3 * j + i) for j in range(n)]
    return [0.1 * math.sin(0.37 * j + 1.3 * i) for j in range(n)]


def f32le(values):
    return struct.pack("<%df" % len(values), *values)


def bn_stats(bn_channels):
    """section 7.2: per BN layer of the plan, c means then c variances."""
    out = []
    for li, c in enumerate(bn_channels):
        out += [0.01 * j - 0.05 * li for j in range(c)]
        out += [1.0 + 0.002 * j + 0.1 * li for j in range(c)]
    return out


# Candidates. Plan BN layers of the max SubNet (ks 5, e 3, d 2): first_conv (8), then per
# block expand (24), depthwise (24), project (8). The costs (macs, params, weight_bytes) are
# what libsushi's sushi_subnet_get_stats reported for these configs when the file was made.
CANDIDATES = [
    dict(config={"ks": [5, 5], "e": [3, 3], "d": [2], "r": 28}, bn=[8, 24, 24, 8, 24, 24, 8],
         costs=(400304, 2786, 2504)),
    dict(config={"ks": [3, 3], "e": [2, 2], "d": [1], "r": 24}, bn=None,
         costs=(68304, 938, 808)),
]


def with_filler(buf_len, m, key, payload):
    """Add "filler" then key: payload so that payload starts at a multiple of ALIGN."""
    after = len(enc(key)) + len(head(2, len(payload)))
    pos = buf_len + len(enc("filler"))
    k = 0
    while (pos + len(head(2, k)) + k + after) % ALIGN:
        k += 1
    m["filler"] = bytes(k)
    m[key] = payload


def build():
    top = {}
    top["format"] = "sushi-supernet"
    top["version"] = 1
    top["name"] = "tiny-v1-fixture"
    top["family"] = "custom"
    top["provenance"] = {"synthetic": True,
                         "text": "format test fixture written by tests/format/make_fixture.py: "
                                 "weights are a formula, nothing is trained or measured"}
    top["seed"] = 1
    top["input"] = {"channels": 1, "mean": [F32(0.2860)], "std": [F32(0.3530)],
                    "resolutions": [24, 28], "default_resolution": 28}
    top["num_classes"] = 10
    top["bn_eps"] = F32(1e-5)
    top["elastic"] = {"ks": [3, 5], "e": [num(2), num(3)], "n_ks_slots": 2, "n_e_slots": 2,
                      "depth_groups": [{"choices": [1, 2], "base": 0, "mode": "prefix"}],
                      "width_groups": []}
    top["units"] = [{k: (num(u[k]) if k == "e_fixed" else u[k]) for k in UNIT_KEYS} for u in UNITS]
    # Everything before the candidates is fixed: encode it to know the offsets for alignment.
    prefix = b"\xd9\xd9\xf7" + head(5, 13) + b"".join(enc(k) + enc(v) for k, v in top.items())
    out = bytearray(prefix)
    out += enc("candidates") + head(4, len(CANDIDATES))
    for c in CANDIDATES:
        cfg = {k: ([num(x) for x in v] if k == "e" else v) for k, v in c["config"].items()}
        m = {"config": cfg, "accuracy": None, "accuracy_source": "none",
             "dataset": "none (test fixture)", "metric": "top1",
             "macs": c["costs"][0], "params": c["costs"][1], "weight_bytes": c["costs"][2]}
        if c["bn"]:
            n_entries = len(m) + 2
            body = head(5, n_entries) + b"".join(enc(k) + enc(v) for k, v in m.items())
            with_filler(len(out) + len(body), m, "bn_stats", f32le(bn_stats(c["bn"])))
        out += enc(m)
    out += enc("weights") + head(5, 3) + enc("mode") + enc("f32") + enc("tensors")
    table = tensor_table(UNITS)
    out += head(4, len(table))
    crc = 0
    for i, (name, shape) in enumerate(table):
        data = f32le(tensor_values(i, name, shape))
        m = {"name": name, "shape": shape}
        body = head(5, 4) + enc("name") + enc(name) + enc("shape") + enc(shape)
        with_filler(len(out) + len(body), m, "data", data)
        out += enc(m)
        crc = crc32c(data, crc)
    out += enc("checksum") + b"\x1a" + struct.pack(">I", crc)
    return bytes(out)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "tiny-v1.sushi")
    data = build()
    with open(path, "wb") as f:
        f.write(data)
    print("%s: %d bytes" % (path, len(data)))


if __name__ == "__main__":
    main()
