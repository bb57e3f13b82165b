/* SushiAccel kernel interface (Vitis HLS C; synthesizable subset).
 *
 * One call = one command: a dense convolution (incl. 1x1 folding and LINEAR
 * as a 1x1 convolution of a 1x1 map), a depthwise convolution, or a
 * persistent-buffer (PB) command. Integer semantics: docs/int8.md.
 * Dimensioning follows ../shared/DESIGN.md §4 and the zcu104 preset of the
 * cycle model (docs/accelerator.md). docs/hls.md describes the mapping. */
#ifndef SUSHI_ACCEL_H
#define SUSHI_ACCEL_H

#include <stdint.h>

#define ACCEL_PE_K 16                 /* PE columns: output channels per K tile */
#define ACCEL_PE_C 9                  /* PE rows: input channels per C tile */
#define ACCEL_FOLD_C (ACCEL_PE_C * 9) /* 1x1: 9 channels on each PE's 9 multipliers */
#define ACCEL_KMAX 9                  /* largest kernel extent (ceil(9/3)^2 = 9 pieces) */
#define ACCEL_IBUF_BYTES (512u * 1024u)
#define ACCEL_OBUF_BYTES (256u * 1024u)
#define ACCEL_OBUF_PIX (ACCEL_OBUF_BYTES / (4u * ACCEL_PE_K)) /* 4096 pixels of int32 psums per column */
#define ACCEL_WBUF_HALF (32768u * 9u) /* 2 halves of 32,768 9-byte entries */
#ifndef ACCEL_PB_BYTES
#define ACCEL_PB_BYTES (3072u * 1024u)
#endif
#define ACCEL_PB_SLOTS 1024u
#define ACCEL_FILL_CYCLES 32u         /* pipeline fill + drain per pass (cycle model pass_fill_cycles) */
#define ACCEL_QPARAM_WORDS 4          /* per output channel: m, s, B low, B high (16 bytes) */
/* SGS engine (docs/hls.md, "The SGS engine"): on-chip activation memory =
 * two ping-pong buffers, a residual buffer and two small vector buffers (SE).
 * Sized for the zcu104-sgs preset of the cycle model; a Vitis build may
 * override them (and ACCEL_PB_BYTES) with -D. */
#ifndef ACCEL_ACT_BYTES
#define ACCEL_ACT_BYTES (256u * 1024u)  /* each ping-pong half (act_buf_kib) */
#endif
#ifndef ACCEL_RES_BYTES
#define ACCEL_RES_BYTES (256u * 1024u)  /* residual buffer (res_buf_kib) */
#endif
#define ACCEL_VEC_BYTES 4096u           /* each SE vector buffer (pooled / hidden / gate) */
#define ACCEL_LIST_MAX 1024u            /* descriptors per ACCEL_OP_LIST call */

enum accel_op {
    ACCEL_OP_CONV = 0,      /* dense conv / linear */
    ACCEL_OP_DWCONV = 1,    /* depthwise, k == c */
    ACCEL_OP_PB_LOAD = 2,   /* load a weight box of slot pb_slot from wgt into the PB */
    ACCEL_OP_PB_KEEP = 3,   /* keep slot pb_slot resident (checks it is valid) */
    ACCEL_OP_PB_INVALIDATE = 4, /* invalidate slot pb_slot, or all when pb_slot == ACCEL_PB_SLOTS */
    /* on-chip move (no off-chip traffic) of a box [pb_keep_rows][pb_keep_cols x pb_kk] from pb_src (row
     * stride pb_src_stride) to pb_base (row stride pb_cols x pb_kk); pb_backward copies last to first */
    ACCEL_OP_PB_MOVE = 5,
    /* make slot pb_slot the box [pb_rows][pb_cols x pb_kk] at pb_base: the elements outside the kept
     * sub-box [pb_keep_rows][pb_keep_cols x pb_kk] (already in place) stream in from wgt, row-major */
    ACCEL_OP_PB_FILL = 6,
    /* SGS engine: the vector path (pe_k channels in parallel) and descriptor lists */
    ACCEL_OP_MAXPOOL = 7,   /* k = r, stride, pad; no requantisation */
    ACCEL_OP_AVGPOOL = 8,   /* qparam: n_pool multipliers then n_pool shifts (index = valid taps) */
    ACCEL_OP_GAP = 9,       /* global average: (vq_m, vq_s), output zp = zp_in */
    ACCEL_OP_ADD = 10,      /* element-wise add of act_in (in_src) and res_in (in2_src), add_* fields */
    ACCEL_OP_EXCITE = 11,   /* SE excite: act_in x gate (res_in / in2_src, c bytes), (vq_m, vq_s), zp_out */
    ACCEL_OP_LIST = 12      /* run n_desc descriptors from desc in one call */
};

/* Where an activation operand lives (in_src, in2_src, out_dst, res_src). */
enum accel_mem {
    ACCEL_MEM_DRAM = 0, /* the m_axi port */
    ACCEL_MEM_PP0 = 1,  /* ping-pong activation buffer 0 */
    ACCEL_MEM_PP1 = 2,  /* ping-pong activation buffer 1 */
    ACCEL_MEM_RES = 3,  /* residual buffer */
    ACCEL_MEM_VEC0 = 4, /* SE vector buffers */
    ACCEL_MEM_VEC1 = 5,
    ACCEL_MEM_COUNT
};

/* Control registers (s_axilite). */
typedef struct accel_ctrl {
    uint32_t op;
    uint32_t k, c, r;          /* out channels, in channels, square kernel extent */
    uint32_t x, y;             /* input height, width */
    uint32_t pad, stride;
    int32_t zp_in, zp_out, lo; /* input zp, zp added after requant, clamp low */
    uint32_t use_lut;          /* map the output through lut[] */
    uint32_t out_i32;          /* write sat(acc + bias) as int32 to acc_out (output LINEAR) */
    uint32_t pb_slot;          /* SubGraph slot of this layer's weights (ACCEL_PB_SLOTS: none) */
    uint32_t pb_rows, pb_cols, pb_kk, pb_base; /* PB_LOAD / FILL: box and placement */
    uint32_t pb_keep_rows, pb_keep_cols;        /* PB_MOVE / FILL: the kept sub-box */
    uint32_t pb_src, pb_src_stride, pb_backward; /* PB_MOVE: source */
    /* fused residual add (res_en): y = add(conv_out, res) per docs/int8.md */
    uint32_t res_en, res_first; /* res_first: the residual is the add's first operand */
    int32_t add_zp_a, add_zp_b;       /* zero points of the add's first / second operand */
    int32_t add_ma, add_mb, add_s, add_zp, add_lo;
    uint32_t add_use_lut;
    /* SGS engine (appended; 0 = the per-layer engine of the zcu104 preset) */
    uint32_t stride_skip;      /* 1: step only the kept output positions (cycle model stride_input_bound = 0) */
    uint32_t in_src, in2_src;  /* accel_mem of the input / second operand (ADD, EXCITE gate) */
    uint32_t out_dst;          /* accel_mem of the output */
    uint32_t out_res;          /* also copy the output into the residual buffer */
    uint32_t res_src;          /* fused ADD residual: ACCEL_MEM_DRAM (res_in) or ACCEL_MEM_RES */
    int32_t vq_m, vq_s;        /* GAP / EXCITE requantisation multiplier and shift */
    uint32_t n_pool;           /* AVGPOOL: entries of each qparam table */
    uint32_t n_desc;           /* LIST: descriptors at desc */
} accel_ctrl;

/* One entry of a descriptor list (ACCEL_OP_LIST): a command plus the byte
 * offsets of its operands from the call's port bases (act_in, res_in and
 * act_out share the activation arena) and its LUTs. */
typedef struct accel_desc {
    accel_ctrl c;
    uint32_t in_off, in2_off, out_off; /* activation arena: input, second operand / residual, output */
    uint32_t wgt_off;                  /* bytes into wgt */
    uint32_t qp_off;                   /* int32 words into qparam */
    uint8_t lut[256], add_lut[256];
} accel_desc;

/* Counters of the C simulation (not synthesised). */
typedef struct accel_counters {
    uint64_t rd_act;      /* activation bytes read on the act_in port */
    uint64_t rd_res;      /* residual bytes read on the res_in port */
    uint64_t rd_wgt;      /* weight bytes read on the wgt port for compute */
    uint64_t rd_par;      /* requant bytes read on the qparam port */
    uint64_t wr_act;      /* bytes written on act_out / acc_out */
    uint64_t rd_pb_load;  /* weight bytes read on the wgt port by PB_LOAD */
    uint64_t pb_hit;      /* weight bytes taken from the PB */
    uint64_t pb_moved;    /* bytes moved inside the PB (PB_MOVE) */
    uint64_t trips;       /* pixel-loop trips (II = 1) */
    uint64_t passes;      /* passes (each pays ACCEL_FILL_CYCLES) */
    uint64_t chunks;      /* weight-buffer loads */
    uint64_t halo;        /* input bytes kept on chip from one pixel block's row band for the next */
    uint32_t status;      /* 0 ok; else an ACCEL_ERR_* bit */
    uint64_t rd_desc;     /* descriptor bytes read on the desc port (LIST) */
} accel_counters;

#define ACCEL_ERR_SHAPE 1u
#define ACCEL_ERR_WBUF 2u
#define ACCEL_ERR_IBUF 4u
#define ACCEL_ERR_PB 8u
#define ACCEL_ERR_ACT 16u  /* an on-chip activation operand exceeds its buffer, or a bad accel_mem */

void sushi_accel(const uint8_t *act_in, const uint8_t *res_in, const int8_t *wgt, const int32_t *qparam,
                 uint8_t *act_out, int32_t *acc_out, const uint8_t lut[256], const uint8_t add_lut[256],
                 accel_ctrl ctrl, const accel_desc *desc);

#ifndef __SYNTHESIS__
/* C simulation only: counters since the last reset. */
void sushi_accel_counters_reset(void);
accel_counters sushi_accel_counters_get(void);
/* counters accumulated up to and including descriptor i of the last LIST call */
accel_counters sushi_accel_list_counters(uint32_t i);
#endif

#endif
