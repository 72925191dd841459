/* Direct chunk writes (src/io/h5_chunks.c, km_h5_chunks_write): what is
 * appended reads back through plain HDF5 (H5Dread, its own filters)
 * equal, bit for bit, for ranks 1 and 3, element sizes 1-8, shuffle on and
 * off, deflate levels 0-9, either filter order, a last chunk partly filled
 * or full, and a partial chunk flushed and then completed.  Every stored
 * chunk has filter mask 0 and is the zlib stream of the byte-shuffled
 * chunk, decoded here by libdeflate and HDF5's documented shuffle layout
 * (byte b of element i at b * n + i), not by this writer's code.  Layouts
 * it cannot write are refused (the result writer then uses H5Dwrite). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <hdf5.h>
#include <libdeflate.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_chunks.h"
#include "io/h5_codec.h"
#include "knotmap.h"
#include "test_util.h"

static char dir[64];

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-iochunkw-");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void teardown(void)
{
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(io_chunks_write, .init = setup, .fini = teardown);

enum { R = 7, C = 5 };
enum { F32, F64, I32, I64, U8 };

typedef struct wlayout {
    int rank;         /* 1, or 3 ([n, R, C]) */
    int kind;
    int shuffle;
    int level;        /* deflate level, -1 = no deflate */
    int deflate_first;
    int cf;           /* rows per chunk */
    int total;        /* rows appended */
} wlayout;

static hid_t mem_type(int kind)
{
    switch (kind) {
    case F32: return H5T_NATIVE_FLOAT;
    case F64: return H5T_NATIVE_DOUBLE;
    case I32: return H5T_NATIVE_INT32;
    case I64: return H5T_NATIVE_INT64;
    default: return H5T_NATIVE_UINT8;
    }
}

static hid_t file_type(int kind)
{
    switch (kind) {
    case F32: return H5T_IEEE_F32LE;
    case F64: return H5T_IEEE_F64LE;
    case I32: return H5T_STD_I32LE;
    case I64: return H5T_STD_I64LE;
    default: return H5T_STD_U8LE;
    }
}

static size_t elem_size(int kind)
{
    return kind == F64 || kind == I64 ? 8 : kind == U8 ? 1 : 4;
}

/* Values like a result column: smooth, noisy low bits, some repeats. */
static void fill(void *buf, int kind, size_t n, unsigned seed)
{
    uint32_t s = seed * 2654435761u + 7u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        double v = 100.0 * sin((double)i * 0.003) + (double)(s >> 8) / 16777216.0;
        switch (kind) {
        case F32: ((float *)buf)[i] = i % 13 == 0 ? 0.0f : (float)v; break;
        case F64: ((double *)buf)[i] = i % 13 == 0 ? NAN : v; break;
        case I32: ((int32_t *)buf)[i] = (int32_t)(i / 3) - (int32_t)(s >> 30); break;
        case I64: ((int64_t *)buf)[i] = (int64_t)i * 1000003 - (int64_t)(s >> 28); break;
        default: ((uint8_t *)buf)[i] = (uint8_t)(v + 100.0); break;
        }
    }
}

static size_t row_elems(const wlayout *l)
{
    return l->rank == 3 ? (size_t)R * C : 1;
}

static hid_t make_dataset(hid_t f, const wlayout *l)
{
    hsize_t dims[3] = {0, R, C}, maxd[3] = {H5S_UNLIMITED, R, C}, chunk[3] = {(hsize_t)l->cf, R, C};
    hid_t sp = H5Screate_simple(l->rank, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    cr_assert(sp >= 0 && dcpl >= 0);
    cr_assert(H5Pset_chunk(dcpl, l->rank, chunk) >= 0);
    if (l->deflate_first && l->level >= 0)
        cr_assert(H5Pset_deflate(dcpl, (unsigned)l->level) >= 0);
    if (l->shuffle)
        cr_assert(H5Pset_shuffle(dcpl) >= 0);
    if (!l->deflate_first && l->level >= 0)
        cr_assert(H5Pset_deflate(dcpl, (unsigned)l->level) >= 0);
    hid_t d = H5Dcreate2(f, "col", file_type(l->kind), sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(d >= 0);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return d;
}

/* HDF5's documented shuffle undone: byte b of element i was stored at
 * b * n + i (n whole elements), a trailing part element as it was. */
static void unshuffle(const unsigned char *in, unsigned char *out, size_t bytes, size_t es)
{
    size_t ne = bytes / es;
    for (size_t i = 0; i < ne; i++)
        for (size_t b = 0; b < es; b++)
            out[i * es + b] = in[b * ne + i];
    memcpy(out + ne * es, in + ne * es, bytes - ne * es);
}

/* One stored chunk decoded without HDF5's filters, in the reverse order
 * of the pipeline: inflate by libdeflate (zlib format), unshuffle above. */
static void decode_by_hand(const wlayout *l, const unsigned char *stored, size_t size,
                           unsigned char *out, size_t chunk_bytes)
{
    size_t cap = chunk_bytes + size;
    unsigned char *a = malloc(cap), *b = malloc(cap);
    cr_assert(a && b);
    memcpy(a, stored, size);
    size_t n = size;
    int steps[2], m = 0;
    if (l->deflate_first && l->shuffle)
        steps[m++] = 's';
    if (l->level >= 0)
        steps[m++] = 'd';
    if (!l->deflate_first && l->shuffle)
        steps[m++] = 's';
    for (int j = 0; j < m; j++) {
        if (steps[j] == 's') {
            unshuffle(a, b, n, elem_size(l->kind));
        } else {
            struct libdeflate_decompressor *dec = libdeflate_alloc_decompressor();
            size_t got = 0;
            cr_assert_not_null(dec);
            cr_assert_eq(libdeflate_zlib_decompress(dec, a, n, b, cap, &got), LIBDEFLATE_SUCCESS,
                         "stored chunk is not a zlib stream");
            libdeflate_free_decompressor(dec);
            n = got;
        }
        unsigned char *t = a;
        a = b;
        b = t;
    }
    cr_assert_eq(n, chunk_bytes);
    memcpy(out, a, chunk_bytes);
    free(a);
    free(b);
}

/* Every chunk: filter mask 0, and its decoded bytes the rows written
 * (the padding of a partial last chunk: zeros). */
static void check_stored_chunks(hid_t d, const wlayout *l, const unsigned char *data)
{
    size_t es = elem_size(l->kind), rb = row_elems(l) * es, cb = (size_t)l->cf * rb;
    size_t nchunks = ((size_t)l->total + (size_t)l->cf - 1) / (size_t)l->cf;
    unsigned char *out = malloc(cb), *want = malloc(cb);
    cr_assert(out && want);
    for (size_t k = 0; k < nchunks; k++) {
        hsize_t off[3] = {k * (hsize_t)l->cf, 0, 0}, size = 0;
        uint32_t mask = 0xffffffffu;
        cr_assert(H5Dget_chunk_storage_size(d, off, &size) >= 0 && size > 0);
        unsigned char *stored = malloc((size_t)size);
        cr_assert_not_null(stored);
        cr_assert(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, stored) >= 0);
        cr_assert_eq(mask, 0u, "chunk %zu: filter mask %u (every filter applied = 0)", k, mask);
        decode_by_hand(l, stored, (size_t)size, out, cb);
        size_t rows = (size_t)l->total - k * (size_t)l->cf;
        if (rows > (size_t)l->cf)
            rows = (size_t)l->cf;
        memset(want, 0, cb);
        memcpy(want, data + k * cb, rows * rb);
        cr_assert_eq(memcmp(out, want, cb), 0, "chunk %zu decoded by hand differs", k);
        free(stored);
    }
    free(out);
    free(want);
}

static wlayout layouts[] = {
    {1, F64, 1, 1, 0, 4096, 10000}, {1, F64, 1, 1, 0, 4096, 8192}, {1, I32, 0, 1, 0, 100, 1234},
    {1, I64, 1, 9, 0, 64, 1},       {3, F32, 1, 4, 0, 50, 203},    {3, F32, 0, -1, 0, 64, 203},
    {3, F32, 1, -1, 0, 64, 128},    {1, I32, 1, 0, 1, 77, 500},    {1, U8, 1, 6, 0, 33, 100},
    {3, F32, 1, 4, 1, 1, 9},        {1, F32, 1, 1, 0, 4096, 4097},
    /* last chunks of at most 1/8 of their rows: deflated as runs */
    {1, F64, 1, 1, 0, 4096, 4396},  {1, I32, 0, 1, 0, 4096, 8704}, {3, F32, 1, 4, 0, 64, 197},
};

ParameterizedTestParameters(io_chunks_write, reads_back_through_hdf5)
{
    return cr_make_param_array(wlayout, layouts, sizeof layouts / sizeof layouts[0]);
}

ParameterizedTest(wlayout *l, io_chunks_write, reads_back_through_hdf5)
{
    size_t es = elem_size(l->kind), re = row_elems(l), n = (size_t)l->total * re;
    unsigned char *data = malloc(n * es), *back = malloc(n * es);
    char path[128];
    cr_assert(data && back);
    fill(data, l->kind, n, (unsigned)(l->cf + l->level));
    snprintf(path, sizeof path, "%s/w.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    hid_t d = make_dataset(f, l);
    km_h5_deflater *z = km_h5_deflater_new();
    km_h5_chunks_out *c = km_h5_chunks_out_open(d, mem_type(l->kind), z);
    cr_assert_not_null(c, "rank %d kind %d shuffle %d level %d: not eligible", l->rank, l->kind,
                       l->shuffle, l->level);
    /* Appends of odd sizes; halfway, the partial chunk is flushed and then
       completed (HDF5 must keep the rewritten chunk). */
    static const size_t steps[] = {1, 37, 100, 3, 4096, 250};
    int flushed = 0;
    for (size_t r = 0, k = 0; r < (size_t)l->total; k++) {
        size_t m = steps[k % 6] < (size_t)l->total - r ? steps[k % 6] : (size_t)l->total - r;
        cr_assert(km_h5_chunks_write(c, data + r * re * es, m));
        r += m;
        if (!flushed && 2 * r >= (size_t)l->total) {
            cr_assert(km_h5_chunks_flush(c));
            flushed = 1;
        }
    }
    cr_assert(km_h5_chunks_flush(c));
    km_h5_chunks_out_free(c);
    km_h5_deflater_free(z);
    H5Dclose(d);
    cr_assert(H5Fclose(f) >= 0);

    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    d = H5Dopen2(f, "col", H5P_DEFAULT);
    cr_assert(f >= 0 && d >= 0);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[3] = {0, 0, 0};
    cr_assert_eq(H5Sget_simple_extent_dims(sp, dims, NULL), l->rank);
    cr_assert_eq(dims[0], (hsize_t)l->total);
    memset(back, 0xa5, n * es);
    cr_assert(H5Dread(d, mem_type(l->kind), H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    cr_assert_eq(memcmp(back, data, n * es), 0,
                 "rank %d kind %d shuffle %d level %d cf %d: H5Dread differs", l->rank, l->kind,
                 l->shuffle, l->level, l->cf);
    check_stored_chunks(d, l, data);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    free(data);
    free(back);
}

/* Not eligible: contiguous, a chunk splitting rows, a memory type other
 * than the file's, fletcher32, a user fill value, unfiltered partial
 * chunks, a dataset already holding rows. */
Test(io_chunks_write, ineligible_layouts_refused)
{
    char path[128];
    snprintf(path, sizeof path, "%s/n.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t zero[3] = {0, R, C}, some[3] = {3, R, C}, maxd[3] = {H5S_UNLIMITED, R, C};
    hsize_t split[3] = {16, R, 2}, whole[3] = {16, R, C};
    hid_t sp = H5Screate_simple(3, zero, maxd), sp3 = H5Screate_simple(3, some, maxd);
    hid_t spc = H5Screate_simple(3, some, NULL);
    hid_t p[6];
    for (int i = 0; i < 6; i++) {
        p[i] = H5Pcreate(H5P_DATASET_CREATE);
        cr_assert(H5Pset_chunk(p[i], 3, i == 0 ? split : whole) >= 0);
        cr_assert(H5Pset_deflate(p[i], 1) >= 0);
    }
    float fv = 1.0f;
    cr_assert(H5Pset_fletcher32(p[2]) >= 0);
    cr_assert(H5Pset_fill_value(p[3], H5T_NATIVE_FLOAT, &fv) >= 0);
    cr_assert(H5Pset_chunk_opts(p[4], H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) >= 0);
    struct { const char *name; hid_t sp, dcpl, ftype, mtype; } cases[] = {
        {"contiguous", spc, H5P_DEFAULT, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT},
        {"split", sp, p[0], H5T_IEEE_F32LE, H5T_NATIVE_FLOAT},
        {"other_type", sp, p[1], H5T_IEEE_F64LE, H5T_NATIVE_FLOAT},
        {"fletcher", sp, p[2], H5T_IEEE_F32LE, H5T_NATIVE_FLOAT},
        {"fill", sp, p[3], H5T_IEEE_F32LE, H5T_NATIVE_FLOAT},
        {"raw_partial", sp, p[4], H5T_IEEE_F32LE, H5T_NATIVE_FLOAT},
        {"not_empty", sp3, p[5], H5T_IEEE_F32LE, H5T_NATIVE_FLOAT},
    };
    km_h5_deflater *z = km_h5_deflater_new();
    cr_assert_not_null(z);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hid_t d = H5Dcreate2(f, cases[i].name, cases[i].ftype, cases[i].sp, H5P_DEFAULT,
                             cases[i].dcpl, H5P_DEFAULT);
        cr_assert(d >= 0, "%s", cases[i].name);
        cr_expect_null(km_h5_chunks_out_open(d, cases[i].mtype, z), "%s", cases[i].name);
        H5Dclose(d);
    }
    /* The same layout as "other_type" with the matching memory type: taken. */
    hid_t d = H5Dcreate2(f, "ok", H5T_IEEE_F64LE, sp, H5P_DEFAULT, p[1], H5P_DEFAULT);
    km_h5_chunks_out *c = km_h5_chunks_out_open(d, H5T_NATIVE_DOUBLE, z);
    cr_expect_not_null(c);
    km_h5_chunks_out_free(c);
    H5Dclose(d);
    km_h5_deflater_free(z);
    for (int i = 0; i < 6; i++)
        H5Pclose(p[i]);
    H5Sclose(sp);
    H5Sclose(sp3);
    H5Sclose(spc);
    H5Fclose(f);
}

/* km_zlib_runs (a mostly-zero last chunk's deflate) against libdeflate's
 * inflater: runs of every length about deflate's 258-byte copies and the
 * 3-byte minimum, single bytes of every value (8- and 9-bit literals),
 * random bytes, all within km_zlib_runs_bound, and too small an output
 * refused. */
Test(io_chunks_write, zlib_runs_inflate_to_their_input)
{
    enum { N = 70000 };
    unsigned char *in = malloc(N), *out = malloc(km_zlib_runs_bound(N)), *back = malloc(N);
    struct libdeflate_decompressor *dec = libdeflate_alloc_decompressor();
    uint32_t s = 99u;
    cr_assert(in && out && back && dec);
    for (int trial = 0; trial < 40; trial++) {
        size_t n = 0;
        while (n < N) {
            s = s * 1664525u + 1013904223u;
            size_t len = trial % 4 == 0 ? 1 : (s >> 8) % 600u + 1u;
            if (trial % 4 == 1)
                len = 255u + (s >> 8) % 8u; /* about 258 + 1 */
            if (len > N - n)
                len = N - n;
            memset(in + n, trial % 4 == 0 ? (int)((s >> 16) & 0xffu) : (int)(s >> 29), len);
            n += len;
        }
        size_t m = trial % 3 == 0 ? (size_t)(s % N) + 1u : N;
        size_t got = 0, size = km_zlib_runs(in, m, libdeflate_adler32(1, in, m), out,
                                            km_zlib_runs_bound(m));
        cr_assert(size > 0 && size <= km_zlib_runs_bound(m));
        cr_assert_eq(libdeflate_zlib_decompress(dec, out, size, back, m, &got), LIBDEFLATE_SUCCESS,
                     "trial %d: not a zlib stream (adler, codes)", trial);
        cr_assert_eq(got, m);
        cr_assert_eq(memcmp(back, in, m), 0, "trial %d: inflates to other bytes", trial);
    }
    cr_assert_eq(km_zlib_runs(in, 100, 1u, out, km_zlib_runs_bound(100) - 1), 0u);
    libdeflate_free_decompressor(dec);
    free(in);
    free(out);
    free(back);
}

/* A writer made from another dataset's layout (km_h5_chunks_out_like, the
 * result writer's next column of the same kind) writes what an opened one
 * writes: read back through HDF5 and decoded by hand. */
Test(io_chunks_write, writer_like_another_reads_back)
{
    static wlayout l = {1, F64, 1, 1, 0, 64, 300};
    size_t n = (size_t)l.total, es = elem_size(l.kind);
    unsigned char *data = malloc(n * es), *back = malloc(n * es);
    char p1[128], p2[128];
    cr_assert(data && back);
    fill(data, l.kind, n, 5u);
    snprintf(p1, sizeof p1, "%s/a.h5", dir);
    snprintf(p2, sizeof p2, "%s/b.h5", dir);
    hid_t f1 = H5Fcreate(p1, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t f2 = H5Fcreate(p2, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f1 >= 0 && f2 >= 0);
    hid_t d1 = make_dataset(f1, &l), d2 = make_dataset(f2, &l);
    km_h5_deflater *z = km_h5_deflater_new();
    km_h5_chunks_out *c1 = km_h5_chunks_out_open(d1, mem_type(l.kind), z);
    km_h5_chunks_out *lay = km_h5_chunks_out_layout(c1);
    km_h5_chunks_out *c2 = km_h5_chunks_out_like(lay, d2);
    cr_assert(c1 && lay && c2);
    cr_assert_null(km_h5_chunks_out_layout(NULL));
    cr_assert(km_h5_chunks_write(c2, data, n) && km_h5_chunks_flush(c2));
    km_h5_chunks_out_free(c1);
    km_h5_chunks_out_free(c2);
    km_h5_chunks_out_free(lay);
    km_h5_deflater_free(z);
    cr_assert(H5Dread(d2, mem_type(l.kind), H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    cr_assert_eq(memcmp(back, data, n * es), 0);
    check_stored_chunks(d2, &l, data);
    H5Dclose(d1);
    H5Dclose(d2);
    H5Fclose(f1);
    H5Fclose(f2);
    free(data);
    free(back);
}

/* km_h5_chunks_out_fills says beforehand whether an append calls HDF5: the
 * result writer switches HDF5's error printer (four takes of its global
 * lock) only around those appends.  A chunk write grows the extent, and
 * only a chunk write does, so the prediction is checked against it, for
 * appends of 0 to 2.5 chunks at every offset within a chunk, and after a
 * flush of a partial chunk. */
static hsize_t extent0(hid_t d)
{
    hsize_t dims[3] = {0, 0, 0};
    hid_t sp = H5Dget_space(d);
    cr_assert(sp >= 0 && H5Sget_simple_extent_dims(sp, dims, NULL) >= 1);
    H5Sclose(sp);
    return dims[0];
}

/* A file `name` in the test folder with an empty int32 column chunked by 16
 * (shuffle + deflate 1) and its direct writer. */
typedef struct col16 {
    hid_t f, d;
    km_h5_deflater *z;
    km_h5_chunks_out *c;
} col16;

static col16 open_col16(const char *name)
{
    static wlayout l = {1, I32, 1, 1, 0, 16, 0};
    char path[128];
    col16 k;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    k.f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(k.f >= 0);
    k.d = make_dataset(k.f, &l);
    k.z = km_h5_deflater_new();
    k.c = km_h5_chunks_out_open(k.d, mem_type(l.kind), k.z);
    cr_assert(k.c != NULL && k.z != NULL);
    return k;
}

static void close_col16(col16 *k)
{
    km_h5_chunks_out_free(k->c);
    km_h5_deflater_free(k->z);
    H5Dclose(k->d);
    H5Fclose(k->f);
}

Test(io_chunks_write, fills_predicts_the_chunk_writes)
{
    col16 k = open_col16("fills.h5");
    km_h5_chunks_out *c = k.c;
    hid_t d = k.d;
    int32_t rows[40];
    fill(rows, I32, 40, 3u);
    int calls = 0, quiet = 0;
    uint32_t s = 12345u;
    for (int i = 0; i < 400; i++) {
        s = s * 1664525u + 1013904223u;
        size_t n = (size_t)(s >> 8) % 41; /* 0 .. 40 rows, the chunk is 16 */
        hsize_t before = extent0(d);
        int predicted = km_h5_chunks_out_fills(c, n);
        cr_assert(km_h5_chunks_write(c, rows, n));
        int wrote = extent0(d) != before;
        cr_assert_eq(predicted, wrote, "append %d of %zu rows: predicted %d, wrote %d", i, n,
                     predicted, wrote);
        calls += wrote;
        quiet += !wrote;
        if (i % 97 == 0)
            cr_assert(km_h5_chunks_flush(c)); /* a padded last chunk, completed later */
    }
    cr_assert(calls > 50 && quiet > 50, "both cases seen: %d, %d", calls, quiet);
    cr_assert_eq(km_h5_chunks_out_fills(c, 0), 0);
    close_col16(&k);
}

/* An append that completes several chunks sets the extent once, to the end
 * of the last of them (each H5Dset_extent takes HDF5's global lock: the
 * result writer's peak flushes complete two chunks per column), and the
 * extent after every append is the rows of the complete chunks, as when it
 * was set per chunk; a flush sets it to the rows appended. */
Test(io_chunks_write, one_extent_per_append)
{
    int32_t rows[80];
    fill(rows, I32, 80, 5u);
    col16 k = open_col16("extent.h5");
    cr_assert(km_h5_chunks_write(k.c, rows, 40)); /* two chunks and 8 rows */
    cr_assert_eq(km_h5_chunks_out_extents(k.c), 1);
    cr_assert_eq(extent0(k.d), 32);
    cr_assert(km_h5_chunks_write(k.c, rows, 80)); /* to 120: five more chunks */
    cr_assert_eq(km_h5_chunks_out_extents(k.c), 2);
    cr_assert_eq(extent0(k.d), 112);
    int64_t total = 120, sets = 2;
    uint32_t s = 777u;
    for (int i = 0; i < 300; i++) {
        s = s * 1664525u + 1013904223u;
        size_t n = (size_t)(s >> 8) % 81;
        int fills = km_h5_chunks_out_fills(k.c, n);
        cr_assert(km_h5_chunks_write(k.c, rows, n));
        total += (int64_t)n;
        sets += fills;
        cr_assert_eq(km_h5_chunks_out_extents(k.c), sets, "append %d of %zu rows", i, n);
        cr_assert_eq(extent0(k.d), (hsize_t)(total / 16 * 16));
        if (i % 89 == 0) {
            cr_assert(km_h5_chunks_flush(k.c));
            sets += total % 16 != 0;
            cr_assert_eq(extent0(k.d), (hsize_t)total);
        }
    }
    cr_assert(km_h5_chunks_flush(k.c));
    cr_assert_eq(extent0(k.d), (hsize_t)total);
    int32_t *back = malloc((size_t)total * sizeof *back);
    cr_assert(back != NULL);
    cr_assert_geq(H5Dread(k.d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, back), 0);
    free(back);
    close_col16(&k);
}

/* The dataset and file closed, the buffers freed. */
static void close_all(hid_t d, hid_t f, void **bufs, int n)
{
    H5Dclose(d);
    H5Fclose(f);
    for (int i = 0; i < n; i++)
        free(bufs[i]);
}

/* km_h5_chunks_out_best_of (the session writer's frames): each chunk is
 * stored shuffled + deflated (filter mask 0) or deflated alone (mask 1,
 * the shuffle skipped), whichever libdeflate at the same level makes
 * smaller, ties shuffled, sizes computed here by libdeflate; smooth chunks
 * (shuffle wins) and noise among zeros, as in synth's frames (it loses),
 * both occur.
 * HDF5's H5Dread, knotmap's chunk reader and a decode by hand all give the
 * frames back bit for bit.  On a writer without best_of every mask would
 * be 0 (the first check fails). */
Test(io_chunks_write, best_of_stores_each_chunk_the_smaller_way)
{
    static wlayout l = {3, F32, 1, 4, 0, 16, 16 * 6 + 5};
    size_t n = (size_t)l.total * R * C, cb = (size_t)l.cf * R * C * sizeof(float);
    float *data = malloc(n * sizeof *data), *back = malloc(n * sizeof *back);
    unsigned char *sh = malloc(cb), *z = malloc(2 * cb + 64), *stored = malloc(2 * cb + 64);
    char path[128];
    uint32_t s = 4242u;
    cr_assert(data && back && sh && z && stored);
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        size_t k = i / (cb / sizeof(float));
        data[i] = k % 2 == 0 ? 40.0f * (float)sin((double)i * 0.01)
                             : s % 10u < 3u ? (float)(s >> 8) / 8388608.0f : 0.0f;
    }
    snprintf(path, sizeof path, "%s/best.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t d = make_dataset(f, &l);
    km_h5_deflater *zd = km_h5_deflater_new();
    km_h5_chunks_out *c = km_h5_chunks_out_open(d, H5T_NATIVE_FLOAT, zd);
    cr_assert(c != NULL && km_h5_chunks_out_best_of(c));
    cr_assert(km_h5_chunks_write(c, data, 50) && km_h5_chunks_write(c, data + 50 * R * C, 51));
    cr_assert(km_h5_chunks_flush(c));
    km_h5_chunks_out_free(c);
    km_h5_deflater_free(zd);

    struct libdeflate_compressor *comp = libdeflate_alloc_compressor(4);
    struct libdeflate_decompressor *dec = libdeflate_alloc_decompressor();
    int seen[2] = {0, 0};
    for (int k = 0; k < 6; k++) { /* whole chunks (the last, 5 rows, is runs) */
        const unsigned char *raw = (const unsigned char *)(data + (size_t)k * cb / sizeof(float));
        km_shuffle_bytes(raw, sh, cb, sizeof(float));
        size_t with = libdeflate_zlib_compress(comp, sh, cb, z, 2 * cb + 64);
        size_t without = libdeflate_zlib_compress(comp, raw, cb, z, 2 * cb + 64);
        hsize_t off[3] = {(hsize_t)k * 16u, 0, 0}, size = 0;
        uint32_t mask = 9u;
        cr_assert(H5Dget_chunk_storage_size(d, off, &size) >= 0 && size <= 2 * cb + 64);
        cr_assert(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, stored) >= 0);
        cr_assert_eq(mask, without < with ? 1u : 0u, "chunk %d: mask %u, sizes %zu / %zu", k,
                     mask, with, without);
        cr_assert_eq((size_t)size, mask ? without : with);
        seen[mask]++;
        size_t got = 0;
        cr_assert_eq(libdeflate_zlib_decompress(dec, stored, (size_t)size, z, cb, &got), 0);
        if (mask == 0)
            unshuffle(z, sh, cb, sizeof(float));
        cr_assert_eq(memcmp(mask ? z : sh, raw, cb), 0, "chunk %d decoded by hand", k);
    }
    cr_assert(seen[0] >= 2 && seen[1] >= 2, "both ways seen: %d, %d", seen[0], seen[1]);
    memset(back, 0xa5, n * sizeof *back);
    cr_assert(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    cr_assert_eq(memcmp(back, data, n * sizeof *back), 0, "H5Dread differs");
    km_h5_chunks *rd = km_h5_chunks_open(d, SIZE_MAX);
    memset(back, 0xa5, n * sizeof *back);
    cr_assert(rd != NULL && km_h5_chunks_read(rd, 0, l.total, back) == l.total);
    cr_assert_eq(memcmp(back, data, n * sizeof *back), 0, "knotmap's reader differs");
    km_h5_chunks_free(rd);
    libdeflate_free_compressor(comp);
    libdeflate_free_decompressor(dec);
    close_all(d, f, (void *[]){data, back, sh, z, stored}, 5);
}

/* km_h5_chunks_out_noise_planes: a shuffled chunk's leading planes of noise
 * (float64 values with random low bytes: planes 0-4) go into stored blocks
 * (header 0x00, LEN, NLEN, the planes' bytes as they are) right after the
 * zlib header, and the planes after them through deflate; a smooth chunk
 * (no plane is noise) is libdeflate's zlib stream of the whole chunk, as
 * without the call.  HDF5's H5Dread, knotmap's chunk reader and libdeflate
 * give the values back bit for bit; the noisy chunk is no larger than
 * libdeflate's whole-chunk stream.  Without the call the first chunk has no
 * stored block (the header check fails). */
Test(io_chunks_write, noise_planes_stored_then_deflated)
{
    static wlayout l = {1, F64, 1, 1, 0, 4096, 4096 * 2 + 100}; /* a column's chunks */
    size_t n = (size_t)l.total, cb = (size_t)l.cf * sizeof(double), plane = (size_t)l.cf;
    double *data = malloc(2 * n * sizeof *data), *back = data + n;
    unsigned char *buf = malloc(5 * cb + 128); /* the shuffled chunk, then two streams */
    unsigned char *sh = buf, *z = buf + cb, *stored = buf + 3 * cb + 64;
    char path[128];
    uint32_t s = 99u;
    cr_assert(data != NULL && buf != NULL);
    for (size_t i = 0; i < n; i++) {
        /* ~50.0, 40 random low bits; planes 5 and 6 vary a little, plane 7
           alone is one byte: no plane_runs (a quarter of the chunk) */
        uint64_t bits = 0x4040000000000000u | (uint64_t)(0x49 + i % 3) << 48 | (uint64_t)(i % 5) << 40;
        for (int b = 0; b < 5; b++) {
            s = s * 1664525u + 1013904223u;
            bits |= (uint64_t)(s >> 24) << (8 * b);
        }
        if (i < (size_t)l.cf)
            memcpy(&data[i], &bits, sizeof bits); /* noise */
        else
            data[i] = (double)(i % 7) * 0.1 + 1.0; /* smooth, no plane of one byte but the 8th */
    }
    snprintf(path, sizeof path, "%s/noise.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t d = make_dataset(f, &l);
    km_h5_deflater *zd = km_h5_deflater_new();
    km_h5_chunks_out *c = km_h5_chunks_out_open(d, H5T_NATIVE_DOUBLE, zd);
    cr_assert_not_null(c);
    km_h5_chunks_out_noise_planes(c);
    cr_assert(km_h5_chunks_write(c, data, n) && km_h5_chunks_flush(c));
    km_h5_chunks_out_free(c);
    km_h5_deflater_free(zd);

    struct libdeflate_compressor *comp = libdeflate_alloc_compressor(1);
    for (int k = 0; k < 2; k++) {
        km_shuffle_bytes((const unsigned char *)(data + (size_t)k * plane), sh, cb, sizeof(double));
        size_t whole = libdeflate_zlib_compress(comp, sh, cb, z, 2 * cb + 64);
        hsize_t off[1] = {(hsize_t)k * plane}, size = 0;
        uint32_t mask = 9u;
        cr_assert(H5Dget_chunk_storage_size(d, off, &size) >= 0 && size <= 2 * cb + 64);
        cr_assert(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, stored) >= 0);
        cr_assert_eq(mask, 0u);
        if (k == 1) {
            cr_assert(size == whole && memcmp(stored, z, whole) == 0,
                      "smooth chunk: not libdeflate's stream (%zu / %zu bytes)", (size_t)size,
                      whole);
            continue;
        }
        size_t len = (size_t)stored[3] | (size_t)stored[4] << 8;
        size_t nlen = (size_t)stored[5] | (size_t)stored[6] << 8;
        cr_assert(stored[0] == 0x78 && stored[1] == 0x01 && stored[2] == 0x00,
                  "noisy chunk: no stored block after the zlib header");
        cr_assert(len == 5 * plane && nlen == (~len & 0xffffu), "LEN %zu, NLEN %zu", len, nlen);
        cr_assert_eq(memcmp(stored + 7, sh, len), 0, "the stored planes are not the chunk's");
        cr_assert_leq((size_t)size, whole, "%zu bytes, libdeflate's %zu", (size_t)size, whole);
    }
    libdeflate_free_compressor(comp);
    memset(back, 0xa5, n * sizeof *back);
    cr_assert(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
    cr_assert_eq(memcmp(back, data, n * sizeof *back), 0, "H5Dread differs");
    km_h5_f64 v;
    memset(back, 0xa5, n * sizeof *back);
    cr_assert(km_h5_f64_open(d, &v) && km_h5_read_f64_chunks(d, &v, 0, l.total, back));
    cr_assert_eq(memcmp(back, data, n * sizeof *back), 0, "knotmap's reader differs");
    close_all(d, f, (void *[]){data, buf}, 2);
}
