/* Internals of the cpu backend (not installed). */
#ifndef SUSHI_CPU_INTERNAL_H
#define SUSHI_CPU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "sushi/cpu.h"

#define CPU_ALIGN 64
#define CPU_OFFSET_EXTERNAL SIZE_MAX

static inline size_t cpu_align_up(size_t n) { return (n + CPU_ALIGN - 1) & ~(size_t)(CPU_ALIGN - 1); }

/* Hot loops (float kernels, Winograd transforms, int8 kernels) are compiled
 * twice on x86-64 GCC (baseline and x86-64-v3, i.e. AVX2+FMA) and picked at
 * load time (ifunc), so the library stays portable; integer results do not
 * depend on the clone. "arch=x86-64-v3" is chosen by CPU features;
 * "arch=haswell" would be chosen by CPU model and never runs on AMD CPUs
 * (GCC's resolver uses __builtin_cpu_is for arch= names other than the
 * x86-64-vN levels). Sanitised builds get one version. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CPU_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CPU_HOT
#endif

/* ---------- threads (pool.c, docs/cpu.md "Threads") ---------- */
#define CPU_MAX_THREADS 1024
/* Least work (multiply-adds or element operations) worth a part of its own:
 * below it a wake-up costs more than it saves. */
#define CPU_PAR_MIN_WORK 32768
typedef struct cpu_pool cpu_pool;
/* part `id` of a parallel loop: elements [lo, hi) */
typedef void (*cpu_task_fn)(void *arg, unsigned id, size_t lo, size_t hi);
/* n threads including the caller (n - 1 workers are started). */
int cpu_pool_create(const sushi_context *ctx, unsigned n, cpu_pool **out);
void cpu_pool_destroy(cpu_pool *p);
/* threads of p (1 for NULL) */
unsigned cpu_pool_threads(const cpu_pool *p);
/* Whether p's threads spin while they wait (POOL_SPIN_NS) rather than sleep
 * at once: only while the threads of all live pools of more than one thread
 * fit the CPUs the process may use. false for NULL and 1-thread pools. */
bool cpu_pool_spins(const cpu_pool *p);
/* How many parts to split `total` items carrying `work` units in all into,
 * each part at least min_work units: 1 .. threads. */
unsigned cpu_parts(const cpu_pool *p, size_t total, size_t work, size_t min_work);
/* fn over [0, total) in `parts` contiguous parts (part i = [total i / parts,
 * total (i + 1) / parts)); the caller runs part 0; returns when all are done.
 * NULL pool or parts <= 1: fn(arg, 0, 0, total) on the caller. */
void cpu_pool_for(cpu_pool *p, size_t total, unsigned parts, cpu_task_fn fn, void *arg);
/* Accounting of parallel loops (bench/cpu/layer_threads only; off unless
 * enabled, and enabled only while no loop runs): thread CPU seconds, so the
 * figures hardly depend on other jobs on the machine. span: sum over loops of
 * the longest part (the loop's time on idle cores); busy: of all parts;
 * in_for: the caller's CPU seconds inside cpu_pool_for (its part and its
 * waiting). */
typedef struct cpu_pool_stats {
    uint64_t loops, parts, split; /* split: loops run in more than one part */
    double busy_s, span_s, in_for_s;
} cpu_pool_stats;
/* Turns accounting on and zeroes the figures: SUSHI_OK or SUSHI_ERR_NOMEM. */
int cpu_pool_stats_enable(cpu_pool *p);
cpu_pool_stats cpu_pool_stats_get(const cpu_pool *p);
/* Keep OpenBLAS on one thread (the pool splits the GEMMs instead): called
 * where float passes start (backend creation, calibration). */
void cpu_blas_single_thread(void);

/* How a float forward pass may use threads: the pool (NULL: the caller alone)
 * and the threads the scratch was sized for (cpu_f32_scratch_bytes_nt). */
typedef struct cpu_exec {
    cpu_pool *pool;
    unsigned nt;
} cpu_exec;

/* ---------- memory plan ---------- */
typedef struct cpu_plan {
    uint32_t n_values;
    size_t *offset;        /* byte offset per value; CPU_OFFSET_EXTERNAL for value 0 when external */
    size_t arena_bytes;
    size_t scratch_bytes;
    size_t unplanned_bytes;
} cpu_plan;

/* Plans the activations of s with elements of elem_size bytes. input_in_arena:
 * value 0 gets a slot too (int8 path); otherwise it is the caller's buffer. */
int cpu_plan_build(const sushi_context *ctx, const sushi_subnet *s, size_t elem_size, bool input_in_arena,
                   cpu_plan *p);
void cpu_plan_free(const sushi_context *ctx, cpu_plan *p);
/* float path scratch in bytes (im2col or Winograd, depthwise planes, SE) under the current conv mode */
size_t cpu_f32_scratch_bytes(const sushi_subnet *s);
/* the same for a pass on nt threads (per-thread buffers of depthwise and Winograd) */
size_t cpu_f32_scratch_bytes_nt(const sushi_subnet *s, unsigned nt);
size_t cpu_q8_scratch_bytes(const sushi_subnet *s);
/* the same for an int8 pass on nt threads (per-thread depthwise buffers) */
size_t cpu_q8_scratch_bytes_nt(const sushi_subnet *s, unsigned nt);

/* ---------- float32 kernels ---------- */
/* Run layer li of s. vp[v] = storage of value v. raw: skip BN and activation
 * (bias is still added) so a caller can normalise with its own statistics. */
void cpu_f32_layer(const sushi_subnet *s, uint32_t li, float *const *vp, float *scratch, bool raw);
/* The same on ex's threads; scratch: cpu_f32_scratch_bytes_nt(s, ex->nt). */
void cpu_f32_layer_x(const cpu_exec *ex, const sushi_subnet *s, uint32_t li, float *const *vp, float *scratch,
                     bool raw);
/* C = A * B, row-major, single-threaded (gemm.c; docs/cpu.md "GEMM"): our
 * AVX-512 kernel where the CPU has AVX-512F, else OpenBLAS's sgemm. */
void cpu_sgemm(uint32_t m, size_t n, uint32_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c,
               size_t ldc);
/* whether cpu_sgemm runs our kernel (decided at the first call: the CPU, and
 * SUSHI_CPU_GEMM=openblas in the environment forces OpenBLAS) */
bool cpu_gemm_own(void);
/* tests and benchmarks only, while no kernel runs: 1 our kernel (returns
 * false, and OpenBLAS runs, if the CPU has no AVX-512F), 0 OpenBLAS, -1
 * decide again from the CPU and the environment */
bool cpu_gemm_set_own(int mode);
/* whether this CPU has AVX-512F, and AVX2 + FMA (x86-64 with GCC-compatible
 * compilers; false elsewhere) */
bool cpu_has_avx512(void);
bool cpu_has_avx2_fma(void);
/* A process-wide choice made once (the GEMM, depthwise and convolution
 * kernels): *slot holds -1 until the first reader stores decide(); a racing
 * reader computes the same value and the first store wins. Setters store
 * into the slot directly (-1: decide again). */
static inline int cpu_choice(atomic_int *slot, int (*decide)(void))
{
    int v = atomic_load_explicit(slot, memory_order_relaxed);
    if (v < 0) {
        int expected = -1;
        atomic_compare_exchange_strong(slot, &expected, decide());
        v = atomic_load_explicit(slot, memory_order_relaxed);
    }
    return v;
}
/* ---------- depthwise on AVX-512 / AVX2 (depthwise.c; docs/cpu.md "Depthwise") ---------- */
/* largest pixel-major input plane of the channel-group kernel, per thread */
#define CPU_DW_MAX_T_BYTES ((size_t)8 << 20)
/* whether the channel-group kernel takes layer l (stride 1 or 2, kernel 3, 5
 * or 7, padded plane within CPU_DW_MAX_T_BYTES as 16 floats per pixel) */
bool cpu_dw_fits(const sushi_layer *l);
/* scratch floats of one thread for it (0 when it does not fit) */
size_t cpu_dw_own_floats(const sushi_layer *l);
/* whether depthwise layers run it (decided at the first call: AVX-512F, else
 * AVX2 + FMA, else the portable kernel; SUSHI_CPU_DW=portable in the
 * environment forces the portable kernel, SUSHI_CPU_DW=avx2 the AVX2 one
 * where the CPU has it) */
bool cpu_dw_own(void);
/* channels per group of the kernel that runs: 16 (AVX-512), 8 (AVX2), 0 (portable) */
unsigned cpu_dw_own_lanes(void);
/* tests and benchmarks only, while no kernel runs: 1 AVX-512, 2 AVX2, 0 the
 * portable kernel (returns false, and the portable one runs, when the CPU
 * lacks the ISA asked for), -1 decide again from the CPU and the environment */
bool cpu_dw_set_own(int mode);
/* Before a thread's groups of layer l: zeroes what of its scratch no group writes. */
void cpu_dw_own_prepare(const sushi_layer *l, float *scratch);
/* Bands of output rows each group of channels is cut into, so that the
 * work splits evenly on `threads` threads. */
uint32_t cpu_dw_own_bands(const sushi_layer *l, unsigned threads);
/* Output rows oy0 .. oy1 - 1 of channels c0 .. c0 + cn - 1 (cn <= lanes) of l,
 * where the kernel fits and cpu_dw_own(): x, w, y point at channel c0's
 * input plane, weights and output plane; y = act(conv(x, w) * sc[c] + sh[c]).
 * scratch: cpu_dw_own_floats(l), after cpu_dw_own_prepare. */
void cpu_dw_own_group(const sushi_layer *l, uint32_t cn, uint32_t oy0, uint32_t oy1, const float *x, const float *w,
                      float *y, const float *sc, const float *sh, int act, float *scratch);
/* y[m][n] = sum_k w[m][k] * x[k][n] (row-major; w with leading dimension ldw,
 * x and y with n): the GEMM of every convolution (sgemv when n = 1). */
void cpu_f32_gemm(uint32_t m, size_t n, uint32_t k, const float *w, size_t ldw, const float *x, float *y);
/* y[c][hw] = act(y * scale[c] + shift[c]) (scale/shift may be NULL: identity) */
void cpu_f32_bn_act(float *y, uint32_t c, size_t hw, const float *scale, const float *shift, int act);
/* Offset of the SE hidden activations (after ReLU) inside the scratch, in floats. */
size_t cpu_f32_se_hidden_offset(const sushi_layer *l);

/* ---------- Winograd F(4x4, 3x3) (winograd.c, docs/cpu.md) ---------- */
/* Which algorithm runs a 3x3 stride-1 pad-1 convolution. AUTO: Winograd when
 * the layer has at least CPU_WINO_MIN_TILES 4x4 output tiles (planes from
 * 13 x 13 up; docs/cpu.md has the measurements), im2col + sgemm otherwise.
 * IM2COL: never Winograd; WINOGRAD: every such layer (tests). */
enum { CPU_CONV_AUTO = 0, CPU_CONV_IM2COL = 1, CPU_CONV_WINOGRAD = 2 };
#define CPU_WINO_MIN_TILES 16
/* tiles per block of whole tile rows (transformed input and products of a
 * block are what the 36 GEMMs of one step read and write) */
#ifndef CPU_WINO_BLOCK_TILES
#define CPU_WINO_BLOCK_TILES 256
#endif
/* transformed weights per output-channel block when all tiles are one block */
#ifndef CPU_WINO_U_BLOCK_BYTES
#define CPU_WINO_U_BLOCK_BYTES ((size_t)2 << 20)
#endif
/* Process-wide mode: the environment variable SUSHI_CPU_CONV ("im2col",
 * "winograd", anything else: auto), read on first use; cpu_conv_set_mode
 * overrides it (tests, bench). Scratch sizes follow the mode: a plan made
 * under one mode must not run under another (the backend rebuilds its plan
 * when the mode changed). */
int cpu_conv_mode(void);
void cpu_conv_set_mode(int mode);
/* 3x3, stride 1, pad 1, same output size */
bool cpu_wino_eligible(const sushi_layer *l);
/* eligible, and chosen under the current mode */
bool cpu_wino_selected(const sushi_layer *l);
size_t cpu_wino_scratch_bytes(uint32_t c, uint32_t k, uint32_t h, uint32_t w);
size_t cpu_wino_scratch_bytes_nt(uint32_t c, uint32_t k, uint32_t h, uint32_t w, unsigned nt);
/* out[k][h][w] = 3x3 conv (pad 1) of in[c][h][w] with the weights
 * wt[k * ldw + (c * 3 + ky) * 3 + kx] (a SuperNet slice read in place), no
 * bias or epilogue. scratch: cpu_wino_scratch_bytes(c, k, h, w), 64-byte aligned. */
void cpu_wino_conv3x3(uint32_t c, uint32_t k, uint32_t h, uint32_t w, const float *wt, size_t ldw, const float *in,
                      float *out, float *scratch);
/* epilogue of output channels [k0, k1), run by the thread that computed them */
typedef void (*cpu_wino_epi_fn)(void *arg, uint32_t k0, uint32_t k1);
/* the same on ex's threads, then epi (may be NULL) on every output channel;
 * scratch: cpu_wino_scratch_bytes_nt(.., ex->nt) */
void cpu_wino_conv3x3_x(const cpu_exec *ex, uint32_t c, uint32_t k, uint32_t h, uint32_t w, const float *wt,
                        size_t ldw, const float *in, float *out, float *scratch, cpu_wino_epi_fn epi, void *epi_arg);

/* Whole float forward pass: vp prepared by the caller (vp[0] = input). A
 * residual add right after the convolution that makes one of its inputs is
 * done by that convolution's epilogue, on each block while in cache, when
 * the buffers allow it (docs/cpu.md, "Fused residual adds"); the bits are
 * those of running every layer with cpu_f32_layer_x. */
void cpu_f32_forward(const sushi_subnet *s, float *const *vp, float *scratch);
void cpu_f32_forward_x(const cpu_exec *ex, const sushi_subnet *s, float *const *vp, float *scratch);
/* How many adds of s the forward pass may fuse with these buffers; on_input
 * (may be NULL): how many of them write where their convolution's input is
 * (fused only when that convolution splits by pixels) (tests). */
uint32_t cpu_f32_fusable_adds(const sushi_subnet *s, float *const *vp, uint32_t *on_input);
/* Fill vp from an arena base and a plan; vp[0] = input. */
void cpu_value_ptrs(const cpu_plan *p, void *arena, const void *input, size_t elem_size, void **vp);

/* ---------- int8 model ---------- */
typedef struct cpu_q8_rq {
    int32_t *m;
    int32_t *s;
    int64_t *B;
} cpu_q8_rq;

typedef struct cpu_q8_layer {
    uint32_t K;           /* weights per output channel */
    int8_t *w;            /* [out_c][K] (SE: reduce [se_mid][in_c]) */
    float *w_scale;
    int8_t *w2;           /* SE expand [in_c][se_mid] */
    float *w2_scale;
    cpu_q8_rq rq;         /* per output channel (conv/dw/linear/SE reduce) */
    cpu_q8_rq rq2;        /* SE expand (to the h-sigmoid input) */
    int32_t zp_in, zp_in2;
    int32_t zp_rq;        /* zero point added after requantisation (output zp, or LUT input zp) */
    int32_t lo;           /* clamp low bound after requantisation */
    bool use_lut;
    uint8_t lut[256];
    /* SE: gap multiplier, hidden zp 0, gate LUT, final scale */
    int32_t gap_m, gap_s;
    int32_t se_hid_zp;
    int32_t se_gate_zp;   /* h-sigmoid input zp */
    uint8_t se_lut[256];
    int32_t se_m, se_s;   /* (x - zx) * g -> out */
    /* ADD */
    int32_t add_ma, add_mb, add_s;
    /* pools: multiplier per valid count (index = count) */
    uint32_t n_pool;
    int32_t *pool_m, *pool_s;
    /* int32 output (last LINEAR): bias in accumulator units, dequant factor */
    bool out_i32;
    int32_t *bias_acc;
    float *deq;
} cpu_q8_layer;

typedef struct cpu_q8_model {
    const sushi_subnet *s;   /* retained */
    uint32_t n_values;
    float *scale;            /* per value */
    int32_t *zp;
    cpu_q8_layer *layers;
    cpu_plan plan;           /* uint8 arena (value 0 inside); the output LINEAR writes int32 in scratch */
    size_t scratch_bytes;
} cpu_q8_model;

/* Number of floats of a ranges array: 2 * (n_values + n_layers). */
size_t cpu_q8_ranges_len(const sushi_subnet *s);
int cpu_q8_model_build(const sushi_subnet *s, const float *ranges, cpu_q8_model **out);
/* Ranges the SuperNet file stores for s (docs/int8.md §7): its candidate's
 * `int8_ranges`, or its `act_ranges` (one pair per value) when no layer of s
 * has an auxiliary range (no SE). Only for a SubNet made from a candidate's
 * config that uses that candidate's BN statistics (or the candidate has
 * none): ranges calibrated under other BN do not apply. NULL otherwise. */
const float *cpu_q8_stored_ranges(const sushi_subnet *s);
void cpu_q8_model_destroy(cpu_q8_model *m);
/* Runs the int8 model. arena: plan.arena_bytes, scratch: scratch_bytes (aligned).
 * Output: floats (dequantised) into out (num_classes); out_i32 (may be NULL)
 * receives the raw int32 logits when the network ends with a LINEAR. */
void cpu_q8_forward(const cpu_q8_model *m, const float *input, uint8_t *arena, void *scratch, float *out,
                    int32_t *out_i32);
/* The same on ex's threads (convolutions split by groups of 4 output
 * channels, depthwise by channels; integer results do not depend on the
 * split). scratch: cpu_q8_scratch_bytes_nt(m->s, ex->nt). */
void cpu_q8_forward_x(const cpu_exec *ex, const cpu_q8_model *m, const float *input, uint8_t *arena, void *scratch,
                      float *out, int32_t *out_i32);

/* Calibration (float forward): ranges as in cpu_q8_ranges_len. */
int cpu_calibrate_ranges(const sushi_subnet *s, const float *inputs, size_t n, float *ranges);
/* `keep` of cpu_calibrate_ranges_keep selecting the least-squares range rule,
 * the default of cpu_calibrate_ranges (docs/int8.md §7). */
#define CPU_CALIB_MSE 0.0
#define CPU_CALIB_KEEP CPU_CALIB_MSE
/* Same with another range rule: keep = 1: min/max; 0 < keep < 1: each range
 * shrunk to the central `keep` fraction of its values; keep <= 0: the range
 * of least expected squared quantisation error (cpu_range_mse). */
int cpu_calibrate_ranges_keep(const sushi_subnet *s, const float *inputs, size_t n, double keep, float *ranges);
/* Histogram bins of the calibration (over each value's [min, max]). */
#define CPU_CALIB_BINS 2048
/* Shrink r = [min, max] to the range of least expected squared quantisation
 * error (saturation + rounding) over histogram h of CPU_CALIB_BINS bins
 * (docs/int8.md §7); work: CPU_CALIB_MSE_WORK bytes of scratch. */
#define CPU_CALIB_MSE_WORK (3 * (CPU_CALIB_BINS + 1) * sizeof(double))
void cpu_range_mse(float *r, const uint32_t *h, void *work);

/* ---------- utilities ---------- */
void *cpu_aligned_alloc(const sushi_context *ctx, size_t bytes, void **raw_out);
/* Deterministic test input: n floats uniform in [-1, 1) from seed (splitmix64). */
void cpu_test_input(uint64_t seed, float *x, size_t n);
/* Is b a cpu backend instance? Returns its state or NULL. */
void *cpu_backend_state(sushi_backend *b);

#endif
