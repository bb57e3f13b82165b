"""libsushi from Python, over the C ABI with ctypes (no compiled extension).

    import sushi
    with sushi.SuperNet.builtin("ofa-resnet50") as sn:
        s = sn.subnet("min@160")
        print(s.stats["macs"], sn.candidates[0]["accuracy"])
        with sn.backend("null") as b:
            print(b.cost(s)["latency_s"])

The shared library is found through the environment variable SUSHI_LIBRARY
(a path), else the installed library named by sushi/_config.py (written by
`meson install`), else ctypes.util.find_library("sushi"), else a build
directory of this checkout (build*/libsushi.so). See docs/python.md.

Lifetimes: every Python object owns exactly one C handle and destroys only
that one, deterministically with ``close()`` or a ``with`` block, or when it
is garbage-collected. The C library reference-counts parents (a SubNet keeps
its SuperNet, a SuperNet its context), so objects may be closed or collected
in any order; each object also keeps a Python reference to its parent object.
Closing twice is harmless; using a closed object raises SushiError
(SUSHI_ERR_STATE).

Errors: every failing call raises :class:`SushiError` carrying ``.status``
(the negative C status), ``.name`` (e.g. "SUSHI_ERR_CONFIG", from
sushi_status_name) and ``.message`` (the library's error-buffer text where the
C call has one, else sushi_status_str).

Thread-safety follows the C library: SuperNet, SubNet and Config may be
shared by threads; Backend, Policy, Scheduler and SubGraph objects may not (one per
thread). ctypes releases the GIL during every C call.
"""
import ctypes
import json
import math
import os

from . import _ffi

__all__ = ["SushiError", "Context", "SuperNet", "Config", "SubNet", "SubGraph", "Backend",
           "Policy", "Scheduler", "Server", "Ticket", "Trace", "Profile", "version", "version_number", "status_name",
           "status_str", "builtin_names",
           "LOG_ERROR", "LOG_WARN", "LOG_INFO", "LOG_DEBUG"]

LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = (_ffi.LOG_ERROR, _ffi.LOG_WARN, _ffi.LOG_INFO,
                                            _ffi.LOG_DEBUG)
_ERRBUF_SIZE = 512


class _Lib:
    """_ffi.lib with each C call wrapped so that passing a closed object raises
    SushiError(SUSHI_ERR_STATE) instead of ctypes.ArgumentError."""

    def __getattr__(self, name):
        fn = getattr(_ffi.lib, name)

        def call(*args):
            try:
                return fn(*args)
            except ctypes.ArgumentError:
                for a in args:
                    if isinstance(a, _Handle) and a._ptr is None:
                        raise SushiError(_ffi.STATUS["ERR_STATE"],
                                         f"{type(a).__name__} is closed", name) from None
                raise

        call.__name__ = name
        setattr(self, name, call)  # cache: __getattr__ runs once per name
        return call


lib = _Lib()


def _s(b):
    """C string -> str (None stays None)."""
    return None if b is None else b.decode("utf-8", "replace")


def _b(s):
    """str/bytes/PathLike -> bytes for a const char * argument."""
    if isinstance(s, bytes):
        return s
    return os.fsencode(s) if isinstance(s, os.PathLike) else str(s).encode("utf-8")


def version():
    """Version string of the loaded library, e.g. "0.1.0"."""
    return _s(lib.sushi_version_string())


def version_number():
    """Version as (major << 16) | (minor << 8) | patch."""
    return int(lib.sushi_version_number())


def status_name(status):
    """Symbolic name of a status, e.g. "SUSHI_ERR_NOMEM"."""
    return _s(lib.sushi_status_name(int(status)))


def status_str(status):
    """One-line description of a status."""
    return _s(lib.sushi_status_str(int(status)))


def builtin_names():
    """Names of the built-in SuperNet families."""
    names, i = [], 0
    while True:
        n = lib.sushi_supernet_builtin_name(i)
        if n is None:
            return names
        names.append(_s(n))
        i += 1


# --------------------------------------------------------------------- errors
class SushiError(Exception):
    """A libsushi call failed.

    Attributes: ``status`` (negative int), ``name`` ("SUSHI_ERR_..."),
    ``message`` (library detail or the status description), ``function``
    (the C function that failed, when known).
    """

    def __init__(self, status, message=None, function=None):
        self.status = int(status)
        self.name = status_name(self.status)
        self.message = message or status_str(self.status)
        self.function = function
        where = f"{function}: " if function else ""
        super().__init__(f"{where}{self.name}: {self.message}")


def _errbuf():
    return ctypes.create_string_buffer(_ERRBUF_SIZE)


def _check(rc, function, errbuf=None):
    if rc < 0:
        msg = _s(errbuf.value) if errbuf is not None and errbuf.value else None
        raise SushiError(rc, msg, function)
    return rc


# -------------------------------------------------------------------- handles
class _Handle:
    """Owns one C handle. Subclasses set ``_destroy`` to the C destructor.

    ``_as_parameter_`` lets the object be passed straight to the C calls.
    """

    _destroy = None
    _borrows = 0        # live C objects that use this handle without owning it (a Scheduler)
    _deferred = None    # handle whose destruction waits for the last borrower

    def __init__(self, ptr, parent):
        self._ptr = ptr          # int address, or None once closed
        self._parent = parent    # Python parent kept alive (log callbacks, borrowed buffers)

    @property
    def _as_parameter_(self):
        if self._ptr is None:
            raise SushiError(_ffi.STATUS["ERR_STATE"], f"{type(self).__name__} is closed")
        return ctypes.c_void_p(self._ptr)

    @property
    def closed(self):
        return self._ptr is None

    def close(self):
        """Destroy the C handle now (or, while a Scheduler still borrows it, as
        soon as that Scheduler is closed). Safe to call more than once."""
        ptr, self._ptr = self._ptr, None
        if ptr is None or self._destroy is None:
            return
        if self._borrows > 0:
            self._deferred = ptr
        else:
            type(self)._destroy(ptr)

    def _borrow(self):
        self._as_parameter_  # raises when closed
        self._borrows += 1

    def _unborrow(self):
        self._borrows -= 1
        if self._borrows == 0 and self._deferred is not None:
            ptr, self._deferred = self._deferred, None
            type(self)._destroy(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible left to do
            pass


def _new_handle(fn, *args, errbuf=None):
    out = ctypes.c_void_p()
    _check(fn(*args, ctypes.byref(out)), fn.__name__, errbuf)
    return out.value


def _names(fn, ctx):
    names, i = [], 0
    while True:
        n = fn(ctx, i)
        if n is None:
            return names
        names.append(_s(n))
        i += 1


# -------------------------------------------------------------------- context
class Context(_Handle):
    """sushi_context: allocator, logger and the backend/policy registries.

    Configure it (``set_log``) before the first SuperNet is loaded through
    it; afterwards configuration raises SUSHI_ERR_STATE.
    """

    _destroy = _ffi.lib.sushi_context_destroy

    def __init__(self):
        super().__init__(_new_handle(lib.sushi_context_create, None), None)
        self._log_cb = None

    @classmethod
    def _adopt(cls, ptr, keep=None):
        """Wrap a sushi_context made through _ffi (e.g. with custom allocator
        hooks); `keep` holds whatever must outlive it (the hook callbacks)."""
        self = cls.__new__(cls)
        _Handle.__init__(self, ptr, keep)
        self._log_cb = None
        return self

    def set_log(self, fn, level=LOG_WARN):
        """Deliver library messages up to `level` to ``fn(level, message)``;
        ``fn=None`` turns logging off. The callback may run on any thread
        that uses an object of this context; exceptions in it are ignored."""
        if fn is None:
            cb = ctypes.cast(None, _ffi.LOG_FN)
        else:
            def trampoline(_user, lvl, msg):
                try:
                    fn(int(lvl), _s(msg))
                except Exception:
                    pass
            cb = _ffi.LOG_FN(trampoline)
        _check(lib.sushi_context_set_log(self, cb, None, int(level)), "sushi_context_set_log")
        self._log_cb = cb  # kept alive by every child through its parent chain

    @property
    def backends(self):
        """Names of the registered backends."""
        return _names(lib.sushi_backend_name, self)

    @property
    def policies(self):
        """Names of the registered caching policies."""
        return _names(lib.sushi_policy_name, self)

    def builtin(self, name, seed=0):
        return SuperNet.builtin(name, seed, context=self)

    def load(self, path, verify=True, check_finite=False):
        return SuperNet.load(path, verify=verify, context=self, check_finite=check_finite)

    def load_bytes(self, buf, borrow=False, verify=True, check_finite=False):
        return SuperNet.load_bytes(buf, borrow=borrow, verify=verify, context=self,
                                   check_finite=check_finite)

    def __repr__(self):
        return f"<sushi.Context {'closed' if self.closed else hex(self._ptr)}>"


# --------------------------------------------------------------------- config
class Config:
    """A SubNet config (sushi_config): plain data, copyable, hashable by text.

    ``str(cfg)`` is its compact OFA JSON (sushi_config_print); ``cfg.to_dict()``
    the parsed dict. Make one with ``SuperNet.config(text_or_dict)``.
    """

    __slots__ = ("_c",)

    def __init__(self, c_config):
        self._c = _ffi.Config()
        ctypes.pointer(self._c)[0] = c_config  # copy
        self._c.size = ctypes.sizeof(_ffi.Config)

    def __str__(self):
        n = _check(lib.sushi_config_print(ctypes.byref(self._c), None, 0), "sushi_config_print")
        buf = ctypes.create_string_buffer(n + 1)
        _check(lib.sushi_config_print(ctypes.byref(self._c), buf, n + 1), "sushi_config_print")
        return _s(buf.value)

    def __repr__(self):
        return f"sushi.Config({str(self)!r})"

    def __eq__(self, other):
        if not isinstance(other, Config):
            return NotImplemented
        return bool(lib.sushi_config_equal(ctypes.byref(self._c), ctypes.byref(other._c)))

    def __hash__(self):
        return hash(str(self))

    def to_dict(self):
        return json.loads(str(self))

    @property
    def resolution(self):
        return int(self._c.resolution)

    @property
    def ks(self):
        return list(self._c.ks[:self._c.n_ks])

    @property
    def e(self):
        return [round(float(v), 6) for v in self._c.e[:self._c.n_e]]

    @property
    def d(self):
        return list(self._c.d[:self._c.n_d])

    @property
    def w(self):
        return list(self._c.w[:self._c.n_w])


def _struct_dict(st, skip=("size",)):
    d = {}
    for name, _t in st._fields_:
        if name in skip:
            continue
        v = getattr(st, name)
        d[name] = _s(v) if isinstance(v, bytes) else v
    return d


# ------------------------------------------------------------------- supernet
class SuperNet(_Handle):
    """sushi_supernet: an architecture space plus its largest weights.

    Immutable and shareable by threads. Create with :meth:`builtin`,
    :meth:`load` or :meth:`load_bytes`; without ``context=`` a private
    Context is made and closed with the SuperNet.
    """

    _destroy = _ffi.lib.sushi_supernet_destroy

    def __init__(self, ptr, context, own_context, keep=None):
        super().__init__(ptr, context)
        self._own_context = own_context
        self._keep = keep  # borrowed load buffer: must outlive the C SuperNet
        self._info = None

    @staticmethod
    def _ctx(context):
        return (Context(), True) if context is None else (context, False)

    @classmethod
    def _make(cls, context, fn, *args, errbuf=None, keep=None):
        ctx, own = cls._ctx(context)
        try:
            ptr = _new_handle(fn, ctx, *args, errbuf=errbuf)
        except BaseException:
            if own:
                ctx.close()
            raise
        return cls(ptr, ctx, own, keep)

    @classmethod
    def builtin(cls, name, seed=0, context=None):
        """A built-in family ("ofa-mbv3-w1.0", "ofa-mbv3-w1.2", "ofa-resnet50")
        with deterministic synthetic weights from `seed` (0 = default)."""
        return cls._make(context, lib.sushi_supernet_builtin, _b(name), int(seed))

    @staticmethod
    def _options(flags):
        eb = _errbuf()
        opts = _ffi.new(_ffi.LoadOptions, flags=flags,
                        errbuf=ctypes.cast(eb, ctypes.c_void_p), errbuf_size=_ERRBUF_SIZE)
        return opts, eb

    @classmethod
    def load(cls, path, verify=True, context=None, check_finite=False):
        """Load a .sushi file. Errors carry the loader's message (field path or byte offset).
        ``check_finite=True`` refuses NaN/Inf weights (SUSHI_LOAD_CHECK_FINITE)."""
        opts, eb = cls._options((0 if verify else _ffi.LOAD_NO_VERIFY)
                                | (_ffi.LOAD_CHECK_FINITE if check_finite else 0))
        return cls._make(context, lib.sushi_supernet_load_file, _b(path), ctypes.byref(opts),
                         errbuf=eb)

    @classmethod
    def load_bytes(cls, buf, borrow=False, verify=True, context=None, check_finite=False):
        """Load from a bytes-like object. With ``borrow=True`` the library uses
        the buffer in place (no copy): the SuperNet object keeps a reference
        to it, and the caller must not modify it while any object made from
        this SuperNet is alive."""
        flags = ((0 if verify else _ffi.LOAD_NO_VERIFY) | (_ffi.LOAD_BORROW if borrow else 0)
                 | (_ffi.LOAD_CHECK_FINITE if check_finite else 0))
        ptr, size, keep = _buffer_pointer(buf)
        opts, eb = cls._options(flags)
        return cls._make(context, lib.sushi_supernet_load_memory, ptr, size, ctypes.byref(opts),
                         errbuf=eb, keep=keep if borrow else None)

    def close(self):
        super().close()
        if self._own_context and self._parent is not None:
            self._parent.close()

    @property
    def context(self):
        return self._parent

    # ---- description
    @property
    def info(self):
        """dict of sushi_supernet_info (name, family, synthetic, provenance, ...)."""
        if self._info is None:
            st = _ffi.new(_ffi.SupernetInfo)
            _check(lib.sushi_supernet_get_info(self, ctypes.byref(st)), "sushi_supernet_get_info")
            self._info = _struct_dict(st)
        return dict(self._info)

    @property
    def name(self):
        return self.info["name"]

    @property
    def resolutions(self):
        n = self.info["n_resolutions"]
        return [int(lib.sushi_supernet_resolution(self, i)) for i in range(n)]

    @property
    def input_norm(self):
        """(mean, std): per-channel input normalisation recorded in the file (lists of floats)."""
        mean, std = (ctypes.c_float * 4)(), (ctypes.c_float * 4)()
        n = lib.sushi_supernet_input_norm(self, mean, std, 4)
        _check(min(n, 0), "sushi_supernet_input_norm")
        return list(mean[:min(n, 4)]), list(std[:min(n, 4)])

    def input_from_u8(self, pixels, resolution=0):
        """The float input tensor (C, r, r) of a SubNet at `resolution` (0 = default) from 8-bit
        pixels, shape (H, W) or (H, W, C): normalised with the file's mean/std and bilinearly
        resized like PyTorch (sushi_input_from_u8, include/sushi/input.h). Needs numpy."""
        import numpy as np
        px = np.ascontiguousarray(pixels, dtype=np.uint8)
        if px.ndim == 2:
            px = px[:, :, None]
        if px.ndim != 3:
            raise ValueError("pixels must have shape (H, W) or (H, W, C)")
        h, w, c = px.shape
        r = int(resolution) or int(self.info["default_resolution"])
        out = np.empty((c, r, r), dtype=np.float32)
        _check(lib.sushi_input_from_u8(self, px.ctypes.data, h, w, c, r, out.ctypes.data, out.size),
               "sushi_input_from_u8")
        return out

    def choices(self, kind, slot):
        """Choices of one elastic slot; kind is "ks", "e", "d" or "w"."""
        k = {"ks": _ffi.ELASTIC_KS, "e": _ffi.ELASTIC_E, "d": _ffi.ELASTIC_D,
             "w": _ffi.ELASTIC_W}[kind]
        n = _check(lib.sushi_supernet_choices(self, k, slot, None, 0), "sushi_supernet_choices")
        arr = (ctypes.c_double * max(n, 1))()
        _check(lib.sushi_supernet_choices(self, k, slot, arr, n), "sushi_supernet_choices")
        return list(arr[:n])

    @property
    def units(self):
        out = []
        for i in range(self.info["n_units"]):
            u = _ffi.new(_ffi.UnitInfo)
            _check(lib.sushi_supernet_unit(self, i, ctypes.byref(u)), "sushi_supernet_unit")
            out.append(_struct_dict(u))
        return out

    @property
    def tensor_names(self):
        return [_s(lib.sushi_supernet_tensor_name(self, t)) for t in range(self.info["n_tensors"])]

    def candidate(self, i):
        """Candidate table row i as a dict; "config" is a Config, "accuracy" a
        float in [0, 1] or NaN when unmeasured."""
        c = _ffi.new(_ffi.CandidateInfo)
        c.config.size = ctypes.sizeof(_ffi.Config)
        _check(lib.sushi_supernet_candidate(self, i, ctypes.byref(c)), "sushi_supernet_candidate")
        d = _struct_dict(c)
        d["config"] = Config(c.config)
        d["index"] = i
        return d

    @property
    def candidates(self):
        return [self.candidate(i) for i in range(self.info["n_candidates"])]

    def candidate_int8_ranges(self, i):
        """int8 calibration ranges the file stores for candidate i (`sushi
        calibrate`; docs/int8.md section 7) as a numpy float32 copy, or None."""
        import numpy as np
        p = ctypes.POINTER(ctypes.c_float)()
        n = ctypes.c_size_t(0)
        _check(lib.sushi_supernet_candidate_int8_ranges(self, i, ctypes.byref(p), ctypes.byref(n)),
               "sushi_supernet_candidate_int8_ranges")
        if not p or n.value == 0:
            return None
        return np.ctypeslib.as_array(p, shape=(n.value,)).astype(np.float32, copy=True)

    def find_candidate(self, config):
        """Index of the candidate with this config, or None."""
        i = lib.sushi_supernet_find_candidate(self, ctypes.byref(self.config(config)._c))
        return None if i < 0 else int(i)

    # ---- configs and children
    def config(self, spec, resolution=0):
        """Parse a config: OFA JSON text, a dict, "min"/"max"[@RES], or a Config
        (returned as is after validation). `resolution` overrides (0 = keep)."""
        if isinstance(spec, Config):
            eb = _errbuf()
            _check(lib.sushi_config_validate(self, ctypes.byref(spec._c), eb, _ERRBUF_SIZE),
                   "sushi_config_validate", eb)
            return spec
        if isinstance(spec, dict):
            spec = json.dumps(spec)
        c = _ffi.new(_ffi.Config)
        eb = _errbuf()
        _check(lib.sushi_config_parse(self, _b(spec), int(resolution), ctypes.byref(c), eb,
                                      _ERRBUF_SIZE), "sushi_config_parse", eb)
        return Config(c)

    def extreme_config(self, largest, resolution=0):
        c = _ffi.new(_ffi.Config)
        _check(lib.sushi_config_extreme(self, bool(largest), int(resolution), ctypes.byref(c)),
               "sushi_config_extreme")
        return Config(c)

    def subnet(self, spec):
        """Resolve a SubNet from a Config, config text/dict, or a candidate index (int)."""
        if isinstance(spec, int) and not isinstance(spec, bool):
            cfg = self.candidate(spec)["config"]
        else:
            cfg = self.config(spec)
        return SubNet(_new_handle(lib.sushi_subnet_create, self, ctypes.byref(cfg._c)), self)

    def subgraph(self):
        """A new empty SubGraph of this SuperNet."""
        return SubGraph(_new_handle(lib.sushi_subgraph_create, self), self)

    def backend(self, name):
        return Backend(self, name)

    def policy(self, name):
        return Policy(self, name)

    # ---- candidate table: copies with new measurements (supernet.h)
    def _derived(self, ptr):
        """A new SuperNet in this one's context (the C context is reference counted)."""
        return SuperNet(ptr, self._parent, False)

    def _float_rows(self, rows, what):
        """rows (one per candidate: array-like of float32 values or None) -> ctypes arrays."""
        import numpy as np
        n = self.info["n_candidates"]
        rows = list(rows)
        if len(rows) != n:
            raise ValueError(f"{what}: {len(rows)} rows, the SuperNet has {n} candidates")
        keep = [None if r is None else np.ascontiguousarray(r, dtype=np.float32).ravel() for r in rows]
        ptrs = (ctypes.POINTER(ctypes.c_float) * max(n, 1))()
        lens = (ctypes.c_size_t * max(n, 1))()
        for i, a in enumerate(keep):
            if a is not None:
                ptrs[i] = a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
                lens[i] = a.size
        return ptrs, lens, n, keep

    def with_accuracies(self, accuracies, dataset, metric="top1", source="measured"):
        """A copy whose candidate i has accuracy accuracies[i] (a fraction in [0, 1];
        NaN or None keeps that entry), accuracy_source "measured", `dataset` and
        `metric`; `source` says how they were measured (sushi_supernet_with_accuracies)."""
        n = self.info["n_candidates"]
        acc = [math.nan if a is None else float(a) for a in accuracies]
        if len(acc) != n:
            raise ValueError(f"accuracies: {len(acc)} values, the SuperNet has {n} candidates")
        arr = (ctypes.c_double * max(n, 1))(*acc)
        out = ctypes.c_void_p()
        _check(lib.sushi_supernet_with_accuracies(self, arr, n, _b(dataset), _b(metric), _b(source),
                                                  ctypes.byref(out)), "sushi_supernet_with_accuracies")
        return self._derived(out.value)

    def with_int8_ranges(self, ranges, source):
        """A copy whose candidate i stores the int8 ranges ranges[i] (sushi.cpu.calibrate_int8
        of that candidate's SubNet; None keeps what it had): sushi_supernet_with_int8_ranges."""
        ptrs, lens, n, _keep = self._float_rows(ranges, "ranges")
        out = ctypes.c_void_p()
        _check(lib.sushi_supernet_with_int8_ranges(self, ptrs, lens, n, _b(source), ctypes.byref(out)),
               "sushi_supernet_with_int8_ranges")
        return self._derived(out.value)

    def with_bn_stats(self, stats, source):
        """A copy whose candidate i normalises with the BN statistics stats[i] (for each BN
        layer of its plan, means then variances: sushi.cpu.recalibrate_bn_stats; None keeps
        what it had): sushi_supernet_with_bn_stats. Accuracies are kept: measure again."""
        ptrs, lens, n, _keep = self._float_rows(stats, "stats")
        out = ctypes.c_void_p()
        _check(lib.sushi_supernet_with_bn_stats(self, ptrs, lens, n, _b(source), ctypes.byref(out)),
               "sushi_supernet_with_bn_stats")
        return self._derived(out.value)

    def with_candidates(self, configs, source):
        """A copy whose candidate table is `configs` (Configs, config texts or dicts), in
        order; a config that is already a candidate keeps its row, a new one is unmeasured
        (sushi_supernet_with_candidates). Duplicates are refused."""
        cfgs = [self.config(c) for c in configs]
        arr = (_ffi.Config * max(len(cfgs), 1))()
        for i, c in enumerate(cfgs):
            arr[i] = c._c
        out = ctypes.c_void_p()
        _check(lib.sushi_supernet_with_candidates(self, arr, len(cfgs), _b(source), ctypes.byref(out)),
               "sushi_supernet_with_candidates")
        return self._derived(out.value)

    # ---- saving
    _WEIGHTS = {"auto": _ffi.WEIGHTS_AUTO, "seed": _ffi.WEIGHTS_SEED, "f32": _ffi.WEIGHTS_F32}

    def save(self, path, weights="auto"):
        opts = _ffi.new(_ffi.SaveOptions, weights=self._WEIGHTS[weights])
        _check(lib.sushi_supernet_save_file(self, _b(path), ctypes.byref(opts)),
               "sushi_supernet_save_file")

    def to_bytes(self, weights="auto"):
        opts = _ffi.new(_ffi.SaveOptions, weights=self._WEIGHTS[weights])
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        _check(lib.sushi_supernet_save_memory(self, ctypes.byref(opts), ctypes.byref(data),
                                              ctypes.byref(size)), "sushi_supernet_save_memory")
        try:
            return ctypes.string_at(data.value, size.value)
        finally:
            lib.sushi_supernet_free_buffer(self, data)

    def __repr__(self):
        if self.closed:
            return "<sushi.SuperNet closed>"
        return f"<sushi.SuperNet {self.name!r}>"


def _buffer_pointer(buf):
    """(address, size, keep-alive object) of a bytes-like object, no copy when possible."""
    if isinstance(buf, bytes):
        return ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p), len(buf), buf
    mv = memoryview(buf)
    if not mv.c_contiguous:
        raise ValueError("buffer must be C-contiguous")
    mv = mv.cast("B")
    if mv.readonly:
        b = bytes(mv)
        return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p), len(b), b
    arr = (ctypes.c_char * mv.nbytes).from_buffer(mv)  # locks resizing while alive
    return ctypes.addressof(arr), mv.nbytes, arr


# --------------------------------------------------------------------- subnet
class SubNet(_Handle):
    """sushi_subnet: a resolved, immutable per-layer plan."""

    _destroy = _ffi.lib.sushi_subnet_destroy

    @property
    def supernet(self):
        return self._parent

    @property
    def config(self):
        return Config(lib.sushi_subnet_config(self)[0])

    @property
    def stats(self):
        """dict: params, macs, weight_bytes, n_layers, candidate (-1 if none), accuracy (NaN if none)."""
        st = _ffi.new(_ffi.SubnetStats)
        _check(lib.sushi_subnet_get_stats(self, ctypes.byref(st)), "sushi_subnet_get_stats")
        return _struct_dict(st)

    def layer(self, i):
        li = _ffi.new(_ffi.LayerInfo)
        _check(lib.sushi_subnet_layer(self, i, ctypes.byref(li)), "sushi_subnet_layer")
        d = _struct_dict(li)
        d["op"] = _ffi.OP_NAMES[li.op] if 0 <= li.op < len(_ffi.OP_NAMES) else li.op
        d["act"] = _ffi.ACT_NAMES[li.act] if 0 <= li.act < len(_ffi.ACT_NAMES) else li.act
        if li.input2 == _ffi.UINT32_MAX:
            d["input2"] = None
        return d

    @property
    def layers(self):
        return [self.layer(i) for i in range(self.stats["n_layers"])]

    def __repr__(self):
        return "<sushi.SubNet closed>" if self.closed else f"<sushi.SubNet {self.config}>"


# ------------------------------------------------------------------- subgraph
class SubGraph(_Handle):
    """sushi_subgraph: one prefix box (out, in channels) per weight tensor.

    A mutable value object (not thread-safe for writers). The in-place
    operations return ``self`` so they chain:
    ``SubGraph.common(a, b).truncate(budget).bytes``.
    """

    _destroy = _ffi.lib.sushi_subgraph_destroy

    @classmethod
    def of(cls, subnet):
        """Exactly the weights of `subnet`."""
        g = subnet.supernet.subgraph()
        _check(lib.sushi_subgraph_set_subnet(g, subnet), "sushi_subgraph_set_subnet")
        return g

    @classmethod
    def common(cls, *subnets):
        """The SubGraph common to the SubNets (per-tensor minimum)."""
        if not subnets:
            raise ValueError("common() needs at least one SubNet")
        g = cls.of(subnets[0])
        for s in subnets[1:]:
            g.intersect(s)
        return g

    @property
    def supernet(self):
        return self._parent

    @property
    def bytes(self):
        """Bytes held (one byte per weight)."""
        return int(lib.sushi_subgraph_bytes(self))

    def hit(self, subnet):
        """hit(s, g): bytes of `subnet`'s weights inside this SubGraph."""
        return int(lib.sushi_subgraph_hit_bytes(self, subnet))

    def clear(self):
        _check(lib.sushi_subgraph_clear(self), "sushi_subgraph_clear")
        return self

    def copy(self):
        g = self.supernet.subgraph()
        _check(lib.sushi_subgraph_copy(g, self), "sushi_subgraph_copy")
        return g

    def set_subnet(self, subnet):
        _check(lib.sushi_subgraph_set_subnet(self, subnet), "sushi_subgraph_set_subnet")
        return self

    def intersect(self, other):
        """In place: self = self ∩ other (a SubGraph or a SubNet)."""
        if isinstance(other, SubGraph):
            _check(lib.sushi_subgraph_intersect(self, self, other), "sushi_subgraph_intersect")
        else:
            _check(lib.sushi_subgraph_intersect_subnet(self, other),
                   "sushi_subgraph_intersect_subnet")
        return self

    def truncate(self, budget):
        """In place: shrink to at most `budget` bytes (network order, 16-channel tiles)."""
        _check(lib.sushi_subgraph_truncate(self, int(budget)), "sushi_subgraph_truncate")
        return self

    def contains(self, other):
        """True when every weight of `other` (SubGraph or SubNet) lies in this SubGraph."""
        if isinstance(other, SubGraph):
            return bool(lib.sushi_subgraph_contains(self, other))
        return bool(lib.sushi_subgraph_contains_subnet(self, other))

    def __len__(self):
        return int(lib.sushi_subgraph_n_tensors(self))

    def box(self, t):
        """(out_ch, in_ch, kernel_area) of tensor t."""
        o, i, k = ctypes.c_uint32(), ctypes.c_uint32(), ctypes.c_uint32()
        _check(lib.sushi_subgraph_get(self, t, ctypes.byref(o), ctypes.byref(i), ctypes.byref(k)),
               "sushi_subgraph_get")
        return o.value, i.value, k.value

    def set_box(self, t, out_ch, in_ch):
        """Set tensor t's box (clamped to the tensor's shape)."""
        _check(lib.sushi_subgraph_set(self, t, int(out_ch), int(in_ch)), "sushi_subgraph_set")
        return self

    def __repr__(self):
        return "<sushi.SubGraph closed>" if self.closed else f"<sushi.SubGraph {self.bytes} bytes>"


# -------------------------------------------------------------------- backend
def _cost_dict(c):
    return _struct_dict(c)


class Backend(_Handle):
    """sushi_backend: an instance of a registered backend bound to a SuperNet.

    Not thread-safe: one per thread. ``caps`` is a set of "run", "cost", "int8".
    """

    _destroy = _ffi.lib.sushi_backend_destroy

    def __init__(self, supernet, name):
        super().__init__(_new_handle(lib.sushi_backend_create, supernet, _b(name)), supernet)

    @staticmethod
    def names(context):
        return context.backends

    @property
    def supernet(self):
        return self._parent

    @property
    def name(self):
        return _s(lib.sushi_backend_get_name(self))

    @property
    def caps(self):
        c = lib.sushi_backend_caps(self)
        return {n for bit, n in ((_ffi.BACKEND_CAP_RUN, "run"), (_ffi.BACKEND_CAP_COST, "cost"),
                                 (_ffi.BACKEND_CAP_INT8, "int8")) if c & bit}

    def set_param(self, key, value):
        _check(lib.sushi_backend_set_param(self, _b(key), float(value)), "sushi_backend_set_param")

    def get_param(self, key):
        v = ctypes.c_double()
        _check(lib.sushi_backend_get_param(self, _b(key), ctypes.byref(v)),
               "sushi_backend_get_param")
        return v.value

    def cost(self, subnet, resident=None):
        """Cost of `subnet` with SubGraph `resident` on chip (None: nothing), as a
        dict of sushi_cost fields (latency_s, offchip_bytes, hit_bytes, energy_j, ...)."""
        c = _ffi.new(_ffi.Cost)
        _check(lib.sushi_backend_cost(self, subnet, resident, ctypes.byref(c)),
               "sushi_backend_cost")
        return _cost_dict(c)

    def set_resident(self, subgraph):
        """Make `subgraph` resident (None: evict all); returns the reload cost dict."""
        c = _ffi.new(_ffi.Cost)
        _check(lib.sushi_backend_set_resident(self, subgraph, ctypes.byref(c)),
               "sushi_backend_set_resident")
        return _cost_dict(c)

    def run(self, subnet, x, int8=False, with_cost=False):
        """Run `subnet` on float32 input `x` (NCHW, normalised as the SuperNet expects).

        `x` of shape (C, R, R) (or any shape with C*R*R values) gives logits of
        shape (num_classes,); shape (N, C, R, R) runs N queries and gives
        (N, num_classes). With ``with_cost=True`` returns (logits, cost), where
        cost is a dict (a list of dicts for a batch). Needs numpy.
        """
        import numpy as np
        info = self.supernet.info
        r = subnet.config.resolution
        need = info["in_channels"] * r * r
        a = np.ascontiguousarray(x, dtype=np.float32)
        batch = a.ndim == 4
        items = a.reshape(a.shape[0], -1) if batch else a.reshape(1, -1)
        if items.shape[1] != need:
            raise ValueError(f"input has {items.shape[1]} values per query; the SubNet wants "
                             f"{info['in_channels']}x{r}x{r} = {need}")
        out = np.empty((items.shape[0], info["num_classes"]), dtype=np.float32)
        costs = []
        fp = ctypes.POINTER(ctypes.c_float)
        for n in range(items.shape[0]):
            row, orow = items[n], out[n]
            args = _ffi.new(_ffi.RunArgs, input=row.ctypes.data_as(fp), input_len=row.size,
                            output=orow.ctypes.data_as(fp), output_len=orow.size, int8=bool(int8))
            c = _ffi.new(_ffi.Cost)
            _check(lib.sushi_backend_run(self, subnet, ctypes.byref(args), ctypes.byref(c)),
                   "sushi_backend_run")
            costs.append(_cost_dict(c))
        logits = out if batch else out[0]
        if with_cost:
            return logits, (costs if batch else costs[0])
        return logits

    def __repr__(self):
        return "<sushi.Backend closed>" if self.closed else f"<sushi.Backend {self.name!r}>"


# --------------------------------------------------------------------- policy
class Policy(_Handle):
    """sushi_policy: an instance of a registered SubGraph caching policy.

    Not thread-safe. Normally driven by the scheduler; usable directly with
    :meth:`observe` and :meth:`choose`.
    """

    _destroy = _ffi.lib.sushi_policy_destroy

    def __init__(self, supernet, name):
        super().__init__(_new_handle(lib.sushi_policy_create, supernet, _b(name)), supernet)

    @staticmethod
    def names(context):
        return context.policies

    @property
    def supernet(self):
        return self._parent

    @property
    def name(self):
        return _s(lib.sushi_policy_get_name(self))

    def observe(self, subnet):
        _check(lib.sushi_policy_observe(self, subnet), "sushi_policy_observe")

    def choose(self, capacity_bytes, window=(), current=None, candidates=(), future=None):
        """The SubGraph the policy wants resident next (a new SubGraph).

        `window`: SubNets served since the last update, oldest first;
        `current`: the resident SubGraph (None: empty); `candidates`: the
        scheduler's candidate SubNets; `future`: upcoming SubNets (oracle only).
        """
        def arr(seq):
            seq = list(seq or ())
            a = (ctypes.c_void_p * max(len(seq), 1))(*[s._as_parameter_.value for s in seq])
            return a, len(seq)

        w, nw = arr(window)
        c, nc = arr(candidates)
        f, nf = arr(future)
        cur = current if current is not None else self.supernet.subgraph()
        view = _ffi.new(_ffi.PolicyView, supernet=self.supernet._as_parameter_.value,
                        capacity_bytes=int(capacity_bytes), current=cur._as_parameter_.value,
                        window=ctypes.cast(w, ctypes.POINTER(ctypes.c_void_p)), n_window=nw,
                        candidates=ctypes.cast(c, ctypes.POINTER(ctypes.c_void_p)),
                        n_candidates=nc,
                        future=ctypes.cast(f, ctypes.POINTER(ctypes.c_void_p)) if future is not None
                        else None, n_future=nf)
        nxt = self.supernet.subgraph()
        try:
            _check(lib.sushi_policy_choose(self, ctypes.byref(view), nxt), "sushi_policy_choose")
        except BaseException:
            nxt.close()
            raise
        finally:
            if current is None:
                cur.close()
        return nxt

    def __repr__(self):
        return "<sushi.Policy closed>" if self.closed else f"<sushi.Policy {self.name!r}>"


# ------------------------------------------------------------------ scheduler
def _enum(table, value, what):
    if isinstance(value, int):
        return value
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"{what} must be one of {sorted(table)}, not {value!r}") from None


class Scheduler(_Handle):
    """sushi_sched (SushiSched): serves queries from a SuperNet's Pareto
    candidates with a SubGraph kept resident by a caching policy.

    ``Scheduler(sn, backend, policy, window=100, ...)``: `backend` and
    `policy` are Backend / Policy objects (borrowed: they stay usable and are
    destroyed only after the scheduler, whatever order you close them in) or
    names, in which case the scheduler makes and owns them. Options: `mode`
    ("both", "most_accurate", "fastest"), `fallback` ("accuracy_first",
    "latency_first"), `reload` ("next_query", "separate"), `pareto`
    ("macs_bytes", "macs", "bytes", "none"), `window` (Q), `pb_bytes` (None =
    ask the backend), `latency_samples`, `seed`, and since 0.3 `late`
    ("fastest", "drop"), `adapt` ("auto", "on", "off"), `quantile` (of an
    attached Profile, default 0.99), `adapt_window` (default 15), `profile`
    (a Profile to predict from; see set_profile) (docs/scheduler.md).
    Not thread-safe: one per thread.
    """

    _destroy = _ffi.lib.sushi_sched_destroy if _ffi.has("sushi_sched_destroy") else None

    def __init__(self, supernet, backend, policy, *, mode="both", fallback="accuracy_first",
                 reload="next_query", pareto="macs_bytes", window=100, pb_bytes=None,
                 latency_samples=0, seed=0, late="fastest", adapt="auto", quantile=0.99,
                 adapt_window=15, profile=None):
        opts = _ffi.new(_ffi.SchedOptions, mode=_enum(_ffi.SCHED_MODES, mode, "mode"),
                        fallback=_enum(_ffi.SCHED_FALLBACKS, fallback, "fallback"),
                        reload=_enum(_ffi.SCHED_RELOADS, reload, "reload"),
                        pareto=_enum(_ffi.SCHED_PARETOS, pareto, "pareto"), window=int(window),
                        pb_bytes=_ffi.SCHED_PB_AUTO if pb_bytes is None else int(pb_bytes),
                        latency_samples=int(latency_samples), seed=int(seed),
                        late=_enum(_ffi.SCHED_LATES, late, "late"),
                        adapt=_enum(_ffi.SCHED_ADAPTS, adapt, "adapt"), quantile=float(quantile),
                        adapt_window=int(adapt_window))
        owned = []
        try:
            if isinstance(backend, str):
                backend = supernet.backend(backend)
                owned.append(backend)
            if isinstance(policy, str):
                policy = supernet.policy(policy)
                owned.append(policy)
            ptr = _new_handle(lib.sushi_sched_create, supernet, backend, policy,
                              ctypes.byref(opts))
        except BaseException:
            for o in owned:
                o.close()
            raise
        super().__init__(ptr, supernet)
        self._backend, self._policy, self._owned = backend, policy, owned
        backend._borrow()
        policy._borrow()
        self._lookahead = None
        self._q = _ffi.new(_ffi.Query)
        self._r = _ffi.new(_ffi.Result)
        self._r.config.size = ctypes.sizeof(_ffi.Config)
        if profile is not None:
            try:
                self.set_profile(profile)
            except BaseException:
                self.close()
                raise

    def set_profile(self, profile):
        """Predict service time from a measured Profile (its `quantile`),
        after checking it was measured on this SuperNet and backend
        (SushiError SUSHI_ERR_INVALID otherwise). The values are copied.
        None goes back to the backend's model."""
        _check(lib.sushi_sched_set_profile(self, profile), "sushi_sched_set_profile")

    def close(self):
        if self._ptr is None:
            return
        super().close()  # the scheduler first: it uses the backend and the policy
        self._backend._unborrow()
        self._policy._unborrow()
        for o in self._owned:
            o.close()
        self._lookahead = None

    @property
    def supernet(self):
        return self._parent

    @property
    def backend(self):
        return self._backend

    @property
    def policy(self):
        return self._policy

    def submit(self, min_accuracy=0.0, slo_s=0.0, arrival_s=0.0, input=None, int8=False,
               start_s=-1.0):
        """Serve one query; returns a dict of sushi_result ("config" is a
        Config; "output" holds the logits when `input` was given and the
        backend ran it). The SLO counts from `arrival_s`; `start_s` is when
        service starts on the same clock (<= 0: a simulated FIFO server).
        A dropped query (late="drop") has "dropped" True and candidate -1."""
        q = self._q
        q.min_accuracy, q.slo_s, q.arrival_s, q.int8 = (float(min_accuracy), float(slo_s),
                                                        float(arrival_s), bool(int8))
        q.start_s = float(start_s)
        out = None
        if input is not None:
            import numpy as np
            a = np.ascontiguousarray(input, dtype=np.float32).reshape(-1)
            out = np.empty(self.supernet.info["num_classes"], dtype=np.float32)
            fp = ctypes.POINTER(ctypes.c_float)
            q.input, q.input_len = a.ctypes.data_as(fp), a.size
            q.output, q.output_len = out.ctypes.data_as(fp), out.size
        else:
            q.input, q.input_len, q.output, q.output_len = None, 0, None, 0
        r = self._r
        try:
            _check(lib.sushi_sched_submit(self, ctypes.byref(q), ctypes.byref(r)),
                   "sushi_sched_submit")
        finally:
            q.input = q.output = None
        d = _struct_dict(r)
        d["config"] = None if r.dropped else Config(r.config)
        if out is not None and r.ran:
            d["output"] = out
        return d

    def serve(self, trace, results=False):
        """Submit every entry of `trace` (a Trace, or an iterable of
        (t_s, min_accuracy, slo_s) tuples / dicts). Returns the stats dict, or
        (stats, list of result dicts) with ``results=True``."""
        kept = []
        for e in trace:
            if isinstance(e, dict):
                t, acc, slo = e.get("t_s", 0.0), e.get("min_accuracy", 0.0), e.get("slo_s", 0.0)
            else:
                t, acc, slo = e[0], e[1], e[2]
            r = self.submit(min_accuracy=acc, slo_s=slo, arrival_s=t)
            if results:
                kept.append(r)
        return (self.stats, kept) if results else self.stats

    def update(self):
        """Re-choose the resident SubGraph now."""
        _check(lib.sushi_sched_update(self), "sushi_sched_update")

    def set_lookahead(self, queries):
        """Give the queries to come (offline evaluation; the "oracle" policy
        reads them): a Trace or an iterable of (t_s, min_accuracy, slo_s)
        tuples / dicts. None clears."""
        if queries is None:
            _check(lib.sushi_sched_set_lookahead(self, None, 0), "sushi_sched_set_lookahead")
            self._lookahead = None
            return
        rows = list(queries)
        arr = (_ffi.Query * max(len(rows), 1))()
        for i, e in enumerate(rows):
            if isinstance(e, dict):
                t, acc, slo = e.get("t_s", 0.0), e.get("min_accuracy", 0.0), e.get("slo_s", 0.0)
            else:
                t, acc, slo = e[0], e[1], e[2]
            arr[i].size = ctypes.sizeof(_ffi.Query)
            arr[i].arrival_s, arr[i].min_accuracy, arr[i].slo_s = t, acc, slo
        _check(lib.sushi_sched_set_lookahead(self, arr, len(rows)), "sushi_sched_set_lookahead")
        self._lookahead = arr  # borrowed by the scheduler

    @property
    def stats(self):
        """dict of sushi_sched_stats (latency percentiles, SLO attainment, hit ratio, ...)."""
        st = _ffi.new(_ffi.SchedStats)
        _check(lib.sushi_sched_get_stats(self, ctypes.byref(st)), "sushi_sched_get_stats")
        return _struct_dict(st)

    def reset_stats(self):
        _check(lib.sushi_sched_reset_stats(self), "sushi_sched_reset_stats")

    @property
    def info(self):
        i = _ffi.new(_ffi.SchedInfo)
        _check(lib.sushi_sched_get_info(self, ctypes.byref(i)), "sushi_sched_get_info")
        return _struct_dict(i)

    @property
    def candidates(self):
        """The candidates served from, most accurate first (dicts; "config" is a Config)."""
        out = []
        for i in range(self.info["n_candidates"]):
            c = _ffi.new(_ffi.SchedCandidate)
            _check(lib.sushi_sched_candidate_get(self, i, ctypes.byref(c)),
                   "sushi_sched_candidate_get")
            d = _struct_dict(c, skip=("size", "subnet"))
            d["config"] = Config(_ffi.lib.sushi_subnet_config(c.subnet)[0])
            out.append(d)
        return out

    def resident(self):
        """A copy of the resident SubGraph."""
        g = self.supernet.subgraph()
        _check(lib.sushi_sched_get_resident(self, g), "sushi_sched_get_resident")
        return g

    def __repr__(self):
        return "<sushi.Scheduler closed>" if self.closed else "<sushi.Scheduler>"


# -------------------------------------------------------------------- profile
class Profile(_Handle):
    """sushi_profile: measured latency of every candidate on one backend
    (docs/profile.md). ``Profile.measure(backend, warmup=10, reps=200,
    int8=False)``, ``Profile.load(path, context)``, ``Profile.from_bytes``;
    ``save(path)``, ``to_bytes()``, ``info``, ``entries``,
    ``quantile(candidate, q)``, ``check(backend)``. Immutable; its read
    methods are thread-safe."""

    _destroy = _ffi.lib.sushi_profile_destroy if _ffi.has("sushi_profile_destroy") else None

    @classmethod
    def measure(cls, backend, warmup=10, reps=200, int8=False, seed=0):
        """Run every candidate of the backend's SuperNet (warm-up, then timed runs)."""
        o = _ffi.new(_ffi.ProfileOptions, warmup=int(warmup), reps=int(reps), int8=bool(int8),
                     seed=int(seed))
        ptr = _new_handle(lib.sushi_profile_measure, backend, ctypes.byref(o))
        return cls(ptr, backend.supernet.context)

    @classmethod
    def load(cls, path, context=None):
        ctx = Context() if context is None else context
        return cls(_new_handle(lib.sushi_profile_load_file, ctx, _b(path)), ctx)

    @classmethod
    def from_bytes(cls, buf, context=None):
        ctx = Context() if context is None else context
        data = bytes(buf)
        return cls(_new_handle(lib.sushi_profile_load_memory, ctx, data, len(data)), ctx)

    def save(self, path):
        """Write atomically (temporary file, fsync, rename)."""
        _check(lib.sushi_profile_save_file(self, _b(path)), "sushi_profile_save_file")

    def to_bytes(self):
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        _check(lib.sushi_profile_save_memory(self, ctypes.byref(p), ctypes.byref(n)),
               "sushi_profile_save_memory")
        try:
            return ctypes.string_at(p.value, n.value)
        finally:
            lib.sushi_profile_free_buffer(self, p)

    @property
    def info(self):
        """dict: backend, supernet, supernet_hash, cpu_model, library_version,
        threads, int8, warmup, reps, n_entries, created_unix_s, params (dict)."""
        i = _ffi.new(_ffi.ProfileInfo)
        _check(lib.sushi_profile_get_info(self, ctypes.byref(i)), "sushi_profile_get_info")
        d = _struct_dict(i, skip=("size", "n_params"))
        params = {}
        for k in range(i.n_params):
            key, val = ctypes.c_char_p(), ctypes.c_double()
            _check(lib.sushi_profile_param(self, k, ctypes.byref(key), ctypes.byref(val)),
                   "sushi_profile_param")
            params[_s(key.value)] = val.value
        d["params"] = params
        return d

    @property
    def entries(self):
        """list of dicts: candidate, n, mean_s, p50_s, p90_s, p99_s, max_s."""
        out = []
        for k in range(self.info["n_entries"]):
            e = _ffi.new(_ffi.ProfileEntry)
            _check(lib.sushi_profile_entry_get(self, k, ctypes.byref(e)), "sushi_profile_entry_get")
            out.append(_struct_dict(e))
        return out

    def quantile(self, candidate, q=0.99):
        """Latency quantile q (0.5, 0.9, 0.99, 1 stored; others interpolated) in seconds."""
        v = ctypes.c_double()
        _check(lib.sushi_profile_quantile(self, int(candidate), float(q), ctypes.byref(v)),
               "sushi_profile_quantile")
        return v.value

    def check(self, backend):
        """Raise SushiError unless measured on this backend's SuperNet and backend."""
        _check(lib.sushi_profile_check(self, backend), "sushi_profile_check")

    @staticmethod
    def supernet_hash(supernet):
        """The SuperNet content hash a profile records (64 hex digits)."""
        buf = (ctypes.c_char * 65)()
        _check(lib.sushi_profile_supernet_hash(supernet, buf), "sushi_profile_supernet_hash")
        return buf.value.decode()

    def __repr__(self):
        return "<sushi.Profile closed>" if self.closed else "<sushi.Profile>"


# ---------------------------------------------------------------------- trace
class Trace(_Handle):
    """sushi_trace: an immutable stream of queries (t_s, min_accuracy, slo_s,
    label), sorted by arrival. Make one with :meth:`generate`,
    :meth:`from_entries` or :meth:`load_csv`. Indexable and iterable (dicts)."""

    _destroy = _ffi.lib.sushi_trace_destroy if _ffi.has("sushi_trace_destroy") else None

    @classmethod
    def generate(cls, context=None, **options):
        """Generate a stream with tunable temporal locality. Options (defaults
        as SUSHI_TRACE_GEN_OPTIONS_INIT): seed, n_queries, n_regimes, dwell,
        mix, both, jitter, rate_hz, acc_lo, acc_hi, slo_lo_s, slo_hi_s."""
        unknown = set(options) - set(_ffi.TRACE_GEN_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown trace option(s): {', '.join(sorted(unknown))}")
        o = _ffi.new(_ffi.TraceGenOptions, **{**_ffi.TRACE_GEN_DEFAULTS, **options})
        return cls(_new_handle(lib.sushi_trace_generate, context, ctypes.byref(o)), context)

    @classmethod
    def from_entries(cls, entries, context=None):
        """From (t_s, min_accuracy, slo_s[, label]) tuples or dicts."""
        rows = list(entries)
        arr = (_ffi.TraceEntry * max(len(rows), 1))()
        for i, e in enumerate(rows):
            if isinstance(e, dict):
                vals = (e.get("t_s", 0.0), e.get("min_accuracy", 0.0), e.get("slo_s", 0.0),
                        e.get("label", -1))
            else:
                vals = tuple(e) + (-1,) * (4 - len(e))
            arr[i].size = ctypes.sizeof(_ffi.TraceEntry)
            arr[i].t_s, arr[i].min_accuracy, arr[i].slo_s = map(float, vals[:3])
            arr[i].label = int(vals[3])
        eb = _errbuf()
        out = ctypes.c_void_p()
        _check(lib.sushi_trace_create(context, arr, len(rows), ctypes.byref(out), eb,
                                      _ERRBUF_SIZE), "sushi_trace_create", eb)
        return cls(out.value, context)

    @classmethod
    def load_csv(cls, path, context=None):
        """Read a CSV trace (t_s,min_accuracy,slo_s[,label]); errors name the line."""
        eb = _errbuf()
        out = ctypes.c_void_p()
        _check(lib.sushi_trace_load_csv(context, _b(path), ctypes.byref(out), eb, _ERRBUF_SIZE),
               "sushi_trace_load_csv", eb)
        return cls(out.value, context)

    def save_csv(self, path):
        _check(lib.sushi_trace_save_csv(self, _b(path)), "sushi_trace_save_csv")

    def __len__(self):
        return int(lib.sushi_trace_length(self))

    def __getitem__(self, i):
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("trace index out of range")
        e = _ffi.new(_ffi.TraceEntry)
        _check(lib.sushi_trace_get(self, i, ctypes.byref(e)), "sushi_trace_get")
        return _struct_dict(e)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        return "<sushi.Trace closed>" if self.closed else f"<sushi.Trace {len(self)} queries>"


# --------------------------------------------------------------------- server
class Ticket(_Handle):
    """One query submitted to a :class:`Server`: ``wait(timeout=None)`` and
    ``poll()`` return ``(status, result)`` once it is answered (status 0 =
    served; ``SUSHI_ERR_DROPPED``, ``SUSHI_ERR_CANCELLED`` or another negative
    status otherwise; result is a dict of sushi_result with "output" holding
    the logits when an input was given and it ran), or None while it is not.
    The ticket keeps the query's input and output buffers alive until then."""

    _destroy = _ffi.lib.sushi_ticket_destroy if _ffi.has("sushi_ticket_destroy") else None

    def __init__(self, ptr, server, buffers, user):
        super().__init__(ptr, server)
        self._buffers = buffers      # (input, output) numpy arrays or None
        self.user = user
        self._answer = None

    def _fetch(self, timeout):
        if self._answer is not None:
            return self._answer
        st = ctypes.c_int(1)
        r = _ffi.new(_ffi.Result)
        rc = lib.sushi_ticket_wait(self, -1.0 if timeout is None else float(timeout), ctypes.byref(st),
                                   ctypes.byref(r))
        if rc == _ffi.STATUS["ERR_STATE"]:
            return None
        _check(rc, "sushi_ticket_wait")
        d = _struct_dict(r)
        d["config"] = Config(r.config) if st.value == 0 else None
        if self._buffers and self._buffers[1] is not None and r.ran:
            d["output"] = self._buffers[1]
        self._answer = (st.value, d)
        self._buffers = None
        return self._answer

    def wait(self, timeout=None):
        """Block until answered (None = forever) and return (status, result),
        or None when `timeout` seconds passed first. Releases the GIL."""
        return self._fetch(timeout)

    def poll(self):
        """(status, result) when answered, else None; never blocks."""
        return self._fetch(0.0)

    @property
    def done(self):
        return self.poll() is not None

    def __repr__(self):
        return "<sushi.Ticket %s>" % ("answered" if self._answer else "pending")


class Server(_Handle):
    """sushi_server: a bounded queue and `workers` threads, each with its own
    `backend` instance, `policy` instance and scheduler over `supernet`
    (docs/server.md). ``submit()`` is thread-safe and never blocks: it returns
    a :class:`Ticket`, or raises SushiError ``SUSHI_ERR_BUSY`` when the queue
    is full. ``shutdown(cancel=False)`` serves (or, with cancel, answers
    ``SUSHI_ERR_CANCELLED``) every queued query and joins the workers;
    ``close()`` cancels. `callback(user, status, result)` (optional) is called
    on a worker thread for every answered query (with the GIL; keep it short).
    `sched` takes the Scheduler keywords (mode, fallback, window, late,
    adapt, quantile, ...). `order` is "edf" (earliest deadline first, the
    default) or "fifo"; `best_effort_s` orders queries without an SLO under
    EDF; `worker_slice_s` is the OS time slice each worker asks for (0: the
    OS default); `worker_nice` the nice value each worker sets (0: inherited);
    `block_miss` the blocking-aware cap's budget (0..1, 0 = off; docs/server.md).
    Every accepted query is answered exactly once.
    """

    _destroy = _ffi.lib.sushi_server_destroy if _ffi.has("sushi_server_destroy") else None

    def __init__(self, supernet, backend, policy="sushi", *, workers=1, queue_capacity=64,
                 callback=None, order="edf", best_effort_s=1.0, worker_slice_s=0.0001, worker_nice=0, block_miss=0.001, **sched):
        so = _ffi.new(_ffi.SchedOptions)
        defaults = {"mode": "both", "fallback": "accuracy_first", "reload": "next_query",
                    "pareto": "macs_bytes", "window": 100, "pb_bytes": None, "latency_samples": 0,
                    "seed": 0, "late": "fastest", "adapt": "auto", "quantile": 0.99, "adapt_window": 15}
        unknown = set(sched) - set(defaults)
        if unknown:
            raise TypeError(f"unknown scheduler option(s): {sorted(unknown)}")
        o = dict(defaults, **sched)
        so.mode = _enum(_ffi.SCHED_MODES, o["mode"], "mode")
        so.fallback = _enum(_ffi.SCHED_FALLBACKS, o["fallback"], "fallback")
        so.reload = _enum(_ffi.SCHED_RELOADS, o["reload"], "reload")
        so.pareto = _enum(_ffi.SCHED_PARETOS, o["pareto"], "pareto")
        so.window = int(o["window"])
        so.pb_bytes = _ffi.SCHED_PB_AUTO if o["pb_bytes"] is None else int(o["pb_bytes"])
        so.latency_samples, so.seed = int(o["latency_samples"]), int(o["seed"])
        so.late = _enum(_ffi.SCHED_LATES, o["late"], "late")
        so.adapt = _enum(_ffi.SCHED_ADAPTS, o["adapt"], "adapt")
        so.quantile, so.adapt_window = float(o["quantile"]), int(o["adapt_window"])
        self._sched_opts = so
        self._user_cb = callback
        self._pending = {}       # id -> Ticket, until answered
        self._next_id = 0
        self._cb = _ffi.SERVER_CALLBACK(self._on_done) if callback else _ffi.SERVER_CALLBACK()
        opts = _ffi.new(_ffi.ServerOptions, backend=_b(backend), policy=_b(policy),
                        workers=int(workers), queue_capacity=int(queue_capacity),
                        sched=ctypes.pointer(so), callback=self._cb,
                        order=_enum(_ffi.SERVER_ORDERS, order, "order"),
                        best_effort_s=float(best_effort_s), worker_slice_s=float(worker_slice_s),
                        worker_nice=int(worker_nice), block_miss=float(block_miss))
        ptr = _new_handle(lib.sushi_server_create, supernet, ctypes.byref(opts))
        super().__init__(ptr, supernet)
        self._n_in = supernet.info["in_channels"]
        self._n_out = supernet.info["num_classes"]

    def _on_done(self, user, query_user, status, r):
        # a worker thread (or the closing thread for cancelled queries), with the GIL
        t = self._pending.get(query_user or 0)
        if t is None or self._user_cb is None:
            return
        d = _struct_dict(r[0])
        d["config"] = Config(r[0].config) if status == 0 else None
        if t._buffers and t._buffers[1] is not None and r[0].ran:
            d["output"] = t._buffers[1]
        try:
            self._user_cb(t.user, status, d)
        except Exception:  # never let an exception unwind into C
            import traceback
            traceback.print_exc()

    def _prune(self):
        for k in [k for k, t in self._pending.items() if t.poll() is not None]:
            del self._pending[k]

    def now(self):
        """The server clock (seconds of CLOCK_MONOTONIC since creation)."""
        return lib.sushi_server_now(self)

    def submit(self, min_accuracy=0.0, slo_s=0.0, input=None, arrival_s=None, int8=False, user=None):
        """Queue one query; returns a Ticket. `arrival_s` (server clock, not
        later than now) is kept when given, else the arrival is stamped now.
        `input` (numpy-compatible, NCHW float32 at any square size) is copied
        and really classified; the logits come back in result["output"]."""
        self._prune()
        q = _ffi.new(_ffi.Query, min_accuracy=float(min_accuracy), slo_s=float(slo_s),
                     arrival_s=0.0 if arrival_s is None else float(arrival_s), int8=bool(int8),
                     start_s=-1.0)
        bufs = None
        if input is not None:
            import numpy as np
            a = np.array(input, dtype=np.float32).reshape(-1)  # a copy the caller cannot change
            out = np.zeros(self._n_out, dtype=np.float32)
            fp = ctypes.POINTER(ctypes.c_float)
            q.input, q.input_len = a.ctypes.data_as(fp), a.size
            q.output, q.output_len = out.ctypes.data_as(fp), out.size
            bufs = (a, out)
        self._next_id += 1
        qid = self._next_id
        t = Ticket(None, self, bufs, user)
        self._pending[qid] = t   # before submit: the callback may run at once
        out_t = ctypes.c_void_p()
        rc = lib.sushi_server_submit(self, ctypes.byref(q), 0 if arrival_s is None else _ffi.SERVER_SUBMIT_ARRIVAL,
                                     ctypes.c_void_p(qid), ctypes.byref(out_t))
        if rc != 0:
            del self._pending[qid]
            t._buffers = None
            _check(rc, "sushi_server_submit")
        t._ptr = out_t.value
        return t

    def shutdown(self, cancel=False):
        """Stop accepting queries; serve (or cancel) the queued ones; join the workers."""
        _check(lib.sushi_server_shutdown(self, _ffi.SERVER_SHUTDOWN_CANCEL if cancel else
                                         _ffi.SERVER_SHUTDOWN_DRAIN), "sushi_server_shutdown")
        self._prune()

    def close(self):
        super().close()  # cancels what is queued; every query is answered
        for t in self._pending.values():
            t.poll()
        self._pending.clear()

    @property
    def stats(self):
        """dict of sushi_server_stats (submitted, rejected, served, dropped,
        cancelled, e2e_slo_attainment, e2e_p99_s, ...)."""
        st = _ffi.new(_ffi.ServerStats)
        _check(lib.sushi_server_get_stats(self, ctypes.byref(st)), "sushi_server_get_stats")
        return _struct_dict(st)

    def worker_stats(self, i):
        """dict of sushi_sched_stats of worker i (after shutdown())."""
        st = _ffi.new(_ffi.SchedStats)
        _check(lib.sushi_server_get_worker_stats(self, int(i), ctypes.byref(st)),
               "sushi_server_get_worker_stats")
        return _struct_dict(st)

    def __repr__(self):
        return "<sushi.Server closed>" if self.closed else "<sushi.Server>"
