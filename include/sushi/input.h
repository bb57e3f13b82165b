/**
 * @file input.h
 * @brief Turning images into the float input tensor a SuperNet expects.
 *
 * A SuperNet file records its input normalisation (per-channel mean and std
 * applied to pixel values scaled to [0, 1]) and the resolutions its SubNets
 * accept. A SubNet of elastic resolution r takes a `channels x r x r` float
 * tensor (CHW, row-major). These functions build that tensor from 8-bit
 * pixels exactly as the shipped models were trained:
 *
 *   x = (pixel / 255 - mean[c]) / std[c]          (normalise at source size)
 *   y = bilinear_resize(x, r, r)                  (when r differs)
 *
 * The resize is PyTorch's `F.interpolate(mode="bilinear",
 * align_corners=False)` without antialiasing: for output index o and scale
 * s = in / out, the source coordinate is max(0, (o + 0.5) * s - 0.5), taken
 * between floor and floor + 1 (clamped to the last pixel) with linear
 * weights. Results agree with PyTorch within float rounding (~1e-6).
 *
 * All functions are pure (no allocation, no global state) and thread-safe.
 */
#ifndef SUSHI_INPUT_H
#define SUSHI_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "sushi/export.h"
#include "sushi/supernet.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Per-channel input normalisation of sn. Writes up to `cap` values to each
 * of `mean` and `std` (either may be NULL when cap is 0) and returns the
 * number of input channels (negative status on bad arguments).
 * Thread-safe. @since 0.2
 */
SUSHI_API int sushi_supernet_input_norm(const sushi_supernet *sn, float *mean, float *std, size_t cap);

/**
 * Bilinear resize of a float CHW tensor (align_corners=False, no
 * antialiasing; see the file comment). `src` is channels x ih x iw, `dst`
 * channels x oh x ow; they must not overlap. Equal sizes copy.
 * @return SUSHI_OK; SUSHI_ERR_INVALID for NULL pointers, zero sizes or
 * overlapping buffers; SUSHI_ERR_OVERFLOW when a size product overflows.
 * Thread-safe. @since 0.2
 */
SUSHI_API int sushi_input_resize(const float *src, uint32_t channels, uint32_t ih, uint32_t iw,
                                 float *dst, uint32_t oh, uint32_t ow);

/**
 * Build the input tensor of sn at `resolution` from 8-bit pixels.
 *
 * @param sn         the SuperNet (only read: mean, std, resolutions).
 * @param pixels     height x width x channels bytes, interleaved (HWC; for one
 *                   channel simply row-major).
 * @param height     image rows (> 0).
 * @param width      image columns (> 0).
 * @param channels   interleaved channels; must equal the SuperNet's input channels.
 * @param resolution one of sn's allowed resolutions (sushi_supernet_resolution());
 *                   0 means the default resolution.
 * @param out        caller-owned buffer; receives channels x resolution x
 *                   resolution values (CHW).
 * @param out_len    capacity of `out` in floats.
 * @return SUSHI_OK; SUSHI_ERR_INVALID (NULL, zero size, channel mismatch);
 *         SUSHI_ERR_RANGE (resolution not allowed); SUSHI_ERR_TRUNCATED
 *         (out_len too small; nothing written); SUSHI_ERR_OVERFLOW.
 * Thread-safe (sn is only read). @since 0.2
 */
SUSHI_API int sushi_input_from_u8(const sushi_supernet *sn, const uint8_t *pixels, uint32_t height,
                                  uint32_t width, uint32_t channels, uint32_t resolution, float *out,
                                  size_t out_len);

#ifdef __cplusplus
}
#endif

#endif
