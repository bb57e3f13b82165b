/* Prints, as JSON, sizeof and offsetof of every public struct the Python
 * binding mirrors with ctypes (bindings/python/sushi/_ffi.py), plus the
 * status table and the constants it copies. test_binding.py compares them
 * with the ctypes definitions, so a header change that the binding misses
 * fails the test. Every field of every mirrored struct is listed here. */
#include <stddef.h>
#include <stdio.h>

#include <sushi/sushi.h>
#include <sushi/cpu.h>
#include <sushi/sched.h>
#include <sushi/trace.h>

static int n_structs;

static void begin(const char *name, size_t size)
{
    printf("%s\n  \"%s\": {\"sizeof\": %zu, \"fields\": {", n_structs++ ? "," : "", name, size);
}

#define STRUCT(T) do { int f_ = 0; begin(#T, sizeof(T));
#define FIELD(T, m) printf("%s\"%s\": %zu", f_++ ? ", " : "", #m, offsetof(T, m));
#define END printf("}}"); } while (0);

int main(void)
{
    printf("{\"structs\": {");
    STRUCT(sushi_allocator)
        FIELD(sushi_allocator, size) FIELD(sushi_allocator, malloc_fn)
        FIELD(sushi_allocator, realloc_fn) FIELD(sushi_allocator, free_fn)
        FIELD(sushi_allocator, user)
    END
    STRUCT(sushi_load_options)
        FIELD(sushi_load_options, size) FIELD(sushi_load_options, flags)
        FIELD(sushi_load_options, errbuf) FIELD(sushi_load_options, errbuf_size)
    END
    STRUCT(sushi_save_options)
        FIELD(sushi_save_options, size) FIELD(sushi_save_options, weights)
    END
    STRUCT(sushi_supernet_info)
        FIELD(sushi_supernet_info, size) FIELD(sushi_supernet_info, name)
        FIELD(sushi_supernet_info, family) FIELD(sushi_supernet_info, synthetic)
        FIELD(sushi_supernet_info, provenance) FIELD(sushi_supernet_info, in_channels)
        FIELD(sushi_supernet_info, num_classes) FIELD(sushi_supernet_info, default_resolution)
        FIELD(sushi_supernet_info, n_resolutions) FIELD(sushi_supernet_info, n_units)
        FIELD(sushi_supernet_info, n_tensors) FIELD(sushi_supernet_info, n_candidates)
        FIELD(sushi_supernet_info, n_ks) FIELD(sushi_supernet_info, n_e)
        FIELD(sushi_supernet_info, n_d) FIELD(sushi_supernet_info, n_w)
        FIELD(sushi_supernet_info, weight_elems)
    END
    STRUCT(sushi_unit_info)
        FIELD(sushi_unit_info, size) FIELD(sushi_unit_info, name) FIELD(sushi_unit_info, kind)
        FIELD(sushi_unit_info, in_max) FIELD(sushi_unit_info, out_max)
        FIELD(sushi_unit_info, stride)
    END
    STRUCT(sushi_config)
        FIELD(sushi_config, size) FIELD(sushi_config, resolution) FIELD(sushi_config, n_ks)
        FIELD(sushi_config, n_e) FIELD(sushi_config, n_d) FIELD(sushi_config, n_w)
        FIELD(sushi_config, ks) FIELD(sushi_config, e) FIELD(sushi_config, d)
        FIELD(sushi_config, w)
    END
    STRUCT(sushi_subnet_stats)
        FIELD(sushi_subnet_stats, size) FIELD(sushi_subnet_stats, params)
        FIELD(sushi_subnet_stats, macs) FIELD(sushi_subnet_stats, weight_bytes)
        FIELD(sushi_subnet_stats, n_layers) FIELD(sushi_subnet_stats, candidate)
        FIELD(sushi_subnet_stats, accuracy)
    END
    STRUCT(sushi_layer_info)
        FIELD(sushi_layer_info, size) FIELD(sushi_layer_info, op) FIELD(sushi_layer_info, act)
        FIELD(sushi_layer_info, name) FIELD(sushi_layer_info, in_c) FIELD(sushi_layer_info, in_h)
        FIELD(sushi_layer_info, in_w) FIELD(sushi_layer_info, out_c)
        FIELD(sushi_layer_info, out_h) FIELD(sushi_layer_info, out_w)
        FIELD(sushi_layer_info, kernel) FIELD(sushi_layer_info, stride)
        FIELD(sushi_layer_info, pad) FIELD(sushi_layer_info, input)
        FIELD(sushi_layer_info, input2) FIELD(sushi_layer_info, output)
        FIELD(sushi_layer_info, params) FIELD(sushi_layer_info, macs)
        FIELD(sushi_layer_info, weight_bytes)
    END
    STRUCT(sushi_candidate_info)
        FIELD(sushi_candidate_info, size) FIELD(sushi_candidate_info, config)
        FIELD(sushi_candidate_info, accuracy) FIELD(sushi_candidate_info, accuracy_source)
        FIELD(sushi_candidate_info, dataset) FIELD(sushi_candidate_info, metric)
        FIELD(sushi_candidate_info, macs) FIELD(sushi_candidate_info, params)
        FIELD(sushi_candidate_info, weight_bytes)
    END
    STRUCT(sushi_cost)
        FIELD(sushi_cost, size) FIELD(sushi_cost, latency_s) FIELD(sushi_cost, cycles)
        FIELD(sushi_cost, macs) FIELD(sushi_cost, offchip_bytes) FIELD(sushi_cost, weight_bytes)
        FIELD(sushi_cost, act_bytes) FIELD(sushi_cost, hit_bytes) FIELD(sushi_cost, onchip_bytes)
        FIELD(sushi_cost, energy_j) FIELD(sushi_cost, energy_offchip_j)
        FIELD(sushi_cost, energy_onchip_j) FIELD(sushi_cost, energy_compute_j)
    END
    STRUCT(sushi_run_args)
        FIELD(sushi_run_args, size) FIELD(sushi_run_args, input) FIELD(sushi_run_args, input_len)
        FIELD(sushi_run_args, output) FIELD(sushi_run_args, output_len)
        FIELD(sushi_run_args, int8)
    END
    STRUCT(sushi_policy_view)
        FIELD(sushi_policy_view, size) FIELD(sushi_policy_view, supernet)
        FIELD(sushi_policy_view, capacity_bytes) FIELD(sushi_policy_view, current)
        FIELD(sushi_policy_view, window) FIELD(sushi_policy_view, n_window)
        FIELD(sushi_policy_view, future) FIELD(sushi_policy_view, n_future)
        FIELD(sushi_policy_view, candidates) FIELD(sushi_policy_view, n_candidates)
        FIELD(sushi_policy_view, objective) FIELD(sushi_policy_view, tile_savings)
        FIELD(sushi_policy_view, tile_savings_user)
    END
    STRUCT(sushi_backend_ops)
        FIELD(sushi_backend_ops, abi_version) FIELD(sushi_backend_ops, caps)
        FIELD(sushi_backend_ops, description) FIELD(sushi_backend_ops, create)
        FIELD(sushi_backend_ops, destroy) FIELD(sushi_backend_ops, set_param)
        FIELD(sushi_backend_ops, get_param) FIELD(sushi_backend_ops, cost)
        FIELD(sushi_backend_ops, set_resident) FIELD(sushi_backend_ops, run)
        FIELD(sushi_backend_ops, tile_savings)
    END
    STRUCT(sushi_policy_ops)
        FIELD(sushi_policy_ops, abi_version) FIELD(sushi_policy_ops, description)
        FIELD(sushi_policy_ops, create) FIELD(sushi_policy_ops, destroy)
        FIELD(sushi_policy_ops, observe) FIELD(sushi_policy_ops, choose)
    END
    STRUCT(sushi_cpu_memory)
        FIELD(sushi_cpu_memory, size) FIELD(sushi_cpu_memory, arena_bytes)
        FIELD(sushi_cpu_memory, scratch_bytes) FIELD(sushi_cpu_memory, unplanned_bytes)
        FIELD(sushi_cpu_memory, int8_arena_bytes) FIELD(sushi_cpu_memory, int8_scratch_bytes)
    END
    STRUCT(sushi_sched_options)
        FIELD(sushi_sched_options, size) FIELD(sushi_sched_options, mode)
        FIELD(sushi_sched_options, fallback) FIELD(sushi_sched_options, reload)
        FIELD(sushi_sched_options, pareto) FIELD(sushi_sched_options, window)
        FIELD(sushi_sched_options, pb_bytes) FIELD(sushi_sched_options, latency_samples)
        FIELD(sushi_sched_options, seed) FIELD(sushi_sched_options, late)
        FIELD(sushi_sched_options, adapt) FIELD(sushi_sched_options, quantile)
        FIELD(sushi_sched_options, adapt_window)
    END
    STRUCT(sushi_server_options)
        FIELD(sushi_server_options, size) FIELD(sushi_server_options, backend)
        FIELD(sushi_server_options, policy) FIELD(sushi_server_options, workers)
        FIELD(sushi_server_options, queue_capacity) FIELD(sushi_server_options, sched)
        FIELD(sushi_server_options, callback) FIELD(sushi_server_options, callback_user)
        FIELD(sushi_server_options, setup) FIELD(sushi_server_options, setup_user)
        FIELD(sushi_server_options, order) FIELD(sushi_server_options, best_effort_s)
        FIELD(sushi_server_options, worker_slice_s) FIELD(sushi_server_options, worker_nice)
        FIELD(sushi_server_options, block_miss)
    END
    STRUCT(sushi_server_stats)
        FIELD(sushi_server_stats, size) FIELD(sushi_server_stats, workers)
        FIELD(sushi_server_stats, queue_capacity) FIELD(sushi_server_stats, queue_depth)
        FIELD(sushi_server_stats, queue_max_depth) FIELD(sushi_server_stats, submitted)
        FIELD(sushi_server_stats, rejected) FIELD(sushi_server_stats, answered)
        FIELD(sushi_server_stats, served) FIELD(sushi_server_stats, dropped)
        FIELD(sushi_server_stats, cancelled) FIELD(sushi_server_stats, failed)
        FIELD(sushi_server_stats, slo_queries) FIELD(sushi_server_stats, e2e_slo_attainment)
        FIELD(sushi_server_stats, e2e_mean_s) FIELD(sushi_server_stats, e2e_p50_s)
        FIELD(sushi_server_stats, e2e_p99_s) FIELD(sushi_server_stats, e2e_max_s)
        FIELD(sushi_server_stats, wait_mean_s) FIELD(sushi_server_stats, accuracy_mean)
    END
    STRUCT(sushi_query)
        FIELD(sushi_query, size) FIELD(sushi_query, min_accuracy) FIELD(sushi_query, slo_s)
        FIELD(sushi_query, arrival_s) FIELD(sushi_query, input) FIELD(sushi_query, input_len)
        FIELD(sushi_query, output) FIELD(sushi_query, output_len) FIELD(sushi_query, int8)
        FIELD(sushi_query, start_s)
    END
    STRUCT(sushi_result)
        FIELD(sushi_result, size) FIELD(sushi_result, index) FIELD(sushi_result, candidate)
        FIELD(sushi_result, config) FIELD(sushi_result, accuracy)
        FIELD(sushi_result, predicted_s) FIELD(sushi_result, latency_s)
        FIELD(sushi_result, queue_s) FIELD(sushi_result, offchip_bytes)
        FIELD(sushi_result, weight_bytes) FIELD(sushi_result, hit_bytes)
        FIELD(sushi_result, energy_j) FIELD(sushi_result, energy_offchip_j)
        FIELD(sushi_result, slo_met) FIELD(sushi_result, accuracy_met)
        FIELD(sushi_result, fallback) FIELD(sushi_result, ran) FIELD(sushi_result, updated)
        FIELD(sushi_result, reload_bytes) FIELD(sushi_result, reload_s)
        FIELD(sushi_result, reload_energy_j) FIELD(sushi_result, decision_ns)
        FIELD(sushi_result, e2e_s) FIELD(sushi_result, budget_s)
        FIELD(sushi_result, e2e_slo_met) FIELD(sushi_result, dropped)
        FIELD(sushi_result, adapted) FIELD(sushi_result, load_factor)
    END
    STRUCT(sushi_sched_stats)
        FIELD(sushi_sched_stats, size) FIELD(sushi_sched_stats, queries)
        FIELD(sushi_sched_stats, latency_mean_s) FIELD(sushi_sched_stats, latency_p50_s)
        FIELD(sushi_sched_stats, latency_p99_s) FIELD(sushi_sched_stats, latency_max_s)
        FIELD(sushi_sched_stats, latency_exact) FIELD(sushi_sched_stats, queue_mean_s)
        FIELD(sushi_sched_stats, slo_queries) FIELD(sushi_sched_stats, slo_attainment)
        FIELD(sushi_sched_stats, accuracy_queries) FIELD(sushi_sched_stats, accuracy_attainment)
        FIELD(sushi_sched_stats, accuracy_mean) FIELD(sushi_sched_stats, fallbacks)
        FIELD(sushi_sched_stats, offchip_bytes) FIELD(sushi_sched_stats, weight_bytes)
        FIELD(sushi_sched_stats, hit_bytes) FIELD(sushi_sched_stats, pb_hit_ratio)
        FIELD(sushi_sched_stats, updates) FIELD(sushi_sched_stats, reloads)
        FIELD(sushi_sched_stats, reload_bytes) FIELD(sushi_sched_stats, reload_s)
        FIELD(sushi_sched_stats, energy_j) FIELD(sushi_sched_stats, energy_offchip_j)
        FIELD(sushi_sched_stats, decision_mean_ns) FIELD(sushi_sched_stats, decision_max_ns)
        FIELD(sushi_sched_stats, update_mean_ns) FIELD(sushi_sched_stats, dropped)
        FIELD(sushi_sched_stats, e2e_latency_mean_s) FIELD(sushi_sched_stats, e2e_latency_p50_s)
        FIELD(sushi_sched_stats, e2e_latency_p99_s) FIELD(sushi_sched_stats, e2e_latency_max_s)
        FIELD(sushi_sched_stats, e2e_slo_queries) FIELD(sushi_sched_stats, e2e_slo_attainment)
        FIELD(sushi_sched_stats, service_slo_attainment) FIELD(sushi_sched_stats, adaptive)
        FIELD(sushi_sched_stats, load_factor)
    END
    STRUCT(sushi_sched_info)
        FIELD(sushi_sched_info, size) FIELD(sushi_sched_info, n_candidates)
        FIELD(sushi_sched_info, n_with_accuracy) FIELD(sushi_sched_info, window)
        FIELD(sushi_sched_info, pb_bytes) FIELD(sushi_sched_info, resident_bytes)
        FIELD(sushi_sched_info, accuracy_min) FIELD(sushi_sched_info, accuracy_max)
        FIELD(sushi_sched_info, latency_min_s) FIELD(sushi_sched_info, latency_max_s)
        FIELD(sushi_sched_info, backend) FIELD(sushi_sched_info, policy)
    END
    STRUCT(sushi_profile_options)
        FIELD(sushi_profile_options, size) FIELD(sushi_profile_options, warmup)
        FIELD(sushi_profile_options, reps) FIELD(sushi_profile_options, int8)
        FIELD(sushi_profile_options, seed)
    END
    STRUCT(sushi_profile_info)
        FIELD(sushi_profile_info, size) FIELD(sushi_profile_info, backend)
        FIELD(sushi_profile_info, supernet) FIELD(sushi_profile_info, supernet_hash)
        FIELD(sushi_profile_info, cpu_model) FIELD(sushi_profile_info, library_version)
        FIELD(sushi_profile_info, threads) FIELD(sushi_profile_info, int8)
        FIELD(sushi_profile_info, warmup) FIELD(sushi_profile_info, reps)
        FIELD(sushi_profile_info, n_entries) FIELD(sushi_profile_info, n_params)
        FIELD(sushi_profile_info, created_unix_s)
    END
    STRUCT(sushi_profile_entry)
        FIELD(sushi_profile_entry, size) FIELD(sushi_profile_entry, candidate)
        FIELD(sushi_profile_entry, n) FIELD(sushi_profile_entry, mean_s)
        FIELD(sushi_profile_entry, p50_s) FIELD(sushi_profile_entry, p90_s)
        FIELD(sushi_profile_entry, p99_s) FIELD(sushi_profile_entry, max_s)
    END
    STRUCT(sushi_sched_candidate)
        FIELD(sushi_sched_candidate, size) FIELD(sushi_sched_candidate, table_index)
        FIELD(sushi_sched_candidate, accuracy) FIELD(sushi_sched_candidate, predicted_s)
        FIELD(sushi_sched_candidate, weight_bytes) FIELD(sushi_sched_candidate, hit_bytes)
        FIELD(sushi_sched_candidate, subnet)
    END
    STRUCT(sushi_trace_entry)
        FIELD(sushi_trace_entry, size) FIELD(sushi_trace_entry, t_s)
        FIELD(sushi_trace_entry, min_accuracy) FIELD(sushi_trace_entry, slo_s)
        FIELD(sushi_trace_entry, label)
    END
    STRUCT(sushi_trace_gen_options)
        FIELD(sushi_trace_gen_options, size) FIELD(sushi_trace_gen_options, seed)
        FIELD(sushi_trace_gen_options, n_queries) FIELD(sushi_trace_gen_options, n_regimes)
        FIELD(sushi_trace_gen_options, dwell) FIELD(sushi_trace_gen_options, mix)
        FIELD(sushi_trace_gen_options, both) FIELD(sushi_trace_gen_options, jitter)
        FIELD(sushi_trace_gen_options, rate_hz) FIELD(sushi_trace_gen_options, acc_lo)
        FIELD(sushi_trace_gen_options, acc_hi) FIELD(sushi_trace_gen_options, slo_lo_s)
        FIELD(sushi_trace_gen_options, slo_hi_s)
    END
    printf("\n},\n\"status\": {");
#define STATUS_(name, value, msg) printf("%s\"" #name "\": %d", value == 0 ? "" : ", ", value);
    SUSHI_STATUS_MAP(STATUS_)
#undef STATUS_
    printf("},\n\"constants\": {\"LOAD_BORROW\": %u, \"LOAD_NO_VERIFY\": %u, \"LOAD_CHECK_FINITE\": %u, "
           "\"CONFIG_MAX_SLOTS\": %d, \"CONFIG_MAX_GROUPS\": %d, "
           "\"BACKEND_CAP_RUN\": %u, \"BACKEND_CAP_COST\": %u, \"BACKEND_CAP_INT8\": %u, "
           "\"WEIGHTS_AUTO\": %d, \"WEIGHTS_SEED\": %d, \"WEIGHTS_F32\": %d, "
           "\"ELASTIC_KS\": %d, \"ELASTIC_E\": %d, \"ELASTIC_D\": %d, \"ELASTIC_W\": %d, "
           "\"LOG_ERROR\": %d, \"LOG_WARN\": %d, \"LOG_INFO\": %d, \"LOG_DEBUG\": %d, "
           "\"OP_COUNT\": %d, \"ACT_COUNT\": %d}\n",
           (unsigned)SUSHI_LOAD_BORROW, (unsigned)SUSHI_LOAD_NO_VERIFY, (unsigned)SUSHI_LOAD_CHECK_FINITE,
           SUSHI_CONFIG_MAX_SLOTS,
           SUSHI_CONFIG_MAX_GROUPS, (unsigned)SUSHI_BACKEND_CAP_RUN,
           (unsigned)SUSHI_BACKEND_CAP_COST, (unsigned)SUSHI_BACKEND_CAP_INT8,
           SUSHI_WEIGHTS_AUTO, SUSHI_WEIGHTS_SEED, SUSHI_WEIGHTS_F32, SUSHI_ELASTIC_KS,
           SUSHI_ELASTIC_E, SUSHI_ELASTIC_D, SUSHI_ELASTIC_W, SUSHI_LOG_ERROR, SUSHI_LOG_WARN,
           SUSHI_LOG_INFO, SUSHI_LOG_DEBUG, SUSHI_OP_SE + 1, SUSHI_ACT_HSIGMOID + 1);
    /* the defaults of the *_INIT macros the binding copies */
    sushi_sched_options so = SUSHI_SCHED_OPTIONS_INIT;
    sushi_trace_gen_options tg = SUSHI_TRACE_GEN_OPTIONS_INIT;
    printf(",\"sched_defaults\": {\"mode\": %d, \"fallback\": %d, \"reload\": %d, "
           "\"pareto\": %d, \"window\": %u, \"pb_bytes\": %llu, \"latency_samples\": %u, "
           "\"seed\": %llu, \"late\": %d, \"adapt\": %d, \"quantile\": %.17g, "
           "\"adapt_window\": %u},\n", so.mode, so.fallback, so.reload, so.pareto, so.window,
           (unsigned long long)so.pb_bytes, so.latency_samples, (unsigned long long)so.seed,
           so.late, so.adapt, so.quantile, so.adapt_window);
    printf("\"trace_gen_defaults\": {\"seed\": %llu, \"n_queries\": %u, \"n_regimes\": %u, "
           "\"dwell\": %.17g, \"mix\": %.17g, \"both\": %.17g, \"jitter\": %.17g, "
           "\"rate_hz\": %.17g, \"acc_lo\": %.17g, \"acc_hi\": %.17g, \"slo_lo_s\": %.17g, "
           "\"slo_hi_s\": %.17g},\n", (unsigned long long)tg.seed, tg.n_queries, tg.n_regimes,
           tg.dwell, tg.mix, tg.both, tg.jitter, tg.rate_hz, tg.acc_lo, tg.acc_hi, tg.slo_lo_s,
           tg.slo_hi_s);
    printf("\"sched_enums\": {\"most_accurate\": %d, \"fastest\": %d, \"both\": %d, "
           "\"accuracy_first\": %d, \"latency_first\": %d, \"next_query\": %d, "
           "\"separate\": %d, \"macs_bytes\": %d, \"macs\": %d, \"bytes\": %d, "
           "\"none\": %d},\n", SUSHI_SCHED_MOST_ACCURATE, SUSHI_SCHED_FASTEST, SUSHI_SCHED_BOTH,
           SUSHI_SCHED_FALLBACK_ACCURACY_FIRST, SUSHI_SCHED_FALLBACK_LATENCY_FIRST,
           SUSHI_SCHED_RELOAD_NEXT_QUERY, SUSHI_SCHED_RELOAD_SEPARATE,
           SUSHI_SCHED_PARETO_MACS_BYTES, SUSHI_SCHED_PARETO_MACS, SUSHI_SCHED_PARETO_BYTES,
           SUSHI_SCHED_PARETO_NONE);
    printf("\"sched_late\": {\"fastest\": %d, \"drop\": %d}, "
           "\"sched_adapt\": {\"auto\": %d, \"off\": %d, \"on\": %d}, "
           "\"backend_cap_measured\": %u}\n", SUSHI_SCHED_LATE_FASTEST, SUSHI_SCHED_LATE_DROP,
           SUSHI_SCHED_ADAPT_AUTO, SUSHI_SCHED_ADAPT_OFF, SUSHI_SCHED_ADAPT_ON,
           (unsigned)SUSHI_BACKEND_CAP_MEASURED);
    return 0;
}
