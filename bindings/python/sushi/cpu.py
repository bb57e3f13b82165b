"""The cpu backend's own API (include/sushi/cpu.h).

Available when libsushi was built with the cpu backend (``available()``);
otherwise every function raises SushiError(SUSHI_ERR_UNSUPPORTED). The
backend itself is used through ``SuperNet.backend("cpu")``.

    import sushi, sushi.cpu
    sn = sushi.SuperNet.load("model.sushi")
    s = sn.subnet("max")
    sushi.cpu.memory_plan(s)["arena_bytes"]
    s2 = sushi.cpu.recalibrate_bn(s, images)        # images: (N, C, R, R) float32
    stats = sushi.cpu.recalibrate_bn_stats(s, images, batch=200)   # for sn.with_bn_stats
    ranges = sushi.cpu.calibrate_int8(s2, images)
    with sn.backend("cpu") as b:
        sushi.cpu.set_int8_ranges(b, s2, ranges)
        logits = b.run(s2, images[0], int8=True)

Functions that take inputs need numpy.
"""
import ctypes

from . import _ffi
from . import SushiError, SubNet, _check, _struct_dict, lib

__all__ = ["available", "set_threads", "get_threads", "memory_plan", "arena_bytes",
           "recalibrate_bn", "int8_ranges_len", "calibrate_int8", "set_int8_ranges",
           "bn_stats_len", "recalibrate_bn_stats"]


def available():
    """True when the loaded libsushi exports the cpu backend's API."""
    return _ffi.has("sushi_cpu_memory_plan")


def _need():
    if not available():
        raise SushiError(_ffi.STATUS["ERR_UNSUPPORTED"], "libsushi was built without the cpu backend")


def _floats(subnet, inputs):
    """inputs -> (contiguous float32 array, number of images) for SubNet s."""
    import numpy as np
    info = subnet.supernet.info
    r = subnet.config.resolution
    per = info["in_channels"] * r * r
    a = np.ascontiguousarray(inputs, dtype=np.float32)
    if a.size == 0 or a.size % per:
        raise ValueError(f"inputs hold {a.size} values, not a whole number of "
                         f"{info['in_channels']}x{r}x{r} images")
    return a, a.size // per


def _fp(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def set_threads(n):
    """Threads OpenBLAS uses for the GEMMs (process-wide)."""
    _need()
    _check(lib.sushi_cpu_set_threads(int(n)), "sushi_cpu_set_threads")


def get_threads():
    _need()
    return int(lib.sushi_cpu_get_threads())


def memory_plan(subnet):
    """dict of sushi_cpu_memory: arena_bytes, scratch_bytes, unplanned_bytes,
    int8_arena_bytes, int8_scratch_bytes (known before the SubNet runs)."""
    _need()
    m = _ffi.new(_ffi.CpuMemory)
    _check(lib.sushi_cpu_memory_plan(subnet, ctypes.byref(m)), "sushi_cpu_memory_plan")
    return _struct_dict(m)


def arena_bytes(subnet):
    """Bytes the float32 path of the SubNet needs (arena + scratch)."""
    _need()
    n = ctypes.c_size_t()
    _check(lib.sushi_cpu_arena_bytes(subnet, ctypes.byref(n)), "sushi_cpu_arena_bytes")
    return n.value


def recalibrate_bn(subnet, inputs, batch=0):
    """A new SubNet (same config) whose BN statistics are recomputed on
    `inputs` (N images, normalised), in batches of `batch` (0 = all at once)."""
    _need()
    a, n = _floats(subnet, inputs)
    out = ctypes.c_void_p()
    _check(lib.sushi_cpu_recalibrate_bn(subnet, _fp(a), n, int(batch), ctypes.byref(out)),
           "sushi_cpu_recalibrate_bn")
    return SubNet(out.value, subnet.supernet)


def bn_stats_len(subnet):
    """Floats in the SubNet's BN statistics array (2 x channels over its BN layers)."""
    _need()
    return int(lib.sushi_cpu_bn_stats_len(subnet))


def recalibrate_bn_stats(subnet, inputs, batch=0):
    """The BN statistics recalibrate_bn computes (numpy float32: per BN layer of the
    plan, means then variances), ready for SuperNet.with_bn_stats."""
    import numpy as np
    _need()
    a, n = _floats(subnet, inputs)
    stats = np.empty(bn_stats_len(subnet), dtype=np.float32)
    _check(lib.sushi_cpu_recalibrate_bn_stats(subnet, _fp(a), n, int(batch), _fp(stats), stats.size),
           "sushi_cpu_recalibrate_bn_stats")
    return stats


def int8_ranges_len(subnet):
    _need()
    return int(lib.sushi_cpu_int8_ranges_len(subnet))


def calibrate_int8(subnet, inputs):
    """Activation ranges (numpy float32) of the int8 path, from `inputs`."""
    import numpy as np
    _need()
    a, n = _floats(subnet, inputs)
    ranges = np.empty(int8_ranges_len(subnet), dtype=np.float32)
    _check(lib.sushi_cpu_calibrate_int8(subnet, _fp(a), n, _fp(ranges), ranges.size),
           "sushi_cpu_calibrate_int8")
    return ranges


def set_int8_ranges(backend, subnet, ranges):
    """Give a cpu Backend the int8 activation ranges of a SubNet (copied)."""
    import numpy as np
    _need()
    r = np.ascontiguousarray(ranges, dtype=np.float32)
    _check(lib.sushi_cpu_set_int8_ranges(backend, subnet, _fp(r), r.size),
           "sushi_cpu_set_int8_ranges")
