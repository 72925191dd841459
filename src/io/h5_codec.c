/* The byte codecs of HDF5's filters that knotmap runs itself (see
 * h5_codec.h): the byte shuffle both ways and h5py's LZF. */
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "h5_codec.h"

/* Undo HDF5's byte shuffle of 2-byte elements: byte b of element i was
 * stored at b * n + i. */
void km_unshuffle2(const unsigned char *restrict in, unsigned char *restrict out, size_t n)
{
    const unsigned char *p0 = in, *p1 = in + n;
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p0 + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p1 + i));
        __m128i *o = (__m128i *)(void *)(out + 2 * i);
        _mm_storeu_si128(o, _mm_unpacklo_epi8(a, b));
        _mm_storeu_si128(o + 1, _mm_unpackhi_epi8(a, b));
    }
#endif
    for (; i < n; i++) {
        out[2 * i] = p0[i];
        out[2 * i + 1] = p1[i];
    }
}

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

#ifdef __SSE2__
/* The even bytes of a then b (*e) and their odd bytes (*o), in order. */
static inline void split_bytes(__m128i a, __m128i b, __m128i *e, __m128i *o)
{
    const __m128i lo = _mm_set1_epi16(0x00ff);
    *e = _mm_packus_epi16(_mm_and_si128(a, lo), _mm_and_si128(b, lo));
    *o = _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8));
}

/* Elements i0 .. i0 + 15 of 4 bytes shuffled: two rounds of even/odd
 * byte splits (bytes 0, 2 | 1, 3, then each again). */
static inline void shuffle16x4(const unsigned char *in, unsigned char *out, size_t n, size_t i0)
{
    const __m128i *p = (const __m128i *)(const void *)(in + 4 * i0);
    __m128i e0, o0, e1, o1, b[4];
    split_bytes(_mm_loadu_si128(p), _mm_loadu_si128(p + 1), &e0, &o0);
    split_bytes(_mm_loadu_si128(p + 2), _mm_loadu_si128(p + 3), &e1, &o1);
    split_bytes(e0, e1, &b[0], &b[2]);
    split_bytes(o0, o1, &b[1], &b[3]);
    for (size_t k = 0; k < 4; k++)
        _mm_storeu_si128((__m128i *)(void *)(out + k * n + i0), b[k]);
}

/* The same for 8-byte elements: three rounds (0246 | 1357, 04 | 26 ..., 0 | 4 ...). */
static inline void shuffle16x8(const unsigned char *in, unsigned char *out, size_t n, size_t i0)
{
    const __m128i *p = (const __m128i *)(const void *)(in + 8 * i0);
    __m128i e[4], o[4], ee[2], eo[2], oe[2], oo[2], b[8];
    for (int j = 0; j < 4; j++)
        split_bytes(_mm_loadu_si128(p + 2 * j), _mm_loadu_si128(p + 2 * j + 1), &e[j], &o[j]);
    for (int j = 0; j < 2; j++) {
        split_bytes(e[2 * j], e[2 * j + 1], &ee[j], &eo[j]); /* bytes 0, 4 | 2, 6 */
        split_bytes(o[2 * j], o[2 * j + 1], &oe[j], &oo[j]); /* bytes 1, 5 | 3, 7 */
    }
    split_bytes(ee[0], ee[1], &b[0], &b[4]);
    split_bytes(eo[0], eo[1], &b[2], &b[6]);
    split_bytes(oe[0], oe[1], &b[1], &b[5]);
    split_bytes(oo[0], oo[1], &b[3], &b[7]);
    for (size_t k = 0; k < 8; k++)
        _mm_storeu_si128((__m128i *)(void *)(out + k * n + i0), b[k]);
}
#endif

/* HDF5's byte shuffle of `bytes` bytes: byte b of element i goes to
 * b * n + i (n whole elements); a trailing part element stays as it is.
 * 4- and 8-byte elements 16 at a time by SSE2 even/odd byte splits (the
 * table columns and frames: 2.6 -> ~0.6 instructions a byte). */
void km_shuffle_bytes(const unsigned char *restrict in, unsigned char *restrict out,
                          size_t bytes, size_t elem)
{
    size_t n = bytes / elem, i = 0;
    if (elem == 4) {
#ifdef __SSE2__
        for (; i + 16 <= n; i += 16)
            shuffle16x4(in, out, n, i);
#endif
        for (; i < n; i++) {
            out[i] = in[4 * i];
            out[n + i] = in[4 * i + 1];
            out[2 * n + i] = in[4 * i + 2];
            out[3 * n + i] = in[4 * i + 3];
        }
    } else if (elem == 8) {
#ifdef __SSE2__
        for (; i + 16 <= n; i += 16)
            shuffle16x8(in, out, n, i);
#endif
        /* The float64 and int64 columns: one read of each element. */
        for (; i < n; i++)
            for (size_t b = 0; b < 8; b++)
                out[b * n + i] = in[8 * i + b];
    } else {
        for (size_t b = 0; b < elem; b++)
            for (size_t j = 0; j < n; j++)
                out[b * n + j] = in[j * elem + b];
    }
    memcpy(out + n * elem, in + n * elem, bytes - n * elem);
}

/* ---- a zlib stream of runs (km_zlib_runs) -------------------------------- */

typedef km_bits_out bits_out;

static void put_bits(bits_out *w, uint32_t v, int n)
{
    w->acc |= (uint64_t)v << w->n;
    w->n += n;
    while (w->n >= 8) {
        *w->p++ = (unsigned char)w->acc;
        w->acc >>= 8;
        w->n -= 8;
    }
}

/* The bits of a byte in reverse order. */
static const unsigned char REV8[256] = {
    0x00, 0x80, 0x40, 0xc0, 0x20, 0xa0, 0x60, 0xe0, 0x10, 0x90, 0x50, 0xd0, 0x30, 0xb0, 0x70, 0xf0,
    0x08, 0x88, 0x48, 0xc8, 0x28, 0xa8, 0x68, 0xe8, 0x18, 0x98, 0x58, 0xd8, 0x38, 0xb8, 0x78, 0xf8,
    0x04, 0x84, 0x44, 0xc4, 0x24, 0xa4, 0x64, 0xe4, 0x14, 0x94, 0x54, 0xd4, 0x34, 0xb4, 0x74, 0xf4,
    0x0c, 0x8c, 0x4c, 0xcc, 0x2c, 0xac, 0x6c, 0xec, 0x1c, 0x9c, 0x5c, 0xdc, 0x3c, 0xbc, 0x7c, 0xfc,
    0x02, 0x82, 0x42, 0xc2, 0x22, 0xa2, 0x62, 0xe2, 0x12, 0x92, 0x52, 0xd2, 0x32, 0xb2, 0x72, 0xf2,
    0x0a, 0x8a, 0x4a, 0xca, 0x2a, 0xaa, 0x6a, 0xea, 0x1a, 0x9a, 0x5a, 0xda, 0x3a, 0xba, 0x7a, 0xfa,
    0x06, 0x86, 0x46, 0xc6, 0x26, 0xa6, 0x66, 0xe6, 0x16, 0x96, 0x56, 0xd6, 0x36, 0xb6, 0x76, 0xf6,
    0x0e, 0x8e, 0x4e, 0xce, 0x2e, 0xae, 0x6e, 0xee, 0x1e, 0x9e, 0x5e, 0xde, 0x3e, 0xbe, 0x7e, 0xfe,
    0x01, 0x81, 0x41, 0xc1, 0x21, 0xa1, 0x61, 0xe1, 0x11, 0x91, 0x51, 0xd1, 0x31, 0xb1, 0x71, 0xf1,
    0x09, 0x89, 0x49, 0xc9, 0x29, 0xa9, 0x69, 0xe9, 0x19, 0x99, 0x59, 0xd9, 0x39, 0xb9, 0x79, 0xf9,
    0x05, 0x85, 0x45, 0xc5, 0x25, 0xa5, 0x65, 0xe5, 0x15, 0x95, 0x55, 0xd5, 0x35, 0xb5, 0x75, 0xf5,
    0x0d, 0x8d, 0x4d, 0xcd, 0x2d, 0xad, 0x6d, 0xed, 0x1d, 0x9d, 0x5d, 0xdd, 0x3d, 0xbd, 0x7d, 0xfd,
    0x03, 0x83, 0x43, 0xc3, 0x23, 0xa3, 0x63, 0xe3, 0x13, 0x93, 0x53, 0xd3, 0x33, 0xb3, 0x73, 0xf3,
    0x0b, 0x8b, 0x4b, 0xcb, 0x2b, 0xab, 0x6b, 0xeb, 0x1b, 0x9b, 0x5b, 0xdb, 0x3b, 0xbb, 0x7b, 0xfb,
    0x07, 0x87, 0x47, 0xc7, 0x27, 0xa7, 0x67, 0xe7, 0x17, 0x97, 0x57, 0xd7, 0x37, 0xb7, 0x77, 0xf7,
    0x0f, 0x8f, 0x4f, 0xcf, 0x2f, 0xaf, 0x6f, 0xef, 0x1f, 0x9f, 0x5f, 0xdf, 0x3f, 0xbf, 0x7f, 0xff,
};

/* A Huffman code of `len` (<= 16) bits goes out most significant bit first. */
static void put_code(bits_out *w, uint32_t code, int len)
{
    uint32_t r = ((uint32_t)REV8[code & 0xffu] << 8 | REV8[(code >> 8) & 0xffu]) >> (16 - len);
    put_bits(w, r, len);
}

/* Symbol s of the fixed literal/length code (RFC 1951 3.2.6). */
static void put_symbol(bits_out *w, unsigned s)
{
    if (s < 144)
        put_code(w, 0x30u + s, 8);
    else if (s < 256)
        put_code(w, 0x190u + (s - 144u), 9);
    else if (s < 280)
        put_code(w, s - 256u, 7);
    else
        put_code(w, 0xc0u + (s - 280u), 8);
}

/* A copy of the byte before, len 3..258 bytes long (distance 1). */
static void put_repeat(bits_out *w, unsigned len)
{
    static const unsigned short base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,
                                            15, 17, 19, 23, 27, 31, 35, 43, 51,  59,
                                            67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const unsigned char extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                            2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    int i = 28;
    while (base[i] > len)
        i--;
    put_symbol(w, 257u + (unsigned)i);
    if (extra[i] > 0)
        put_bits(w, len - base[i], extra[i]);
    put_bits(w, 0, 5); /* distance code 0: distance 1 */
}

/* r copies of byte b, the last symbol written: copies at distance 1 of
 * 3..258 bytes (none left 1 or 2 short of one), the last 1-2 literals. */
static void put_copies(bits_out *w, unsigned char b, size_t r)
{
    while (r >= 3) {
        size_t len = r > 258 ? 258 : r;
        if (r - len == 1 || r - len == 2)
            len = r - 3;
        put_repeat(w, (unsigned)len);
        r -= len;
    }
    for (; r > 0; r--)
        put_symbol(w, b);
}

/* The end of the run of in[i]'s byte from i (8 bytes at a time). */
static size_t run_end(const unsigned char *in, size_t n, size_t i)
{
    const unsigned char b = in[i];
    uint64_t all;
    memset(&all, b, sizeof all);
    size_t j = i + 1;
    for (; j + 8 <= n; j += 8) {
        uint64_t v;
        memcpy(&v, in + j, sizeof v);
        if (v != all)
            break;
    }
    while (j < n && in[j] == b)
        j++;
    return j;
}

size_t km_zlib_runs_bound(size_t n)
{
    return 2 + n + n / 8 + 8 + 4;
}

size_t km_zlib_runs(const unsigned char *in, size_t n, uint32_t adler, unsigned char *out,
                    size_t cap)
{
    if (cap < km_zlib_runs_bound(n))
        return 0;
    bits_out w = {out, 0, 0};
    put_bits(&w, 0x78, 8);
    put_bits(&w, 0x01, 8); /* deflate, 32 KiB window, "fastest" */
    put_bits(&w, 3, 3);    /* the final block, fixed codes */
    for (size_t i = 0; i < n;) {
        size_t end = run_end(in, n, i);
        put_symbol(&w, in[i]);
        put_copies(&w, in[i], end - i - 1);
        i = end;
    }
    put_symbol(&w, 256);
    if (w.n > 0)
        put_bits(&w, 0, 8 - w.n);
    for (int s = 24; s >= 0; s -= 8)
        *w.p++ = (unsigned char)(adler >> s);
    return (size_t)(w.p - out);
}

/* ---- blocks of a stream knotmap composes (h5_chunks.c) ------------------- */

void km_deflate_run_block(km_bits_out *w, unsigned char b, size_t len, int final)
{
    put_bits(w, final ? 3u : 2u, 3); /* BFINAL, BTYPE 01: fixed codes */
    put_symbol(w, b);
    put_copies(w, b, len - 1);
    put_symbol(w, 256);
}

/* A stored block's header from any bit: BFINAL, BTYPE 00, then to the
 * byte's end, LEN and NLEN. */
static void stored_header(km_bits_out *w, size_t len, int final)
{
    put_bits(w, final ? 1u : 0u, 3);
    if (w->n > 0)
        put_bits(w, 0, 8 - w->n);
    *w->p++ = (unsigned char)(len & 0xffu);
    *w->p++ = (unsigned char)(len >> 8);
    *w->p++ = (unsigned char)(~len & 0xffu);
    *w->p++ = (unsigned char)((~len >> 8) & 0xffu);
}

void km_deflate_stored(km_bits_out *w, const unsigned char *in, size_t len, int final)
{
    size_t done = 0;
    do {
        size_t k = len - done < 65535 ? len - done : 65535;
        stored_header(w, k, final && done + k == len);
        memcpy(w->p, in + done, k);
        w->p += k;
        done += k;
    } while (done < len);
}

void km_deflate_align(km_bits_out *w)
{
    if (w->n > 0)
        stored_header(w, 0, 0);
}

/* ---- where a one-block stream's last code ends ---------------------------- */

typedef struct {
    const unsigned char *s;
    size_t len, pos; /* pos: the next bit */
} bits_in;

/* The next n <= 24 bits (0 past the end), not consumed. */
static uint32_t peek_bits(const bits_in *r, int n)
{
    size_t b = r->pos >> 3;
    uint32_t v = 0;
    for (size_t k = 0; k < 4 && b + k < r->len; k++)
        v |= (uint32_t)r->s[b + k] << (8 * k);
    return (v >> (r->pos & 7)) & ((1u << n) - 1u);
}

static uint32_t get_bits(bits_in *r, int n)
{
    uint32_t v = peek_bits(r, n);
    r->pos += (size_t)n;
    return v;
}

/* The canonical codes (RFC 1951 3.2.2) of lengths len[0, n) (<= 15), into
 * code; 0 when the lengths over-subscribe the code space. */
static int canonical(const unsigned char *len, int n, uint16_t *code)
{
    int count[16] = {0}, next[16] = {0};
    for (int i = 0; i < n; i++)
        count[len[i]]++;
    count[0] = 0;
    for (int b = 1, c = 0; b < 16; b++) {
        c = (c + count[b - 1]) << 1;
        if (count[b] > (1 << b) - c)
            return 0;
        next[b] = c;
    }
    for (int i = 0; i < n; i++)
        code[i] = len[i] != 0 ? (uint16_t)next[len[i]]++ : 0;
    return 1;
}

/* The literal/length code lengths of a block of dynamic codes, its header
 * read from r (RFC 1951 3.2.7) into len[0, *nlit); 0 on a damaged header. */
static int dynamic_lengths(bits_in *r, unsigned char len[320], int *nlit)
{
    static const unsigned char order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                            11, 4,  12, 3, 13, 2, 14, 1, 15};
    int hlit = (int)get_bits(r, 5) + 257, hdist = (int)get_bits(r, 5) + 1;
    int hclen = (int)get_bits(r, 4) + 4;
    unsigned char cl[19] = {0}, table[128][2]; /* symbol, length by the next 7 bits */
    uint16_t code[19];
    for (int i = 0; i < hclen; i++)
        cl[order[i]] = (unsigned char)get_bits(r, 3);
    if (hlit > 286 || !canonical(cl, 19, code))
        return 0;
    memset(table, 0, sizeof table);
    for (int s = 0; s < 19; s++) {
        if (cl[s] == 0)
            continue;
        unsigned rev = 0;
        for (int b = 0; b < cl[s]; b++)
            rev |= ((code[s] >> b) & 1u) << (cl[s] - 1 - b);
        for (unsigned k = rev; k < 128; k += 1u << cl[s]) {
            table[k][0] = (unsigned char)s;
            table[k][1] = cl[s];
        }
    }
    for (int i = 0; i < hlit + hdist;) {
        unsigned char *t = table[peek_bits(r, 7)];
        if (t[1] == 0)
            return 0;
        r->pos += t[1];
        int s = t[0], rep = 1, v = s;
        if (s == 16) {
            if (i == 0)
                return 0;
            v = len[i - 1];
            rep = 3 + (int)get_bits(r, 2);
        } else if (s > 16) {
            v = 0;
            rep = s == 17 ? 3 + (int)get_bits(r, 3) : 11 + (int)get_bits(r, 7);
        }
        if (i + rep > hlit + hdist)
            return 0;
        for (; rep > 0; rep--)
            len[i++] = (unsigned char)v;
    }
    *nlit = hlit;
    return r->pos <= 8 * r->len;
}

unsigned km_deflate_pad_candidates(const unsigned char *s, size_t n)
{
    bits_in r = {s, n, 0};
    if (n < 2 || get_bits(&r, 1) != 1)
        return 0; /* not the one block of the stream */
    uint32_t type = get_bits(&r, 2), eob = 0;
    int bits = 7; /* fixed codes: end of block 0000000 */
    if (type == 0) {
        size_t k = (size_t)s[1] | (size_t)s[2] << 8;
        return n >= 5 && n == 5 + k ? 1u : 0u; /* ends on its byte */
    }
    if (type == 2) {
        unsigned char len[320];
        uint16_t code[320];
        int nlit = 0;
        if (!dynamic_lengths(&r, len, &nlit) || len[256] == 0 || !canonical(len, nlit, code))
            return 0;
        eob = code[256];
        bits = len[256];
    } else if (type != 1) {
        return 0;
    }
    unsigned mask = 0;
    size_t total = 8 * n;
    for (unsigned p = 0; p < 8; p++) {
        if ((s[n - 1] >> (8 - p)) != 0 || total < p + (size_t)bits)
            continue; /* padding is zero bits */
        size_t e = total - p;
        int ok = 1;
        for (int i = 0; i < bits && ok; i++) { /* the code's bits, first the most significant */
            size_t at = e - (size_t)bits + (size_t)i;
            ok = ((s[at >> 3] >> (at & 7)) & 1u) == ((eob >> (bits - 1 - i)) & 1u);
        }
        mask |= (unsigned)ok << p;
    }
    return mask;
}
