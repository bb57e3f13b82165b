"""Low-level ctypes mirror of the libsushi C ABI (include/sushi/*.h).

Everything here matches the public headers field for field. Option and
result structs start with ``size_t size``; :func:`new` fills it from
``ctypes.sizeof`` so the library can check the layout (SUSHI_ERR_ABI).
tests/python/test_binding.py compares every structure below against sizeof
and offsetof values printed by a C program compiled against the headers.

Nothing in this module owns a handle: the classes in ``sushi`` do.
"""
import ctypes
import ctypes.util
import glob
import os

c_size_t = ctypes.c_size_t
c_int = ctypes.c_int
c_uint32 = ctypes.c_uint32
c_int32 = ctypes.c_int32
c_uint64 = ctypes.c_uint64
c_uint8 = ctypes.c_uint8
c_double = ctypes.c_double
c_float = ctypes.c_float
c_bool = ctypes.c_bool
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
POINTER = ctypes.POINTER

# ----------------------------------------------------------------- constants
# status.h (values pinned forever)
STATUS = {
    "OK": 0, "ERR_INVALID": -1, "ERR_NOMEM": -2, "ERR_IO": -3, "ERR_FORMAT": -4,
    "ERR_VERSION": -5, "ERR_NOT_FOUND": -6, "ERR_RANGE": -7, "ERR_OVERFLOW": -8,
    "ERR_UNSUPPORTED": -9, "ERR_STATE": -10, "ERR_EXISTS": -11, "ERR_ABI": -12,
    "ERR_INFEASIBLE": -13, "ERR_CONFIG": -14, "ERR_INTEGRITY": -15,
    "ERR_BACKEND": -16, "ERR_TRUNCATED": -17,
    "ERR_BUSY": -18, "ERR_CANCELLED": -19, "ERR_DROPPED": -20,
}
# supernet.h
LOAD_BORROW = 1 << 0
LOAD_NO_VERIFY = 1 << 1
LOAD_CHECK_FINITE = 1 << 2
WEIGHTS_AUTO, WEIGHTS_SEED, WEIGHTS_F32 = 0, 1, 2
ELASTIC_KS, ELASTIC_E, ELASTIC_D, ELASTIC_W = 0, 1, 2, 3
# subnet.h
CONFIG_MAX_SLOTS = 64
CONFIG_MAX_GROUPS = 16
OP_NAMES = ["conv", "dwconv", "linear", "maxpool", "avgpool", "gap", "add", "se"]
ACT_NAMES = ["none", "relu", "hswish", "hsigmoid"]
# backend.h
BACKEND_CAP_RUN = 1 << 0
BACKEND_CAP_COST = 1 << 1
BACKEND_CAP_INT8 = 1 << 2
BACKEND_CAP_MEASURED = 1 << 3
# context.h
LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = 0, 1, 2, 3
UINT32_MAX = 0xFFFFFFFF


# ---------------------------------------------------------------- structures
class Allocator(ctypes.Structure):          # sushi_allocator
    _fields_ = [("size", c_size_t), ("malloc_fn", c_void_p), ("realloc_fn", c_void_p),
                ("free_fn", c_void_p), ("user", c_void_p)]


class LoadOptions(ctypes.Structure):        # sushi_load_options
    _fields_ = [("size", c_size_t), ("flags", c_uint32), ("errbuf", c_void_p),
                ("errbuf_size", c_size_t)]


class SaveOptions(ctypes.Structure):        # sushi_save_options
    _fields_ = [("size", c_size_t), ("weights", c_int)]


class SupernetInfo(ctypes.Structure):       # sushi_supernet_info
    _fields_ = [("size", c_size_t), ("name", c_char_p), ("family", c_char_p),
                ("synthetic", c_bool), ("provenance", c_char_p),
                ("in_channels", c_uint32), ("num_classes", c_uint32),
                ("default_resolution", c_uint32), ("n_resolutions", c_uint32),
                ("n_units", c_uint32), ("n_tensors", c_uint32), ("n_candidates", c_uint32),
                ("n_ks", c_uint32), ("n_e", c_uint32), ("n_d", c_uint32), ("n_w", c_uint32),
                ("weight_elems", c_uint64)]


class UnitInfo(ctypes.Structure):           # sushi_unit_info
    _fields_ = [("size", c_size_t), ("name", c_char_p), ("kind", c_char_p),
                ("in_max", c_uint32), ("out_max", c_uint32), ("stride", c_uint32)]


class Config(ctypes.Structure):             # sushi_config
    _fields_ = [("size", c_size_t), ("resolution", c_uint32),
                ("n_ks", c_uint32), ("n_e", c_uint32), ("n_d", c_uint32), ("n_w", c_uint32),
                ("ks", c_uint8 * CONFIG_MAX_SLOTS), ("e", c_float * CONFIG_MAX_SLOTS),
                ("d", c_uint8 * CONFIG_MAX_GROUPS), ("w", c_uint8 * CONFIG_MAX_GROUPS)]


class SubnetStats(ctypes.Structure):        # sushi_subnet_stats
    _fields_ = [("size", c_size_t), ("params", c_uint64), ("macs", c_uint64),
                ("weight_bytes", c_uint64), ("n_layers", c_uint32), ("candidate", c_int32),
                ("accuracy", c_double)]


class LayerInfo(ctypes.Structure):          # sushi_layer_info
    _fields_ = [("size", c_size_t), ("op", c_int), ("act", c_int), ("name", c_char_p),
                ("in_c", c_uint32), ("in_h", c_uint32), ("in_w", c_uint32),
                ("out_c", c_uint32), ("out_h", c_uint32), ("out_w", c_uint32),
                ("kernel", c_uint32), ("stride", c_uint32), ("pad", c_uint32),
                ("input", c_uint32), ("input2", c_uint32), ("output", c_uint32),
                ("params", c_uint64), ("macs", c_uint64), ("weight_bytes", c_uint64)]


class CandidateInfo(ctypes.Structure):      # sushi_candidate_info
    _fields_ = [("size", c_size_t), ("config", Config), ("accuracy", c_double),
                ("accuracy_source", c_char_p), ("dataset", c_char_p), ("metric", c_char_p),
                ("macs", c_uint64), ("params", c_uint64), ("weight_bytes", c_uint64)]


class Cost(ctypes.Structure):               # sushi_cost
    _fields_ = [("size", c_size_t), ("latency_s", c_double), ("cycles", c_uint64),
                ("macs", c_uint64), ("offchip_bytes", c_uint64), ("weight_bytes", c_uint64),
                ("act_bytes", c_uint64), ("hit_bytes", c_uint64), ("onchip_bytes", c_uint64),
                ("energy_j", c_double), ("energy_offchip_j", c_double),
                ("energy_onchip_j", c_double), ("energy_compute_j", c_double)]


class RunArgs(ctypes.Structure):            # sushi_run_args
    _fields_ = [("size", c_size_t), ("input", POINTER(c_float)), ("input_len", c_size_t),
                ("output", POINTER(c_float)), ("output_len", c_size_t), ("int8", c_bool)]


class PolicyView(ctypes.Structure):         # sushi_policy_view
    _fields_ = [("size", c_size_t), ("supernet", c_void_p), ("capacity_bytes", c_uint64),
                ("current", c_void_p),
                ("window", POINTER(c_void_p)), ("n_window", c_size_t),
                ("future", POINTER(c_void_p)), ("n_future", c_size_t),
                ("candidates", POINTER(c_void_p)), ("n_candidates", c_size_t),
                # 0.3: the cache objective (0 = bytes) and the tile-savings callback
                ("objective", c_int), ("tile_savings", c_void_p), ("tile_savings_user", c_void_p)]


class CpuMemory(ctypes.Structure):          # sushi_cpu_memory (cpu.h)
    _fields_ = [("size", c_size_t), ("arena_bytes", c_uint64), ("scratch_bytes", c_uint64),
                ("unplanned_bytes", c_uint64), ("int8_arena_bytes", c_uint64),
                ("int8_scratch_bytes", c_uint64)]


# sched.h
SCHED_MODES = {"most_accurate": 0, "fastest": 1, "both": 2}
SCHED_FALLBACKS = {"accuracy_first": 0, "latency_first": 1}
SCHED_RELOADS = {"next_query": 0, "separate": 1}
SCHED_PARETOS = {"macs_bytes": 0, "macs": 1, "bytes": 2, "none": 3}
SCHED_PB_AUTO = 0xFFFFFFFFFFFFFFFF
SCHED_LATES = {"fastest": 0, "drop": 1}
SCHED_ADAPTS = {"auto": 0, "off": 1, "on": 2}


class SchedOptions(ctypes.Structure):       # sushi_sched_options
    _fields_ = [("size", c_size_t), ("mode", c_int), ("fallback", c_int), ("reload", c_int),
                ("pareto", c_int), ("window", c_uint32), ("pb_bytes", c_uint64),
                ("latency_samples", c_uint32), ("seed", c_uint64), ("late", c_int),
                ("adapt", c_int), ("quantile", c_double), ("adapt_window", c_uint32)]


class Query(ctypes.Structure):              # sushi_query
    _fields_ = [("size", c_size_t), ("min_accuracy", c_double), ("slo_s", c_double),
                ("arrival_s", c_double), ("input", POINTER(c_float)), ("input_len", c_size_t),
                ("output", POINTER(c_float)), ("output_len", c_size_t), ("int8", c_bool),
                ("start_s", c_double)]


class Result(ctypes.Structure):             # sushi_result
    _fields_ = [("size", c_size_t), ("index", c_uint64), ("candidate", c_int32),
                ("config", Config), ("accuracy", c_double), ("predicted_s", c_double),
                ("latency_s", c_double), ("queue_s", c_double), ("offchip_bytes", c_uint64),
                ("weight_bytes", c_uint64), ("hit_bytes", c_uint64), ("energy_j", c_double),
                ("energy_offchip_j", c_double), ("slo_met", c_bool), ("accuracy_met", c_bool),
                ("fallback", c_bool), ("ran", c_bool), ("updated", c_bool),
                ("reload_bytes", c_uint64), ("reload_s", c_double),
                ("reload_energy_j", c_double), ("decision_ns", c_uint64), ("e2e_s", c_double),
                ("budget_s", c_double), ("e2e_slo_met", c_bool), ("dropped", c_bool),
                ("adapted", c_bool), ("load_factor", c_double)]


class SchedStats(ctypes.Structure):         # sushi_sched_stats
    _fields_ = [("size", c_size_t), ("queries", c_uint64), ("latency_mean_s", c_double),
                ("latency_p50_s", c_double), ("latency_p99_s", c_double),
                ("latency_max_s", c_double), ("latency_exact", c_bool),
                ("queue_mean_s", c_double), ("slo_queries", c_uint64),
                ("slo_attainment", c_double), ("accuracy_queries", c_uint64),
                ("accuracy_attainment", c_double), ("accuracy_mean", c_double),
                ("fallbacks", c_uint64), ("offchip_bytes", c_uint64), ("weight_bytes", c_uint64),
                ("hit_bytes", c_uint64), ("pb_hit_ratio", c_double), ("updates", c_uint64),
                ("reloads", c_uint64), ("reload_bytes", c_uint64), ("reload_s", c_double),
                ("energy_j", c_double), ("energy_offchip_j", c_double),
                ("decision_mean_ns", c_double), ("decision_max_ns", c_uint64),
                ("update_mean_ns", c_double), ("dropped", c_uint64),
                ("e2e_latency_mean_s", c_double), ("e2e_latency_p50_s", c_double),
                ("e2e_latency_p99_s", c_double), ("e2e_latency_max_s", c_double),
                ("e2e_slo_queries", c_uint64), ("e2e_slo_attainment", c_double),
                ("service_slo_attainment", c_double), ("adaptive", c_bool),
                ("load_factor", c_double)]


class SchedInfo(ctypes.Structure):          # sushi_sched_info
    _fields_ = [("size", c_size_t), ("n_candidates", c_uint32), ("n_with_accuracy", c_uint32),
                ("window", c_uint32), ("pb_bytes", c_uint64), ("resident_bytes", c_uint64),
                ("accuracy_min", c_double), ("accuracy_max", c_double),
                ("latency_min_s", c_double), ("latency_max_s", c_double),
                ("backend", c_char_p), ("policy", c_char_p)]


class SchedCandidate(ctypes.Structure):     # sushi_sched_candidate
    _fields_ = [("size", c_size_t), ("table_index", c_int32), ("accuracy", c_double),
                ("predicted_s", c_double), ("weight_bytes", c_uint64), ("hit_bytes", c_uint64),
                ("subnet", c_void_p)]


# profile.h
class ProfileOptions(ctypes.Structure):     # sushi_profile_options
    _fields_ = [("size", c_size_t), ("warmup", c_uint32), ("reps", c_uint32), ("int8", c_bool),
                ("seed", c_uint64)]


class ProfileInfo(ctypes.Structure):        # sushi_profile_info
    _fields_ = [("size", c_size_t), ("backend", c_char_p), ("supernet", c_char_p),
                ("supernet_hash", c_char_p), ("cpu_model", c_char_p),
                ("library_version", c_char_p), ("threads", c_uint32), ("int8", c_bool),
                ("warmup", c_uint32), ("reps", c_uint32), ("n_entries", c_uint32),
                ("n_params", c_uint32), ("created_unix_s", c_double)]


class ProfileEntry(ctypes.Structure):       # sushi_profile_entry
    _fields_ = [("size", c_size_t), ("candidate", c_int32), ("n", c_uint32), ("mean_s", c_double),
                ("p50_s", c_double), ("p90_s", c_double), ("p99_s", c_double),
                ("max_s", c_double)]


PROFILE_DEFAULTS = dict(warmup=10, reps=200, int8=False, seed=0)


# trace.h
class TraceEntry(ctypes.Structure):         # sushi_trace_entry
    _fields_ = [("size", c_size_t), ("t_s", c_double), ("min_accuracy", c_double),
                ("slo_s", c_double), ("label", ctypes.c_int64)]


class TraceGenOptions(ctypes.Structure):    # sushi_trace_gen_options
    _fields_ = [("size", c_size_t), ("seed", c_uint64), ("n_queries", c_uint32),
                ("n_regimes", c_uint32), ("dwell", c_double), ("mix", c_double),
                ("both", c_double), ("jitter", c_double), ("rate_hz", c_double),
                ("acc_lo", c_double), ("acc_hi", c_double), ("slo_lo_s", c_double),
                ("slo_hi_s", c_double)]


#: SUSHI_TRACE_GEN_OPTIONS_INIT / SUSHI_SCHED_OPTIONS_INIT defaults (checked by the layout test)
TRACE_GEN_DEFAULTS = dict(seed=0, n_queries=1000, n_regimes=4, dwell=100.0, mix=0.5, both=0.0,
                          jitter=0.02, rate_hz=100.0, acc_lo=0.70, acc_hi=0.80, slo_lo_s=1e-3,
                          slo_hi_s=1e-2)
SCHED_DEFAULTS = dict(mode=2, fallback=0, reload=0, pareto=0, window=100,
                      pb_bytes=SCHED_PB_AUTO, latency_samples=0, seed=0, late=0, adapt=0,
                      quantile=0.99, adapt_window=15)


# Callback types (context.h, backend.h, policy.h). The ops tables are
# mirrored so their layout is checked too, although the Python API does not
# register backends or policies yet.
LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)


class BackendOps(ctypes.Structure):         # sushi_backend_ops
    _fields_ = [("abi_version", c_uint32), ("caps", c_uint32), ("description", c_char_p),
                ("create", c_void_p), ("destroy", c_void_p), ("set_param", c_void_p),
                ("get_param", c_void_p), ("cost", c_void_p), ("set_resident", c_void_p),
                ("run", c_void_p), ("tile_savings", c_void_p)]  # tile_savings: table version 2 (0.3)


class PolicyOps(ctypes.Structure):          # sushi_policy_ops
    _fields_ = [("abi_version", c_uint32), ("description", c_char_p), ("create", c_void_p),
                ("destroy", c_void_p), ("observe", c_void_p), ("choose", c_void_p)]


# server.h
SERVER_CALLBACK = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, c_int, POINTER(Result))
SERVER_SETUP = ctypes.CFUNCTYPE(c_int, c_void_p, c_uint32, c_void_p, c_void_p)
SERVER_SUBMIT_ARRIVAL = 1
SERVER_SHUTDOWN_DRAIN, SERVER_SHUTDOWN_CANCEL = 0, 1
SERVER_ORDERS = {"edf": 0, "fifo": 1}


class ServerOptions(ctypes.Structure):      # sushi_server_options
    _fields_ = [("size", c_size_t), ("backend", c_char_p), ("policy", c_char_p),
                ("workers", c_uint32), ("queue_capacity", c_uint32),
                ("sched", POINTER(SchedOptions)), ("callback", SERVER_CALLBACK),
                ("callback_user", c_void_p), ("setup", SERVER_SETUP), ("setup_user", c_void_p),
                ("order", c_uint32), ("best_effort_s", c_double), ("worker_slice_s", c_double),
                ("worker_nice", ctypes.c_int32), ("block_miss", c_double)]


class ServerStats(ctypes.Structure):        # sushi_server_stats
    _fields_ = [("size", c_size_t), ("workers", c_uint32), ("queue_capacity", c_uint32),
                ("queue_depth", c_uint32), ("queue_max_depth", c_uint32),
                ("submitted", c_uint64), ("rejected", c_uint64), ("answered", c_uint64),
                ("served", c_uint64), ("dropped", c_uint64), ("cancelled", c_uint64),
                ("failed", c_uint64), ("slo_queries", c_uint64),
                ("e2e_slo_attainment", c_double), ("e2e_mean_s", c_double),
                ("e2e_p50_s", c_double), ("e2e_p99_s", c_double), ("e2e_max_s", c_double),
                ("wait_mean_s", c_double), ("accuracy_mean", c_double)]


#: Every mirrored struct, by its C name (used by the layout test).
STRUCTS = {
    "sushi_allocator": Allocator, "sushi_load_options": LoadOptions,
    "sushi_save_options": SaveOptions, "sushi_supernet_info": SupernetInfo,
    "sushi_unit_info": UnitInfo, "sushi_config": Config, "sushi_subnet_stats": SubnetStats,
    "sushi_layer_info": LayerInfo, "sushi_candidate_info": CandidateInfo,
    "sushi_cost": Cost, "sushi_run_args": RunArgs, "sushi_policy_view": PolicyView,
    "sushi_backend_ops": BackendOps, "sushi_policy_ops": PolicyOps,
    "sushi_cpu_memory": CpuMemory,
    "sushi_sched_options": SchedOptions, "sushi_query": Query, "sushi_result": Result,
    "sushi_sched_stats": SchedStats, "sushi_sched_info": SchedInfo,
    "sushi_sched_candidate": SchedCandidate, "sushi_trace_entry": TraceEntry,
    "sushi_trace_gen_options": TraceGenOptions,
    "sushi_server_options": ServerOptions, "sushi_server_stats": ServerStats,
    "sushi_profile_options": ProfileOptions, "sushi_profile_info": ProfileInfo,
    "sushi_profile_entry": ProfileEntry,
}


def new(cls, **fields):
    """An instance of a size-first struct with ``size`` filled (the *_INIT macros)."""
    obj = cls(**fields)
    obj.size = ctypes.sizeof(cls)
    return obj


# ------------------------------------------------------------ library lookup
def _candidates():
    env = os.environ.get("SUSHI_LIBRARY")
    if env:
        yield env
        return
    # An installed package: meson install wrote _config.py with the library's path.
    try:
        from . import _config
    except ImportError:
        pass
    else:
        yield _config.LIBRARY
    found = ctypes.util.find_library("sushi")
    if found:
        yield found
    # An uninstalled checkout: bindings/python/sushi -> repository root.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    for pattern in ("build/libsushi.so", "build*/libsushi.so"):
        for path in sorted(glob.glob(os.path.join(root, pattern))):
            yield path
    yield "libsushi.so.0"


def _load():
    errors = []
    for name in _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise OSError("libsushi not found (set SUSHI_LIBRARY to the path of libsushi.so); tried:\n  "
                  + "\n  ".join(errors))


lib = _load()

# ---------------------------------------------------------------- prototypes
_P = c_void_p            # every opaque handle travels as void *
_PP = POINTER(c_void_p)  # handle out-parameter

_PROTOS = {
    # version.h / status.h
    "sushi_version_string": (c_char_p, []),
    "sushi_version_number": (ctypes.c_uint, []),
    "sushi_status_name": (c_char_p, [c_int]),
    "sushi_status_str": (c_char_p, [c_int]),
    # context.h
    "sushi_context_create": (c_int, [POINTER(Allocator), _PP]),
    "sushi_context_destroy": (None, [_P]),
    "sushi_context_set_log": (c_int, [_P, LOG_FN, c_void_p, c_int]),
    # supernet.h
    "sushi_supernet_load_file": (c_int, [_P, c_char_p, POINTER(LoadOptions), _PP]),
    "sushi_supernet_load_memory": (c_int, [_P, c_void_p, c_size_t, POINTER(LoadOptions), _PP]),
    "sushi_supernet_builtin": (c_int, [_P, c_char_p, c_uint64, _PP]),
    "sushi_supernet_builtin_name": (c_char_p, [c_size_t]),
    "sushi_supernet_save_file": (c_int, [_P, c_char_p, POINTER(SaveOptions)]),
    "sushi_supernet_save_memory": (c_int, [_P, POINTER(SaveOptions), _PP, POINTER(c_size_t)]),
    "sushi_supernet_free_buffer": (None, [_P, c_void_p]),
    "sushi_supernet_destroy": (None, [_P]),
    "sushi_supernet_get_info": (c_int, [_P, POINTER(SupernetInfo)]),
    "sushi_supernet_resolution": (c_uint32, [_P, c_size_t]),
    # input.h
    "sushi_supernet_input_norm": (c_int, [_P, POINTER(ctypes.c_float), POINTER(ctypes.c_float), c_size_t]),
    "sushi_input_resize": (c_int, [c_void_p, c_uint32, c_uint32, c_uint32, c_void_p, c_uint32, c_uint32]),
    "sushi_input_from_u8": (c_int, [_P, c_void_p, c_uint32, c_uint32, c_uint32, c_uint32, c_void_p,
                                    c_size_t]),
    "sushi_supernet_choices": (c_int, [_P, c_int, c_size_t, POINTER(c_double), c_size_t]),
    "sushi_supernet_unit": (c_int, [_P, c_size_t, POINTER(UnitInfo)]),
    "sushi_supernet_candidate": (c_int, [_P, c_size_t, POINTER(CandidateInfo)]),
    "sushi_supernet_find_candidate": (c_int, [_P, POINTER(Config)]),
    # candidate-table editors (supernet.h): copies of a SuperNet with new measurements
    "sushi_supernet_with_accuracies": (c_int, [_P, POINTER(ctypes.c_double), c_size_t, c_char_p,
                                               c_char_p, c_char_p, _PP]),
    "sushi_supernet_with_int8_ranges": (c_int, [_P, POINTER(POINTER(ctypes.c_float)),
                                                POINTER(c_size_t), c_size_t, c_char_p, _PP]),
    "sushi_supernet_with_bn_stats": (c_int, [_P, POINTER(POINTER(ctypes.c_float)),
                                             POINTER(c_size_t), c_size_t, c_char_p, _PP]),
    "sushi_supernet_with_candidates": (c_int, [_P, POINTER(Config), c_size_t, c_char_p, _PP]),
    "sushi_supernet_candidate_int8_ranges": (c_int, [_P, c_size_t, POINTER(POINTER(ctypes.c_float)),
                                                     POINTER(c_size_t)]),
    "sushi_supernet_tensor_name": (c_char_p, [_P, c_size_t]),
    # subnet.h
    "sushi_config_parse": (c_int, [_P, c_char_p, c_uint32, POINTER(Config), c_void_p, c_size_t]),
    "sushi_config_extreme": (c_int, [_P, c_bool, c_uint32, POINTER(Config)]),
    "sushi_config_validate": (c_int, [_P, POINTER(Config), c_void_p, c_size_t]),
    "sushi_config_print": (c_int, [POINTER(Config), c_void_p, c_size_t]),
    "sushi_config_equal": (c_bool, [POINTER(Config), POINTER(Config)]),
    "sushi_subnet_create": (c_int, [_P, POINTER(Config), _PP]),
    "sushi_subnet_destroy": (None, [_P]),
    "sushi_subnet_config": (POINTER(Config), [_P]),
    "sushi_subnet_get_stats": (c_int, [_P, POINTER(SubnetStats)]),
    "sushi_subnet_layer": (c_int, [_P, c_size_t, POINTER(LayerInfo)]),
    # subgraph.h
    "sushi_subgraph_create": (c_int, [_P, _PP]),
    "sushi_subgraph_destroy": (None, [_P]),
    "sushi_subgraph_clear": (c_int, [_P]),
    "sushi_subgraph_copy": (c_int, [_P, _P]),
    "sushi_subgraph_set_subnet": (c_int, [_P, _P]),
    "sushi_subgraph_intersect_subnet": (c_int, [_P, _P]),
    "sushi_subgraph_intersect": (c_int, [_P, _P, _P]),
    "sushi_subgraph_bytes": (c_uint64, [_P]),
    "sushi_subgraph_hit_bytes": (c_uint64, [_P, _P]),
    "sushi_subgraph_contains": (c_bool, [_P, _P]),
    "sushi_subgraph_contains_subnet": (c_bool, [_P, _P]),
    "sushi_subgraph_truncate": (c_int, [_P, c_uint64]),
    "sushi_subgraph_n_tensors": (c_size_t, [_P]),
    "sushi_subgraph_get": (c_int, [_P, c_size_t, POINTER(c_uint32), POINTER(c_uint32),
                                   POINTER(c_uint32)]),
    "sushi_subgraph_set": (c_int, [_P, c_size_t, c_uint32, c_uint32]),
    # backend.h
    "sushi_backend_name": (c_char_p, [_P, c_size_t]),
    "sushi_backend_create": (c_int, [_P, c_char_p, _PP]),
    "sushi_backend_destroy": (None, [_P]),
    "sushi_backend_get_name": (c_char_p, [_P]),
    "sushi_backend_caps": (c_uint32, [_P]),
    "sushi_backend_set_param": (c_int, [_P, c_char_p, c_double]),
    "sushi_backend_get_param": (c_int, [_P, c_char_p, POINTER(c_double)]),
    "sushi_backend_cost": (c_int, [_P, _P, _P, POINTER(Cost)]),
    "sushi_backend_set_resident": (c_int, [_P, _P, POINTER(Cost)]),
    "sushi_backend_run": (c_int, [_P, _P, POINTER(RunArgs), POINTER(Cost)]),
    # profile.h (0.3)
    "sushi_profile_measure": (c_int, [_P, POINTER(ProfileOptions), _PP]),
    "sushi_profile_destroy": (None, [_P]),
    "sushi_profile_load_file": (c_int, [_P, c_char_p, _PP]),
    "sushi_profile_load_memory": (c_int, [_P, c_void_p, c_size_t, _PP]),
    "sushi_profile_save_file": (c_int, [_P, c_char_p]),
    "sushi_profile_save_memory": (c_int, [_P, POINTER(c_void_p), POINTER(c_size_t)]),
    "sushi_profile_free_buffer": (None, [_P, c_void_p]),
    "sushi_profile_get_info": (c_int, [_P, POINTER(ProfileInfo)]),
    "sushi_profile_param": (c_int, [_P, c_size_t, POINTER(c_char_p), POINTER(c_double)]),
    "sushi_profile_entry_get": (c_int, [_P, c_size_t, POINTER(ProfileEntry)]),
    "sushi_profile_quantile": (c_int, [_P, c_int32, c_double, POINTER(c_double)]),
    "sushi_profile_check": (c_int, [_P, _P]),
    "sushi_profile_supernet_hash": (c_int, [_P, ctypes.c_char * 65]),
    "sushi_sched_set_profile": (c_int, [_P, _P]),
    # policy.h
    "sushi_policy_name": (c_char_p, [_P, c_size_t]),
    "sushi_policy_create": (c_int, [_P, c_char_p, _PP]),
    "sushi_policy_destroy": (None, [_P]),
    "sushi_policy_get_name": (c_char_p, [_P]),
    "sushi_policy_observe": (c_int, [_P, _P]),
    "sushi_policy_choose": (c_int, [_P, POINTER(PolicyView), _P]),
    # cpu.h (present only when libsushi was built with the cpu backend)
    "sushi_cpu_set_threads": (c_int, [c_int]),
    "sushi_cpu_get_threads": (c_int, []),
    "sushi_cpu_memory_plan": (c_int, [_P, POINTER(CpuMemory)]),
    "sushi_cpu_arena_bytes": (c_int, [_P, POINTER(c_size_t)]),
    "sushi_cpu_recalibrate_bn": (c_int, [_P, POINTER(c_float), c_size_t, c_size_t, _PP]),
    "sushi_cpu_bn_stats_len": (c_size_t, [_P]),
    "sushi_cpu_recalibrate_bn_stats": (c_int, [_P, POINTER(c_float), c_size_t, c_size_t,
                                               POINTER(c_float), c_size_t]),
    "sushi_cpu_int8_ranges_len": (c_size_t, [_P]),
    "sushi_cpu_calibrate_int8": (c_int, [_P, POINTER(c_float), c_size_t, POINTER(c_float),
                                         c_size_t]),
    "sushi_cpu_set_int8_ranges": (c_int, [_P, _P, POINTER(c_float), c_size_t]),
    # sched.h
    "sushi_sched_create": (c_int, [_P, _P, _P, POINTER(SchedOptions), _PP]),
    "sushi_sched_destroy": (None, [_P]),
    "sushi_sched_submit": (c_int, [_P, POINTER(Query), POINTER(Result)]),
    "sushi_sched_update": (c_int, [_P]),
    "sushi_sched_set_lookahead": (c_int, [_P, POINTER(Query), c_size_t]),
    "sushi_sched_get_stats": (c_int, [_P, POINTER(SchedStats)]),
    "sushi_sched_reset_stats": (c_int, [_P]),
    "sushi_sched_get_info": (c_int, [_P, POINTER(SchedInfo)]),
    "sushi_sched_candidate_get": (c_int, [_P, c_size_t, POINTER(SchedCandidate)]),
    "sushi_sched_get_resident": (c_int, [_P, _P]),
    # trace.h
    "sushi_trace_generate": (c_int, [_P, POINTER(TraceGenOptions), _PP]),
    "sushi_trace_create": (c_int, [_P, POINTER(TraceEntry), c_size_t, _PP, c_void_p, c_size_t]),
    "sushi_trace_load_csv": (c_int, [_P, c_char_p, _PP, c_void_p, c_size_t]),
    "sushi_trace_save_csv": (c_int, [_P, c_char_p]),
    "sushi_trace_length": (c_size_t, [_P]),
    "sushi_trace_get": (c_int, [_P, c_size_t, POINTER(TraceEntry)]),
    "sushi_trace_destroy": (None, [_P]),
    # server.h
    "sushi_server_create": (c_int, [_P, POINTER(ServerOptions), _PP]),
    "sushi_server_submit": (c_int, [_P, POINTER(Query), c_uint32, c_void_p, _PP]),
    "sushi_server_now": (c_double, [_P]),
    "sushi_server_shutdown": (c_int, [_P, c_int]),
    "sushi_server_destroy": (None, [_P]),
    "sushi_server_get_stats": (c_int, [_P, POINTER(ServerStats)]),
    "sushi_server_get_worker_stats": (c_int, [_P, c_uint32, POINTER(SchedStats)]),
    "sushi_ticket_wait": (c_int, [_P, c_double, POINTER(c_int), POINTER(Result)]),
    "sushi_ticket_poll": (c_int, [_P, POINTER(c_int), POINTER(Result)]),
    "sushi_ticket_destroy": (None, [_P]),
}

for _name, (_res, _args) in _PROTOS.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:  # an older library: the call raises when used
        continue
    _fn.restype = _res
    _fn.argtypes = _args


def has(symbol):
    """True when the loaded library exports `symbol` (newer headers add calls)."""
    return hasattr(lib, symbol)
