/**
 * @file hls.h
 * @brief The hls backend's own API: int8 activation ranges and the default
 * calibration set (docs/hls.md, docs/int8.md).
 *
 * The hls backend (the SushiAccel HLS kernel run as C simulation) always
 * computes in int8 and needs the activation ranges of each SubNet it runs.
 * For a SubNet s it takes them from, in this order:
 *
 * 1. ranges given with sushi_hls_set_int8_ranges() for s;
 * 2. the candidate table of the SuperNet file, when s is a candidate whose
 *    row stores ranges (`int8_ranges`, sushi_supernet_with_int8_ranges(),
 *    CLI `sushi calibrate`; docs/int8.md §7);
 * 3. a calibration the backend runs itself, in float32, on the default
 *    calibration set (sushi_hls_calibration_inputs(); logged as a warning),
 *    inside the first sushi_backend_run() of s. The instance caches these
 *    ranges for up to 16 SubNets (the oldest replaced first), retaining
 *    each SubNet while its entry lives.
 *
 * So any valid SubNet runs. Case 3 is a fallback for synthetic inputs: with
 * real data, calibrate on it (sushi_cpu_calibrate_int8()) and pass the
 * result here. Given the same ranges, the hls backend and the cpu backend's
 * int8 path (sushi_cpu_set_int8_ranges()) produce bit-identical outputs.
 *
 * These functions exist only when libsushi was built with the hls backend
 * (the registry then lists a backend named "hls"; it needs the cpu backend).
 */
#ifndef SUSHI_HLS_H
#define SUSHI_HLS_H

#include <stddef.h>
#include <stdint.h>
#include "sushi/backend.h"
#include "sushi/export.h"
#include "sushi/subnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Number of inputs in the default calibration set. @since 0.2 */
#define SUSHI_HLS_CALIB_INPUTS 8

/**
 * Write the default calibration set of SubNet s: SUSHI_HLS_CALIB_INPUTS
 * deterministic inputs of s's input shape (C x r x r floats each, CHW, r the
 * SubNet's resolution), one after the other. Input k is the 8-bit pattern
 * image p[i] = (37 * i + 11 + 53 * k) mod 256 over the flat HWC pixel index
 * i = (y * r + x) * C + c, normalised with the SuperNet's input mean and std
 * as an image would be: x = (p / 255 - mean[c]) / std[c] (float). It spans
 * the whole normalised pixel range of every channel.
 *
 * @param s     the SubNet (only its SuperNet's input description and its
 *              resolution are read)
 * @param x     caller-owned buffer of x_len floats
 * @param x_len at least SUSHI_HLS_CALIB_INPUTS * C * r * r
 * @return SUSHI_OK, SUSHI_ERR_INVALID (NULL), SUSHI_ERR_TRUNCATED (x_len too
 *         small; nothing written).
 * Thread-safe. @since 0.2
 */
SUSHI_API int sushi_hls_calibration_inputs(const sushi_subnet *s, float *x, size_t x_len);

/**
 * Give hls backend instance b the int8 activation ranges of SubNet s
 * (layout of docs/int8.md §7, n_ranges == sushi_cpu_int8_ranges_len(s),
 * e.g. from sushi_cpu_calibrate_int8()). The array is copied; b retains s
 * until b is destroyed. Setting ranges for s again replaces them. Runs of s,
 * and of any other SubNet object with an equal config (sushi_config_equal(),
 * e.g. the one a scheduler resolves for a candidate), on b use these ranges
 * before any stored in the candidate table.
 *
 * @return SUSHI_OK; SUSHI_ERR_INVALID (b not an hls instance, s NULL or of
 *         another SuperNet, ranges NULL, wrong length); SUSHI_ERR_RANGE
 *         (since 0.3: a (min, max) pair not finite or with min > max, named
 *         in the context log; the check of sushi_supernet_with_int8_ranges
 *         and sushi_cpu_set_int8_ranges; before 0.3 a non-finite value was
 *         SUSHI_ERR_INVALID and an inverted pair was accepted);
 *         SUSHI_ERR_NOMEM.
 * Not thread-safe with other calls on b (like every backend instance, b is
 * used by one thread at a time). @since 0.2
 */
SUSHI_API int sushi_hls_set_int8_ranges(sushi_backend *b, const sushi_subnet *s, const float *ranges,
                                        size_t n_ranges);

#ifdef __cplusplus
}
#endif
#endif
