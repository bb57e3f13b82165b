/* Tests of the `sushi` CLI: runs the built binary (path in $SUSHI_CLI),
 * parses its --json output with cJSON and compares key values with what the
 * library itself returns for the same question. */
#include "cli_harness.h"
TestSuite(cli, .timeout = 300);

/* ---------- zoo ---------- */

Test(cli, zoo_list_json_names_every_builtin)
{
    run_result r = RUN("zoo", "--list", "--json");
    cJSON *j = json_ok(&r);
    const cJSON *arr = item(j, "builtins");
    size_t n = 0;
    while (sushi_supernet_builtin_name(n))
        n++;
    cr_assert_eq((size_t)cJSON_GetArraySize(arr), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(cJSON_GetArrayItem(arr, (int)i)->valuestring, sushi_supernet_builtin_name(i));
    cJSON_Delete(j);
    run_free(&r);
}

Test(cli, zoo_seed_file_then_info_matches_library, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/r50.sushi", tmpdir);
    run_result z = RUN("zoo", "ofa-resnet50", "-o", path, "--weights", "seed");
    cr_assert_eq(z.status, 0, "zoo failed: %s", z.err);
    cr_assert_str_empty(z.err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_gt(st.st_size, 0);
    /* a seed file is small: far below the 48 M float32 weights */
    cr_assert_lt(st.st_size, 10 * 1000 * 1000);

    run_result r = RUN("info", path, "--json");
    cJSON *j = json_ok(&r);
    sushi_supernet *sn = builtin("ofa-resnet50");
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    cr_assert_str_eq(str(j, "name"), "ofa-resnet50");
    cr_assert_str_eq(str(j, "family"), in.family);
    cr_assert_eq(boolean(j, "synthetic"), true);
    cr_assert_eq(num(j, "tensors"), in.n_tensors);
    cr_assert_eq(num(j, "units"), in.n_units);
    cr_assert_eq(num(j, "candidates"), in.n_candidates);
    cr_assert_eq(num(j, "weight_elems"), (double)in.weight_elems);
    cr_assert_eq(num(j, "num_classes"), 1000);
    cJSON_Delete(j);
    sushi_supernet_destroy(sn);
    run_free(&r);
    run_free(&z);
}

Test(cli, zoo_f32_file_serves_same_subnet_as_builtin, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/mbv3.sushi", tmpdir);
    run_result z = RUN("zoo", "ofa-mbv3-w1.0", "-o", path, "--weights", "f32", "--seed", "7", "--json");
    cJSON *zj = json_ok(&z);
    cr_assert_str_eq(str(zj, "weights"), "f32");
    cr_assert_eq(num(zj, "seed"), 7);
    /* float32 weights: at least 4 bytes per stored element */
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    cr_assert_geq(num(zj, "file_bytes"), 4.0 * (double)in.weight_elems);

    run_result a = RUN("subnet", path, "--config", "max@192", "--json");
    run_result b = RUN("subnet", "builtin:ofa-mbv3-w1.0", "--config", "max@192", "--json");
    cJSON *ja = json_ok(&a), *jb = json_ok(&b);
    cr_assert_eq(num(ja, "weight_bytes"), num(jb, "weight_bytes"));
    cr_assert_eq(num(ja, "macs"), num(jb, "macs"));
    cr_assert_eq(num(ja, "params"), num(jb, "params"));
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    cJSON_Delete(zj);
    sushi_supernet_destroy(sn);
    run_free(&a);
    run_free(&b);
    run_free(&z);
}

Test(cli, zoo_without_output_is_usage_error)
{
    run_result r = RUN("zoo", "ofa-resnet50");
    expect_error(&r, 2);
    run_free(&r);
}

Test(cli, zoo_unknown_name_is_runtime_error, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/x.sushi", tmpdir);
    run_result r = RUN("zoo", "ofa-nonexistent", "-o", path);
    expect_error(&r, 1);
    cr_assert_neq(access(path, F_OK), 0, "no file may be written");
    run_free(&r);
}

/* ---------- info ---------- */

Test(cli, info_json_elastic_dims_match_library)
{
    run_result r = RUN("info", "builtin:ofa-mbv3-w1.0", "--json");
    cJSON *j = json_ok(&r);
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    cr_assert_str_eq(str(j, "family"), "mbv3");
    cr_assert_eq(num(j, "in_channels"), in.in_channels);
    cr_assert_eq(num(j, "default_resolution"), in.default_resolution);
    cr_assert_eq(cJSON_GetArraySize(item(j, "resolutions")), (int)in.n_resolutions);
    cr_assert_eq(cJSON_GetArrayItem(item(j, "resolutions"), 0)->valuedouble, sushi_supernet_resolution(sn, 0));
    const cJSON *el = item(j, "elastic");
    cr_assert_eq(cJSON_GetArraySize(item(el, "ks")), (int)in.n_ks);
    cr_assert_eq(cJSON_GetArraySize(item(el, "e")), (int)in.n_e);
    cr_assert_eq(cJSON_GetArraySize(item(el, "d")), (int)in.n_d);
    cr_assert_eq(cJSON_GetArraySize(item(el, "w")), (int)in.n_w);
    double v[16];
    int n = sushi_supernet_choices(sn, SUSHI_ELASTIC_KS, 3, v, 16);
    const cJSON *ks3 = cJSON_GetArrayItem(item(el, "ks"), 3);
    cr_assert_eq(cJSON_GetArraySize(ks3), n);
    for (int i = 0; i < n; i++)
        cr_assert_float_eq(cJSON_GetArrayItem(ks3, i)->valuedouble, v[i], 1e-6);
    cr_assert_str_not_empty(str(j, "provenance"));
    cJSON_Delete(j);
    sushi_supernet_destroy(sn);
    run_free(&r);
}

Test(cli, info_expand_choices_print_as_short_decimals)
{
    run_result r = RUN("info", "builtin:ofa-resnet50", "--json");
    cJSON *j = json_ok(&r);
    const cJSON *e0 = cJSON_GetArrayItem(item(item(j, "elastic"), "e"), 0);
    cr_assert_eq(cJSON_GetArraySize(e0), 3);
    cr_assert_eq(cJSON_GetArrayItem(e0, 0)->valuedouble, 0.2); /* exactly the decimal 0.2, not 0.2f */
    cr_assert_not_null(strstr(r.out, "0.35"));
    cr_assert_null(strstr(r.out, "0.2000000"));
    cJSON_Delete(j);
    run_free(&r);
}

Test(cli, info_human_output_labels_synthetic)
{
    run_result r = RUN("info", "builtin:ofa-resnet50");
    cr_assert_eq(r.status, 0);
    cr_assert_not_null(strstr(r.out, "synthetic         yes"));
    cr_assert_not_null(strstr(r.out, "ofa-resnet50"));
    run_free(&r);
}

Test(cli, info_unknown_file_is_runtime_error)
{
    run_result r = RUN("info", "/nonexistent/dir/none.sushi", "--json");
    expect_error(&r, 1);
    cr_assert_not_null(strstr(r.err, "none.sushi"));
    run_free(&r);
}

Test(cli, info_garbage_file_is_runtime_error, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/garbage.sushi", tmpdir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fputs("this is not a SuperNet\n", f);
    fclose(f);
    run_result r = RUN("info", path);
    expect_error(&r, 1);
    run_free(&r);
}

Test(cli, info_unknown_builtin_is_runtime_error)
{
    run_result r = RUN("info", "builtin:ofa-nonexistent");
    expect_error(&r, 1);
    run_free(&r);
}

/* ---------- subnets ---------- */

Test(cli, subnets_json_matches_candidate_table)
{
    run_result r = RUN("subnets", "builtin:ofa-resnet50", "--json");
    cJSON *j = json_ok(&r);
    sushi_supernet *sn = builtin("ofa-resnet50");
    sushi_supernet_info in = SUSHI_SUPERNET_INFO_INIT;
    cr_assert_eq(sushi_supernet_get_info(sn, &in), SUSHI_OK);
    cr_assert_eq(num(j, "count"), in.n_candidates);
    const cJSON *arr = item(j, "candidates");
    cr_assert_eq(cJSON_GetArraySize(arr), (int)in.n_candidates);
    cr_assert_gt(in.n_candidates, 0);
    for (uint32_t i = 0; i < in.n_candidates; i += in.n_candidates / 7 + 1) {
        sushi_candidate_info c = SUSHI_CANDIDATE_INFO_INIT;
        cr_assert_eq(sushi_supernet_candidate(sn, i, &c), SUSHI_OK);
        const cJSON *o = cJSON_GetArrayItem(arr, (int)i);
        cr_assert_eq(num(o, "index"), i);
        cr_assert_eq(num(o, "macs"), (double)c.macs);
        cr_assert_eq(num(o, "params"), (double)c.params);
        cr_assert_eq(num(o, "weight_bytes"), (double)c.weight_bytes);
        if (isnan(c.accuracy))
            cr_assert(cJSON_IsNull(item(o, "accuracy")));
        else
            cr_assert_float_eq(num(o, "accuracy"), c.accuracy, 1e-12);
        cr_assert_str_eq(str(o, "source"), c.accuracy_source);
        cr_assert_str_eq(str(o, "dataset"), c.dataset);
        cr_assert_str_eq(str(o, "metric"), c.metric);
        /* the printed config parses back to the candidate's config */
        char *text = cJSON_PrintUnformatted(item(o, "config"));
        sushi_config cfg = SUSHI_CONFIG_INIT;
        cr_assert_eq(sushi_config_parse(sn, text, 0, &cfg, NULL, 0), SUSHI_OK, "%s", text);
        cr_assert(sushi_config_equal(&cfg, &c.config), "%s", text);
        cJSON_free(text);
    }
    cJSON_Delete(j);
    sushi_supernet_destroy(sn);
    run_free(&r);
}

/* ---------- subnet ---------- */

Test(cli, subnet_resnet50_min224_matches_library_stats)
{
    run_result r = RUN("subnet", "builtin:ofa-resnet50", "--config", "min@224", "--json");
    cJSON *j = json_ok(&r);
    sushi_supernet *sn = builtin("ofa-resnet50");
    sushi_subnet *s = subnet(sn, "min@224");
    sushi_subnet_stats st = stats(s);
    cr_assert_eq(num(j, "weight_bytes"), (double)st.weight_bytes);
    cr_assert_eq(num(j, "params"), (double)st.params);
    cr_assert_eq(num(j, "macs"), (double)st.macs);
    cr_assert_eq(num(j, "n_layers"), st.n_layers);
    cr_assert_eq(num(j, "resolution"), 224);
    cr_assert_eq(boolean(j, "synthetic"), true);
    cr_assert_str_eq(str(j, "supernet"), "ofa-resnet50");
    if (st.candidate >= 0) {
        cr_assert_eq(num(j, "candidate"), st.candidate);
        cr_assert_float_eq(num(j, "accuracy"), st.accuracy, 1e-12);
    } else {
        cr_assert(cJSON_IsNull(item(j, "candidate")));
    }
    cr_assert_null(cJSON_GetObjectItemCaseSensitive(j, "layers"), "no layers without --layers");
    cJSON_Delete(j);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    run_free(&r);
}

Test(cli, subnet_layers_match_library_plan)
{
    run_result r = RUN("subnet", "builtin:ofa-mbv3-w1.0", "--config", "max@160", "--layers", "--json");
    cJSON *j = json_ok(&r);
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_subnet *s = subnet(sn, "max@160");
    sushi_subnet_stats st = stats(s);
    const cJSON *layers = item(j, "layers");
    cr_assert_eq(cJSON_GetArraySize(layers), (int)st.n_layers);
    double macs = 0, wb = 0;
    bool seen_dw = false;
    for (uint32_t i = 0; i < st.n_layers; i++) {
        sushi_layer_info l = SUSHI_LAYER_INFO_INIT;
        cr_assert_eq(sushi_subnet_layer(s, i, &l), SUSHI_OK);
        const cJSON *o = cJSON_GetArrayItem(layers, (int)i);
        cr_assert_str_eq(str(o, "name"), l.name);
        cr_assert_eq(num(o, "macs"), (double)l.macs);
        cr_assert_eq(num(o, "params"), (double)l.params);
        cr_assert_eq(num(o, "weight_bytes"), (double)l.weight_bytes);
        cr_assert_eq(num(o, "kernel"), l.kernel);
        cr_assert_eq(num(o, "stride"), l.stride);
        cr_assert_eq(cJSON_GetArrayItem(item(o, "in"), 0)->valuedouble, l.in_c);
        cr_assert_eq(cJSON_GetArrayItem(item(o, "out"), 1)->valuedouble, l.out_h);
        if (l.op == SUSHI_OP_DWCONV) {
            cr_assert_str_eq(str(o, "op"), "dwconv");
            seen_dw = true;
        }
        if (l.act == SUSHI_ACT_HSWISH)
            cr_assert_str_eq(str(o, "act"), "hswish");
        macs += num(o, "macs");
        wb += num(o, "weight_bytes");
    }
    cr_assert(seen_dw);
    cr_assert_eq(macs, (double)st.macs, "per-layer MACs sum to the SubNet's");
    cr_assert_eq(wb, (double)st.weight_bytes, "per-layer weight bytes sum to the SubNet's");
    cJSON_Delete(j);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    run_free(&r);
}

Test(cli, subnet_config_from_file_equals_inline, .init = make_tmpdir, .fini = remove_tmpdir)
{
    const char *cfg = "{\"d\":[1,0,2,1,0],\"e\":0.25,\"w\":[2,1,0,1,2,0],\"r\":[176]}";
    char path[128], at[160];
    snprintf(path, sizeof path, "%s/cfg.json", tmpdir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", cfg);
    fclose(f);
    snprintf(at, sizeof at, "@%s", path);
    run_result a = RUN("subnet", "builtin:ofa-resnet50", "--config", cfg, "--json");
    run_result b = RUN("subnet", "builtin:ofa-resnet50", "--config", at, "--json");
    cJSON *ja = json_ok(&a), *jb = json_ok(&b);
    cr_assert(cJSON_Compare(ja, jb, true), "inline and @file results differ");
    sushi_supernet *sn = builtin("ofa-resnet50");
    sushi_subnet *s = subnet(sn, cfg);
    cr_assert_eq(num(ja, "weight_bytes"), (double)stats(s).weight_bytes);
    cr_assert_eq(num(ja, "resolution"), 176);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    run_free(&a);
    run_free(&b);
}

Test(cli, subnet_resolution_option_overrides_config)
{
    run_result r = RUN("subnet", "builtin:ofa-resnet50", "--config", "max@224", "--resolution", "160", "--json");
    cJSON *j = json_ok(&r);
    sushi_supernet *sn = builtin("ofa-resnet50");
    sushi_subnet *s = subnet(sn, "max@160");
    cr_assert_eq(num(j, "resolution"), 160);
    cr_assert_eq(num(j, "macs"), (double)stats(s).macs);
    cr_assert_eq(num(cJSON_GetObjectItemCaseSensitive(j, "config"), "r"), 160);
    cJSON_Delete(j);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    run_free(&r);
}

Test(cli, subnet_human_output_has_units)
{
    run_result r = RUN("subnet", "builtin:ofa-resnet50", "--config", "min@224");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "M params"));
    cr_assert_not_null(strstr(r.out, "MMACs"));
    cr_assert_not_null(strstr(r.out, " MB"));
    run_free(&r);
}

Test(cli, subnet_bad_config_fails_with_one_stderr_line)
{
    const char *bad[] = { "min@999", "{\"d\":[9,9,9,9,9]}", "{not json", "middle" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run_result r = RUN("subnet", "builtin:ofa-resnet50", "--config", bad[i], "--json");
        expect_error(&r, 1);
        cr_assert_not_null(strstr(r.err, "config"), "%s", r.err);
        run_free(&r);
    }
}

Test(cli, subnet_missing_config_file_fails)
{
    run_result r = RUN("subnet", "builtin:ofa-resnet50", "--config", "@/nonexistent/cfg.json");
    expect_error(&r, 1);
    run_free(&r);
}

Test(cli, subnet_usage_errors_exit_2)
{
    run_result a = RUN("subnet", "builtin:ofa-resnet50");
    expect_error(&a, 2);
    run_result b = RUN("subnet", "builtin:ofa-resnet50", "--config", "min", "--resolution", "abc");
    expect_error(&b, 2);
    run_result c = RUN("subnet", "builtin:ofa-resnet50", "--config", "min", "--bogus");
    expect_error(&c, 2);
    run_result d = RUN("subnet", "--config", "min");
    expect_error(&d, 2);
    run_free(&a);
    run_free(&b);
    run_free(&c);
    run_free(&d);
}

/* ---------- subgraph ---------- */

Test(cli, subgraph_of_a_config_with_itself_is_its_weights)
{
    run_result r = RUN("subgraph", "builtin:ofa-resnet50", "--config", "min@224", "--config", "min@224", "--json");
    cJSON *j = json_ok(&r);
    sushi_supernet *sn = builtin("ofa-resnet50");
    sushi_subnet *s = subnet(sn, "min@224");
    uint64_t wb = stats(s).weight_bytes;
    cr_assert_eq(num(j, "bytes"), (double)wb);
    const cJSON *arr = item(j, "subnets");
    cr_assert_eq(cJSON_GetArraySize(arr), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *o = cJSON_GetArrayItem(arr, i);
        cr_assert_eq(num(o, "weight_bytes"), (double)wb);
        cr_assert_eq(num(o, "hit_bytes"), (double)wb);
        cr_assert_float_eq(num(o, "fraction"), 1.0, 1e-12);
    }
    cr_assert(cJSON_IsNull(item(j, "budget")));
    cr_assert(cJSON_IsNull(item(j, "truncated")));
    cJSON_Delete(j);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    run_free(&r);
}

Test(cli, subgraph_matches_library_intersection_and_truncation)
{
    const char *cfg_b = "{\"ks\":5,\"e\":4,\"d\":[3,2,4,3,2],\"r\":192}";
    const uint64_t budget = 1500000;
    run_result r = RUN("subgraph", "builtin:ofa-mbv3-w1.0", "--config", "max@224", "--config", cfg_b, "--config",
                       "min@160", "--budget", "1500000", "--json");
    cJSON *j = json_ok(&r);
    sushi_supernet *sn = builtin("ofa-mbv3-w1.0");
    sushi_subnet *s[3] = { subnet(sn, "max@224"), subnet(sn, cfg_b), subnet(sn, "min@160") };
    sushi_subgraph *g, *t;
    cr_assert_eq(sushi_subgraph_create(sn, &g), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_create(sn, &t), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_set_subnet(g, s[0]), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_intersect_subnet(g, s[1]), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_intersect_subnet(g, s[2]), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_copy(t, g), SUSHI_OK);
    cr_assert_eq(sushi_subgraph_truncate(t, budget), SUSHI_OK);
    cr_assert_eq(num(j, "bytes"), (double)sushi_subgraph_bytes(g));
    cr_assert_eq(num(j, "budget"), (double)budget);
    const cJSON *tr = item(j, "truncated");
    cr_assert_eq(num(tr, "bytes"), (double)sushi_subgraph_bytes(t));
    cr_assert_leq(num(tr, "bytes"), (double)budget);
    cr_assert_lt(num(tr, "bytes"), num(j, "bytes"), "the budget must bite in this test");
    const cJSON *arr = item(j, "subnets"), *tarr = item(tr, "subnets");
    cr_assert_eq(cJSON_GetArraySize(arr), 3);
    cr_assert_eq(cJSON_GetArraySize(tarr), 3);
    for (int i = 0; i < 3; i++) {
        const cJSON *o = cJSON_GetArrayItem(arr, i), *to = cJSON_GetArrayItem(tarr, i);
        sushi_subnet_stats st = stats(s[i]);
        cr_assert_eq(num(o, "weight_bytes"), (double)st.weight_bytes);
        cr_assert_eq(num(o, "hit_bytes"), (double)sushi_subgraph_hit_bytes(g, s[i]));
        cr_assert_float_eq(num(o, "fraction"),
                           (double)sushi_subgraph_hit_bytes(g, s[i]) / (double)st.weight_bytes, 1e-12);
        cr_assert_eq(num(to, "hit_bytes"), (double)sushi_subgraph_hit_bytes(t, s[i]));
        cr_assert_leq(num(to, "hit_bytes"), num(o, "hit_bytes"));
    }
    /* the common SubGraph lies inside every SubNet: each one hits all of it */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(num(cJSON_GetArrayItem(arr, i), "hit_bytes"), num(j, "bytes"));
    sushi_subgraph_destroy(t);
    sushi_subgraph_destroy(g);
    for (int i = 0; i < 3; i++)
        sushi_subnet_destroy(s[i]);
    sushi_supernet_destroy(sn);
    cJSON_Delete(j);
    run_free(&r);
}

Test(cli, subgraph_bad_second_config_fails)
{
    run_result r = RUN("subgraph", "builtin:ofa-resnet50", "--config", "min", "--config", "max@7", "--json");
    expect_error(&r, 1);
    run_free(&r);
}

Test(cli, subgraph_without_config_is_usage_error)
{
    run_result r = RUN("subgraph", "builtin:ofa-resnet50", "--budget", "100");
    expect_error(&r, 2);
    run_result b = RUN("subgraph", "builtin:ofa-resnet50", "--config", "min", "--budget", "-1");
    expect_error(&b, 2);
    run_free(&r);
    run_free(&b);
}

/* ---------- dispatcher and help ---------- */

Test(cli, help_for_every_subcommand_exits_0)
{
    const char *cmds[] = { "zoo", "info", "subnets", "subnet", "subgraph" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        run_result r = RUN(cmds[i], "--help");
        cr_assert_eq(r.status, 0, "%s --help", cmds[i]);
        cr_assert_str_empty(r.err);
        char want[64];
        snprintf(want, sizeof want, "usage: sushi %s", cmds[i]);
        cr_assert_not_null(strstr(r.out, want), "%s", r.out);
        run_free(&r);
    }
    run_result top = RUN("--help");
    cr_assert_eq(top.status, 0);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        cr_assert_not_null(strstr(top.out, cmds[i]));
    run_free(&top);
}

Test(cli, unknown_command_and_no_command_are_usage_errors)
{
    run_result a = RUN("frobnicate");
    expect_error(&a, 2);
    run_result b = run_argv((const char *const[]){ NULL });
    expect_error(&b, 2);
    run_free(&a);
    run_free(&b);
}

Test(cli, version_matches_library)
{
    run_result r = RUN("--version");
    cr_assert_eq(r.status, 0);
    cr_assert_not_null(strstr(r.out, sushi_version_string()));
    run_free(&r);
}
