/* dump_subnet: writes a SubNet's plan, the SuperNet tensors it reads, its BN
 * scale/shift and a deterministic input, for tools/reference/torch_ref.py.
 *
 *   dump_subnet SUPERNET CONFIG INPUT_SEED OUT_PREFIX
 *
 * SUPERNET is a built-in name (ofa-mbv3-w1.0, ofa-mbv3-w1.2, ofa-resnet50)
 * or a .sushi file (bench/cpu/bench_fair.py times the shipped model too);
 * CONFIG is OFA's JSON arch dict or min/max[@RES]. Writes OUT_PREFIX.json
 * (the description) and OUT_PREFIX.bin (float32 little-endian data; every
 * "at" in the JSON is an element offset into it). Whole tensors are written,
 * not slices: the reference slices them itself (prefix rule of OFA). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "internal.h"

static const char *op_names[] = { "conv", "dwconv", "linear", "maxpool", "avgpool", "gap", "add", "se" };
static const char *act_names[] = { "none", "relu", "hswish", "hsigmoid" };

typedef struct out {
    FILE *bin;
    uint64_t at; /* floats written */
    int32_t *tensor_at_idx; /* tensor -> offset+1 */
    uint64_t *tensor_at;
} out;

static uint64_t put(out *o, const float *d, uint64_t n)
{
    uint64_t at = o->at;
    fwrite(d, sizeof *d, n, o->bin);
    o->at += n;
    return at;
}

static void put_tensor(out *o, FILE *js, const sushi_supernet *sn, const char *key, int32_t t, bool *first)
{
    if (t < 0)
        return;
    const sushi_tensor *x = &sn->tensors[t];
    if (!o->tensor_at_idx[t]) {
        o->tensor_at[t] = put(o, x->data, x->nelem);
        o->tensor_at_idx[t] = 1;
    }
    fprintf(js, "%s\"%s\": {\"name\": \"%s\", \"at\": %llu, \"shape\": [", *first ? "" : ", ", key, x->name,
            (unsigned long long)o->tensor_at[t]);
    for (uint32_t i = 0; i < x->ndim; i++)
        fprintf(js, "%s%u", i ? ", " : "", x->shape[i]);
    fprintf(js, "]}");
    *first = false;
}

static const sushi_conv_ref *layer_ref(const sushi_subnet *s, const sushi_layer *l)
{
    const sushi_unit *u = &s->sn->units[l->unit];
    if (l->op == SUSHI_OP_DWCONV)
        return &u->sub[SUSHI_SUB_DW];
    for (int i = 0; i < SUSHI_SUB_MAX; i++)
        if (u->sub[i].w == l->w && u->sub[i].w >= 0)
            return &u->sub[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s SUPERNET CONFIG INPUT_SEED OUT_PREFIX\n", argv[0]);
        return 2;
    }
    sushi_context *ctx = NULL;
    sushi_supernet *sn = NULL;
    sushi_subnet *s = NULL;
    char err[256] = "";
    sushi_config cfg = SUSHI_CONFIG_INIT;
    if (sushi_context_create(NULL, &ctx) ||
        (strstr(argv[1], ".sushi") ? sushi_supernet_load_file(ctx, argv[1], NULL, &sn)
                                   : sushi_supernet_builtin(ctx, argv[1], 0, &sn)) ||
        sushi_config_parse(sn, argv[2], 0, &cfg, err, sizeof err) || sushi_subnet_create(sn, &cfg, &s)) {
        fprintf(stderr, "dump_subnet: cannot make the SubNet %s %s: %s\n", argv[1], argv[2], err);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s.bin", argv[4]);
    out o = { fopen(path, "wb"), 0, calloc(sn->n_tensors + 1, sizeof(int32_t)), calloc(sn->n_tensors + 1, 8) };
    snprintf(path, sizeof path, "%s.json", argv[4]);
    FILE *js = fopen(path, "w");
    if (!o.bin || !js || !o.tensor_at_idx || !o.tensor_at) {
        fprintf(stderr, "dump_subnet: cannot write %s\n", argv[4]);
        return 1;
    }
    uint64_t seed = strtoull(argv[3], NULL, 0);
    size_t n_in = (size_t)sn->in_channels * cfg.resolution * cfg.resolution;
    float *x = malloc(n_in * sizeof *x);
    cpu_test_input(seed, x, n_in);
    char cfgtxt[2048];
    sushi_config_print(&cfg, cfgtxt, sizeof cfgtxt);
    sushi_subnet_stats st = SUSHI_SUBNET_STATS_INIT;
    sushi_subnet_get_stats(s, &st);
    fprintf(js, "{\n\"supernet\": \"%s\", \"config\": %s, \"resolution\": %u,\n", sn->name, cfgtxt,
            cfg.resolution);
    fprintf(js, "\"input_seed\": %llu, \"input\": {\"at\": %llu, \"shape\": [%u, %u, %u]},\n",
            (unsigned long long)seed, (unsigned long long)put(&o, x, n_in), sn->in_channels, cfg.resolution,
            cfg.resolution);
    fprintf(js, "\"macs\": %llu, \"params\": %llu, \"num_classes\": %u, \"output_value\": %u,\n",
            (unsigned long long)st.macs, (unsigned long long)st.params, sn->num_classes, s->output_value);
    fprintf(js, "\"values\": [");
    for (uint32_t v = 0; v < s->n_values; v++)
        fprintf(js, "%s[%u, %u, %u]", v ? ", " : "", s->values[v].c, s->values[v].h, s->values[v].w);
    fprintf(js, "],\n\"layers\": [\n");
    for (uint32_t i = 0; i < s->n_layers; i++) {
        const sushi_layer *l = &s->layers[i];
        fprintf(js,
                "%s{\"name\": \"%s\", \"op\": \"%s\", \"act\": \"%s\", \"input\": %u, \"input2\": %d, \"output\": %u, "
                "\"in\": [%u, %u, %u], \"out\": [%u, %u, %u], \"kernel\": %u, \"stride\": %u, \"pad\": %u, "
                "\"se_mid\": %u, \"macs\": %llu, \"params\": %llu",
                i ? ",\n" : "", l->name, op_names[l->op], act_names[l->act], l->input,
                l->input2 == SUSHI_VALUE_NONE ? -1 : (int)l->input2, l->output, l->in_c, l->in_h, l->in_w, l->out_c,
                l->out_h, l->out_w, l->kernel, l->stride, l->pad, l->se_mid, (unsigned long long)l->macs,
                (unsigned long long)l->params);
        fprintf(js, ", \"tensors\": {");
        bool first = true;
        put_tensor(&o, js, sn, "weight", l->w, &first);
        put_tensor(&o, js, sn, "bias", l->b, &first);
        put_tensor(&o, js, sn, "weight2", l->w2, &first);
        put_tensor(&o, js, sn, "bias2", l->b2, &first);
        if (l->bn >= 0) {
            const sushi_conv_ref *r = layer_ref(s, l);
            put_tensor(&o, js, sn, "bn_gamma", r->bn.gamma, &first);
            put_tensor(&o, js, sn, "bn_beta", r->bn.beta, &first);
            put_tensor(&o, js, sn, "bn_mean", r->bn.mean, &first);
            put_tensor(&o, js, sn, "bn_var", r->bn.var, &first);
        }
        fprintf(js, "}");
        if (l->bn >= 0) {
            const sushi_conv_ref *r = layer_ref(s, l);
            uint64_t a = put(&o, l->bn_scale, l->out_c);
            uint64_t b = put(&o, l->bn_shift, l->out_c);
            fprintf(js, ", \"bn\": {\"eps\": %.9g, \"from_candidate\": %s, \"scale_at\": %llu, \"shift_at\": %llu}",
                    (double)r->bn.eps, s->bn_from_candidate ? "true" : "false", (unsigned long long)a,
                    (unsigned long long)b);
        }
        fprintf(js, "}");
    }
    fprintf(js, "\n]\n}\n");
    fclose(js);
    fclose(o.bin);
    free(x);
    free(o.tensor_at_idx);
    free(o.tensor_at);
    sushi_subnet_destroy(s);
    sushi_supernet_destroy(sn);
    sushi_context_destroy(ctx);
    return 0;
}
