"""Minimal writer of libsushi SuperNet files, format v1 (docs/format.md).

Shipped in the binding as `sushi.writer` (used by `sushi.builder`); the export
tools load it through the shim tools/export/sushi_writer.py. It imports nothing
from the package (and never loads libsushi), so it also works loaded from its
file alone. Standard library only (Debian's python3-cbor2 is not installed here): a
definite-length CBOR encoder with shortest heads, the section-5 tensor table
derived from the units, 64-byte alignment of every float32 payload through
"filler" byte strings, and the CRC-32C checksum of the tensor payloads.
Same logic as the independent test writer tests/format/make_fixture.py.

    from sushi.writer import F32, num, unit, tensor_table, write_supernet
"""
import os
import struct
import tempfile

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


def enc(v):
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, F32):
        return b"\xfa" + struct.pack(">f", v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, str):
        b = v.encode("utf-8")
        return head(3, len(b)) + b
    if isinstance(v, (bytes, bytearray, memoryview)):
        v = bytes(v)
        return head(2, len(v)) + v
    if isinstance(v, (list, tuple)):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):  # insertion order = key order in the file
        return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(type(v))


def num(x):
    """Expand ratios: integer when integral (as in OFA arch dicts), else float32."""
    return int(x) if float(x).is_integer() else F32(x)


# ---------- CRC-32C (Castagnoli), table driven ----------

def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 & -(c & 1))
        t.append(c)
    return t


_T = _crc_table()


def _crc32c_bytes(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = _T
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _gf2_apply(np, cols, v):
    """Apply the GF(2) 32x32 matrix with columns cols (32 uint32) to the uint32 array v."""
    out = np.zeros_like(v)
    for i in range(32):
        out ^= cols[i] * ((v >> np.uint32(i)) & np.uint32(1))
    return out


def crc32c(data, crc=0):
    """CRC-32C of data continuing from crc. Large payloads go through numpy when it is
    available (the byte loop runs at ~4 MB/s): the data is split into equal lanes whose raw
    CRC registers are computed side by side, then combined pairwise with the linear operator
    'advance the register over L zero bytes'. Same value as the byte loop."""
    n = len(data)
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is None or n < 4096:
        return _crc32c_bytes(data, crc)
    tab = np.array(_T, dtype=np.uint32)
    lanes = 1 << min(16, (n // 64).bit_length() - 1)  # at least 64 bytes per lane
    L = n // lanes
    buf = np.frombuffer(data, dtype=np.uint8, count=lanes * L).reshape(lanes, L).T.copy()
    s = np.zeros(lanes, dtype=np.uint32)
    for j in range(L):
        s = tab[(s ^ buf[j]) & 0xFF] ^ (s >> np.uint32(8))
    cols = np.array([1 << i for i in range(32)], dtype=np.uint32)
    for _ in range(L):
        cols = tab[cols & 0xFF] ^ (cols >> np.uint32(8))
    while len(s) > 1:
        s = _gf2_apply(np, cols, s[0::2]) ^ s[1::2]
        cols = _gf2_apply(np, cols, cols)
    state = int(_gf2_apply(np, cols, np.array([crc ^ 0xFFFFFFFF], dtype=np.uint32))[0] ^ s[0])
    return _crc32c_bytes(bytes(data[lanes * L:]), state ^ 0xFFFFFFFF)


assert crc32c(b"123456789") == 0xE3069283


# ---------- units and tensor table (sections 4.3, 5) ----------

UNIT_DEFAULTS = dict(out_wgroup=-1, kernel=1, stride=1, pad=0, act="none", bias=False, bn=False,
                     se=False, residual=False, ks_slot=-1, e_slot=-1, e_fixed=1, mid_max=0,
                     se_mid_max=0, dgroup=-1, dindex=0, dw=[], mid_round="ofa", mid_divisor=8)
UNIT_KEYS = ["kind", "name", "in_max", "out_max", "out_wgroup", "kernel", "stride", "pad", "act",
             "bias", "bn", "se", "residual", "ks_slot", "e_slot", "e_fixed", "mid_max",
             "se_mid_max", "dgroup", "dindex", "dw"]
# the per-unit hidden-width rule (docs/format.md 4.3.1): written only when it is not
# OFA's default ("ofa", 8), so files using OFA's rule stay byte for byte as before
MID_RULE_DEFAULTS = {"mid_round": "ofa", "mid_divisor": 8}
MID_ROUNDS = ("ofa", "floor", "ceil")


def unit(kind, name, in_max, out_max, **kw):
    u = dict(UNIT_DEFAULTS, kind=kind, name=name, in_max=in_max, out_max=out_max)
    for k in kw:
        if k not in UNIT_DEFAULTS:
            raise KeyError(k)
    u.update(kw)
    if u["mid_round"] not in MID_ROUNDS:
        raise ValueError("%s: mid_round %r, expected one of %s" % (name, u["mid_round"], ", ".join(MID_ROUNDS)))
    if not isinstance(u["mid_divisor"], int) or not 1 <= u["mid_divisor"] <= 1024:
        raise ValueError("%s: mid_divisor %r, expected an integer in 1..1024" % (name, u["mid_divisor"]))
    return u


def unit_map(u):
    """The CBOR map of unit u (docs/format.md 4.3): every key of UNIT_KEYS, then
    mid_round / mid_divisor when the unit's rule is not OFA's."""
    m = {k: (num(u[k]) if k == "e_fixed" else u[k]) for k in UNIT_KEYS}
    rule = {k: u.get(k, v) for k, v in MID_RULE_DEFAULTS.items()}
    if rule != MID_RULE_DEFAULTS:
        m.update(rule)
    return m


def tensor_table(units):
    """docs/format.md section 5: [(name, shape)] in table order."""
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
        elif k == "bottleneck":
            # first block of a stage may carry a downsample (OFA's avgpool_conv: its 1x1 conv + BN)
            mid = u["mid_max"]
            convs = [("conv1", mid, u["in_max"], 1), ("conv2", mid, mid, u["kernel"]),
                     ("conv3", u["out_max"], mid, 1)]
            if not u["residual"]:
                convs.append(("downsample", u["out_max"], u["in_max"], 1))
            for sub, o, i, kk in convs:
                t.append(("%s.%s.conv.weight" % (p, sub), [o, i, kk, kk]))
                bn("%s.%s" % (p, sub), o)
        elif k == "linear":
            t.append((p + ".linear.weight", [u["out_max"], u["in_max"]]))
            if u["bias"]:
                t.append((p + ".linear.bias", [u["out_max"]]))
    return t


def _with_filler(buf_len, m, key, payload):
    """Add "filler" then key: payload to map m (m is encoded with len(m)+2 entries at
    offset buf_len) so that the payload starts at a multiple of ALIGN."""
    body = head(5, len(m) + 2) + b"".join(enc(k) + enc(v) for k, v in m.items())
    after = len(enc(key)) + len(head(2, len(payload)))
    pos = buf_len + len(body) + len(enc("filler"))
    k = 0
    while (pos + len(head(2, k)) + k + after) % ALIGN:
        k += 1
    m["filler"] = bytes(k)
    m[key] = payload


def write_supernet(path, top, units, candidates, tensors):
    """top: dict of the top-level keys format..elastic (in order, without units/candidates/weights).
    units: list of unit dicts (unit()). candidates: list of dicts with keys config, accuracy,
    accuracy_source, dataset, metric, macs, params, weight_bytes and optional bn_stats /
    act_ranges (bytes, float32 LE). tensors: dict name -> bytes (float32 LE, row-major),
    must hold every tensor of tensor_table(units) with the right size."""
    top = dict(top)
    top["units"] = [unit_map(u) for u in units]
    out = bytearray(b"\xd9\xd9\xf7" + head(5, len(top) + 2))
    for k, v in top.items():
        out += enc(k) + enc(v)
    out += enc("candidates") + head(4, len(candidates))
    for c in candidates:
        m = {k: c[k] for k in ("config", "accuracy", "accuracy_source", "dataset", "metric",
                               "macs", "params", "weight_bytes")}
        blobs = [(k, c[k]) for k in ("bn_stats", "act_ranges") if c.get(k) is not None]
        if blobs:
            first = blobs[0]
            rest = blobs[1:]
            # filler aligns the first blob; a second blob follows directly (it is 4-byte
            # aligned at best; alignment is only advisory for candidates)
            mm = dict(m)
            _with_filler(len(out), mm, first[0], first[1])
            for k, v in rest:
                mm[k] = v
            m = mm
        out += enc(m)
    out += enc("weights") + head(5, 3) + enc("mode") + enc("f32") + enc("tensors")
    table = tensor_table(units)
    out += head(4, len(table))
    crc = 0
    for name, shape in table:
        data = tensors[name]
        n = 1
        for s in shape:
            n *= s
        if len(data) != 4 * n:
            raise ValueError("%s: %d bytes, expected %d for shape %s" % (name, len(data), 4 * n, shape))
        m = {"name": name, "shape": list(shape)}
        _with_filler(len(out), m, "data", data)
        out += enc(m)
        crc = crc32c(data, crc)
    out += enc("checksum") + b"\x1a" + struct.pack(">I", crc)
    write_atomic(path, bytes(out))
    return len(out)


def write_atomic(path, data):
    """Replace `path` with `data` the way libsushi does (lib/atomic_file.h): a
    temporary in the same directory, fsync, rename, fsync of the directory. On
    failure the temporary is removed and an existing file is untouched."""
    path = os.path.realpath(path)
    d = os.path.dirname(path) or "."
    mode = None
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is None:  # a new file: 0666 minus the umask, as open() would give
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dfd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
