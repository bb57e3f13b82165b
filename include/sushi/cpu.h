/**
 * @file cpu.h
 * @brief The cpu backend's own API: memory plan query, OpenBLAS threads, BN
 * recalibration and int8 calibration (docs/cpu.md, docs/int8.md).
 *
 * The backend itself is used through backend.h under the name "cpu". These
 * functions exist only when libsushi was built with the cpu backend (the
 * registry then lists a backend named "cpu").
 *
 * Float32 convolution GEMMs run libsushi's own kernel on x86-64 CPUs with
 * AVX-512F (since 0.3, decided once per process from the CPU), else
 * OpenBLAS's sgemm; `SUSHI_CPU_GEMM=openblas` in the environment, read at
 * the first run, forces OpenBLAS. The two paths differ by rounding only
 * (docs/cpu.md, "GEMM"). Depthwise convolutions with kernels 3/5/7 and
 * strides 1/2 run libsushi's channel-group kernel on x86-64 CPUs with
 * AVX-512F or AVX2 + FMA (since 0.3), else a portable one;
 * `SUSHI_CPU_DW=portable` forces the portable kernel (docs/cpu.md,
 * "Depthwise").
 */
#ifndef SUSHI_CPU_H
#define SUSHI_CPU_H

#include <stddef.h>
#include <stdint.h>
#include "sushi/backend.h"
#include "sushi/export.h"
#include "sushi/subnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Set the default number of threads of cpu backend instances: an instance
 * whose param "threads" was never set runs every float32 kernel (GEMMs,
 * Winograd transforms, depthwise, pooling, adds, SE, epilogues) split over
 * this many threads: its own pool of n - 1 workers plus the calling thread.
 * Since 0.3 OpenBLAS itself is kept on one thread (the cpu backend sets
 * OpenBLAS's process-wide thread count to 1 when an instance is created or a
 * calibration starts, and splits its GEMMs over its own threads), so `n`
 * means the same for every kernel and threads are never oversubscribed by
 * nested pools. (0.1 and 0.2 passed n to OpenBLAS for the GEMMs only.)
 * Results are bit-for-bit deterministic for a given thread count and agree
 * across counts within rounding (docs/cpu.md, "Threads"). The int8 path
 * splits its convolutions and depthwise convolutions over the same threads
 * and gives the same bits on any count. Default 1. More threads than CPUs
 * work (waiting threads then sleep instead of spinning) but are slower than
 * as many as the CPUs; threads on cores that share no last-level cache gain
 * less, and small SubNets can run slower on them than on one thread
 * (docs/cpu.md, "Threads").
 * @return SUSHI_OK or SUSHI_ERR_RANGE (n < 1 or n > 1024).
 * Thread-safe (instances read it at their next run). @since 0.1
 */
SUSHI_API int sushi_cpu_set_threads(int n);

/** The default thread count of cpu backend instances (sushi_cpu_set_threads()).
 * Thread-safe. @since 0.1 */
SUSHI_API int sushi_cpu_get_threads(void);

/** Memory a SubNet needs on the cpu backend, known before it runs. @since 0.1 */
typedef struct sushi_cpu_memory {
    size_t size;                 /**< sizeof(sushi_cpu_memory) */
    uint64_t arena_bytes;        /**< float32 activation arena (planned by lifetime, greedy by size) */
    uint64_t scratch_bytes;      /**< float32 kernel scratch (im2col, squeeze-excite) */
    uint64_t unplanned_bytes;    /**< sum of all float32 activations (what no planning would need) */
    uint64_t int8_arena_bytes;   /**< uint8 activation arena of the int8 path (input included) */
    uint64_t int8_scratch_bytes; /**< int8 path scratch (int16 im2col, int32 accumulators) */
} sushi_cpu_memory;

/** Initialiser of a sushi_cpu_memory: sets size, zeroes the rest. @since 0.1 */
#define SUSHI_CPU_MEMORY_INIT { .size = sizeof(sushi_cpu_memory) }

/** Plan SubNet s and report its memory. @return SUSHI_OK, SUSHI_ERR_INVALID,
 * SUSHI_ERR_ABI (out->size too small), SUSHI_ERR_NOMEM. Thread-safe. @since 0.1 */
SUSHI_API int sushi_cpu_memory_plan(const sushi_subnet *s, sushi_cpu_memory *out);

/** Bytes the float32 path of s needs: arena + scratch. Same statuses as
 * sushi_cpu_memory_plan(). Thread-safe. @since 0.1 */
SUSHI_API int sushi_cpu_arena_bytes(const sushi_subnet *s, size_t *bytes);

/**
 * BN recalibration (OFA's set_running_statistics): runs s in float32 on
 * n_inputs calibration inputs (each in_c * r * r floats, contiguous) in
 * batches of `batch` images (0 = all at once; the last batch may be smaller).
 * In each batch every BN layer normalises with the batch's own mean and biased
 * variance (PyTorch train mode); the new running mean / variance of a layer
 * are the averages of its per-batch means / biased variances, weighted by
 * batch size. Writes a new SubNet with the same config whose BN scale/shift
 * use those statistics (gamma, beta and eps from the SuperNet).
 * Memory: batch float32 arenas. @return SUSHI_OK, SUSHI_ERR_INVALID,
 * SUSHI_ERR_NOMEM. Thread-safe (s is only read). @since 0.1
 */
SUSHI_API int sushi_cpu_recalibrate_bn(const sushi_subnet *s, const float *inputs, size_t n_inputs,
                                       size_t batch, sushi_subnet **out);

/** Floats in a BN statistics array of s: 2 * (active output channels summed
 * over the BN layers of its plan), the length sushi_supernet_with_bn_stats()
 * wants (docs/format.md §7.2). 0 for NULL. Thread-safe. @since 0.3 */
SUSHI_API size_t sushi_cpu_bn_stats_len(const sushi_subnet *s);

/**
 * The BN recalibration of sushi_cpu_recalibrate_bn() (same passes, same
 * batches), returning the statistics instead of a SubNet: for each BN layer
 * of s's plan, in plan order, its active channels' running means then their
 * running variances (docs/format.md §7.2), ready for
 * sushi_supernet_with_bn_stats().
 * @param s the SubNet; only read.
 * @param inputs n_inputs images, NCHW float32, normalised as the SuperNet expects; borrowed for the call.
 * @param n_inputs number of images (>= 1).
 * @param batch images per batch (0 = all in one batch), as sushi_cpu_recalibrate_bn().
 * @param stats caller-owned, n_stats >= sushi_cpu_bn_stats_len(s) floats.
 * @param n_stats floats available at stats.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL, no inputs), SUSHI_ERR_TRUNCATED
 *         (n_stats too small; nothing written), SUSHI_ERR_NOMEM.
 * Thread-safe (s is only read). @since 0.3
 */
SUSHI_API int sushi_cpu_recalibrate_bn_stats(const sushi_subnet *s, const float *inputs, size_t n_inputs,
                                             size_t batch, float *stats, size_t n_stats);

/** Floats in an int8 ranges array of s: 2 * (values + layers) (docs/int8.md). Thread-safe. @since 0.1 */
SUSHI_API size_t sushi_cpu_int8_ranges_len(const sushi_subnet *s);

/**
 * Post-training calibration of the int8 path: runs s in float32 on n_inputs
 * inputs and writes, for every activation value (and each SE hidden layer),
 * the range of least expected squared quantisation error over a histogram of
 * its values (2,048 bins; the network input keeps its min/max; docs/int8.md
 * §7) into `ranges`
 * (n_ranges >= sushi_cpu_int8_ranges_len(s)).
 * @return SUSHI_OK, SUSHI_ERR_INVALID, SUSHI_ERR_TRUNCATED, SUSHI_ERR_NOMEM.
 * Thread-safe. @since 0.1
 */
SUSHI_API int sushi_cpu_calibrate_int8(const sushi_subnet *s, const float *inputs, size_t n_inputs,
                                       float *ranges, size_t n_ranges);

/**
 * Give cpu backend instance b the activation ranges of SubNet s (copied; s
 * is retained until b is destroyed or new ranges for s are set). Runs of s
 * with args->int8 use them; without ranges (here or in the SuperNet's
 * candidate table) such a run returns SUSHI_ERR_STATE.
 * @return SUSHI_OK, SUSHI_ERR_INVALID (b not a cpu instance, wrong length),
 * SUSHI_ERR_RANGE (since 0.3: a (min, max) pair not finite or with min > max;
 * the context log names the pair: the same check as
 * sushi_supernet_with_int8_ranges and sushi_hls_set_int8_ranges; before 0.3 a
 * non-finite value was SUSHI_ERR_INVALID and an inverted pair was accepted),
 * SUSHI_ERR_NOMEM. Not thread-safe (b is per thread). @since 0.1
 */
SUSHI_API int sushi_cpu_set_int8_ranges(sushi_backend *b, const sushi_subnet *s, const float *ranges,
                                        size_t n_ranges);

#ifdef __cplusplus
}
#endif
#endif
