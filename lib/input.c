/* Input tensor construction: normalisation and PyTorch-compatible bilinear resize
 * (include/sushi/input.h). Float operations follow PyTorch's CPU kernel order
 * (upsample_bilinear2d, align_corners=False) so that the shipped models see the
 * pixels they were trained on. */
#include <string.h>

#include "internal.h"
#include "sushi/input.h"

int sushi_supernet_input_norm(const sushi_supernet *sn, float *mean, float *std, size_t cap)
{
    if (!sn || (cap && (!mean || !std)))
        return SUSHI_ERR_INVALID;
    for (size_t c = 0; c < cap && c < sn->in_channels; c++) {
        mean[c] = sn->in_mean[c];
        std[c] = sn->in_std[c];
    }
    return (int)sn->in_channels;
}

/* Source taps of one output coordinate. */
typedef struct tap {
    uint32_t i0, i1;
    float l0, l1;
} tap;

static tap tap_at(uint32_t in, uint32_t out, uint32_t o)
{
    float scale = (float)in / (float)out;
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0.0f)
        src = 0.0f;
    uint32_t i0 = (uint32_t)src;
    if (i0 > in - 1)
        i0 = in - 1;
    tap t = {.i0 = i0, .i1 = i0 < in - 1 ? i0 + 1 : i0};
    t.l1 = src - (float)i0;
    t.l0 = 1.0f - t.l1;
    return t;
}

static bool overlaps(const void *a, size_t an, const void *b, size_t bn)
{
    const char *pa = a, *pb = b;
    return pa < pb + bn && pb < pa + an;
}

static int checked_volume(uint32_t c, uint32_t h, uint32_t w, size_t *out)
{
    size_t hw;
    if (__builtin_mul_overflow((size_t)h, (size_t)w, &hw) || __builtin_mul_overflow(hw, (size_t)c, out))
        return SUSHI_ERR_OVERFLOW;
    return SUSHI_OK;
}

int sushi_input_resize(const float *src, uint32_t channels, uint32_t ih, uint32_t iw, float *dst,
                       uint32_t oh, uint32_t ow)
{
    if (!src || !dst || !channels || !ih || !iw || !oh || !ow)
        return SUSHI_ERR_INVALID;
    size_t nin, nout;
    if (checked_volume(channels, ih, iw, &nin) || checked_volume(channels, oh, ow, &nout) ||
        nin > SIZE_MAX / sizeof(float) || nout > SIZE_MAX / sizeof(float))
        return SUSHI_ERR_OVERFLOW;
    if (overlaps(src, nin * sizeof(float), dst, nout * sizeof(float)))
        return SUSHI_ERR_INVALID;
    if (ih == oh && iw == ow) {
        memcpy(dst, src, nin * sizeof(float));
        return SUSHI_OK;
    }
    for (uint32_t c = 0; c < channels; c++) {
        const float *s = src + (size_t)c * ih * iw;
        float *d = dst + (size_t)c * oh * ow;
        for (uint32_t y = 0; y < oh; y++) {
            tap ty = tap_at(ih, oh, y);
            const float *r0 = s + (size_t)ty.i0 * iw, *r1 = s + (size_t)ty.i1 * iw;
            for (uint32_t x = 0; x < ow; x++) {
                tap tx = tap_at(iw, ow, x);
                d[(size_t)y * ow + x] = ty.l0 * (tx.l0 * r0[tx.i0] + tx.l1 * r0[tx.i1]) +
                                        ty.l1 * (tx.l0 * r1[tx.i0] + tx.l1 * r1[tx.i1]);
            }
        }
    }
    return SUSHI_OK;
}

static inline float norm_px(uint8_t p, float mean, float std)
{
    return ((float)p / 255.0f - mean) / std;
}

int sushi_input_from_u8(const sushi_supernet *sn, const uint8_t *pixels, uint32_t height, uint32_t width,
                        uint32_t channels, uint32_t resolution, float *out, size_t out_len)
{
    if (!sn || !pixels || !out || !height || !width || channels != sn->in_channels || !channels)
        return SUSHI_ERR_INVALID;
    if (!resolution)
        resolution = sn->default_resolution;
    if (!sushi_resolution_allowed(sn, resolution))
        return SUSHI_ERR_RANGE;
    size_t nin, nout;
    if (checked_volume(channels, height, width, &nin) || checked_volume(channels, resolution, resolution, &nout))
        return SUSHI_ERR_OVERFLOW;
    if (out_len < nout)
        return SUSHI_ERR_TRUNCATED;
    for (uint32_t c = 0; c < channels; c++) {
        float m = sn->in_mean[c], sd = sn->in_std[c];
        float *d = out + (size_t)c * resolution * resolution;
        if (height == resolution && width == resolution) {
            for (size_t i = 0; i < (size_t)height * width; i++)
                d[i] = norm_px(pixels[i * channels + c], m, sd);
            continue;
        }
        /* Normalise the taps, then interpolate: same order of operations as
         * F.interpolate(normalise(x)) without a temporary image. */
        for (uint32_t y = 0; y < resolution; y++) {
            tap ty = tap_at(height, resolution, y);
            const uint8_t *r0 = pixels + (size_t)ty.i0 * width * channels;
            const uint8_t *r1 = pixels + (size_t)ty.i1 * width * channels;
            for (uint32_t x = 0; x < resolution; x++) {
                tap tx = tap_at(width, resolution, x);
                float a = norm_px(r0[(size_t)tx.i0 * channels + c], m, sd);
                float b = norm_px(r0[(size_t)tx.i1 * channels + c], m, sd);
                float e = norm_px(r1[(size_t)tx.i0 * channels + c], m, sd);
                float f = norm_px(r1[(size_t)tx.i1 * channels + c], m, sd);
                d[(size_t)y * resolution + x] = ty.l0 * (tx.l0 * a + tx.l1 * b) + ty.l1 * (tx.l0 * e + tx.l1 * f);
            }
        }
    }
    return SUSHI_OK;
}
