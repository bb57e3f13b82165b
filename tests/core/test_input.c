/* sushi/input.h: normalisation and PyTorch-compatible bilinear resize. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "helpers.h"
#include "sushi/input.h"

#include "input_golden.h"

TestSuite(input, .fini = fx_release);

static void expect_close(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(got[i] - want[i]) <= 1e-6f * (1.0f + fabsf(want[i])), "element %zu: %.9g vs PyTorch %.9g",
                  i, got[i], want[i]);
}

Test(input, resize_matches_pytorch)
{
    float out[2 * 11 * 9];
    cr_assert_eq(sushi_input_resize(resize_src, 2, 5, 7, out, 3, 4), SUSHI_OK);
    expect_close(out, resize_3x4, 2 * 3 * 4);
    cr_assert_eq(sushi_input_resize(resize_src, 2, 5, 7, out, 8, 9), SUSHI_OK);
    expect_close(out, resize_8x9, 2 * 8 * 9);
    cr_assert_eq(sushi_input_resize(resize_src, 2, 5, 7, out, 1, 1), SUSHI_OK);
    expect_close(out, resize_1x1, 2);
    cr_assert_eq(sushi_input_resize(resize_src, 2, 5, 7, out, 11, 3), SUSHI_OK);
    expect_close(out, resize_11x3, 2 * 11 * 3);
}

Test(input, resize_same_size_copies)
{
    float out[70];
    cr_assert_eq(sushi_input_resize(resize_src, 2, 5, 7, out, 5, 7), SUSHI_OK);
    cr_assert_eq(memcmp(out, resize_src, sizeof out), 0);
}

Test(input, resize_rejects_bad_arguments)
{
    float buf[140];
    cr_assert_eq(sushi_input_resize(NULL, 2, 5, 7, buf, 3, 4), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_input_resize(resize_src, 2, 5, 7, NULL, 3, 4), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_input_resize(resize_src, 0, 5, 7, buf, 3, 4), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_input_resize(resize_src, 2, 5, 7, buf, 0, 4), SUSHI_ERR_INVALID);
    /* overlapping source and destination */
    memcpy(buf, resize_src, sizeof resize_src);
    cr_assert_eq(sushi_input_resize(buf, 2, 5, 7, buf + 10, 3, 4), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_input_resize(resize_src, UINT32_MAX, UINT32_MAX, UINT32_MAX, buf, 3, 4),
                 SUSHI_ERR_OVERFLOW);
}

Test(input, norm_reports_the_file_constants)
{
    const sushi_supernet *sn = fx_mbv3();
    float mean[4], std[4];
    cr_assert_eq(sushi_supernet_input_norm(sn, mean, std, 4), 3);
    cr_assert_eq(sushi_supernet_input_norm(sn, NULL, NULL, 0), 3);
    cr_assert_float_eq(mean[0], 0.485f, 1e-6f);
    cr_assert_float_eq(std[2], 0.225f, 1e-6f);
    cr_assert_eq(sushi_supernet_input_norm(NULL, mean, std, 4), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_supernet_input_norm(sn, NULL, std, 4), SUSHI_ERR_INVALID);
}

/* from_u8 = normalise at source size, then resize: bit-identical to doing the two steps with
 * the public functions, at every allowed resolution, for interleaved 3-channel pixels. */
Test(input, from_u8_is_normalise_then_resize)
{
    const sushi_supernet *sn = fx_mbv3();
    enum { H = 37, W = 45 };
    static uint8_t px[H * W * 3];
    static float planar[3 * H * W];
    static float want[3 * 224 * 224], got[3 * 224 * 224];
    float mean[3], std[3];
    sushi_supernet_input_norm(sn, mean, std, 3);
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 131u + 7u);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < H * W; i++)
            planar[c * H * W + i] = ((float)px[i * 3 + c] / 255.0f - mean[c]) / std[c];
    uint32_t r;
    for (size_t k = 0; (r = sushi_supernet_resolution(sn, k)) != 0; k += 3) {
        cr_assert_eq(sushi_input_resize(planar, 3, H, W, want, r, r), SUSHI_OK);
        cr_assert_eq(sushi_input_from_u8(sn, px, H, W, 3, r, got, sizeof got / sizeof *got), SUSHI_OK);
        cr_assert_eq(memcmp(got, want, (size_t)3 * r * r * sizeof(float)), 0, "resolution %u", r);
    }
}

Test(input, from_u8_same_size_only_normalises)
{
    const sushi_supernet *sn = fx_mbv3();
    static uint8_t px[224 * 224 * 3];
    static float out[3 * 224 * 224];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i % 251);
    cr_assert_eq(sushi_input_from_u8(sn, px, 224, 224, 3, 224, out, sizeof out / sizeof *out), SUSHI_OK);
    float mean[3], std[3];
    sushi_supernet_input_norm(sn, mean, std, 3);
    /* pixel (y=5, x=9), channel 2 */
    size_t p = 5 * 224 + 9;
    cr_assert_eq(out[2 * 224 * 224 + p], ((float)px[p * 3 + 2] / 255.0f - mean[2]) / std[2]);
}

Test(input, from_u8_rejects_bad_arguments)
{
    const sushi_supernet *sn = fx_mbv3();
    static uint8_t px[28 * 28 * 3];
    static float out[3 * 224 * 224];
    size_t n = sizeof out / sizeof *out;
    cr_assert_eq(sushi_input_from_u8(NULL, px, 28, 28, 3, 224, out, n), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_input_from_u8(sn, NULL, 28, 28, 3, 224, out, n), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_input_from_u8(sn, px, 28, 28, 1, 224, out, n), SUSHI_ERR_INVALID, "channel mismatch");
    cr_assert_eq(sushi_input_from_u8(sn, px, 0, 28, 3, 224, out, n), SUSHI_ERR_INVALID);
    cr_assert_eq(sushi_input_from_u8(sn, px, 28, 28, 3, 225, out, n), SUSHI_ERR_RANGE);
    out[0] = 42.0f;
    cr_assert_eq(sushi_input_from_u8(sn, px, 28, 28, 3, 224, out, 3 * 224 * 224 - 1), SUSHI_ERR_TRUNCATED);
    cr_assert_eq(out[0], 42.0f, "nothing written on TRUNCATED");
    /* 0 = default resolution */
    cr_assert_eq(sushi_input_from_u8(sn, px, 28, 28, 3, 0, out, n), SUSHI_OK);
}
