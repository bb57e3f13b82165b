/* The "hls" backend: host driver of the SushiAccel HLS kernel, run as C
 * simulation (docs/hls.md).
 *
 * Engine: CONV, DWCONV, LINEAR (a 1x1 conv of a 1x1 map), the two FC layers
 * of squeeze-excite, and a residual ADD fused into the conv that produces one
 * of its operands. Host (same integer code as the cpu int8 path): pools,
 * GAP, non-fusable ADD, the squeeze and excite of SE. Parameters come from
 * the cpu backend's int8 model builder, so outputs are bit-exact with the
 * cpu int8 path. Off-chip traffic is counted on every kernel port and for
 * every host-side read and write. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "backends/cpu/cpu_internal.h"
#include "backends/cpu/int8_layers.h"
#include "backends/cpu/int8_ops.h"
#include "../cycle/savings.h"
#include "backends/cycle/cycle_internal.h"
#include "hls_internal.h"
#include "kernel/sushi_accel.h"
#include "sushi/cycle.h"
#include "sushi/hls.h"

typedef struct hls_qp {
    int32_t *p1, *p2; /* packed requant words per output channel (SE: p1 reduce, p2 expand) */
} hls_qp;

/* Activation ranges of one SubNet: given by the user, or calibrated by the
 * backend on the default calibration set (at most HLS_CALIB_CACHE of those,
 * the oldest replaced first). */
typedef struct hls_ranges {
    sushi_subnet *s; /* retained */
    float *r;
    bool calibrated;
} hls_ranges;

enum { HLS_CALIB_CACHE = 16 };

typedef struct hls_state {
    const sushi_supernet *sn;
    const sushi_context *ctx;
    /* int8 model */
    hls_ranges *rt;
    size_t n_rt, cap_rt;
    cpu_q8_model *q8;
    const float *q8_src;
    hls_qp *qp;
    /* off-chip memory: one region per value (no reuse) in one activation arena */
    uint8_t **vbuf;
    uint32_t n_vbuf;
    uint8_t *arena;
    size_t arena_len;
    /* descriptor-list mode (zcu104-sgs): weights and requant words of every
     * layer in two arenas, at per-layer offsets */
    int8_t *warena;
    int32_t *qarena;
    uint32_t *w_off, *w2_off, *q_off, *q2_off;
    int32_t *acc;
    uint32_t n_acc;
    uint8_t *pooled, *hid, *gate;
    uint32_t n_se;
    /* PB: the truncated resident SubGraph and each slot's loaded box */
    sushi_subgraph *resident;
    uint32_t *pb_rows, *pb_cols, *pb_base;
    uint64_t last_loaded, last_kept;
    /* statistics of the last run */
    hls_layer_stat *stats;
    uint32_t n_stats;
    sushi_cycle_model model;
} hls_state;

/* The kernel (its buffers, PB and counters) is one device per process:
 * calls are serialised, and the PB belongs to the instance that loaded it last. */
static const hls_state *pb_owner;
static pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *hls_name = "hls";

static int hls_create(void *user, const sushi_supernet *sn, void **out)
{
    (void)user;
    hls_state *st = sushi_calloc(sn->ctx, 1, sizeof *st);
    if (!st)
        return SUSHI_ERR_NOMEM;
    st->sn = sn;
    st->ctx = sn->ctx;
    uint32_t n = sn->n_wt ? sn->n_wt : 1;
    st->pb_rows = sushi_calloc(sn->ctx, n, sizeof *st->pb_rows);
    st->pb_cols = sushi_calloc(sn->ctx, n, sizeof *st->pb_cols);
    st->pb_base = sushi_calloc(sn->ctx, n, sizeof *st->pb_base);
    int rc = (st->pb_rows && st->pb_cols && st->pb_base) ? sushi_subgraph_create(sn, &st->resident)
                                                         : SUSHI_ERR_NOMEM;
    if (!rc)
        rc = sushi_cycle_model_init(&st->model, SUSHI_CYCLE_PRESET_ZCU104);
    /* what the kernel moves (docs/hls.md): 16 requant bytes per output
     * channel, one pixel-loop trip per window step, 32 fill cycles */
    if (!rc)
        rc = sushi_cycle_model_set(&st->model, "quant_bytes", ACCEL_QPARAM_WORDS * 4);
    if (rc) {
        sushi_subgraph_destroy(st->resident);
        sushi_free(sn->ctx, st->pb_rows);
        sushi_free(sn->ctx, st->pb_cols);
        sushi_free(sn->ctx, st->pb_base);
        sushi_free(sn->ctx, st);
        return rc;
    }
    *out = st;
    return SUSHI_OK;
}

static void drop_model(hls_state *st)
{
    if (st->qp && st->q8) {
        for (uint32_t i = 0; i < st->q8->s->n_layers; i++) {
            sushi_free(st->ctx, st->qp[i].p1);
            sushi_free(st->ctx, st->qp[i].p2);
        }
    }
    sushi_free(st->ctx, st->qp);
    st->qp = NULL;
    cpu_q8_model_destroy(st->q8);
    st->q8 = NULL;
    st->q8_src = NULL;
}

static void drop_list(hls_state *st)
{
    sushi_free(st->ctx, st->warena);
    sushi_free(st->ctx, st->qarena);
    sushi_free(st->ctx, st->w_off);
    sushi_free(st->ctx, st->w2_off);
    sushi_free(st->ctx, st->q_off);
    sushi_free(st->ctx, st->q2_off);
    st->warena = NULL;
    st->qarena = NULL;
    st->w_off = st->w2_off = st->q_off = st->q2_off = NULL;
}

static void drop_bufs(hls_state *st)
{
    sushi_free(st->ctx, st->arena);
    sushi_free(st->ctx, st->vbuf);
    st->arena = NULL;
    st->arena_len = 0;
    st->vbuf = NULL;
    st->n_vbuf = 0;
    drop_list(st);
}

static void hls_destroy(void *p)
{
    hls_state *st = p;
    const sushi_context *ctx = st->ctx;
    pthread_mutex_lock(&device_lock);
    if (pb_owner == st)
        pb_owner = NULL;
    pthread_mutex_unlock(&device_lock);
    drop_model(st);
    drop_bufs(st);
    sushi_free(ctx, st->acc);
    sushi_free(ctx, st->pooled);
    sushi_free(ctx, st->hid);
    sushi_free(ctx, st->gate);
    sushi_free(ctx, st->stats);
    for (size_t i = 0; i < st->n_rt; i++) {
        sushi_subnet_destroy(st->rt[i].s);
        sushi_free(ctx, st->rt[i].r);
    }
    sushi_free(ctx, st->rt);
    sushi_subgraph_destroy(st->resident);
    sushi_free(ctx, st->pb_rows);
    sushi_free(ctx, st->pb_cols);
    sushi_free(ctx, st->pb_base);
    sushi_free(ctx, st);
}

/* PB bytes the driver uses: the preset's, at most the kernel's PB */
static uint64_t pb_cap(const hls_state *st)
{
    uint64_t b = sushi_cycle_pb_bytes(&st->model);
    return b < ACCEL_PB_BYTES ? b : ACCEL_PB_BYTES;
}

static int pb_sync(hls_state *st, bool force);

/* "preset": zcu104 (one call per layer, the calibrated machine) or
 * zcu104-sgs (one descriptor list per query, resident activations,
 * stride-aware windows); the kernel's buffers are the XCZU7EV's, so the u50
 * presets are refused. */
static int hls_set_param(void *p, const char *key, double v)
{
    hls_state *st = p;
    if (strcmp(key, "preset") != 0)
        return SUSHI_ERR_NOT_FOUND;
    if (v != SUSHI_CYCLE_PRESET_ZCU104 && v != SUSHI_CYCLE_PRESET_ZCU104_SGS)
        return SUSHI_ERR_RANGE;
    sushi_cycle_model m;
    int rc = sushi_cycle_model_init(&m, (int)v);
    if (!rc)
        rc = sushi_cycle_model_set(&m, "quant_bytes", ACCEL_QPARAM_WORDS * 4);
    if (rc)
        return rc;
    pthread_mutex_lock(&device_lock);
    st->model = m;
    rc = sushi_subgraph_truncate(st->resident, pb_cap(st));
    if (!rc && pb_owner == st)
        rc = pb_sync(st, true);
    pthread_mutex_unlock(&device_lock);
    return rc;
}

static int hls_get_param(void *p, const char *key, double *v)
{
    hls_state *st = p;
    if (strcmp(key, "pb_kib") == 0) {
        *v = (double)pb_cap(st) / 1024.0;
        return SUSHI_OK;
    }
    return sushi_cycle_model_get(&st->model, key, v);
}

/* The cycle model of the machine this kernel implements (see hls_create). */
static int hls_cost(void *p, const sushi_subnet *s, const sushi_subgraph *g, sushi_cost *out)
{
    hls_state *st = p;
    sushi_cost c = SUSHI_COST_INIT;
    int rc = sushi_cycle_cost_subnet(&st->model, s, g, NULL, &c);
    if (!rc) {
        size_t sz = out->size;
        *out = c;
        out->size = sz;
    }
    return rc;
}

/* What each tile saves: the kernel's latency and energy are the cycle
 * model's (hls_cost), so the savings are the model's too. */
static int hls_tile_savings(void *p, const sushi_subnet *s, sushi_tile_saving *out, size_t n)
{
    hls_state *st = p;
    return sushi_cycle_tile_savings(&st->model, s, out, n);
}

/* ---------------- persistent buffer ---------------- */

static uint32_t slot_kk(const sushi_supernet *sn, uint32_t t) { return sn->tensors[sn->wt[t]].kk; }

static void pb_cmd(uint32_t op, uint32_t slot, const int8_t *w, uint32_t rows, uint32_t cols, uint32_t kk,
                   uint32_t base)
{
    accel_ctrl c;
    memset(&c, 0, sizeof c);
    c.op = op;
    c.pb_slot = slot;
    c.pb_rows = rows;
    c.pb_cols = cols;
    c.pb_kk = kk;
    c.pb_base = base;
    sushi_accel(NULL, NULL, w, NULL, NULL, NULL, NULL, NULL, c, NULL);
}

/* int8 box [rows][cols * kk] of slot t (rows quantised over the whole SuperNet row) */
static int8_t *slot_box(const hls_state *st, uint32_t t, uint32_t rows, uint32_t cols)
{
    const sushi_tensor *x = &st->sn->tensors[st->sn->wt[t]];
    uint32_t kk = slot_kk(st->sn, t), row = (uint32_t)(x->nelem / x->shape[0]);
    int8_t *b = sushi_calloc(st->ctx, (size_t)rows * cols * kk + 1, 1);
    if (!b)
        return NULL;
    for (uint32_t o = 0; o < rows; o++)
        sushi_q8_quant_weight(x->data + (size_t)o * row, row, cols * kk, b + (size_t)o * cols * kk);
    return b;
}

static void pb_move(uint32_t t, uint32_t src, uint32_t src_stride, uint32_t dst, uint32_t dst_cols, uint32_t kr,
                    uint32_t kc, uint32_t kk, bool backward)
{
    accel_ctrl c;
    memset(&c, 0, sizeof c);
    c.op = ACCEL_OP_PB_MOVE;
    c.pb_slot = t;
    c.pb_src = src;
    c.pb_src_stride = src_stride;
    c.pb_base = dst;
    c.pb_cols = dst_cols;
    c.pb_kk = kk;
    c.pb_keep_rows = kr;
    c.pb_keep_cols = kc;
    c.pb_backward = backward;
    sushi_accel(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c, NULL);
}

/* Make the truncated SubGraph st->resident the PB contents, moving over the
 * DRAM only what is not already resident (the cycle model's reload bytes):
 * the PB holds the slot boxes packed in slot order. 1. the part of each old
 * box the new box keeps (the intersection) is compacted downwards, first
 * slot first; 2. each kept part is spread to its final place (new row
 * stride) upwards, last slot first; 3. each slot's missing elements stream
 * in from DRAM (PB_FILL). Both moves are on chip and never overwrite data
 * not yet moved (docs/hls.md). */
static int pb_sync(hls_state *st, bool force)
{
    const sushi_subgraph *g = st->resident;
    const uint32_t n = st->sn->n_wt < ACCEL_PB_SLOTS ? st->sn->n_wt : ACCEL_PB_SLOTS;
    uint64_t loaded = 0, kept = 0;
    if (force || pb_owner != st) {
        pb_cmd(ACCEL_OP_PB_INVALIDATE, ACCEL_PB_SLOTS, NULL, 0, 0, 0, 0);
        memset(st->pb_rows, 0, st->sn->n_wt * sizeof *st->pb_rows);
        memset(st->pb_cols, 0, st->sn->n_wt * sizeof *st->pb_cols);
        pb_owner = st;
    }
    uint32_t *cbase = sushi_calloc(st->ctx, n ? n : 1, sizeof *cbase);
    if (!cbase)
        return SUSHI_ERR_NOMEM;
    /* 1: compact the kept parts */
    uint64_t addr = 0;
    for (uint32_t t = 0; t < n; t++) {
        uint32_t kk = slot_kk(st->sn, t);
        uint32_t kr = g->out_ch[t] < st->pb_rows[t] ? g->out_ch[t] : st->pb_rows[t];
        uint32_t kc = g->in_ch[t] < st->pb_cols[t] ? g->in_ch[t] : st->pb_cols[t];
        cbase[t] = (uint32_t)addr;
        if (!kr || !kc)
            continue;
        pb_move(t, st->pb_base[t], st->pb_cols[t] * kk, (uint32_t)addr, kc, kr, kc, kk, false);
        addr += (uint64_t)kr * kc * kk;
    }
    /* final bases, packed in slot order */
    uint64_t total = 0;
    for (uint32_t t = 0; t < n; t++)
        total += (uint64_t)g->out_ch[t] * g->in_ch[t] * slot_kk(st->sn, t);
    if (total > pb_cap(st)) {
        sushi_free(st->ctx, cbase);
        return SUSHI_ERR_RANGE;
    }
    /* 2: spread them to their final places, last slot first */
    uint64_t end = total;
    for (uint32_t t = n; t-- > 0;) {
        uint32_t kk = slot_kk(st->sn, t), no = g->out_ch[t], ni = g->in_ch[t];
        uint64_t fsize = (uint64_t)no * ni * kk, fbase = end - fsize;
        end = fbase;
        uint32_t kr = no < st->pb_rows[t] ? no : st->pb_rows[t];
        uint32_t kc = ni < st->pb_cols[t] ? ni : st->pb_cols[t];
        if (kr && kc)
            pb_move(t, cbase[t], kc * kk, (uint32_t)fbase, ni, kr, kc, kk, true);
        st->pb_base[t] = (uint32_t)fbase;
        st->pb_rows[t] = kr && kc ? kr : 0; /* kept box, until filled */
        st->pb_cols[t] = kr && kc ? kc : 0;
    }
    sushi_free(st->ctx, cbase);
    /* 3: stream the missing elements in */
    int rc = SUSHI_OK;
    for (uint32_t t = 0; t < n && !rc; t++) {
        uint32_t kk = slot_kk(st->sn, t), no = g->out_ch[t], ni = g->in_ch[t];
        uint32_t kr = st->pb_rows[t], kc = st->pb_cols[t];
        if (!no || !ni) {
            pb_cmd(ACCEL_OP_PB_INVALIDATE, t, NULL, 0, 0, 0, 0);
            st->pb_rows[t] = st->pb_cols[t] = 0;
            continue;
        }
        uint64_t need = (uint64_t)no * ni * kk, have = (uint64_t)kr * kc * kk;
        int8_t *box = NULL, *pk = NULL;
        if (need > have) {
            box = slot_box(st, t, no, ni);
            pk = sushi_calloc(st->ctx, need - have, 1);
            if (!box || !pk) {
                rc = SUSHI_ERR_NOMEM;
            } else {
                size_t w = 0;
                for (uint32_t o = 0; o < no; o++)
                    for (uint32_t i = 0; i < ni * kk; i++)
                        if (!(o < kr && i < kc * kk))
                            pk[w++] = box[(size_t)o * ni * kk + i];
            }
        }
        if (!rc) {
            accel_ctrl c;
            memset(&c, 0, sizeof c);
            c.op = ACCEL_OP_PB_FILL;
            c.pb_slot = t;
            c.pb_rows = no;
            c.pb_cols = ni;
            c.pb_kk = kk;
            c.pb_base = st->pb_base[t];
            c.pb_keep_rows = kr;
            c.pb_keep_cols = kc;
            sushi_accel(NULL, NULL, pk, NULL, NULL, NULL, NULL, NULL, c, NULL);
            st->pb_rows[t] = no;
            st->pb_cols[t] = ni;
            loaded += need - have;
            kept += have;
        }
        sushi_free(st->ctx, box);
        sushi_free(st->ctx, pk);
    }
    st->last_loaded = loaded;
    st->last_kept = kept;
    return rc;
}

static int set_resident_locked(void *p, const sushi_subgraph *g, sushi_cost *reload)
{
    hls_state *st = p;
    int rc = g ? sushi_subgraph_copy(st->resident, g) : sushi_subgraph_clear(st->resident);
    if (!rc)
        rc = sushi_subgraph_truncate(st->resident, pb_cap(st));
    if (!rc) {
        sushi_accel_counters_reset();
        rc = pb_sync(st, false);
    }
    if (!rc && sushi_accel_counters_get().status)
        rc = SUSHI_ERR_STATE;
    if (!rc && reload) {
        size_t sz = reload->size;
        sushi_cost c = SUSHI_COST_INIT;
        sushi_cycle_cost_reload(&st->model, st->last_loaded, st->last_kept, &c);
        *reload = c;
        reload->size = sz;
    }
    return rc;
}

static int hls_set_resident(void *p, const sushi_subgraph *g, sushi_cost *reload)
{
    pthread_mutex_lock(&device_lock);
    int rc = set_resident_locked(p, g, reload);
    pthread_mutex_unlock(&device_lock);
    return rc;
}

/* ---------------- int8 model and buffers ---------------- */

static int32_t *pack_rq(const hls_state *st, const cpu_q8_rq *rq, const int32_t *bias_acc, uint32_t n)
{
    int32_t *p = sushi_calloc(st->ctx, (size_t)n * ACCEL_QPARAM_WORDS, sizeof *p);
    if (!p)
        return NULL;
    for (uint32_t o = 0; o < n; o++) {
        int32_t *w = p + (size_t)o * ACCEL_QPARAM_WORDS;
        if (bias_acc) {
            w[0] = bias_acc[o];
            continue;
        }
        uint64_t B = (uint64_t)rq->B[o];
        w[0] = rq->m[o];
        w[1] = rq->s[o];
        w[2] = (int32_t)(uint32_t)(B & 0xffffffffu);
        w[3] = (int32_t)(uint32_t)(B >> 32);
    }
    return p;
}

/* Ranges for s: given > stored with the candidate > self-calibrated (sushi/hls.h). */
/* Ranges belong to a SubNet's config: another SubNet object of the same config
 * (e.g. the scheduler's own) has the same plan and uses them too. */
static bool same_subnet(const sushi_subnet *a, const sushi_subnet *b)
{
    return a == b || sushi_config_equal(sushi_subnet_config(a), sushi_subnet_config(b));
}

static const float *find_ranges(const hls_state *st, const sushi_subnet *s)
{
    const float *cal = NULL;
    for (size_t i = 0; i < st->n_rt; i++)
        if (same_subnet(st->rt[i].s, s)) {
            if (!st->rt[i].calibrated)
                return st->rt[i].r;
            cal = st->rt[i].r;
        }
    const float *stored = cpu_q8_stored_ranges(s);
    return stored ? stored : cal;
}

/* Store ranges r (taken over) for s: replaces the entry of s of the same
 * kind; a new calibrated entry beyond HLS_CALIB_CACHE replaces the oldest. */
static int put_ranges(hls_state *st, const sushi_subnet *s, float *r, bool calibrated)
{
    hls_ranges *slot = NULL;
    size_t n_cal = 0;
    for (size_t i = 0; i < st->n_rt; i++) {
        if (same_subnet(st->rt[i].s, s) && st->rt[i].calibrated == calibrated)
            slot = &st->rt[i];
        n_cal += st->rt[i].calibrated;
    }
    if (!slot && calibrated && n_cal >= HLS_CALIB_CACHE) {
        for (size_t i = 0; i < st->n_rt; i++) /* entries are appended: the first calibrated one is the oldest */
            if (st->rt[i].calibrated) {
                sushi_subnet_destroy(st->rt[i].s);
                sushi_free(st->ctx, st->rt[i].r);
                memmove(&st->rt[i], &st->rt[i + 1], (st->n_rt - i - 1) * sizeof *st->rt);
                st->n_rt--;
                break;
            }
    }
    if (!slot) {
        if (st->n_rt == st->cap_rt) {
            size_t n = st->cap_rt ? 2 * st->cap_rt : 8;
            hls_ranges *t = sushi_realloc(st->ctx, st->rt, n * sizeof *t);
            if (!t)
                return SUSHI_ERR_NOMEM;
            st->rt = t;
            st->cap_rt = n;
        }
        slot = &st->rt[st->n_rt++];
        sushi_ref_get(&((sushi_subnet *)s)->ref);
        slot->s = (sushi_subnet *)s;
        slot->calibrated = calibrated;
    } else {
        sushi_free(st->ctx, slot->r);
    }
    slot->r = r;
    return SUSHI_OK;
}

/* Calibrate s on the default calibration set and store the result. */
static int self_calibrate(hls_state *st, const sushi_subnet *s)
{
    size_t nin = (size_t)s->values[0].c * s->values[0].h * s->values[0].w, nr = cpu_q8_ranges_len(s);
    float *x = sushi_malloc(st->ctx, nin * SUSHI_HLS_CALIB_INPUTS * sizeof *x);
    float *rg = sushi_malloc(st->ctx, (nr ? nr : 1) * sizeof *rg);
    int rc = (x && rg) ? SUSHI_OK : SUSHI_ERR_NOMEM;
    if (!rc)
        rc = sushi_hls_calibration_inputs(s, x, nin * SUSHI_HLS_CALIB_INPUTS);
    if (!rc)
        rc = cpu_calibrate_ranges(s, x, SUSHI_HLS_CALIB_INPUTS, rg);
    sushi_free(st->ctx, x);
    if (!rc) {
        /* the model may point at ranges put_ranges frees */
        drop_model(st);
        rc = put_ranges(st, s, rg, true);
    }
    if (rc) {
        sushi_free(st->ctx, rg);
        return rc;
    }
    sushi_log(st->ctx, SUSHI_LOG_WARN,
              "hls: no int8 activation ranges for this SubNet: calibrated on the %d inputs of the default "
              "calibration set (sushi_hls_calibration_inputs); pass ranges with sushi_hls_set_int8_ranges",
              SUSHI_HLS_CALIB_INPUTS);
    return SUSHI_OK;
}

static int ensure_model(hls_state *st, const sushi_subnet *s)
{
    const float *r = find_ranges(st, s);
    if (!r) {
        int rc = self_calibrate(st, s);
        if (rc)
            return rc;
        r = find_ranges(st, s);
    }
    if (st->q8 && st->q8->s == s && st->q8_src == r)
        return SUSHI_OK;
    drop_model(st);
    int rc = cpu_q8_model_build(s, r, &st->q8);
    if (rc)
        return rc;
    st->q8_src = r;
    st->qp = sushi_calloc(st->ctx, s->n_layers ? s->n_layers : 1, sizeof *st->qp);
    if (!st->qp)
        return SUSHI_ERR_NOMEM;
    uint32_t need_acc = 1, need_se = 1;
    for (uint32_t i = 0; i < s->n_layers; i++) {
        const sushi_layer *l = &s->layers[i];
        const cpu_q8_layer *q = &st->q8->layers[i];
        if (l->op == SUSHI_OP_CONV || l->op == SUSHI_OP_DWCONV || l->op == SUSHI_OP_LINEAR) {
            st->qp[i].p1 = pack_rq(st, &q->rq, q->out_i32 ? q->bias_acc : NULL, l->out_c);
            if (!st->qp[i].p1)
                return SUSHI_ERR_NOMEM;
            if (l->out_c > need_acc)
                need_acc = l->out_c;
        } else if (l->op == SUSHI_OP_SE) {
            st->qp[i].p1 = pack_rq(st, &q->rq, NULL, l->se_mid);
            st->qp[i].p2 = pack_rq(st, &q->rq2, NULL, l->in_c);
            if (!st->qp[i].p1 || !st->qp[i].p2)
                return SUSHI_ERR_NOMEM;
            if (l->in_c > need_se)
                need_se = l->in_c;
            if (l->se_mid > need_se)
                need_se = l->se_mid;
        }
    }
    drop_bufs(st);
    st->vbuf = sushi_calloc(st->ctx, s->n_values, sizeof *st->vbuf);
    if (!st->vbuf)
        return SUSHI_ERR_NOMEM;
    st->n_vbuf = s->n_values;
    size_t total = 0;
    for (uint32_t v = 0; v < s->n_values; v++)
        total += (size_t)s->values[v].c * s->values[v].h * s->values[v].w + 1;
    st->arena = sushi_calloc(st->ctx, total, 1);
    if (!st->arena)
        return SUSHI_ERR_NOMEM;
    st->arena_len = total;
    total = 0;
    for (uint32_t v = 0; v < s->n_values; v++) {
        st->vbuf[v] = st->arena + total;
        total += (size_t)s->values[v].c * s->values[v].h * s->values[v].w + 1;
    }
    if (need_acc > st->n_acc) {
        sushi_free(st->ctx, st->acc);
        st->acc = sushi_calloc(st->ctx, need_acc, sizeof *st->acc);
        if (!st->acc)
            return SUSHI_ERR_NOMEM;
        st->n_acc = need_acc;
    }
    if (need_se > st->n_se) {
        sushi_free(st->ctx, st->pooled);
        sushi_free(st->ctx, st->hid);
        sushi_free(st->ctx, st->gate);
        st->pooled = sushi_calloc(st->ctx, need_se, 1);
        st->hid = sushi_calloc(st->ctx, need_se, 1);
        st->gate = sushi_calloc(st->ctx, need_se, 1);
        if (!st->pooled || !st->hid || !st->gate)
            return SUSHI_ERR_NOMEM;
        st->n_se = need_se;
    }
    sushi_free(st->ctx, st->stats);
    st->stats = sushi_calloc(st->ctx, s->n_layers ? s->n_layers : 1, sizeof *st->stats);
    st->n_stats = st->stats ? s->n_layers : 0;
    return st->stats ? SUSHI_OK : SUSHI_ERR_NOMEM;
}

/* Host-side layers (pools, GAP, unfused ADD, SE squeeze / excite) run the
 * cpu int8 path's own code: backends/cpu/int8_layers.h. */

/* ---------------- engine calls ---------------- */

static int32_t slot_of(const sushi_subnet *s, int32_t w)
{
    int32_t slot = w >= 0 ? s->sn->tensors[w].wslot : -1;
    return slot >= 0 && slot < (int32_t)ACCEL_PB_SLOTS ? slot : (int32_t)ACCEL_PB_SLOTS;
}

/* One kernel call; its counters go to `stat`. */
static int engine_call(hls_state *st, const accel_ctrl *c, const uint8_t *in, const uint8_t *res, const int8_t *w,
                       const int32_t *qp, uint8_t *out, const uint8_t *lut, const uint8_t *add_lut,
                       hls_layer_stat *stat, bool res_is_add)
{
    static const uint8_t zero_lut[256];
    sushi_accel_counters_reset();
    sushi_accel(in, res, w, qp, out, st->acc, lut ? lut : zero_lut, add_lut ? add_lut : zero_lut, *c, NULL);
    accel_counters k = sushi_accel_counters_get();
    if (k.status) {
        sushi_log(st->ctx, SUSHI_LOG_ERROR, "hls: kernel status %u", k.status);
        return SUSHI_ERR_UNSUPPORTED;
    }
    stat->calls++;
    stat->rd_wgt += k.rd_wgt;
    stat->pb_hit += k.pb_hit;
    stat->rd_par += k.rd_par;
    stat->act_in += k.rd_act;
    stat->act_out += k.wr_act;
    stat->trips += k.trips;
    stat->passes += k.passes;
    stat->cycles += k.trips + k.passes * ACCEL_FILL_CYCLES;
    stat->halo += k.halo;
    if (res_is_add)
        stat[1].act_in += k.rd_res; /* the residual operand belongs to the ADD layer */
    return SUSHI_OK;
}

static void ctrl_linear(accel_ctrl *c, uint32_t k, uint32_t n_in, int32_t zp_in, int32_t zp_out, int32_t lo,
                        bool lut, int32_t slot)
{
    memset(c, 0, sizeof *c);
    c->op = ACCEL_OP_CONV;
    c->k = k;
    c->c = n_in;
    c->r = c->x = c->y = c->stride = 1;
    c->zp_in = zp_in;
    c->zp_out = zp_out;
    c->lo = lo;
    c->use_lut = lut;
    c->pb_slot = (uint32_t)slot;
}

/* Can ADD layer li + 1 fold into engine layer li? (its operand is li's output and nothing else reads it) */
static bool fusable_add(const sushi_subnet *s, uint32_t li)
{
    if (li + 1 >= s->n_layers)
        return false;
    const sushi_layer *l = &s->layers[li], *a = &s->layers[li + 1];
    if (a->op != SUSHI_OP_ADD || (l->op != SUSHI_OP_CONV && l->op != SUSHI_OP_DWCONV))
        return false;
    if (a->input != l->output && a->input2 != l->output)
        return false;
    if (a->input == a->input2)
        return false;
    return l->output != s->output_value && s->values[l->output].last_use == li + 1;
}

static int run_layer(hls_state *st, const sushi_subnet *s, uint32_t li, bool *skip_next)
{
    const sushi_layer *l = &s->layers[li];
    const cpu_q8_layer *q = &st->q8->layers[li];
    hls_layer_stat *sl = &st->stats[li];
    uint8_t *in = st->vbuf[l->input], *out = st->vbuf[l->output];
    const uint64_t in_elems = (uint64_t)l->in_c * l->in_h * l->in_w;
    const uint64_t out_elems = (uint64_t)l->out_c * l->out_h * l->out_w;
    accel_ctrl c;
    switch (l->op) {
    case SUSHI_OP_CONV:
    case SUSHI_OP_DWCONV: {
        memset(&c, 0, sizeof c);
        c.op = l->op == SUSHI_OP_CONV ? ACCEL_OP_CONV : ACCEL_OP_DWCONV;
        c.k = l->out_c;
        c.c = l->in_c;
        c.r = l->kernel;
        c.x = l->in_h;
        c.y = l->in_w;
        c.pad = l->pad;
        c.stride = l->stride ? l->stride : 1;
        c.zp_in = q->zp_in;
        c.zp_out = q->zp_rq;
        c.lo = q->lo;
        c.use_lut = q->use_lut;
        c.pb_slot = (uint32_t)slot_of(s, l->w);
        const uint8_t *res = NULL, *add_lut = NULL;
        bool fuse = fusable_add(s, li);
        if (fuse) {
            const sushi_layer *a = &s->layers[li + 1];
            const cpu_q8_layer *qa = &st->q8->layers[li + 1];
            c.res_en = 1;
            c.res_first = a->input != l->output;
            res = st->vbuf[c.res_first ? a->input : a->input2];
            c.add_zp_a = qa->zp_in;
            c.add_zp_b = qa->zp_in2;
            c.add_ma = qa->add_ma;
            c.add_mb = qa->add_mb;
            c.add_s = qa->add_s;
            c.add_zp = qa->zp_rq;
            c.add_lo = qa->lo;
            c.add_use_lut = qa->use_lut;
            add_lut = qa->lut;
            out = st->vbuf[a->output];
            st->stats[li + 1].where = SUSHI_CYCLE_FUSED;
            *skip_next = true;
        }
        sl->where = SUSHI_CYCLE_ENGINE;
        return engine_call(st, &c, in, res, q->w, st->qp[li].p1, out, q->lut, add_lut, sl, fuse);
    }
    case SUSHI_OP_LINEAR:
        ctrl_linear(&c, l->out_c, (uint32_t)in_elems, q->zp_in, q->zp_rq, q->lo, q->use_lut, slot_of(s, l->w));
        c.out_i32 = q->out_i32;
        sl->where = SUSHI_CYCLE_ENGINE;
        return engine_call(st, &c, in, NULL, q->w, st->qp[li].p1, out, q->lut, NULL, sl, false);
    case SUSHI_OP_SE: {
        const uint32_t ch = l->in_c, mid = l->se_mid;
        sl->where = SUSHI_CYCLE_MIXED;
        /* host: squeeze (reads the input, writes the pooled vector) */
        cpu_q8_gap(q, l, in, st->pooled);
        sl->act_in += in_elems;
        sl->act_out += ch;
        /* engine: reduce FC (ReLU: clamp at the hidden zp), expand FC into the gate LUT */
        ctrl_linear(&c, mid, ch, q->zp_in, q->se_hid_zp, q->se_hid_zp, false, slot_of(s, l->w));
        int rc = engine_call(st, &c, st->pooled, NULL, q->w, st->qp[li].p1, st->hid, NULL, NULL, sl, false);
        if (rc)
            return rc;
        ctrl_linear(&c, ch, mid, q->se_hid_zp, q->se_gate_zp, 0, true, slot_of(s, l->w2));
        rc = engine_call(st, &c, st->hid, NULL, q->w2, st->qp[li].p2, st->gate, q->se_lut, NULL, sl, false);
        if (rc)
            return rc;
        /* host: excite (reads the input and the gate, writes the output) */
        cpu_q8_se_excite(q, l, in, st->gate, out);
        sl->act_in += in_elems + ch;
        sl->act_out += out_elems;
        return SUSHI_OK;
    }
    case SUSHI_OP_MAXPOOL:
        cpu_q8_maxpool(l, in, out);
        break;
    case SUSHI_OP_AVGPOOL:
        cpu_q8_avgpool(q, l, in, out);
        break;
    case SUSHI_OP_GAP:
        cpu_q8_gap(q, l, in, out);
        break;
    case SUSHI_OP_ADD:
        cpu_q8_add(q, l, in, st->vbuf[l->input2], out);
        sl->act_in += in_elems; /* second operand */
        break;
    default:
        return SUSHI_ERR_UNSUPPORTED;
    }
    sl->where = SUSHI_CYCLE_HOST;
    sl->act_in += in_elems;
    sl->act_out += out_elems;
    return SUSHI_OK;
}

/* ---------------- descriptor lists (zcu104-sgs) ---------------- */

static uint64_t layer_wbytes(const sushi_layer *l, bool second)
{
    (void)second;
    const uint64_t kk = (uint64_t)l->kernel * l->kernel;
    switch (l->op) {
    case SUSHI_OP_CONV: return (uint64_t)l->out_c * l->in_c * kk;
    case SUSHI_OP_DWCONV: return (uint64_t)l->out_c * kk;
    case SUSHI_OP_LINEAR: return (uint64_t)l->out_c * l->in_c * l->in_h * l->in_w;
    case SUSHI_OP_SE: return (uint64_t)l->se_mid * l->in_c; /* reduce [mid][c]; expand [c][mid]: same size */
    default: return 0;
    }
}

/* Weights and requant words of every layer in one arena each (the wgt and
 * qparam ports of the list call), at per-layer offsets. */
static int ensure_list(hls_state *st, const sushi_subnet *s)
{
    if (st->warena)
        return SUSHI_OK;
    const uint32_t n = s->n_layers ? s->n_layers : 1;
    st->w_off = sushi_calloc(st->ctx, n, sizeof *st->w_off);
    st->w2_off = sushi_calloc(st->ctx, n, sizeof *st->w2_off);
    st->q_off = sushi_calloc(st->ctx, n, sizeof *st->q_off);
    st->q2_off = sushi_calloc(st->ctx, n, sizeof *st->q2_off);
    if (!st->w_off || !st->w2_off || !st->q_off || !st->q2_off)
        return SUSHI_ERR_NOMEM;
    uint64_t wb = 0, qw = 0;
    for (int pass = 0; pass < 2; pass++) {
        wb = qw = 0;
        for (uint32_t i = 0; i < s->n_layers; i++) {
            const sushi_layer *l = &s->layers[i];
            const cpu_q8_layer *q = &st->q8->layers[i];
            const uint64_t w1 = layer_wbytes(l, false), w2 = l->op == SUSHI_OP_SE ? layer_wbytes(l, true) : 0;
            uint64_t q1 = 0, q2 = 0;
            if (l->op == SUSHI_OP_CONV || l->op == SUSHI_OP_DWCONV || l->op == SUSHI_OP_LINEAR)
                q1 = (uint64_t)l->out_c * ACCEL_QPARAM_WORDS;
            else if (l->op == SUSHI_OP_SE)
                q1 = (uint64_t)l->se_mid * ACCEL_QPARAM_WORDS, q2 = (uint64_t)l->in_c * ACCEL_QPARAM_WORDS;
            else if (l->op == SUSHI_OP_AVGPOOL)
                q1 = 2ull * q->n_pool;
            if (wb + w1 + w2 > UINT32_MAX || qw + q1 + q2 > UINT32_MAX)
                return SUSHI_ERR_UNSUPPORTED;
            if (pass) {
                st->w_off[i] = (uint32_t)wb;
                st->w2_off[i] = (uint32_t)(wb + w1);
                st->q_off[i] = (uint32_t)qw;
                st->q2_off[i] = (uint32_t)(qw + q1);
                if (w1)
                    memcpy(st->warena + wb, q->w, w1);
                if (w2)
                    memcpy(st->warena + wb + w1, q->w2, w2);
                if (l->op == SUSHI_OP_AVGPOOL) {
                    memcpy(st->qarena + qw, q->pool_m, q->n_pool * sizeof(int32_t));
                    memcpy(st->qarena + qw + q->n_pool, q->pool_s, q->n_pool * sizeof(int32_t));
                } else {
                    if (q1)
                        memcpy(st->qarena + qw, st->qp[i].p1, q1 * sizeof(int32_t));
                    if (q2)
                        memcpy(st->qarena + qw + q1, st->qp[i].p2, q2 * sizeof(int32_t));
                }
            }
            wb += w1 + w2;
            qw += q1 + q2;
        }
        if (!pass) {
            st->warena = sushi_calloc(st->ctx, wb ? wb : 1, 1);
            st->qarena = sushi_calloc(st->ctx, qw ? qw : 1, sizeof *st->qarena);
            if (!st->warena || !st->qarena)
                return SUSHI_ERR_NOMEM;
        }
    }
    return SUSHI_OK;
}

/* Where consumer layer j reads value v (the residency plan of the cycle model). */
static uint32_t src_of(const sushi_subnet *s, const uint8_t *place, const uint8_t *half, uint32_t v, uint32_t j)
{
    if (place[v] == CYCLE_ACT_DRAM)
        return ACCEL_MEM_DRAM;
    if (s->values[v].producer + 1 == j)
        return half[v] ? ACCEL_MEM_PP1 : ACCEL_MEM_PP0;
    return ACCEL_MEM_RES;
}

/* Where value w is written by a command reading from a and b: a ping-pong
 * half neither input occupies. */
static uint32_t dst_of(const uint8_t *place, uint8_t *half, uint32_t w, uint32_t a, uint32_t b)
{
    if (place[w] == CYCLE_ACT_DRAM)
        return ACCEL_MEM_DRAM;
    half[w] = a == ACCEL_MEM_PP0 || b == ACCEL_MEM_PP0;
    return half[w] ? ACCEL_MEM_PP1 : ACCEL_MEM_PP0;
}

/* One kernel call for the whole SubNet: a descriptor per engine layer (SE:
 * squeeze, two FCs, excite), activations where the cycle model's residency
 * plan puts them, per-layer statistics from the per-descriptor counters. */
static int run_list(hls_state *st, const sushi_subnet *s)
{
    int rc = ensure_list(st, s);
    if (rc)
        return rc;
    const uint32_t cap = 4 * s->n_layers + 1;
    uint8_t *place = sushi_calloc(st->ctx, s->n_values, 1), *half = sushi_calloc(st->ctx, s->n_values, 1);
    accel_desc *d = sushi_calloc(st->ctx, cap, sizeof *d);
    uint32_t *lay = sushi_calloc(st->ctx, cap, sizeof *lay);
    uint8_t *fused = sushi_calloc(st->ctx, cap, 1);
    if (!place || !half || !d || !lay || !fused) {
        rc = SUSHI_ERR_NOMEM;
        goto out;
    }
    cycle_act_plan(&st->model, s, place);
    const uint32_t skip = st->model.stride_input_bound < 0.5;
    uint32_t nd = 0;
#define OFF(v) ((uint32_t)(st->vbuf[(v)] - st->arena))
    for (uint32_t li = 0; li < s->n_layers; li++) {
        const sushi_layer *l = &s->layers[li];
        const cpu_q8_layer *q = &st->q8->layers[li];
        accel_desc *e = &d[nd];
        accel_ctrl *c = &e->c;
        const uint32_t in = src_of(s, place, half, l->input, li);
        e->in_off = OFF(l->input);
        e->wgt_off = st->w_off[li];
        e->qp_off = st->q_off[li];
        lay[nd] = li;
        st->stats[li].where = SUSHI_CYCLE_ENGINE;
        switch (l->op) {
        case SUSHI_OP_CONV:
        case SUSHI_OP_DWCONV: {
            c->op = l->op == SUSHI_OP_CONV ? ACCEL_OP_CONV : ACCEL_OP_DWCONV;
            c->k = l->out_c, c->c = l->in_c, c->r = l->kernel, c->x = l->in_h, c->y = l->in_w, c->pad = l->pad;
            c->stride = l->stride ? l->stride : 1;
            c->zp_in = q->zp_in, c->zp_out = q->zp_rq, c->lo = q->lo, c->use_lut = q->use_lut;
            c->pb_slot = (uint32_t)slot_of(s, l->w);
            memcpy(e->lut, q->lut, 256);
            uint32_t w = l->output, rsrc = ACCEL_MEM_DRAM;
            if (fusable_add(s, li)) {
                const sushi_layer *a = &s->layers[li + 1];
                const cpu_q8_layer *qa = &st->q8->layers[li + 1];
                const uint32_t rv = a->input != l->output ? a->input : a->input2;
                c->res_en = 1;
                c->res_first = a->input != l->output;
                rsrc = src_of(s, place, half, rv, li + 1);
                c->res_src = rsrc;
                e->in2_off = OFF(rv);
                c->add_zp_a = qa->zp_in, c->add_zp_b = qa->zp_in2, c->add_ma = qa->add_ma, c->add_mb = qa->add_mb;
                c->add_s = qa->add_s, c->add_zp = qa->zp_rq, c->add_lo = qa->lo, c->add_use_lut = qa->use_lut;
                memcpy(e->add_lut, qa->lut, 256);
                w = a->output;
                st->stats[li + 1].where = SUSHI_CYCLE_FUSED;
                fused[nd] = 1;
            }
            c->in_src = in;
            c->out_dst = dst_of(place, half, w, in, rsrc);
            c->out_res = place[w] == CYCLE_ACT_PP_RES;
            c->stride_skip = skip;
            e->out_off = OFF(w);
            nd++;
            if (fused[nd - 1])
                li++;
            break;
        }
        case SUSHI_OP_LINEAR:
            ctrl_linear(c, l->out_c, l->in_c * l->in_h * l->in_w, q->zp_in, q->zp_rq, q->lo, q->use_lut,
                        slot_of(s, l->w));
            c->out_i32 = q->out_i32;
            memcpy(e->lut, q->lut, 256);
            c->in_src = in;
            c->out_dst = q->out_i32 ? ACCEL_MEM_DRAM : dst_of(place, half, l->output, in, ACCEL_MEM_DRAM);
            c->out_res = !q->out_i32 && place[l->output] == CYCLE_ACT_PP_RES;
            e->out_off = OFF(l->output);
            nd++;
            break;
        case SUSHI_OP_SE: {
            const uint32_t ch = l->in_c, mid = l->se_mid;
            /* squeeze into VEC0, reduce FC VEC0 -> VEC1, expand FC into the gate LUT VEC1 -> VEC0, excite */
            c->op = ACCEL_OP_GAP, c->c = ch, c->r = c->stride = 1, c->x = l->in_h, c->y = l->in_w;
            c->zp_in = q->zp_in, c->vq_m = q->gap_m, c->vq_s = q->gap_s, c->in_src = in, c->out_dst = ACCEL_MEM_VEC0;
            e = &d[++nd], lay[nd] = li;
            ctrl_linear(&e->c, mid, ch, q->zp_in, q->se_hid_zp, q->se_hid_zp, false, slot_of(s, l->w));
            e->c.in_src = ACCEL_MEM_VEC0, e->c.out_dst = ACCEL_MEM_VEC1;
            e->wgt_off = st->w_off[li], e->qp_off = st->q_off[li];
            e = &d[++nd], lay[nd] = li;
            ctrl_linear(&e->c, ch, mid, q->se_hid_zp, q->se_gate_zp, 0, true, slot_of(s, l->w2));
            e->c.in_src = ACCEL_MEM_VEC1, e->c.out_dst = ACCEL_MEM_VEC0;
            e->wgt_off = st->w2_off[li], e->qp_off = st->q2_off[li];
            memcpy(e->lut, q->se_lut, 256);
            e = &d[++nd], lay[nd] = li;
            e->c.op = ACCEL_OP_EXCITE, e->c.c = ch, e->c.r = e->c.stride = 1, e->c.x = l->in_h, e->c.y = l->in_w;
            e->c.zp_in = q->zp_in, e->c.zp_out = q->zp_rq, e->c.vq_m = q->se_m, e->c.vq_s = q->se_s;
            e->c.in_src = in, e->c.in2_src = ACCEL_MEM_VEC0, e->in_off = OFF(l->input);
            e->c.out_dst = dst_of(place, half, l->output, in, ACCEL_MEM_DRAM);
            e->c.out_res = place[l->output] == CYCLE_ACT_PP_RES;
            e->out_off = OFF(l->output);
            nd++;
            break;
        }
        case SUSHI_OP_MAXPOOL:
        case SUSHI_OP_AVGPOOL:
        case SUSHI_OP_GAP:
        case SUSHI_OP_ADD: {
            c->op = l->op == SUSHI_OP_MAXPOOL   ? ACCEL_OP_MAXPOOL
                    : l->op == SUSHI_OP_AVGPOOL ? ACCEL_OP_AVGPOOL
                    : l->op == SUSHI_OP_GAP     ? ACCEL_OP_GAP
                                                : ACCEL_OP_ADD;
            c->c = l->in_c, c->x = l->in_h, c->y = l->in_w, c->zp_in = q->zp_in;
            c->r = l->op == SUSHI_OP_MAXPOOL || l->op == SUSHI_OP_AVGPOOL ? l->kernel : 1;
            c->stride = l->op == SUSHI_OP_MAXPOOL || l->op == SUSHI_OP_AVGPOOL ? l->stride : 1;
            c->pad = l->op == SUSHI_OP_MAXPOOL ? l->pad : 0;
            c->n_pool = q->n_pool, c->vq_m = q->gap_m, c->vq_s = q->gap_s;
            uint32_t in2 = ACCEL_MEM_DRAM;
            if (l->op == SUSHI_OP_ADD) {
                in2 = src_of(s, place, half, l->input2, li);
                c->in2_src = in2, e->in2_off = OFF(l->input2);
                c->add_zp_a = q->zp_in, c->add_zp_b = q->zp_in2, c->add_ma = q->add_ma, c->add_mb = q->add_mb;
                c->add_s = q->add_s, c->add_zp = q->zp_rq, c->add_lo = q->lo, c->use_lut = q->use_lut;
                memcpy(e->lut, q->lut, 256);
            }
            c->in_src = in;
            c->out_dst = dst_of(place, half, l->output, in, in2);
            c->out_res = place[l->output] == CYCLE_ACT_PP_RES;
            e->out_off = OFF(l->output);
            nd++;
            break;
        }
        default:
            rc = SUSHI_ERR_UNSUPPORTED;
            goto out;
        }
    }
#undef OFF
    if (nd > ACCEL_LIST_MAX) {
        rc = SUSHI_ERR_UNSUPPORTED;
        goto out;
    }
    accel_ctrl lc;
    memset(&lc, 0, sizeof lc);
    lc.op = ACCEL_OP_LIST;
    lc.n_desc = nd;
    static const uint8_t zero_lut[256];
    sushi_accel_counters_reset();
    sushi_accel(st->arena, st->arena, st->warena, st->qarena, st->arena, st->acc, zero_lut, zero_lut, lc, d);
    const accel_counters k = sushi_accel_counters_get();
    if (k.status) {
        sushi_log(st->ctx, SUSHI_LOG_ERROR, "hls: kernel status %u (descriptor list)", k.status);
        rc = SUSHI_ERR_UNSUPPORTED;
        goto out;
    }
    accel_counters prev = { 0 };
    for (uint32_t i = 0; i < nd; i++) {
        const accel_counters c = sushi_accel_list_counters(i);
        hls_layer_stat *sl = &st->stats[lay[i]];
        sl->rd_wgt += c.rd_wgt - prev.rd_wgt;
        sl->pb_hit += c.pb_hit - prev.pb_hit;
        sl->rd_par += c.rd_par - prev.rd_par;
        sl->act_in += c.rd_act - prev.rd_act;
        sl->act_out += c.wr_act - prev.wr_act;
        sl->trips += c.trips - prev.trips;
        sl->passes += c.passes - prev.passes;
        sl->cycles += (c.trips - prev.trips) + (c.passes - prev.passes) * ACCEL_FILL_CYCLES;
        sl->halo += c.halo - prev.halo;
        (fused[i] ? &sl[1] : sl)->act_in += c.rd_res - prev.rd_res;
        prev = c;
    }
    if (nd)
        st->stats[lay[0]].calls = 1;
out:
    sushi_free(st->ctx, place);
    sushi_free(st->ctx, half);
    sushi_free(st->ctx, d);
    sushi_free(st->ctx, lay);
    sushi_free(st->ctx, fused);
    return rc;
}

static int run_locked(void *p, const sushi_subnet *s, const sushi_run_args *a, sushi_cost *cost)
{
    hls_state *st = p;
    const sushi_supernet *sn = st->sn;
    uint64_t need_in = (uint64_t)sn->in_channels * s->cfg.resolution * s->cfg.resolution;
    const sushi_value *ov = &s->values[s->output_value];
    size_t n_out = (size_t)ov->c * ov->h * ov->w;
    if (!a->input || a->input_len != need_in || !a->output || a->output_len < n_out || s->sn != sn)
        return SUSHI_ERR_INVALID;
    int rc = ensure_model(st, s);
    if (rc)
        return rc;
    if (pb_owner != st && (rc = pb_sync(st, true)))
        return rc;
    memset(st->stats, 0, st->n_stats * sizeof *st->stats);
    const cpu_q8_model *m = st->q8;
    uint8_t *x0 = st->vbuf[0];
    size_t in_len = (size_t)s->values[0].c * s->values[0].h * s->values[0].w;
    for (size_t i = 0; i < in_len; i++)
        x0[i] = sushi_q8_quantize_input(a->input[i], m->scale[0], m->zp[0]);
    if (st->model.subnet_call >= 0.5) {
        if ((rc = run_list(st, s)))
            return rc;
    } else {
        for (uint32_t li = 0; li < s->n_layers; li++) {
            bool skip = false;
            if ((rc = run_layer(st, s, li, &skip)))
                return rc;
            if (skip)
                li++;
        }
    }
    const cpu_q8_layer *last = s->n_layers ? &m->layers[s->n_layers - 1] : NULL;
    if (last && last->out_i32 && s->layers[s->n_layers - 1].output == s->output_value) {
        for (size_t i = 0; i < n_out; i++)
            a->output[i] = (float)st->acc[i] * last->deq[i];
    } else {
        const uint8_t *y = st->vbuf[s->output_value];
        for (size_t i = 0; i < n_out; i++)
            a->output[i] = m->scale[s->output_value] * (float)((int32_t)y[i] - m->zp[s->output_value]);
    }
    if (cost) {
        size_t sz = cost->size;
        sushi_cost c = SUSHI_COST_INIT;
        rc = sushi_cycle_cost_subnet(&st->model, s, st->resident, NULL, &c); /* time and energy: the model */
        if (rc)
            return rc;
        uint64_t wb = 0, hit = 0, act = 0, par = 0, cyc = 0;
        for (uint32_t i = 0; i < st->n_stats; i++) {
            wb += st->stats[i].rd_wgt;
            hit += st->stats[i].pb_hit;
            act += st->stats[i].act_in + st->stats[i].act_out;
            par += st->stats[i].rd_par;
            cyc += st->stats[i].cycles;
        }
        c.weight_bytes = wb;
        c.hit_bytes = hit;
        c.act_bytes = act;
        c.offchip_bytes = wb + act + par; /* measured */
        c.cycles = cyc;                   /* kernel loop trips + fills (no memory stalls) */
        *cost = c;
        cost->size = sz;
    }
    return SUSHI_OK;
}

static int hls_run(void *p, const sushi_subnet *s, const sushi_run_args *a, sushi_cost *cost)
{
    pthread_mutex_lock(&device_lock);
    int rc = run_locked(p, s, a, cost);
    pthread_mutex_unlock(&device_lock);
    return rc;
}

/* ---------------- internal API ---------------- */

static hls_state *hls_of(sushi_backend *b)
{
    return (b && strcmp(sushi_backend_get_name(b), hls_name) == 0) ? b->state : NULL;
}

const hls_layer_stat *hls_backend_stats(sushi_backend *b, uint32_t *n)
{
    hls_state *st = hls_of(b);
    if (!st)
        return NULL;
    *n = st->n_stats;
    return st->stats;
}

int sushi_hls_set_int8_ranges(sushi_backend *b, const sushi_subnet *s, const float *ranges, size_t n_ranges)
{
    hls_state *st = hls_of(b);
    if (!st || !s || !ranges || s->sn != st->sn || n_ranges != cpu_q8_ranges_len(s))
        return SUSHI_ERR_INVALID;
    int rc = sushi_check_int8_ranges(st->ctx, "hls: int8 ranges", ranges, n_ranges);
    if (rc)
        return rc;
    float *copy = sushi_malloc(st->ctx, n_ranges * sizeof *copy);
    if (!copy)
        return SUSHI_ERR_NOMEM;
    memcpy(copy, ranges, n_ranges * sizeof *copy);
    pthread_mutex_lock(&device_lock);
    drop_model(st); /* it may use the ranges this replaces */
    rc = put_ranges(st, s, copy, false);
    pthread_mutex_unlock(&device_lock);
    if (rc)
        sushi_free(st->ctx, copy);
    return rc;
}

int sushi_hls_calibration_inputs(const sushi_subnet *s, float *x, size_t x_len)
{
    if (!s || !x)
        return SUSHI_ERR_INVALID;
    const sushi_supernet *sn = s->sn;
    const uint32_t C = sn->in_channels, r = s->cfg.resolution;
    const size_t n = (size_t)C * r * r;
    if (x_len / SUSHI_HLS_CALIB_INPUTS < n)
        return SUSHI_ERR_TRUNCATED;
    for (uint32_t k = 0; k < SUSHI_HLS_CALIB_INPUTS; k++)
        for (uint32_t c = 0; c < C; c++) {
            const float mean = c < 4 ? sn->in_mean[c] : 0.0f;
            const float sd = c < 4 && sn->in_std[c] > 0.0f ? sn->in_std[c] : 1.0f;
            float *d = x + k * n + (size_t)c * r * r;
            for (size_t p = 0; p < (size_t)r * r; p++) {
                const uint64_t i = (uint64_t)p * C + c;
                const uint32_t px = (uint32_t)((37u * i + 11u + 53u * k) % 256u);
                d[p] = ((float)px / 255.0f - mean) / sd;
            }
        }
    return SUSHI_OK;
}

void hls_backend_last_reload(sushi_backend *b, uint64_t *loaded, uint64_t *kept)
{
    hls_state *st = hls_of(b);
    *loaded = st ? st->last_loaded : 0;
    *kept = st ? st->last_kept : 0;
}

static const sushi_backend_ops hls_ops = {
    .abi_version = SUSHI_BACKEND_ABI_VERSION,
    .caps = SUSHI_BACKEND_CAP_RUN | SUSHI_BACKEND_CAP_COST | SUSHI_BACKEND_CAP_INT8,
    .description = "SushiAccel HLS kernel (C simulation) with a persistent SubGraph buffer; int8, bit-exact with cpu",
    .create = hls_create,
    .destroy = hls_destroy,
    .set_param = hls_set_param,
    .get_param = hls_get_param,
    .cost = hls_cost,
    .set_resident = hls_set_resident,
    .run = hls_run,
    .tile_savings = hls_tile_savings,
};

const sushi_backend_ops *sushi_backend_hls_ops(void) { return &hls_ops; }
