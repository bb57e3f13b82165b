/* C-simulation / co-simulation testbench: a 3x3 convolution, a depthwise
 * 5x5 stride-2 convolution and a PB load + hit, checked against a direct
 * reference built from backends/cpu/int8_ops.h. Returns 0 on success. */
#include <stdio.h>
#include <string.h>

#include "int8_ops.h"
#include "sushi_accel.h"

#define C 12
#define K 20
#define X 10

static uint8_t in[C * X * X], out[K * X * X], ref[K * X * X];
static int8_t w[K * C * 9];
static int32_t qp[K * 4], acc[K];
static uint8_t lut[256];

static int conv_check(int dw, int r, int stride, int slot)
{
    int pad = r / 2, o = (X + 2 * pad - r) / stride + 1, row = dw ? r * r : C * r * r, k = dw ? C : K;
    for (int j = 0; j < k; j++)
        for (int oy = 0; oy < o; oy++)
            for (int ox = 0; ox < o; ox++) {
                int32_t a = 0;
                for (int ci = 0; ci < (dw ? 1 : C); ci++)
                    for (int ky = 0; ky < r; ky++)
                        for (int kx = 0; kx < r; kx++) {
                            int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad, ch = dw ? j : ci;
                            if (iy >= 0 && ix >= 0 && iy < X && ix < X)
                                a += w[j * row + ci * r * r + ky * r + kx] * ((int32_t)in[(ch * X + iy) * X + ix] - 9);
                        }
                ref[(j * o + oy) * o + ox] =
                    sushi_q8_output(sushi_q8_requant(a, qp[4 * j], 0, qp[4 * j + 1]), 40, 40);
            }
    accel_ctrl c;
    memset(&c, 0, sizeof c);
    c.op = dw ? ACCEL_OP_DWCONV : ACCEL_OP_CONV;
    c.k = (uint32_t)k, c.c = C, c.r = (uint32_t)r, c.x = c.y = X, c.pad = (uint32_t)pad, c.stride = (uint32_t)stride;
    c.zp_in = 9, c.zp_out = 40, c.lo = 40, c.pb_slot = (uint32_t)slot;
    sushi_accel(in, in, w, qp, out, acc, lut, lut, c, NULL);
    return memcmp(out, ref, (size_t)k * o * o) != 0;
}

int main(void)
{
    for (int i = 0; i < C * X * X; i++)
        in[i] = (uint8_t)(i * 31 + 7);
    for (int i = 0; i < K * C * 9; i++)
        w[i] = (int8_t)((i * 37) % 255 - 127);
    for (int j = 0; j < K; j++)
        sushi_q8_quant_mult(0.002 * (1 + j % 4), &qp[4 * j], &qp[4 * j + 1]);
    int bad = conv_check(0, 3, 1, ACCEL_PB_SLOTS);
    bad |= conv_check(1, 5, 2, ACCEL_PB_SLOTS) << 1;
    accel_ctrl c;
    memset(&c, 0, sizeof c);
    c.op = ACCEL_OP_PB_LOAD, c.pb_slot = 3, c.pb_rows = 4, c.pb_cols = C, c.pb_kk = 9, c.pb_base = 64;
    sushi_accel(NULL, NULL, w, NULL, NULL, NULL, lut, lut, c, NULL); /* rows 0-3 of w resident */
    bad |= conv_check(0, 3, 1, 3) << 2;
    printf("sushi_accel testbench: %s (%d)\n", bad ? "FAIL" : "PASS", bad);
    return bad;
}
