/* The byte codecs of HDF5's filters that knotmap runs itself (see
 * h5_codec.h): the byte shuffle both ways and h5py's LZF. */
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "h5_codec.h"

/* Undo HDF5's byte shuffle of 4-byte elements: byte b of element i was
 * stored at b * n + i. */
void km_unshuffle4(const unsigned char *restrict in, unsigned char *restrict out, size_t n)
{
    const unsigned char *p0 = in, *p1 = in + n, *p2 = in + 2 * n, *p3 = in + 3 * n;
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p0 + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p1 + i));
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p2 + i));
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p3 + i));
        __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
        __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
        __m128i *o = (__m128i *)(void *)(out + 4 * i);
        _mm_storeu_si128(o, _mm_unpacklo_epi16(ab0, cd0));
        _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(ab0, cd0));
        _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(ab1, cd1));
        _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(ab1, cd1));
    }
#endif
    for (; i < n; i++) {
        out[4 * i] = p0[i];
        out[4 * i + 1] = p1[i];
        out[4 * i + 2] = p2[i];
        out[4 * i + 3] = p3[i];
    }
}

/* The same for 8-byte elements: byte b of element i was stored at b * n + i. */
void km_unshuffle8(const unsigned char *restrict in, unsigned char *restrict out, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        __m128i s[8];
        for (int b = 0; b < 8; b++)
            s[b] = _mm_loadu_si128((const __m128i *)(const void *)(in + (size_t)b * n + i));
        __m128i p[8], q[8];
        for (int b = 0; b < 4; b++) { /* bytes 2b, 2b+1 of each element side by side */
            p[2 * b] = _mm_unpacklo_epi8(s[2 * b], s[2 * b + 1]);
            p[2 * b + 1] = _mm_unpackhi_epi8(s[2 * b], s[2 * b + 1]);
        }
        for (int h = 0; h < 2; h++) { /* bytes 0-3 and 4-7 */
            q[4 * h] = _mm_unpacklo_epi16(p[4 * h], p[4 * h + 2]);
            q[4 * h + 1] = _mm_unpackhi_epi16(p[4 * h], p[4 * h + 2]);
            q[4 * h + 2] = _mm_unpacklo_epi16(p[4 * h + 1], p[4 * h + 3]);
            q[4 * h + 3] = _mm_unpackhi_epi16(p[4 * h + 1], p[4 * h + 3]);
        }
        __m128i *o = (__m128i *)(void *)(out + 8 * i);
        for (int k = 0; k < 4; k++) { /* elements 4k .. 4k+3 */
            _mm_storeu_si128(o + 2 * k, _mm_unpacklo_epi32(q[k], q[4 + k]));
            _mm_storeu_si128(o + 2 * k + 1, _mm_unpackhi_epi32(q[k], q[4 + k]));
        }
    }
#endif
    for (; i < n; i++)
        for (size_t b = 0; b < 8; b++)
            out[8 * i + b] = in[b * n + i];
}

/* LZF (liblzf's format, as h5py's LZF filter stores a chunk: the bare
 * stream, no header) of in_n bytes into out, which it must fill exactly:
 * 1 when it does, 0 for a stream that is damaged, ends early or would
 * write past out_n.  Each control byte c is either a literal run (c < 32:
 * the next c + 1 bytes) or a back reference (length c >> 5, 7 meaning 7 +
 * the next byte, plus 2; distance ((c & 31) << 8) + the next byte + 1,
 * into what is already written, overlapping allowed). */
int km_lzf_decode(const unsigned char *in, size_t in_n, unsigned char *out, size_t out_n)
{
    size_t i = 0, o = 0;
    while (i < in_n) {
        unsigned ctrl = in[i++];
        if (ctrl < 32) {
            size_t len = (size_t)ctrl + 1;
            if (len > in_n - i || len > out_n - o)
                return 0;
            memcpy(out + o, in + i, len);
            i += len;
            o += len;
            continue;
        }
        size_t len = ctrl >> 5;
        if (len == 7) {
            if (i >= in_n)
                return 0;
            len += in[i++];
        }
        if (i >= in_n)
            return 0;
        size_t dist = ((size_t)(ctrl & 31) << 8) + in[i++] + 1;
        len += 2;
        if (dist > o || len > out_n - o)
            return 0;
        const unsigned char *ref = out + o - dist;
        if (dist >= len) {
            memcpy(out + o, ref, len);
        } else {
            for (size_t k = 0; k < len; k++) /* overlapping: a repeated pattern */
                out[o + k] = ref[k];
        }
        o += len;
    }
    return o == out_n;
}

/* HDF5's byte shuffle of `bytes` bytes: byte b of element i goes to
 * b * n + i (n whole elements); a trailing part element stays as it is. */
void km_shuffle_bytes(const unsigned char *restrict in, unsigned char *restrict out,
                          size_t bytes, size_t elem)
{
    size_t n = bytes / elem;
    if (elem == 4) {
        for (size_t i = 0; i < n; i++) {
            out[i] = in[4 * i];
            out[n + i] = in[4 * i + 1];
            out[2 * n + i] = in[4 * i + 2];
            out[3 * n + i] = in[4 * i + 3];
        }
    } else if (elem == 8) {
        /* The float64 and int64 columns: one read of each element. */
        for (size_t i = 0; i < n; i++)
            for (size_t b = 0; b < 8; b++)
                out[b * n + i] = in[8 * i + b];
    } else {
        for (size_t b = 0; b < elem; b++)
            for (size_t i = 0; i < n; i++)
                out[b * n + i] = in[i * elem + b];
    }
    memcpy(out + n * elem, in + n * elem, bytes - n * elem);
}
