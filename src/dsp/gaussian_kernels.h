/* The direct Gaussian's hot loops for one vector width; included by
 * gaussian.c once per instruction set, so no include guard.  The includer
 * defines:
 *   KM_GK_SUFFIX  appended to every name (_avx512, _avx2, _base)
 *   KM_GK_TARGET  function attribute selecting the instruction set
 *   KM_GK_W       floats per vector, 0 = scalar only
 *   KM_GK_V, KM_GK_VU  the vector type and its unaligned, aliasing form
 * and this file undefines them.  Every width does the same float
 * operations in the same order on each taxel (the scalar tail too), so the
 * variants agree bit for bit. */

#define KM_GK_CAT2(a, b) a##b
#define KM_GK_CAT(a, b) KM_GK_CAT2(a, b)
#define KM_GK_NAME(x) KM_GK_CAT(x, KM_GK_SUFFIX)

#if KM_GK_W
#define KM_GK_LOAD(p) (*(const KM_GK_VU *)(const void *)(p))
#define KM_GK_STORE(p, v) (*(KM_GK_VU *)(void *)(p) = (v))
/* Four accumulators per block: independent add chains hide the latency. */
#define KM_GK_U 4
#endif

/* Vertical pass for output row i: dst[c] = w0 x[i][c] + sum_k w[k]
 * (x[i-k][c] + x[i+k][c]), k = 1..rad in this order, each step rounded to
 * float.  The accumulators stay in registers over k; the source rows come
 * through the border table. */
KM_GAUSS_INLINE void KM_GK_NAME(vline)(const km_gaussian *g, const gauss_plane *pl, int32_t i,
                                       float *restrict dst)
{
    const int32_t rad = g->rad_r, n = g->cols;
    const float *w = g->w_r;
    const float *s0 = plane_row(g, pl, i + rad);
    int32_t c = 0;
#if KM_GK_W
    for (; c + KM_GK_U * KM_GK_W <= n; c += KM_GK_U * KM_GK_W) {
        KM_GK_V acc[KM_GK_U];
        for (int u = 0; u < KM_GK_U; u++)
            acc[u] = w[0] * KM_GK_LOAD(s0 + c + u * KM_GK_W);
        for (int32_t k = 1; k <= rad; k++) {
            const float *a = plane_row(g, pl, i + rad - k) + c;
            const float *b = plane_row(g, pl, i + rad + k) + c;
            const float wk = w[k];
            for (int u = 0; u < KM_GK_U; u++)
                acc[u] += wk * (KM_GK_LOAD(a + u * KM_GK_W) + KM_GK_LOAD(b + u * KM_GK_W));
        }
        for (int u = 0; u < KM_GK_U; u++)
            KM_GK_STORE(dst + c + u * KM_GK_W, acc[u]);
    }
    for (; c + KM_GK_W <= n; c += KM_GK_W) {
        KM_GK_V acc = w[0] * KM_GK_LOAD(s0 + c);
        for (int32_t k = 1; k <= rad; k++)
            acc += w[k] * (KM_GK_LOAD(plane_row(g, pl, i + rad - k) + c) +
                           KM_GK_LOAD(plane_row(g, pl, i + rad + k) + c));
        KM_GK_STORE(dst + c, acc);
    }
#endif
    for (; c < n; c++) {
        float acc = w[0] * s0[c];
        for (int32_t k = 1; k <= rad; k++)
            acc += w[k] * (plane_row(g, pl, i + rad - k)[c] + plane_row(g, pl, i + rad + k)[c]);
        dst[c] = acc;
    }
}

/* Horizontal pass of one line: x points at the first taxel of a buffer
 * holding rad_c extended values on either side. */
KM_GAUSS_INLINE void KM_GK_NAME(hline)(const km_gaussian *g, const float *x,
                                       float *restrict dst)
{
    const int32_t rad = g->rad_c, n = g->cols;
    const float *w = g->w_c;
    int32_t c = 0;
#if KM_GK_W
    for (; c + KM_GK_U * KM_GK_W <= n; c += KM_GK_U * KM_GK_W) {
        KM_GK_V acc[KM_GK_U];
        for (int u = 0; u < KM_GK_U; u++)
            acc[u] = w[0] * KM_GK_LOAD(x + c + u * KM_GK_W);
        for (int32_t k = 1; k <= rad; k++) {
            const float wk = w[k];
            for (int u = 0; u < KM_GK_U; u++)
                acc[u] += wk * (KM_GK_LOAD(x + c + u * KM_GK_W - k) +
                                KM_GK_LOAD(x + c + u * KM_GK_W + k));
        }
        for (int u = 0; u < KM_GK_U; u++)
            KM_GK_STORE(dst + c + u * KM_GK_W, acc[u]);
    }
    for (; c + KM_GK_W <= n; c += KM_GK_W) {
        KM_GK_V acc = w[0] * KM_GK_LOAD(x + c);
        for (int32_t k = 1; k <= rad; k++)
            acc += w[k] * (KM_GK_LOAD(x + c - k) + KM_GK_LOAD(x + c + k));
        KM_GK_STORE(dst + c, acc);
    }
#endif
    for (; c < n; c++) {
        float acc = w[0] * x[c];
        for (int32_t k = 1; k <= rad; k++)
            acc += w[k] * (x[c - k] + x[c + k]);
        dst[c] = acc;
    }
}

/* Both passes for output row i of a plane: the vertical result goes into
 * the middle of `line` (cols + 2 rad_c floats), the border rule fills its
 * ends (`outside` in constant mode), the horizontal pass writes dst.  An
 * axis with radius 0 is a copy. */
KM_GAUSS_INLINE void KM_GK_NAME(filter_row)(const km_gaussian *g, const gauss_plane *pl,
                                            int32_t i, float outside, float *restrict line,
                                            float *restrict dst)
{
    const int32_t rad = g->rad_c, n = g->cols;
    float *mid = rad > 0 ? line + rad : dst;
    if (g->rad_r > 0)
        KM_GK_NAME(vline)(g, pl, i, mid);
    else
        memcpy(mid, pl->data + (ptrdiff_t)i * pl->stride, (size_t)n * sizeof *mid);
    if (rad == 0)
        return;
    for (int32_t p = 0; p < rad; p++) {
        int32_t s = g->ext_c[p];
        line[p] = s < 0 ? outside : mid[s];
        s = g->ext_c[rad + n + p];
        line[rad + n + p] = s < 0 ? outside : mid[s];
    }
    KM_GK_NAME(hline)(g, mid, dst);
}

/* The unmasked filter, row by row; line: cols + 2 rad_c floats. */
KM_GK_TARGET static void KM_GK_NAME(plain)(const km_gaussian *g, const km_frame *in,
                                           const km_frame_mut *out, float *line)
{
    const gauss_plane pl = {in->data, in->row_stride, g->cval_row};
    for (int32_t i = 0; i < g->rows; i++)
        KM_GK_NAME(filter_row)(g, &pl, i, g->cval, line,
                               out->data + (ptrdiff_t)i * out->row_stride);
}

/* Normalised convolution: num = G * (v m) into out, den = G * m, then
 * out = num / den at valid taxels.  work: 2 rows*cols (the two planes) +
 * cols (one row of den) floats; line as above.  Outside the frame in
 * constant mode the value is cval and the weight 1. */
KM_GK_TARGET static void KM_GK_NAME(masked)(const km_gaussian *g, const km_frame *in,
                                            const km_mask *m, const km_frame_mut *out,
                                            float *line, float *work)
{
    const int32_t rows = g->rows, cols = g->cols;
    float *vm = work, *vw = work + (size_t)rows * (size_t)cols;
    float *drow = vw + (size_t)rows * (size_t)cols;
    const gauss_plane pm = {vm, cols, g->cval_row}, pw = {vw, cols, g->one_row};
    for (int32_t r = 0; r < rows; r++) {
        const float *restrict s = in->data + (ptrdiff_t)r * in->row_stride;
        const uint8_t *restrict mr = m->data + (ptrdiff_t)r * m->row_stride;
        float *restrict a = vm + (size_t)r * (size_t)cols;
        float *restrict b = vw + (size_t)r * (size_t)cols;
        for (int32_t c = 0; c < cols; c++) {
            a[c] = valid_value(s[c], mr[c]);
            b[c] = valid_weight(s[c], mr[c]);
        }
    }
    for (int32_t i = 0; i < rows; i++) {
        float *restrict o = out->data + (ptrdiff_t)i * out->row_stride;
        const float *restrict self = vw + (size_t)i * (size_t)cols;
        KM_GK_NAME(filter_row)(g, &pm, i, g->cval, line, o);
        KM_GK_NAME(filter_row)(g, &pw, i, 1.0f, line, drow);
        /* A valid taxel has den >= w_r[0] * w_c[0] > 0. */
        for (int32_t c = 0; c < cols; c++)
            o[c] = self[c] != 0.0f ? o[c] / drow[c] : NAN;
    }
}

#undef KM_GK_NAME
#undef KM_GK_CAT
#undef KM_GK_CAT2
#undef KM_GK_LOAD
#undef KM_GK_STORE
#undef KM_GK_U
#undef KM_GK_SUFFIX
#undef KM_GK_TARGET
#undef KM_GK_W
#undef KM_GK_V
#undef KM_GK_VU
