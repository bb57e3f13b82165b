/* Activation arena planning: one arena per SubNet, values placed greedy by
 * size (largest first), each at the lowest offset that does not overlap a
 * placed value whose lifetime [producer, last_use] intersects its own. */
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

typedef struct pitem {
    uint32_t v;
    size_t bytes;
    uint32_t first, last; /* lifetime in layer steps; input: first = 0 */
} pitem;

static int cmp_size_desc(const void *a, const void *b)
{
    const pitem *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->v < y->v ? -1 : (x->v > y->v);
}

static int cmp_off(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : (x[0] > y[0]);
}

void cpu_plan_free(const sushi_context *ctx, cpu_plan *p)
{
    sushi_free(ctx, p->offset);
    memset(p, 0, sizeof *p);
}

int cpu_plan_build(const sushi_context *ctx, const sushi_subnet *s, size_t elem_size, bool input_in_arena,
                   cpu_plan *p)
{
    memset(p, 0, sizeof *p);
    uint32_t n = s->n_values;
    p->n_values = n;
    p->offset = sushi_calloc(ctx, n ? n : 1, sizeof *p->offset);
    pitem *items = sushi_calloc(ctx, n ? n : 1, sizeof *items);
    size_t *placed = sushi_calloc(ctx, 2 * (size_t)(n ? n : 1), sizeof *placed); /* (offset, end) pairs */
    if (!p->offset || !items || !placed) {
        sushi_free(ctx, items);
        sushi_free(ctx, placed);
        cpu_plan_free(ctx, p);
        return SUSHI_ERR_NOMEM;
    }
    uint32_t m = 0;
    for (uint32_t v = 0; v < n; v++) {
        const sushi_value *val = &s->values[v];
        size_t bytes = cpu_align_up((size_t)val->c * val->h * val->w * elem_size);
        p->unplanned_bytes += bytes;
        if (v == 0 && !input_in_arena) {
            p->offset[v] = CPU_OFFSET_EXTERNAL;
            continue;
        }
        /* layer steps: value produced by layer i lives from step i+1 (its
         * writing) ... we use [producer, last_use] with the input at -1 -> 0 */
        uint32_t first = val->producer == UINT32_MAX ? 0 : val->producer + 1;
        uint32_t last = val->last_use + 1;
        if (last < first)
            last = first;
        items[m++] = (pitem){ v, bytes, first, last };
    }
    qsort(items, m, sizeof *items, cmp_size_desc);
    size_t top = 0;
    for (uint32_t i = 0; i < m; i++) {
        /* collect conflicting placed items */
        uint32_t k = 0;
        for (uint32_t j = 0; j < i; j++) {
            if (items[j].first <= items[i].last && items[i].first <= items[j].last) {
                placed[2 * k] = p->offset[items[j].v];
                placed[2 * k + 1] = p->offset[items[j].v] + items[j].bytes;
                k++;
            }
        }
        qsort(placed, k, 2 * sizeof *placed, cmp_off);
        size_t off = 0;
        for (uint32_t j = 0; j < k; j++) {
            if (placed[2 * j] >= off + items[i].bytes)
                break; /* fits in the gap before this one */
            if (placed[2 * j + 1] > off)
                off = placed[2 * j + 1];
        }
        p->offset[items[i].v] = off;
        if (off + items[i].bytes > top)
            top = off + items[i].bytes;
    }
    p->arena_bytes = top;
    sushi_free(ctx, items);
    sushi_free(ctx, placed);
    p->scratch_bytes = elem_size == sizeof(float) ? cpu_f32_scratch_bytes(s) : cpu_q8_scratch_bytes(s);
    return SUSHI_OK;
}

void cpu_value_ptrs(const cpu_plan *p, void *arena, const void *input, size_t elem_size, void **vp)
{
    (void)elem_size;
    for (uint32_t v = 0; v < p->n_values; v++)
        vp[v] = p->offset[v] == CPU_OFFSET_EXTERNAL ? (void *)input : (char *)arena + p->offset[v];
}

void *cpu_aligned_alloc(const sushi_context *ctx, size_t bytes, void **raw_out)
{
    void *raw = sushi_malloc(ctx, bytes + CPU_ALIGN);
    *raw_out = raw;
    if (!raw)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + CPU_ALIGN - 1) & ~(uintptr_t)(CPU_ALIGN - 1);
    return (void *)a;
}

void cpu_test_input(uint64_t seed, float *x, size_t n)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        x[i] = -1.0f + 2.0f * (float)(z >> 40) * (1.0f / 16777216.0f);
    }
}
