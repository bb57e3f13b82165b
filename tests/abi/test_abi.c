/* ABI pins of libsushi's public headers, checked against the shared library.
 *
 * Every number here is a released promise (docs/abi.md): struct sizes and
 * field offsets on LP64 (x86_64, aarch64), enum and macro values. A change
 * that breaks a pin is an ABI break: it needs a new soname, or the change
 * must be made append-only (new fields at the end of a size-versioned
 * struct, new status codes after the last one). Update the pins and
 * docs/abi.md together, only on purpose. */
#include <criterion/criterion.h>
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include <sushi/sushi.h>

#define LP64 (sizeof(void *) == 8 && sizeof(size_t) == 8 && alignof(double) == 8 && alignof(uint64_t) == 8)
#define SKIP_UNLESS_LP64()                                   \
    do {                                                     \
        if (!LP64)                                           \
            cr_skip_test("layout pins are for LP64 targets"); \
    } while (0)
#define SIZE(t, n) cr_expect_eq(sizeof(t), (size_t)(n), "sizeof(" #t ") = %zu, pinned %d", sizeof(t), (n))
#define OFF(t, f, n) \
    cr_expect_eq(offsetof(t, f), (size_t)(n), "offsetof(" #t ", " #f ") = %zu, pinned %d", offsetof(t, f), (n))

Test(abi, layout_allocator_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_allocator, 40);
    OFF(sushi_allocator, size, 0);
    OFF(sushi_allocator, malloc_fn, 8);
    OFF(sushi_allocator, realloc_fn, 16);
    OFF(sushi_allocator, free_fn, 24);
    OFF(sushi_allocator, user, 32);
}

Test(abi, layout_load_options_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_load_options, 32);
    OFF(sushi_load_options, size, 0);
    OFF(sushi_load_options, flags, 8);
    OFF(sushi_load_options, errbuf, 16);
    OFF(sushi_load_options, errbuf_size, 24);
}

Test(abi, layout_save_options_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_save_options, 16);
    OFF(sushi_save_options, size, 0);
    OFF(sushi_save_options, weights, 8);
}

Test(abi, layout_supernet_info_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_supernet_info, 96);
    OFF(sushi_supernet_info, size, 0);
    OFF(sushi_supernet_info, name, 8);
    OFF(sushi_supernet_info, family, 16);
    OFF(sushi_supernet_info, synthetic, 24);
    OFF(sushi_supernet_info, provenance, 32);
    OFF(sushi_supernet_info, in_channels, 40);
    OFF(sushi_supernet_info, num_classes, 44);
    OFF(sushi_supernet_info, default_resolution, 48);
    OFF(sushi_supernet_info, n_resolutions, 52);
    OFF(sushi_supernet_info, n_units, 56);
    OFF(sushi_supernet_info, n_tensors, 60);
    OFF(sushi_supernet_info, n_candidates, 64);
    OFF(sushi_supernet_info, n_ks, 68);
    OFF(sushi_supernet_info, n_e, 72);
    OFF(sushi_supernet_info, n_d, 76);
    OFF(sushi_supernet_info, n_w, 80);
    OFF(sushi_supernet_info, weight_elems, 88);
}

Test(abi, layout_unit_info_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_unit_info, 40);
    OFF(sushi_unit_info, size, 0);
    OFF(sushi_unit_info, name, 8);
    OFF(sushi_unit_info, kind, 16);
    OFF(sushi_unit_info, in_max, 24);
    OFF(sushi_unit_info, out_max, 28);
    OFF(sushi_unit_info, stride, 32);
}

Test(abi, layout_config_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_config, 384);
    OFF(sushi_config, size, 0);
    OFF(sushi_config, resolution, 8);
    OFF(sushi_config, n_ks, 12);
    OFF(sushi_config, n_e, 16);
    OFF(sushi_config, n_d, 20);
    OFF(sushi_config, n_w, 24);
    OFF(sushi_config, ks, 28);
    OFF(sushi_config, e, 92);
    OFF(sushi_config, d, 348);
    OFF(sushi_config, w, 364);
}

Test(abi, layout_subnet_stats_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_subnet_stats, 48);
    OFF(sushi_subnet_stats, size, 0);
    OFF(sushi_subnet_stats, params, 8);
    OFF(sushi_subnet_stats, macs, 16);
    OFF(sushi_subnet_stats, weight_bytes, 24);
    OFF(sushi_subnet_stats, n_layers, 32);
    OFF(sushi_subnet_stats, candidate, 36);
    OFF(sushi_subnet_stats, accuracy, 40);
}

Test(abi, layout_layer_info_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_layer_info, 96);
    OFF(sushi_layer_info, size, 0);
    OFF(sushi_layer_info, op, 8);
    OFF(sushi_layer_info, act, 12);
    OFF(sushi_layer_info, name, 16);
    OFF(sushi_layer_info, in_c, 24);
    OFF(sushi_layer_info, in_h, 28);
    OFF(sushi_layer_info, in_w, 32);
    OFF(sushi_layer_info, out_c, 36);
    OFF(sushi_layer_info, out_h, 40);
    OFF(sushi_layer_info, out_w, 44);
    OFF(sushi_layer_info, kernel, 48);
    OFF(sushi_layer_info, stride, 52);
    OFF(sushi_layer_info, pad, 56);
    OFF(sushi_layer_info, input, 60);
    OFF(sushi_layer_info, input2, 64);
    OFF(sushi_layer_info, output, 68);
    OFF(sushi_layer_info, params, 72);
    OFF(sushi_layer_info, macs, 80);
    OFF(sushi_layer_info, weight_bytes, 88);
}

Test(abi, layout_candidate_info_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_candidate_info, 448);
    OFF(sushi_candidate_info, size, 0);
    OFF(sushi_candidate_info, config, 8);
    OFF(sushi_candidate_info, accuracy, 392);
    OFF(sushi_candidate_info, accuracy_source, 400);
    OFF(sushi_candidate_info, dataset, 408);
    OFF(sushi_candidate_info, metric, 416);
    OFF(sushi_candidate_info, macs, 424);
    OFF(sushi_candidate_info, params, 432);
    OFF(sushi_candidate_info, weight_bytes, 440);
}

Test(abi, layout_cost_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_cost, 104);
    OFF(sushi_cost, size, 0);
    OFF(sushi_cost, latency_s, 8);
    OFF(sushi_cost, cycles, 16);
    OFF(sushi_cost, macs, 24);
    OFF(sushi_cost, offchip_bytes, 32);
    OFF(sushi_cost, weight_bytes, 40);
    OFF(sushi_cost, act_bytes, 48);
    OFF(sushi_cost, hit_bytes, 56);
    OFF(sushi_cost, onchip_bytes, 64);
    OFF(sushi_cost, energy_j, 72);
    OFF(sushi_cost, energy_offchip_j, 80);
    OFF(sushi_cost, energy_onchip_j, 88);
    OFF(sushi_cost, energy_compute_j, 96);
}

Test(abi, layout_run_args_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_run_args, 48);
    OFF(sushi_run_args, size, 0);
    OFF(sushi_run_args, input, 8);
    OFF(sushi_run_args, input_len, 16);
    OFF(sushi_run_args, output, 24);
    OFF(sushi_run_args, output_len, 32);
    OFF(sushi_run_args, int8, 40);
}

Test(abi, layout_profile_structs_match_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_profile_options, 32);
    OFF(sushi_profile_options, size, 0);
    OFF(sushi_profile_options, warmup, 8);
    OFF(sushi_profile_options, reps, 12);
    OFF(sushi_profile_options, int8, 16);
    OFF(sushi_profile_options, seed, 24);
    SIZE(sushi_profile_info, 80);
    OFF(sushi_profile_info, size, 0);
    OFF(sushi_profile_info, backend, 8);
    OFF(sushi_profile_info, supernet, 16);
    OFF(sushi_profile_info, supernet_hash, 24);
    OFF(sushi_profile_info, cpu_model, 32);
    OFF(sushi_profile_info, library_version, 40);
    OFF(sushi_profile_info, threads, 48);
    OFF(sushi_profile_info, int8, 52);
    OFF(sushi_profile_info, warmup, 56);
    OFF(sushi_profile_info, reps, 60);
    OFF(sushi_profile_info, n_entries, 64);
    OFF(sushi_profile_info, n_params, 68);
    OFF(sushi_profile_info, created_unix_s, 72);
    SIZE(sushi_profile_entry, 56);
    OFF(sushi_profile_entry, size, 0);
    OFF(sushi_profile_entry, candidate, 8);
    OFF(sushi_profile_entry, n, 12);
    OFF(sushi_profile_entry, mean_s, 16);
    OFF(sushi_profile_entry, p50_s, 24);
    OFF(sushi_profile_entry, p90_s, 32);
    OFF(sushi_profile_entry, p99_s, 40);
    OFF(sushi_profile_entry, max_s, 48);
    sushi_profile_options po = SUSHI_PROFILE_OPTIONS_INIT;
    sushi_profile_info pi = SUSHI_PROFILE_INFO_INIT;
    sushi_profile_entry pe = SUSHI_PROFILE_ENTRY_INIT;
    cr_assert_eq(po.size, sizeof po);
    cr_assert_eq(pi.size, sizeof pi);
    cr_assert_eq(pe.size, sizeof pe);
    cr_assert_eq(SUSHI_PROFILE_HASH_HEX, 65);
}

Test(abi, layout_backend_ops_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_backend_ops, 80);
    OFF(sushi_backend_ops, abi_version, 0);
    OFF(sushi_backend_ops, caps, 4);
    OFF(sushi_backend_ops, description, 8);
    OFF(sushi_backend_ops, create, 16);
    OFF(sushi_backend_ops, destroy, 24);
    OFF(sushi_backend_ops, set_param, 32);
    OFF(sushi_backend_ops, get_param, 40);
    OFF(sushi_backend_ops, cost, 48);
    OFF(sushi_backend_ops, set_resident, 56);
    OFF(sushi_backend_ops, run, 64);
    OFF(sushi_backend_ops, tile_savings, 72); /* version 2 (0.3) */
}

Test(abi, layout_tile_saving_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_tile_saving, 32);
    OFF(sushi_tile_saving, latency_s, 0);
    OFF(sushi_tile_saving, energy_j, 8);
    OFF(sushi_tile_saving, offchip_bytes, 16);
    OFF(sushi_tile_saving, bytes, 24);
}

Test(abi, layout_policy_view_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_policy_view, 104);
    OFF(sushi_policy_view, size, 0);
    OFF(sushi_policy_view, supernet, 8);
    OFF(sushi_policy_view, capacity_bytes, 16);
    OFF(sushi_policy_view, current, 24);
    OFF(sushi_policy_view, window, 32);
    OFF(sushi_policy_view, n_window, 40);
    OFF(sushi_policy_view, future, 48);
    OFF(sushi_policy_view, n_future, 56);
    OFF(sushi_policy_view, candidates, 64);
    OFF(sushi_policy_view, n_candidates, 72);
    OFF(sushi_policy_view, objective, 80); /* appended in 0.3 */
    OFF(sushi_policy_view, tile_savings, 88);
    OFF(sushi_policy_view, tile_savings_user, 96);
    cr_assert_eq(SUSHI_POLICY_VIEW_SIZE_V1, 80);
}

Test(abi, layout_policy_ops_matches_pins)
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_policy_ops, 48);
    OFF(sushi_policy_ops, abi_version, 0);
    OFF(sushi_policy_ops, description, 8);
    OFF(sushi_policy_ops, create, 16);
    OFF(sushi_policy_ops, destroy, 24);
    OFF(sushi_policy_ops, observe, 32);
    OFF(sushi_policy_ops, choose, 40);
}

Test(abi, layout_server_options_matches_pins) /* 0.3 */
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_server_options, 112); /* 104 before block_miss was appended */
    OFF(sushi_server_options, size, 0);
    OFF(sushi_server_options, backend, 8);
    OFF(sushi_server_options, policy, 16);
    OFF(sushi_server_options, workers, 24);
    OFF(sushi_server_options, queue_capacity, 28);
    OFF(sushi_server_options, sched, 32);
    OFF(sushi_server_options, callback, 40);
    OFF(sushi_server_options, callback_user, 48);
    OFF(sushi_server_options, setup, 56);
    OFF(sushi_server_options, setup_user, 64);
    OFF(sushi_server_options, order, 72);
    OFF(sushi_server_options, best_effort_s, 80);
    OFF(sushi_server_options, worker_slice_s, 88);
    OFF(sushi_server_options, worker_nice, 96);
    OFF(sushi_server_options, block_miss, 104);
}

Test(abi, layout_server_stats_matches_pins) /* 0.3 */
{
    SKIP_UNLESS_LP64();
    SIZE(sushi_server_stats, 144);
    OFF(sushi_server_stats, size, 0);
    OFF(sushi_server_stats, workers, 8);
    OFF(sushi_server_stats, queue_capacity, 12);
    OFF(sushi_server_stats, queue_depth, 16);
    OFF(sushi_server_stats, queue_max_depth, 20);
    OFF(sushi_server_stats, submitted, 24);
    OFF(sushi_server_stats, rejected, 32);
    OFF(sushi_server_stats, answered, 40);
    OFF(sushi_server_stats, served, 48);
    OFF(sushi_server_stats, dropped, 56);
    OFF(sushi_server_stats, cancelled, 64);
    OFF(sushi_server_stats, failed, 72);
    OFF(sushi_server_stats, slo_queries, 80);
    OFF(sushi_server_stats, e2e_slo_attainment, 88);
    OFF(sushi_server_stats, e2e_mean_s, 96);
    OFF(sushi_server_stats, e2e_p50_s, 104);
    OFF(sushi_server_stats, e2e_p99_s, 112);
    OFF(sushi_server_stats, e2e_max_s, 120);
    OFF(sushi_server_stats, wait_mean_s, 128);
    OFF(sushi_server_stats, accuracy_mean, 136);
}

Test(abi, server_enums_and_flags_match_pins) /* 0.3 */
{
    cr_assert_eq(SUSHI_SERVER_SHUTDOWN_DRAIN, 0);
    cr_assert_eq(SUSHI_SERVER_SHUTDOWN_CANCEL, 1);
    cr_assert_eq(SUSHI_SERVER_ORDER_EDF, 0);
    cr_assert_eq(SUSHI_SERVER_ORDER_FIFO, 1);
    cr_assert_eq(SUSHI_SERVER_SUBMIT_ARRIVAL, 1u);
    sushi_server_options o = SUSHI_SERVER_OPTIONS_INIT;
    cr_assert_eq(o.size, sizeof o);
    cr_assert_eq(o.workers, 1u);
    cr_assert_eq(o.queue_capacity, 64u);
    cr_assert_null(o.backend);
    sushi_server_stats st = SUSHI_SERVER_STATS_INIT;
    cr_assert_eq(st.size, sizeof st);
}

Test(abi, layout_size_field_first_in_every_size_versioned_struct)
{
    /* the version of a per-call struct is its size, in its first field */
    cr_assert_eq(offsetof(sushi_allocator, size), 0);
    cr_assert_eq(offsetof(sushi_load_options, size), 0);
    cr_assert_eq(offsetof(sushi_save_options, size), 0);
    cr_assert_eq(offsetof(sushi_supernet_info, size), 0);
    cr_assert_eq(offsetof(sushi_unit_info, size), 0);
    cr_assert_eq(offsetof(sushi_config, size), 0);
    cr_assert_eq(offsetof(sushi_subnet_stats, size), 0);
    cr_assert_eq(offsetof(sushi_layer_info, size), 0);
    cr_assert_eq(offsetof(sushi_candidate_info, size), 0);
    cr_assert_eq(offsetof(sushi_cost, size), 0);
    cr_assert_eq(offsetof(sushi_run_args, size), 0);
    cr_assert_eq(offsetof(sushi_policy_view, size), 0);
    /* and function tables start with their ABI version */
    cr_assert_eq(offsetof(sushi_backend_ops, abi_version), 0);
    cr_assert_eq(offsetof(sushi_policy_ops, abi_version), 0);
}

Test(abi, init_macros_set_size_to_sizeof)
{
    sushi_allocator a = SUSHI_ALLOCATOR_INIT;
    sushi_load_options lo = SUSHI_LOAD_OPTIONS_INIT;
    sushi_save_options so = SUSHI_SAVE_OPTIONS_INIT;
    sushi_supernet_info si = SUSHI_SUPERNET_INFO_INIT;
    sushi_unit_info ui = SUSHI_UNIT_INFO_INIT;
    sushi_config c = SUSHI_CONFIG_INIT;
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    sushi_layer_info li = SUSHI_LAYER_INFO_INIT;
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    sushi_cost co = SUSHI_COST_INIT;
    sushi_run_args ra = SUSHI_RUN_ARGS_INIT;
    cr_assert_eq(a.size, sizeof a);
    cr_assert(a.malloc_fn == NULL && a.realloc_fn == NULL && a.free_fn == NULL && a.user == NULL);
    cr_assert_eq(lo.size, sizeof lo);
    cr_assert_eq(lo.flags, 0);
    cr_assert_null(lo.errbuf);
    cr_assert_eq(so.size, sizeof so);
    cr_assert_eq(so.weights, SUSHI_WEIGHTS_AUTO);
    cr_assert_eq(si.size, sizeof si);
    cr_assert_eq(ui.size, sizeof ui);
    cr_assert_eq(c.size, sizeof c);
    cr_assert_eq(st.size, sizeof st);
    cr_assert_eq(li.size, sizeof li);
    cr_assert_eq(ci.size, sizeof ci);
    cr_assert_eq(co.size, sizeof co);
    cr_assert_eq(ra.size, sizeof ra);
    cr_assert_not(ra.int8);
}

Test(abi, enum_values_match_pins)
{
    /* status codes: also pinned one by one in tests/core/test_status.c */
    cr_assert_eq(SUSHI_OK, 0);
    cr_assert_eq(SUSHI_ERR_INVALID, -1);
    cr_assert_eq(SUSHI_ERR_TRUNCATED, -17);
    cr_assert_eq(SUSHI_ERR_BUSY, -18);
    cr_assert_eq(SUSHI_ERR_CANCELLED, -19);
    cr_assert_eq(SUSHI_ERR_DROPPED, -20);
    cr_assert_eq(SUSHI_LOG_ERROR, 0);
    cr_assert_eq(SUSHI_LOG_WARN, 1);
    cr_assert_eq(SUSHI_LOG_INFO, 2);
    cr_assert_eq(SUSHI_LOG_DEBUG, 3);
    cr_assert_eq(SUSHI_LOAD_BORROW, 1);
    cr_assert_eq(SUSHI_LOAD_NO_VERIFY, 2);
    cr_assert_eq(SUSHI_LOAD_CHECK_FINITE, 4);
    cr_assert_eq(SUSHI_WEIGHTS_AUTO, 0);
    cr_assert_eq(SUSHI_WEIGHTS_SEED, 1);
    cr_assert_eq(SUSHI_WEIGHTS_F32, 2);
    cr_assert_eq(SUSHI_ELASTIC_KS, 0);
    cr_assert_eq(SUSHI_ELASTIC_E, 1);
    cr_assert_eq(SUSHI_ELASTIC_D, 2);
    cr_assert_eq(SUSHI_ELASTIC_W, 3);
    cr_assert_eq(SUSHI_OP_CONV, 0);
    cr_assert_eq(SUSHI_OP_DWCONV, 1);
    cr_assert_eq(SUSHI_OP_LINEAR, 2);
    cr_assert_eq(SUSHI_OP_MAXPOOL, 3);
    cr_assert_eq(SUSHI_OP_AVGPOOL, 4);
    cr_assert_eq(SUSHI_OP_GAP, 5);
    cr_assert_eq(SUSHI_OP_ADD, 6);
    cr_assert_eq(SUSHI_OP_SE, 7);
    cr_assert_eq(SUSHI_ACT_NONE, 0);
    cr_assert_eq(SUSHI_ACT_RELU, 1);
    cr_assert_eq(SUSHI_ACT_HSWISH, 2);
    cr_assert_eq(SUSHI_ACT_HSIGMOID, 3);
    cr_assert_eq(SUSHI_BACKEND_CAP_RUN, 1);
    cr_assert_eq(SUSHI_BACKEND_CAP_COST, 2);
    cr_assert_eq(SUSHI_BACKEND_CAP_INT8, 4);
    cr_assert_eq(SUSHI_BACKEND_CAP_MEASURED, 8);
    cr_assert_eq(SUSHI_SCHED_LATE_FASTEST, 0);
    cr_assert_eq(SUSHI_SCHED_LATE_DROP, 1);
    cr_assert_eq(SUSHI_SCHED_ADAPT_AUTO, 0);
    cr_assert_eq(SUSHI_SCHED_ADAPT_OFF, 1);
    cr_assert_eq(SUSHI_SCHED_ADAPT_ON, 2);
    cr_assert_eq(SUSHI_OBJECTIVE_BYTES, 0);
    cr_assert_eq(SUSHI_OBJECTIVE_TIME, 1);
    cr_assert_eq(SUSHI_OBJECTIVE_ENERGY, 2);
}

Test(abi, macro_values_match_pins)
{
    cr_assert_eq(SUSHI_BACKEND_ABI_VERSION, 2u);
    cr_assert_eq(SUSHI_POLICY_ABI_VERSION, 1u);
    cr_assert_eq(SUSHI_CONFIG_MAX_SLOTS, 64);
    cr_assert_eq(SUSHI_CONFIG_MAX_GROUPS, 16);
    cr_assert_eq(SUSHI_SUBGRAPH_TILE_OUT, 16);
}

Test(abi, version_of_loaded_library_matches_headers)
{
    /* runs against libsushi.so: the library and the headers agree */
    unsigned v = sushi_version_number();
    cr_assert_eq(v, ((unsigned)SUSHI_VERSION_MAJOR << 16) | ((unsigned)SUSHI_VERSION_MINOR << 8) |
                        (unsigned)SUSHI_VERSION_PATCH);
    cr_assert_str_eq(sushi_version_string(), SUSHI_VERSION_STRING);
    cr_assert_str_eq(sushi_status_name(SUSHI_ERR_ABI), "SUSHI_ERR_ABI");
}

/* A caller built against this header must be rejected cleanly by a library
 * that checks sizes: a struct claiming to be smaller gets SUSHI_ERR_ABI. */
Test(abi, shared_library_rejects_undersized_structs)
{
    sushi_allocator a = SUSHI_ALLOCATOR_INIT;
    a.size = offsetof(sushi_allocator, user);
    sushi_context *ctx = NULL;
    cr_assert_eq(sushi_context_create(&a, &ctx), SUSHI_ERR_ABI);
    cr_assert_null(ctx);
    cr_assert_eq(sushi_context_create(NULL, &ctx), SUSHI_OK);
    sushi_supernet *sn = NULL;
    cr_assert_eq(sushi_supernet_builtin(ctx, "ofa-mbv3-w1.0", 0, &sn), SUSHI_OK);
    sushi_supernet_info info = SUSHI_SUPERNET_INFO_INIT;
    info.size = offsetof(sushi_supernet_info, weight_elems);
    cr_assert_eq(sushi_supernet_get_info(sn, &info), SUSHI_ERR_ABI);
    sushi_config c = SUSHI_CONFIG_INIT;
    cr_assert_eq(sushi_config_extreme(sn, true, 0, &c), SUSHI_OK);
    sushi_subnet *s = NULL;
    cr_assert_eq(sushi_subnet_create(sn, &c, &s), SUSHI_OK);
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    st.size = offsetof(sushi_subnet_stats, accuracy);
    cr_assert_eq(sushi_subnet_get_stats(s, &st), SUSHI_ERR_ABI);
    sushi_layer_info li = SUSHI_LAYER_INFO_INIT;
    li.size = offsetof(sushi_layer_info, weight_bytes);
    cr_assert_eq(sushi_subnet_layer(s, 0, &li), SUSHI_ERR_ABI);
    sushi_candidate_info ci = SUSHI_CANDIDATE_INFO_INIT;
    ci.size = offsetof(sushi_candidate_info, weight_bytes);
    cr_assert_eq(sushi_supernet_candidate(sn, 0, &ci), SUSHI_ERR_ABI);
    sushi_unit_info ui = SUSHI_UNIT_INFO_INIT;
    ui.size = offsetof(sushi_unit_info, stride);
    cr_assert_eq(sushi_supernet_unit(sn, 0, &ui), SUSHI_ERR_ABI);
    sushi_backend *b = NULL;
    cr_assert_eq(sushi_backend_create(sn, "null", &b), SUSHI_OK);
    sushi_cost co = SUSHI_COST_INIT;
    co.size = offsetof(sushi_cost, energy_compute_j);
    cr_assert_eq(sushi_backend_cost(b, s, NULL, &co), SUSHI_ERR_ABI);
    sushi_backend_destroy(b);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
}
