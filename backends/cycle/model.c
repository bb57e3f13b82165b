/* The SushiAccel cycle / traffic / energy model: parameters, presets and the
 * per-layer and per-SubNet cost functions. docs/accelerator.md has every
 * equation used here, with the same names. Pure functions, no allocation. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "cycle_internal.h"
#include "internal.h"
#include "sushi/cycle.h"

/* ------------------------------------------------------------------ */
/* parameters                                                          */
/* ------------------------------------------------------------------ */

typedef struct param_row {
    const char *name;
    size_t off;
    double min, max;
    bool integer;
    const char *unit;
    const char *doc;
} param_row;

#define P_(field, lo, hi, integ, unit, doc) \
    { #field, offsetof(sushi_cycle_model, field), lo, hi, integ, unit, doc }

static const param_row params[] = {
    P_(preset, 0, SUSHI_CYCLE_PRESET_COUNT - 1, true, "id",
       "reload all parameters from a preset (0 zcu104, 1 u50, 2 zcu104-sgs, 3 u50-sgs)"),
    P_(freq_mhz, 1, 2000, false, "MHz", "engine clock"),
    P_(pe_k, 1, 1024, true, "channels", "PE columns: output channels per K tile"),
    P_(pe_c, 1, 1024, true, "channels", "PE rows: input channels per C tile (x9 for folded 1x1)"),
    P_(pixel_ii, 1, 16, false, "cycles", "effective cycles per window step (stalls included)"),
    P_(pass_fill_cycles, 0, 1e6, false, "cycles", "pipeline fill + drain per pass"),
    P_(stride_input_bound, 0, 1, true, "bool", "1: strided layers step through every input position"),
    P_(dw_mode, 0, 2, true, "id", "depthwise mapping: 0 block-diagonal, 1 one PE/column, 2 pieces on rows"),
    P_(call_overhead_us, 0, 1e6, false, "us", "host cost of one kernel call"),
    P_(axi_read_ports, 1, 64, true, "ports", "AXI read ports"),
    P_(axi_write_ports, 1, 64, true, "ports", "AXI write ports"),
    P_(axi_port_bits, 8, 4096, true, "bits", "AXI data width per port"),
    P_(dram_gbs, 0.01, 1e5, false, "GB/s", "peak off-chip bandwidth"),
    P_(axi_eff, 0.01, 1, false, "fraction", "long-burst efficiency: activation streams and PB reloads"),
    P_(weight_eff, 0.01, 1, false, "fraction", "efficiency of per-pass weight fetches (short bursts)"),
    P_(weight_double_buffer, 0, 1, true, "bool", "1: the next weight chunk loads while the current one computes"),
    P_(pb_bytes_per_cycle, 1, 1e6, false, "B/cycle", "persistent buffer read width"),
    P_(pb_kib, 0, 1e8, false, "KiB", "persistent buffer (SubGraph) capacity"),
    P_(wbuf_entries, 1, 1e8, true, "entries", "dynamic weight buffer entries per half"),
    P_(wbuf_entry_bytes, 1, 1024, true, "bytes", "bytes per weight buffer entry"),
    P_(ibuf_kib, 0, 1e8, false, "KiB", "input activation buffer"),
    P_(obuf_kib, 1, 1e8, false, "KiB", "partial-sum buffer"),
    P_(quant_bytes, 0, 1024, true, "bytes", "requantisation bytes per output channel"),
    P_(host_gops, 1e-3, 1e6, false, "Gop/s", "host element-operation rate"),
    P_(host_gbs, 1e-3, 1e5, false, "GB/s", "host bandwidth to the operands"),
    P_(host_call_us, 0, 1e6, false, "us", "host overhead per host-side layer"),
    P_(mem_type, 0, SUSHI_CYCLE_MEM_COUNT - 1, true, "id", "off-chip memory: 0 DDR4, 1 LPDDR4, 2 HBM2 (sets dram_pj_bit)"),
    P_(dram_pj_bit, 0, 1e4, false, "pJ/bit", "off-chip access energy"),
    P_(sram_pj_byte, 0, 1e4, false, "pJ/byte", "on-chip buffer access energy"),
    P_(mac_pj, 0, 1e4, false, "pJ", "int8 multiply-accumulate energy"),
    P_(host_pj_op, 0, 1e6, false, "pJ", "host energy per element operation"),
    P_(subnet_call, 0, 1, true, "bool", "1: one kernel call per SubNet (descriptor list); host ops on the engine"),
    P_(act_buf_kib, 0, 1e8, false, "KiB", "each of two ping-pong on-chip activation buffers (needs subnet_call)"),
    P_(res_buf_kib, 0, 1e8, false, "KiB", "on-chip residual buffer (one value kept for a later consumer)"),
};
#undef P_

#define N_PARAMS (sizeof params / sizeof params[0])

/* Off-chip energy per bit by memory type (docs/accelerator.md, energy table). */
static const double mem_pj_bit[SUSHI_CYCLE_MEM_COUNT] = {
    [SUSHI_CYCLE_MEM_DDR4] = 15.0,
    [SUSHI_CYCLE_MEM_LPDDR4] = 8.0,
    [SUSHI_CYCLE_MEM_HBM2] = 3.9,
};

static const char *const preset_names[SUSHI_CYCLE_PRESET_COUNT] = { "zcu104", "u50", "zcu104-sgs", "u50-sgs" };

/* Engine data common to both presets: the SushiAccel_K16_C9 datapath. */
static void engine_defaults(sushi_cycle_model *m)
{
    m->pe_k = 16;
    m->pe_c = 9;
    m->stride_input_bound = 1;
    m->dw_mode = 2;
    m->axi_read_ports = 6;
    m->axi_write_ports = 1;
    m->axi_port_bits = 128;
    m->weight_double_buffer = 1; /* 2 halves of 32,768 entries */
    m->pb_bytes_per_cycle = 144; /* 16 banks (one per PE column) x one 9-byte filter */
    m->wbuf_entries = 32768;
    m->wbuf_entry_bytes = 9;
    m->quant_bytes = 8;          /* int32 multiplier (24 fractional bits) + int32 bias */
    m->sram_pj_byte = 2.5;
    m->mac_pj = 0.5;
}

/* Calibrated on ../shared/data/zcu104_k16c9_calibration.csv by
 * tools/calibrate/fit_zcu104.py (docs/accelerator.md, "Calibration"). */
#define ZCU104_CALL_OVERHEAD_US 84.1
#define ZCU104_PIXEL_II 1.165
#define ZCU104_PASS_FILL 32.0 /* prior: 16 filter-register loads + 16 pipeline stages */
#define ZCU104_WEIGHT_EFF 0.195

static void preset_zcu104(sushi_cycle_model *m)
{
    engine_defaults(m);
    m->preset = SUSHI_CYCLE_PRESET_ZCU104;
    m->freq_mhz = 100;
    m->pixel_ii = ZCU104_PIXEL_II;
    m->pass_fill_cycles = ZCU104_PASS_FILL;
    m->call_overhead_us = ZCU104_CALL_OVERHEAD_US;
    m->dram_gbs = 19.2;  /* PS DDR4-2400, 64 bit */
    m->axi_eff = 0.9;   /* prior: long sequential bursts (not identifiable from the data) */
    m->weight_eff = ZCU104_WEIGHT_EFF;
    m->pb_kib = 3072;    /* of 4,860 KiB BRAM+URAM on the XCZU7EV */
    m->ibuf_kib = 512;
    m->obuf_kib = 256;
    m->host_gops = 2;    /* Cortex-A53 x4, 1.2 GHz */
    m->host_gbs = 4;
    m->host_call_us = 5;
    m->mem_type = SUSHI_CYCLE_MEM_DDR4;
    m->dram_pj_bit = mem_pj_bit[SUSHI_CYCLE_MEM_DDR4];
    m->host_pj_op = 25;
}

static void preset_u50(sushi_cycle_model *m)
{
    engine_defaults(m);
    m->preset = SUSHI_CYCLE_PRESET_U50;
    m->freq_mhz = 200;
    /* same HLS kernel: the fitted per-pixel and per-pass behaviour carries over */
    m->pixel_ii = ZCU104_PIXEL_II;
    m->pass_fill_cycles = ZCU104_PASS_FILL;
    m->call_overhead_us = 20; /* XRT kernel start + wait from C++ */
    m->dram_gbs = 316;        /* HBM2, 2 stacks, 32 pseudo-channels */
    m->axi_eff = 0.9;
    m->weight_eff = ZCU104_WEIGHT_EFF;
    m->pb_kib = 22528;        /* of 29,088 KiB BRAM+URAM on the XCU50 */
    m->ibuf_kib = 2048;
    m->obuf_kib = 1024;
    m->host_gops = 50;        /* server CPU; operands cross PCIe */
    m->host_gbs = 12;         /* PCIe Gen3 x16, effective */
    m->host_call_us = 20;
    m->mem_type = SUSHI_CYCLE_MEM_HBM2;
    m->dram_pj_bit = mem_pj_bit[SUSHI_CYCLE_MEM_HBM2];
    m->host_pj_op = 100;
}

/* The SGS co-design engine (docs/accelerator.md, section 11): the same
 * datapath and fitted per-step / per-pass behaviour, plus (a) one call per
 * SubNet, (b) on-chip activation residency, (c) stride-aware window steps. */
static void sgs_features(sushi_cycle_model *m)
{
    m->subnet_call = 1;
    m->stride_input_bound = 0;
}

static void preset_zcu104_sgs(sushi_cycle_model *m)
{
    preset_zcu104(m);
    sgs_features(m);
    m->preset = SUSHI_CYCLE_PRESET_ZCU104_SGS;
    /* XCZU7EV: 4,860 KiB of BRAM + URAM. Engine 576 (weights) + 512 (input)
     * + 256 (psums) + ~440 (FIFOs, line buffers) = 1,784 KiB; 2 x 256 KiB
     * ping-pong + 256 KiB residual = 768 KiB; PB = 4,860 - 1,784 - 768 =
     * 2,308 -> 2,304 KiB */
    m->act_buf_kib = 256;
    m->res_buf_kib = 256;
    m->pb_kib = 2304;
}

static void preset_u50_sgs(sushi_cycle_model *m)
{
    preset_u50(m);
    sgs_features(m);
    m->preset = SUSHI_CYCLE_PRESET_U50_SGS;
    /* XCU50: 29,088 KiB; u50 preset leaves ~2.9 MiB for the shell beside PB
     * 22,528 + engine 3,648 + FIFOs; 2 x 1,024 + 1,024 KiB of activation
     * buffers come out of the PB: 22,528 - 3,072 = 19,456 KiB */
    m->act_buf_kib = 1024;
    m->res_buf_kib = 1024;
    m->pb_kib = 19456;
}

const char *sushi_cycle_param_name(size_t i) { return i < N_PARAMS ? params[i].name : NULL; }

static const param_row *find_param(const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = 0; i < N_PARAMS; i++)
        if (strcmp(params[i].name, key) == 0)
            return &params[i];
    return NULL;
}

int sushi_cycle_param_info(const char *name, sushi_cycle_param_desc *d)
{
    if (!name || !d)
        return SUSHI_ERR_INVALID;
    const param_row *p = find_param(name);
    if (!p)
        return SUSHI_ERR_NOT_FOUND;
    d->name = p->name;
    d->unit = p->unit;
    d->doc = p->doc;
    d->min = p->min;
    d->max = p->max;
    d->integer = p->integer;
    return SUSHI_OK;
}

const char *sushi_cycle_preset_name(int id)
{
    return (id >= 0 && id < SUSHI_CYCLE_PRESET_COUNT) ? preset_names[id] : NULL;
}

int sushi_cycle_preset_find(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < SUSHI_CYCLE_PRESET_COUNT; i++)
        if (strcasecmp(preset_names[i], name) == 0)
            return i;
    return -1;
}

int sushi_cycle_model_init(sushi_cycle_model *m, int preset)
{
    if (!m)
        return SUSHI_ERR_INVALID;
    if (preset < 0 || preset >= SUSHI_CYCLE_PRESET_COUNT)
        return SUSHI_ERR_RANGE;
    memset(m, 0, sizeof *m);
    switch (preset) {
    case SUSHI_CYCLE_PRESET_ZCU104: preset_zcu104(m); break;
    case SUSHI_CYCLE_PRESET_U50: preset_u50(m); break;
    case SUSHI_CYCLE_PRESET_ZCU104_SGS: preset_zcu104_sgs(m); break;
    default: preset_u50_sgs(m); break;
    }
    return SUSHI_OK;
}

int sushi_cycle_model_set(sushi_cycle_model *m, const char *key, double v)
{
    if (!m || !key)
        return SUSHI_ERR_INVALID;
    const param_row *p = find_param(key);
    if (!p)
        return SUSHI_ERR_NOT_FOUND;
    if (isnan(v) || v < p->min || v > p->max || (p->integer && v != floor(v)))
        return SUSHI_ERR_RANGE;
    if (strcmp(key, "preset") == 0)
        return sushi_cycle_model_init(m, (int)v);
    *(double *)((char *)m + p->off) = v;
    if (strcmp(key, "mem_type") == 0)
        m->dram_pj_bit = mem_pj_bit[(int)v];
    return SUSHI_OK;
}

int sushi_cycle_model_get(const sushi_cycle_model *m, const char *key, double *v)
{
    if (!m || !key || !v)
        return SUSHI_ERR_INVALID;
    const param_row *p = find_param(key);
    if (!p)
        return SUSHI_ERR_NOT_FOUND;
    *v = *(const double *)((const char *)m + p->off);
    return SUSHI_OK;
}

double sushi_cycle_mem_pj_bit(int t)
{
    return (t >= 0 && t < SUSHI_CYCLE_MEM_COUNT) ? mem_pj_bit[t] : NAN;
}

uint64_t sushi_cycle_pb_bytes(const sushi_cycle_model *m)
{
    return m ? (uint64_t)(m->pb_kib * 1024.0) : 0;
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

static inline uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static inline uint64_t ceil_u64(double v) { return v <= 0 ? 0 : (uint64_t)ceil(v - 1e-9); }

static inline double freq_hz(const sushi_cycle_model *m) { return m->freq_mhz * 1e6; }

/* Effective off-chip bytes per engine cycle over `ports` AXI ports at
 * efficiency `eff`. */
static double port_bw(const sushi_cycle_model *m, double ports, double eff)
{
    double port_rate = ports * m->axi_port_bits / 8.0;
    double dram_rate = m->dram_gbs * 1e9 / freq_hz(m);
    return eff * (port_rate < dram_rate ? port_rate : dram_rate);
}

static void finish_energy(const sushi_cycle_model *m, sushi_layer_cost *o, uint64_t host_ops)
{
    o->offchip_bytes = o->weight_offchip_bytes + o->act_in_bytes + o->act_out_bytes + o->param_bytes;
    o->energy_offchip_j = (double)o->offchip_bytes * 8.0 * m->dram_pj_bit * 1e-12;
    o->energy_onchip_j = (double)o->onchip_bytes * m->sram_pj_byte * 1e-12;
    o->energy_compute_j = ((double)o->macs * m->mac_pj + (double)host_ops * m->host_pj_op) * 1e-12;
    o->energy_j = o->energy_offchip_j + o->energy_onchip_j + o->energy_compute_j;
}

/* ------------------------------------------------------------------ */
/* one engine layer                                                    */
/* ------------------------------------------------------------------ */

/* where a layer's operands live (subnet level, docs/accelerator.md section 11) */
enum {
    CONV_IN_ONCHIP = 1,  /* input read from the on-chip activation buffers, not DRAM */
    CONV_OUT_ONCHIP = 2, /* output written to the on-chip activation buffers, not DRAM */
    CONV_NO_CALL = 4     /* part of a descriptor list: no call overhead of its own */
};

static int cost_conv_ex(const sushi_cycle_model *m, const sushi_conv_shape *l, unsigned flags, sushi_layer_cost *o);

int sushi_cycle_cost_conv(const sushi_cycle_model *m, const sushi_conv_shape *l, sushi_layer_cost *o)
{
    return cost_conv_ex(m, l, 0, o);
}

static int cost_conv_ex(const sushi_cycle_model *m, const sushi_conv_shape *l, unsigned flags, sushi_layer_cost *o)
{
    if (!m || !l || !o)
        return SUSHI_ERR_INVALID;
    memset(o, 0, sizeof *o);
    if (l->op != SUSHI_OP_CONV && l->op != SUSHI_OP_DWCONV && l->op != SUSHI_OP_LINEAR)
        return SUSHI_ERR_INVALID;
    if (!l->k || !l->c || !l->r || !l->s || !l->x || !l->y || !l->stride_x || !l->stride_y)
        return SUSHI_ERR_INVALID;
    if ((uint64_t)l->x + 2ull * l->pad_x < l->r || (uint64_t)l->y + 2ull * l->pad_y < l->s)
        return SUSHI_ERR_INVALID;
    if (l->op == SUSHI_OP_DWCONV && l->k != l->c)
        return SUSHI_ERR_INVALID;
    /* every count below is at most K*C*R*S*(X+2p)*(Y+2p)*16: reject shapes
     * whose counts would not fit 64 bits */
    {
        uint64_t v = l->k, t;
        const uint64_t f[] = { l->c, l->r, l->s, (uint64_t)l->x + 2ull * l->pad_x, (uint64_t)l->y + 2ull * l->pad_y,
                               64 };
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
            if (__builtin_mul_overflow(v, f[i], &t))
                return SUSHI_ERR_OVERFLOW;
            v = t;
        }
    }

    const uint64_t ox = ((uint64_t)l->x + 2ull * l->pad_x - l->r) / l->stride_x + 1;
    const uint64_t oy = ((uint64_t)l->y + 2ull * l->pad_y - l->s) / l->stride_y + 1;
    const uint64_t P = ox * oy;
    const uint64_t pe_k = (uint64_t)m->pe_k, pe_c = (uint64_t)m->pe_c;
    const uint64_t plane = (uint64_t)l->x * l->y;
    const bool one_by_one = l->r == 1 && l->s == 1;
    /* kernels larger than 3x3 run as ceil(r/3) x ceil(s/3) zero-padded 3x3 pieces */
    const uint64_t pieces = one_by_one ? 1 : cdiv(l->r, 3) * cdiv(l->s, 3);

    uint64_t passes, chan_per_pass, weights, kt_reread, in_store, chunks, chunk_bytes;
    if (l->op == SUSHI_OP_DWCONV) {
        uint64_t group;
        switch ((int)m->dw_mode) {
        case 0: /* block-diagonal dense: K tile aligned to a C tile */
            group = min_u64(pe_k, pe_c);
            passes = pieces * cdiv(l->c, group);
            break;
        case 1: /* one PE per column, pieces one after another */
            group = pe_k;
            passes = pieces * cdiv(l->c, group);
            break;
        default: /* one channel per column, the kernel's pieces on the column's rows */
            group = pe_k;
            passes = cdiv(pieces, pe_c) * cdiv(l->c, group);
            break;
        }
        chan_per_pass = group;
        weights = (uint64_t)l->c * l->r * l->s;
        chunks = cdiv(l->c, group); /* channel groups */
        chunk_bytes = group * l->r * l->s;
        in_store = cdiv(l->c, group) * group * plane;
        kt_reread = 1; /* a channel group's plane is read once for all its passes */
    } else {
        /* 1x1 folds 9 input channels onto each PE's 9 multipliers */
        const uint64_t cpt = one_by_one ? pe_c * 9 : pe_c;
        const uint64_t kt = cdiv(l->k, pe_k), ct = cdiv(l->c, cpt);
        passes = pieces * kt * ct;
        chan_per_pass = cpt;
        weights = (uint64_t)l->k * l->c * l->r * l->s;
        chunks = kt; /* K tiles */
        chunk_bytes = pe_k * l->c * l->r * l->s;
        in_store = ct * cpt * plane;
        kt_reread = kt;
    }
    o->macs = (uint64_t)l->k * (l->op == SUSHI_OP_DWCONV ? 1 : l->c) * l->r * l->s * P;
    o->out_x = (uint32_t)ox;
    o->out_y = (uint32_t)oy;
    o->where = SUSHI_CYCLE_ENGINE;

    /* pixel loop: one window step per cycle at best; a stride > 1 window
     * generator visits every input position when stride_input_bound */
    const uint64_t steps = P * (m->stride_input_bound >= 0.5 ? (uint64_t)l->stride_x * l->stride_y : 1);
    /* partial sums for one K tile must fit in the psum buffer, else the
     * pixels are swept in blocks (each block pays the fill again) */
    const uint64_t psum_bytes = pe_k * P * 4;
    const uint64_t obuf = max_u64(1, (uint64_t)(m->obuf_kib * 1024.0));
    const uint64_t blocks = max_u64(1, cdiv(psum_bytes, obuf));
    o->passes = passes * blocks;
    o->pixel_steps = passes * steps;
    o->cycles_compute = ceil_u64(m->pixel_ii * (double)o->pixel_steps) +
                        ceil_u64((double)o->passes * m->pass_fill_cycles);

    /* activations: read once when the (tile-padded) input fits the input
     * buffer, else once per K tile; outputs written once */
    const uint64_t ibuf = (uint64_t)(m->ibuf_kib * 1024.0);
    const uint64_t in_bytes = (uint64_t)l->c * plane;
    const uint64_t in_moved = in_store <= ibuf ? in_bytes : in_bytes * kt_reread, out_moved = (uint64_t)l->k * P;
    o->act_in_bytes = (flags & CONV_IN_ONCHIP) ? 0 : in_moved;
    o->act_out_bytes = (flags & CONV_OUT_ONCHIP) ? 0 : out_moved;
    const double brd = port_bw(m, m->axi_read_ports, m->axi_eff);
    const double bwr = port_bw(m, m->axi_write_ports, m->axi_eff);
    const double bw = port_bw(m, m->axi_read_ports, m->weight_eff);
    const double t_in = (double)o->act_in_bytes / brd, t_out = (double)o->act_out_bytes / bwr;
    o->cycles_stream = ceil_u64(t_in > t_out ? t_in : t_out);

    /* weights: PB hits at the PB width, the rest (+ requant data) over AXI */
    o->weight_bytes = weights;
    o->hit_bytes = min_u64(l->hit_bytes, weights);
    o->weight_offchip_bytes = weights - o->hit_bytes;
    o->param_bytes = (uint64_t)m->quant_bytes * l->k;
    o->cycles_weights = ceil_u64((double)(o->weight_offchip_bytes + o->param_bytes) / bw +
                                 (double)o->hit_bytes / m->pb_bytes_per_cycle);

    /* weights move in chunks (a K tile, or a depthwise channel group; split
     * further when a chunk exceeds one half of the weight buffer). Double
     * buffered: chunk i+1 loads while chunk i computes, the first load is
     * exposed: L + (n-1) max(C, L) + C with per-chunk L and C. */
    const uint64_t half = max_u64(1, (uint64_t)(m->wbuf_entries * m->wbuf_entry_bytes));
    o->weight_chunks = chunks * cdiv(chunk_bytes, half);
    const uint64_t main_c = max_u64(o->cycles_compute, o->cycles_stream);
    if (m->weight_double_buffer >= 0.5 && o->weight_chunks > 1) {
        const double n = (double)o->weight_chunks;
        const double lk = (double)o->cycles_weights / n, ck = (double)main_c / n;
        o->cycles = ceil_u64(lk + (n - 1) * (lk > ck ? lk : ck) + ck);
    } else {
        o->cycles = main_c + o->cycles_weights;
    }
    o->calls = (flags & CONV_NO_CALL) ? 0 : 1;
    o->latency_s = o->calls * m->call_overhead_us * 1e-6 + (double)o->cycles / freq_hz(m);

    const double slots = (double)o->cycles_compute * m->pe_k * m->pe_c * 9.0;
    o->utilisation = slots > 0 ? (double)o->macs / slots : 0.0;

    /* on-chip traffic: weight buffer write + read, PB read, input buffer
     * write + one read of the pass's channel slice per pass, psum
     * read-modify-write per pass and pixel, output staging write + read */
    o->onchip_bytes = 2 * o->weight_offchip_bytes + o->hit_bytes + o->param_bytes + in_moved +
                      passes * chan_per_pass * plane + passes * P * pe_k * 4 * 2 + 2 * out_moved;
    /* resident activations: the activation buffer is read instead of DRAM, written instead of DRAM */
    if (flags & CONV_IN_ONCHIP)
        o->onchip_bytes += in_moved;
    if (flags & CONV_OUT_ONCHIP)
        o->onchip_bytes += out_moved;
    finish_energy(m, o, 0);
    return SUSHI_OK;
}

int sushi_cycle_cost_host(const sushi_cycle_model *m, uint64_t ops, uint64_t in_bytes, uint64_t out_bytes,
                          sushi_layer_cost *o)
{
    if (!m || !o)
        return SUSHI_ERR_INVALID;
    memset(o, 0, sizeof *o);
    o->where = SUSHI_CYCLE_HOST;
    o->act_in_bytes = in_bytes;
    o->act_out_bytes = out_bytes;
    double t_ops = (double)ops / (m->host_gops * 1e9);
    double t_mem = (double)(in_bytes + out_bytes) / (m->host_gbs * 1e9);
    o->host_s = m->host_call_us * 1e-6 + (t_ops > t_mem ? t_ops : t_mem);
    o->latency_s = o->host_s;
    finish_energy(m, o, ops);
    return SUSHI_OK;
}

/* ------------------------------------------------------------------ */
/* SubGraphs in the PB                                                 */
/* ------------------------------------------------------------------ */

/* What survives of g in a PB of `cap` bytes, following
 * sushi_subgraph_truncate(): slots before `t` whole, slot `t` keeps `keep`
 * output channels (whole tiles), later slots nothing. */
typedef struct pb_cut {
    uint32_t t;
    uint32_t keep;
} pb_cut;

static inline uint32_t kk_of(const sushi_supernet *sn, uint32_t t) { return sn->tensors[sn->wt[t]].kk; }

static pb_cut pb_cutoff(const sushi_subgraph *g, uint64_t cap)
{
    uint64_t used = 0;
    for (uint32_t t = 0; t < g->n; t++) {
        uint64_t row = (uint64_t)g->in_ch[t] * kk_of(g->sn, t);
        uint64_t full = row * g->out_ch[t];
        if (used + full <= cap) {
            used += full;
            continue;
        }
        uint64_t tiles = row ? (cap - used) / (row * SUSHI_SUBGRAPH_TILE_OUT) : 0;
        uint64_t keep = tiles * SUSHI_SUBGRAPH_TILE_OUT;
        return (pb_cut){ t, keep >= g->out_ch[t] ? 0 : (uint32_t)keep };
    }
    return (pb_cut){ g->n, 0 };
}

static inline void pb_box(const sushi_subgraph *g, pb_cut cut, uint32_t t, uint32_t *o, uint32_t *i)
{
    if (!g || t > cut.t || (t == cut.t && cut.keep == 0)) {
        *o = *i = 0;
    } else if (t == cut.t) {
        *o = cut.keep;
        *i = g->in_ch[t];
    } else {
        *o = g->out_ch[t];
        *i = g->in_ch[t];
    }
}

static inline uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* Hit bytes of weight tensor `w` for SubNet s under the PB view (g, cut). */
static uint64_t slot_hit(const sushi_subnet *s, const sushi_subgraph *g, pb_cut cut, int32_t w)
{
    if (!g || w < 0)
        return 0;
    const sushi_supernet *sn = s->sn;
    int32_t slot = sn->tensors[w].wslot;
    if (slot < 0)
        return 0;
    uint32_t go, gi;
    pb_box(g, cut, (uint32_t)slot, &go, &gi);
    return (uint64_t)min_u32(go, s->box_out[slot]) * min_u32(gi, s->box_in[slot]) * kk_of(sn, (uint32_t)slot);
}

uint64_t sushi_cycle_reload_bytes(const sushi_cycle_model *m, const sushi_subgraph *old, const sushi_subgraph *next,
                                  uint64_t *kept_out)
{
    uint64_t reload = 0, kept = 0;
    if (m && next) {
        uint64_t cap = sushi_cycle_pb_bytes(m);
        if (old && old->sn != next->sn)
            old = NULL;
        pb_cut cn = pb_cutoff(next, cap), co = old ? pb_cutoff(old, cap) : (pb_cut){ 0, 0 };
        for (uint32_t t = 0; t < next->n; t++) {
            uint32_t no, ni, oo, oi;
            pb_box(next, cn, t, &no, &ni);
            pb_box(old, co, t, &oo, &oi);
            uint64_t kk = kk_of(next->sn, t);
            uint64_t nb = (uint64_t)no * ni * kk, kb = (uint64_t)min_u32(no, oo) * min_u32(ni, oi) * kk;
            reload += nb - kb;
            kept += kb;
        }
    }
    if (kept_out)
        *kept_out = kept;
    return reload;
}

int sushi_cycle_cost_reload(const sushi_cycle_model *m, uint64_t bytes, uint64_t kept, sushi_cost *out)
{
    if (!m || !out)
        return SUSHI_ERR_INVALID;
    if (out->size < sizeof *out)
        return SUSHI_ERR_ABI;
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->hit_bytes = kept;
    if (bytes == 0)
        return SUSHI_OK;
    out->weight_bytes = out->offchip_bytes = bytes;
    out->onchip_bytes = bytes;
    out->cycles = ceil_u64((double)bytes / port_bw(m, m->axi_read_ports, m->axi_eff));
    out->latency_s = m->call_overhead_us * 1e-6 + (double)out->cycles / freq_hz(m);
    out->energy_offchip_j = (double)bytes * 8.0 * m->dram_pj_bit * 1e-12;
    out->energy_onchip_j = (double)bytes * m->sram_pj_byte * 1e-12;
    out->energy_j = out->energy_offchip_j + out->energy_onchip_j;
    return SUSHI_OK;
}

/* ------------------------------------------------------------------ */
/* SubNets                                                             */
/* ------------------------------------------------------------------ */

int sushi_cycle_layer_shape(const sushi_subnet *s, size_t i, sushi_conv_shape *sh)
{
    if (!s || !sh)
        return SUSHI_ERR_INVALID;
    if (i >= s->n_layers)
        return SUSHI_ERR_RANGE;
    const sushi_layer *l = &s->layers[i];
    memset(sh, 0, sizeof *sh);
    sh->op = l->op;
    sh->k = l->out_c;
    sh->c = l->in_c;
    sh->r = sh->s = l->kernel;
    sh->x = l->in_h;
    sh->y = l->in_w;
    sh->pad_x = sh->pad_y = l->pad;
    sh->stride_x = sh->stride_y = l->stride ? l->stride : 1;
    if (l->op == SUSHI_OP_LINEAR) {
        sh->c = l->in_c * l->in_h * l->in_w;
        sh->r = sh->s = sh->x = sh->y = 1;
        sh->pad_x = sh->pad_y = 0;
        sh->stride_x = sh->stride_y = 1;
    }
    return SUSHI_OK;
}

static void add_cost(sushi_layer_cost *a, const sushi_layer_cost *b)
{
    a->calls += b->calls;
    a->passes += b->passes;
    a->weight_chunks += b->weight_chunks;
    a->pixel_steps += b->pixel_steps;
    a->cycles_compute += b->cycles_compute;
    a->cycles_stream += b->cycles_stream;
    a->cycles_weights += b->cycles_weights;
    a->cycles += b->cycles;
    a->latency_s += b->latency_s;
    a->host_s += b->host_s;
    a->macs += b->macs;
    a->weight_bytes += b->weight_bytes;
    a->hit_bytes += b->hit_bytes;
    a->weight_offchip_bytes += b->weight_offchip_bytes;
    a->act_in_bytes += b->act_in_bytes;
    a->act_out_bytes += b->act_out_bytes;
    a->param_bytes += b->param_bytes;
    a->offchip_bytes += b->offchip_bytes;
    a->onchip_bytes += b->onchip_bytes;
    a->energy_offchip_j += b->energy_offchip_j;
    a->energy_onchip_j += b->energy_onchip_j;
    a->energy_compute_j += b->energy_compute_j;
    a->energy_j += b->energy_j;
}

/* ------------------------------------------------------------------ */
/* the SGS engine: descriptor lists, resident activations, vector path  */
/* ------------------------------------------------------------------ */

static bool sgs_list(const sushi_cycle_model *m) { return m->subnet_call >= 0.5; }

/* Is ADD layer i fused into the engine layer before it? (section 2.2) */
static bool add_fused(const sushi_subnet *s, uint32_t i)
{
    const sushi_layer *l = &s->layers[i];
    const sushi_layer *p = i > 0 ? &s->layers[i - 1] : NULL;
    return l->op == SUSHI_OP_ADD && p && (p->op == SUSHI_OP_CONV || p->op == SUSHI_OP_DWCONV) &&
           (p->output == l->input || p->output == l->input2);
}

void cycle_act_plan(const sushi_cycle_model *m, const sushi_subnet *s, uint8_t *place)
{
    memset(place, CYCLE_ACT_DRAM, s->n_values);
    if (!sgs_list(m) || m->act_buf_kib <= 0)
        return;
    const uint64_t A = (uint64_t)(m->act_buf_kib * 1024.0), R = (uint64_t)(m->res_buf_kib * 1024.0);
    uint32_t res_free_at = 0; /* the residual buffer is free for producers p >= res_free_at */
    for (uint32_t p = 0; p < s->n_layers; p++) {
        const uint32_t v = s->layers[p].output;
        if (v == s->output_value || v >= s->n_values || (p + 1 < s->n_layers && add_fused(s, p + 1)))
            continue; /* the SubNet output goes to DRAM; a fused conv's own output never exists */
        const sushi_value *val = &s->values[v];
        if ((uint64_t)val->c * val->h * val->w > A)
            continue;
        bool next = false;
        uint32_t others = 0, other = 0;
        for (uint32_t j = p + 1; j < s->n_layers && j <= val->last_use; j++) {
            const sushi_layer *c = &s->layers[j];
            if (c->input != v && !(c->op == SUSHI_OP_ADD && c->input2 == v))
                continue;
            if (j == p + 1)
                next = true;
            else
                others++, other = j;
        }
        if (!next || others > 1)
            continue;
        if (others == 0) {
            place[v] = CYCLE_ACT_PP;
        } else if ((uint64_t)val->c * val->h * val->w <= R && p >= res_free_at) {
            place[v] = CYCLE_ACT_PP_RES;
            res_free_at = other;
        }
    }
}

static inline bool onchip(const uint8_t *place, const sushi_subnet *s, uint32_t v)
{
    return place && v < s->n_values && place[v] != CYCLE_ACT_DRAM;
}

/* An element-wise / pooling op on the engine's vector path: pe_k channels in
 * parallel, `steps` window steps per channel group, fill per group. */
static void cost_vec(const sushi_cycle_model *m, uint32_t ch, uint64_t steps, uint64_t in_moved, bool in_on,
                     uint64_t out_moved, bool out_on, uint64_t ops, sushi_layer_cost *o)
{
    memset(o, 0, sizeof *o);
    o->where = SUSHI_CYCLE_ENGINE;
    const uint64_t groups = cdiv(ch, (uint64_t)m->pe_k);
    o->passes = groups;
    o->pixel_steps = groups * steps;
    o->cycles_compute = ceil_u64(m->pixel_ii * (double)o->pixel_steps) + ceil_u64((double)groups * m->pass_fill_cycles);
    o->act_in_bytes = in_on ? 0 : in_moved;
    o->act_out_bytes = out_on ? 0 : out_moved;
    const double t_in = (double)o->act_in_bytes / port_bw(m, m->axi_read_ports, m->axi_eff);
    const double t_out = (double)o->act_out_bytes / port_bw(m, m->axi_write_ports, m->axi_eff);
    o->cycles_stream = ceil_u64(t_in > t_out ? t_in : t_out);
    o->cycles = max_u64(o->cycles_compute, o->cycles_stream);
    o->latency_s = (double)o->cycles / freq_hz(m);
    o->onchip_bytes = in_moved * (in_on ? 2 : 1) + out_moved * (out_on ? 3 : 2);
    finish_energy(m, o, 0);
    o->energy_compute_j = (double)ops * m->mac_pj * 1e-12;
    o->energy_j = o->energy_offchip_j + o->energy_onchip_j + o->energy_compute_j;
}

/* Cost of plan layer i (see docs/accelerator.md, "Where each layer runs").
 * `place` (NULL: everything in DRAM) is cycle_act_plan()'s. */
static int layer_cost(const sushi_cycle_model *m, const sushi_subnet *s, const sushi_subgraph *g, pb_cut cut,
                      uint32_t i, const uint8_t *place, sushi_layer_cost *o)
{
    const sushi_layer *l = &s->layers[i];
    sushi_conv_shape sh;
    sushi_cycle_layer_shape(s, i, &sh);
    const uint64_t in_elems = (uint64_t)l->in_c * l->in_h * l->in_w;
    const uint64_t out_elems = (uint64_t)l->out_c * l->out_h * l->out_w;
    const bool list = sgs_list(m);
    const unsigned nocall = list ? CONV_NO_CALL : 0;
    const bool in_on = onchip(place, s, l->input);
    /* a conv fused with the ADD after it writes the ADD's output */
    const uint32_t out_v = (i + 1 < s->n_layers && add_fused(s, i + 1)) ? s->layers[i + 1].output : l->output;
    const bool out_on = onchip(place, s, out_v);
    if (list) {
        switch (l->op) {
        case SUSHI_OP_MAXPOOL:
        case SUSHI_OP_AVGPOOL:
            cost_vec(m, l->in_c, (uint64_t)l->out_h * l->out_w, in_elems, in_on, out_elems, out_on,
                     out_elems * l->kernel * l->kernel, o);
            return SUSHI_OK;
        case SUSHI_OP_GAP:
            cost_vec(m, l->in_c, (uint64_t)l->in_h * l->in_w, in_elems, in_on, out_elems, out_on, in_elems, o);
            return SUSHI_OK;
        case SUSHI_OP_ADD:
            if (add_fused(s, i))
                break;
            /* both operands stream side by side */
            cost_vec(m, l->out_c, (uint64_t)l->out_h * l->out_w, in_elems * (!in_on + !onchip(place, s, l->input2)),
                     false, out_elems, out_on, out_elems, o);
            o->onchip_bytes += in_elems * (onchip(place, s, l->input) + onchip(place, s, l->input2));
            finish_energy(m, o, 0);
            o->energy_compute_j = (double)out_elems * m->mac_pj * 1e-12;
            o->energy_j = o->energy_offchip_j + o->energy_onchip_j + o->energy_compute_j;
            return SUSHI_OK;
        case SUSHI_OP_SE: {
            /* squeeze and excite on the vector path, the two FCs as linear
             * layers; the pooled vector, hidden vector and gate stay on chip */
            sushi_layer_cost part;
            cost_vec(m, l->in_c, (uint64_t)l->in_h * l->in_w, in_elems, in_on, l->in_c, true, in_elems, o);
            sushi_conv_shape fc = { .op = SUSHI_OP_LINEAR, .k = l->se_mid, .c = l->in_c, .r = 1, .s = 1,
                                    .x = 1, .y = 1, .stride_x = 1, .stride_y = 1 };
            fc.hit_bytes = slot_hit(s, g, cut, l->w);
            int rc = cost_conv_ex(m, &fc, CONV_NO_CALL | CONV_IN_ONCHIP | CONV_OUT_ONCHIP, &part);
            if (rc)
                return rc;
            add_cost(o, &part);
            fc.k = l->in_c;
            fc.c = l->se_mid;
            fc.hit_bytes = slot_hit(s, g, cut, l->w2);
            if ((rc = cost_conv_ex(m, &fc, CONV_NO_CALL | CONV_IN_ONCHIP | CONV_OUT_ONCHIP, &part)))
                return rc;
            add_cost(o, &part);
            cost_vec(m, l->in_c, (uint64_t)l->in_h * l->in_w, in_elems, in_on, out_elems, out_on, in_elems, &part);
            add_cost(o, &part);
            o->where = SUSHI_CYCLE_ENGINE;
            o->out_x = l->out_h;
            o->out_y = l->out_w;
            o->utilisation = 0;
            return SUSHI_OK;
        }
        default:
            break;
        }
    }
    switch (l->op) {
    case SUSHI_OP_CONV:
    case SUSHI_OP_DWCONV:
    case SUSHI_OP_LINEAR:
        sh.hit_bytes = slot_hit(s, g, cut, l->w);
        return cost_conv_ex(m, &sh, nocall | (in_on ? CONV_IN_ONCHIP : 0) | (out_on ? CONV_OUT_ONCHIP : 0), o);
    case SUSHI_OP_MAXPOOL:
    case SUSHI_OP_AVGPOOL:
        return sushi_cycle_cost_host(m, out_elems * l->kernel * l->kernel, in_elems, out_elems, o);
    case SUSHI_OP_GAP:
        return sushi_cycle_cost_host(m, in_elems, in_elems, out_elems, o);
    case SUSHI_OP_ADD: {
        /* fused into the requantisation stage of the engine layer that
         * produced one operand: the other operand streams in on a spare
         * read port while the outputs stream out; no extra call */
        const sushi_layer *p = i > 0 ? &s->layers[i - 1] : NULL;
        bool fusable = p && (p->op == SUSHI_OP_CONV || p->op == SUSHI_OP_DWCONV) &&
                       (p->output == l->input || p->output == l->input2);
        if (!fusable)
            return sushi_cycle_cost_host(m, out_elems, 2 * in_elems, out_elems, o);
        memset(o, 0, sizeof *o);
        o->where = SUSHI_CYCLE_FUSED;
        {
            /* the residual: the operand the conv did not produce (from the residual buffer when resident) */
            const uint32_t rv = p->output == l->input ? l->input2 : l->input;
            const bool r_on = onchip(place, s, rv);
            o->act_in_bytes = r_on ? 0 : in_elems;
            o->onchip_bytes = (r_on ? 3 : 2) * in_elems;
        }
        finish_energy(m, o, 0);
        return SUSHI_OK;
    }
    case SUSHI_OP_SE: {
        /* squeeze (global average) and excite (channel scale) on the host,
         * the two FC layers on the engine as 1x1 convolutions of a 1x1 map */
        sushi_layer_cost part;
        int rc = sushi_cycle_cost_host(m, in_elems, in_elems, 0, o);
        sushi_conv_shape fc = { .op = SUSHI_OP_LINEAR, .k = l->se_mid, .c = l->in_c, .r = 1, .s = 1,
                                .x = 1, .y = 1, .stride_x = 1, .stride_y = 1 };
        fc.hit_bytes = slot_hit(s, g, cut, l->w);
        if (!rc && !(rc = sushi_cycle_cost_conv(m, &fc, &part)))
            add_cost(o, &part);
        fc.k = l->in_c;
        fc.c = l->se_mid;
        fc.hit_bytes = slot_hit(s, g, cut, l->w2);
        if (!rc && !(rc = sushi_cycle_cost_conv(m, &fc, &part)))
            add_cost(o, &part);
        if (!rc && !(rc = sushi_cycle_cost_host(m, in_elems, in_elems, out_elems, &part)))
            add_cost(o, &part);
        o->where = SUSHI_CYCLE_MIXED;
        o->out_x = l->out_h;
        o->out_y = l->out_w;
        o->utilisation = 0;
        return rc;
    }
    default:
        return SUSHI_ERR_INVALID;
    }
}

int sushi_cycle_cost_subnet(const sushi_cycle_model *m, const sushi_subnet *s, const sushi_subgraph *g,
                            sushi_layer_cost *layers, sushi_cost *total)
{
    if (!m || !s)
        return SUSHI_ERR_INVALID;
    if (total && total->size < sizeof *total)
        return SUSHI_ERR_ABI;
    if (g && g->sn != s->sn)
        return SUSHI_ERR_INVALID;
    pb_cut cut = g ? pb_cutoff(g, sushi_cycle_pb_bytes(m)) : (pb_cut){ 0, 0 };
    sushi_layer_cost sum, one;
    memset(&sum, 0, sizeof sum);
    /* resident activations: a plan of at most CYCLE_PLAN_MAX values on the stack (larger plans: none) */
    uint8_t plan[CYCLE_PLAN_MAX];
    const uint8_t *place = NULL;
    if (sgs_list(m) && m->act_buf_kib > 0 && s->n_values <= CYCLE_PLAN_MAX) {
        cycle_act_plan(m, s, plan);
        place = plan;
    }
    for (uint32_t i = 0; i < s->n_layers; i++) {
        sushi_layer_cost *o = layers ? &layers[i] : &one;
        int rc = layer_cost(m, s, g, cut, i, place, o);
        if (rc)
            return rc;
        if (i == 0 && sgs_list(m)) { /* the one call of the descriptor list */
            o->calls++;
            o->latency_s += m->call_overhead_us * 1e-6;
        }
        if (!o->out_x) {
            o->out_x = s->layers[i].out_h;
            o->out_y = s->layers[i].out_w;
        }
        add_cost(&sum, o);
    }
    if (total) {
        memset(total, 0, sizeof *total);
        total->size = sizeof *total;
        total->latency_s = sum.latency_s;
        total->cycles = sum.cycles;
        total->macs = sum.macs;
        total->offchip_bytes = sum.offchip_bytes;
        total->weight_bytes = sum.weight_offchip_bytes;
        total->act_bytes = sum.act_in_bytes + sum.act_out_bytes;
        total->hit_bytes = sum.hit_bytes;
        total->onchip_bytes = sum.onchip_bytes;
        total->energy_offchip_j = sum.energy_offchip_j;
        total->energy_onchip_j = sum.energy_onchip_j;
        total->energy_compute_j = sum.energy_compute_j;
        total->energy_j = sum.energy_j;
    }
    return SUSHI_OK;
}
