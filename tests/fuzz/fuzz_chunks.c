/* Fuzz target: the direct chunk writer (src/io/h5_chunks.c) round trip.
 * The input's first two bytes choose the layout, the rest are the values:
 *   byte 0: bit 0 float64 (else float32), bit 1 rank 3 [T, 4, 3] (else a
 *           column), bits 2-3 deflate level (none, 1, 4, 9), bit 4 shuffle,
 *           bit 5 deflate before shuffle, bit 6 noise planes (a result's
 *           float columns), bit 7 the values' low bytes drawn from the
 *           input's bytes as seeds (noise planes a fuzzer rarely makes);
 *   byte 1: rows per chunk (1..64) and the appends' rhythm.
 * Written through km_h5_chunks_out in odd appends with a flush halfway
 * (HDF5's core driver, in memory), then read back.  Checks, beyond memory
 * errors: H5Dread gives the values bit for bit (HDF5's own filters decode
 * every chunk the writer made: stored blocks, libdeflate's stream, the
 * Adler-32), and so do knotmap's readers (km_h5_chunks_read for [T, R, C]
 * float32, km_h5_read_f64_chunks for a float64 column), and
 * km_h5_chunks_unsound finds nothing wrong with a column. */
#include "fuzz_common.h"
#include "io/h5_chunks.h"
#include "io/h5util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROW_ELEMS 12 /* rank 3: frames of 4 x 3 */

static hid_t make(hid_t f, int f64, int rank, hsize_t cf, int level, int shuffle, int deflate_first)
{
    hsize_t dims[3] = {0, 4, 3}, maxd[3] = {H5S_UNLIMITED, 4, 3}, chunk[3] = {cf, 4, 3};
    hid_t sp = H5Screate_simple(rank, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    if (sp < 0 || dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0)
        km_fuzz_die("dataset creation", "");
    if (deflate_first && level >= 0)
        H5Pset_deflate(dcpl, (unsigned)level);
    if (shuffle)
        H5Pset_shuffle(dcpl);
    if (!deflate_first && level >= 0)
        H5Pset_deflate(dcpl, (unsigned)level);
    d = H5Dcreate2(f, "col", f64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (d < 0)
        km_fuzz_die("H5Dcreate2", "");
    return d;
}

/* The values: the input's bytes as they are, or (expand) each 8-byte group
 * a smooth high part and noise low bytes from a generator it seeds. */
static unsigned char *values(const uint8_t *in, size_t n_in, size_t bytes, size_t es, int expand)
{
    unsigned char *v = malloc(bytes ? bytes : 1);
    if (v == NULL)
        abort();
    memcpy(v, in, bytes < n_in ? bytes : n_in);
    if (bytes > n_in)
        memset(v + n_in, 0, bytes - n_in);
    if (!expand)
        return v;
    uint32_t s = 1;
    for (size_t i = 0; i + es <= bytes; i += es) {
        s = s * 1664525u + 1013904223u + (i / es < n_in ? in[i / es] : 0);
        for (size_t b = 0; b + 2 < es; b++) /* the low bytes noise, the top two kept */
            v[i + b] = (unsigned char)(s >> (8 + 3 * b));
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const int f64 = data[0] & 1, rank = data[0] & 2 ? 3 : 1, shuffle = (data[0] >> 4) & 1;
    const int levels[4] = {-1, 1, 4, 9}, level = levels[(data[0] >> 2) & 3];
    const int deflate_first = (data[0] >> 5) & 1, noise = (data[0] >> 6) & 1, expand = data[0] >> 7;
    const size_t es = f64 ? 8 : 4, re = rank == 3 ? ROW_ELEMS : 1, row = es * re;
    const hsize_t cf = 1 + (data[1] & 63);
    const size_t rhythm = 1 + (data[1] >> 6);
    data += 2;
    size -= 2;
    size_t n_rows = size / row + (expand ? 64 : 0), bytes = n_rows * row;
    if (n_rows == 0)
        return 0;
    unsigned char *v = values(data, size, bytes, es, expand), *back = malloc(bytes);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (back == NULL || fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0)
        abort();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate("knotmap-fuzz-chunks.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f < 0)
        km_fuzz_die("H5Fcreate (core driver)", "");
    hid_t d = make(f, f64, rank, cf, level, shuffle, deflate_first);
    hid_t mt = f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    km_h5_deflater *z = km_h5_deflater_new();
    km_h5_chunks_out *c = km_h5_chunks_out_open(d, mt, z);
    if (z == NULL || c == NULL)
        km_fuzz_die("km_h5_chunks_out_open refused an eligible dataset", "");
    if (noise)
        km_h5_chunks_out_noise_planes(c);
    int flushed = 0;
    for (size_t r = 0, k = 0; r < n_rows; k++) {
        size_t m = (k * rhythm * 7 + 1) % 97 + 1;
        m = m < n_rows - r ? m : n_rows - r;
        if (!km_h5_chunks_write(c, v + r * row, m))
            km_fuzz_die("km_h5_chunks_write failed in memory", "");
        r += m;
        if (!flushed && 2 * r >= n_rows) {
            if (!km_h5_chunks_flush(c))
                km_fuzz_die("km_h5_chunks_flush failed in memory", "");
            flushed = 1;
        }
    }
    if (!km_h5_chunks_flush(c))
        km_fuzz_die("km_h5_chunks_flush failed in memory", "");
    km_h5_chunks_out_free(c);
    km_h5_deflater_free(z);

    memset(back, 0xa5, bytes);
    if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) < 0)
        km_fuzz_die("H5Dread of the written chunks failed", "");
    if (memcmp(back, v, bytes) != 0)
        km_fuzz_die("H5Dread gives other values than written", "");
    /* Shuffled after deflate: not decoded by knotmap (km_h5_steps_exact), read by H5Dread. */
    const int own = !(shuffle && deflate_first && level >= 0);
    if (rank == 1 && f64) {
        km_h5_f64 fv;
        char why[160];
        memset(back, 0xa5, bytes);
        int got = km_h5_f64_open(d, &fv) &&
                  km_h5_read_f64_chunks(d, &fv, 0, (int64_t)n_rows, (double *)(void *)back);
        if ((got || own) && (!got || memcmp(back, v, bytes) != 0))
            km_fuzz_die("km_h5_read_f64_chunks differs from what was written", "");
        hid_t dcpl = H5Dget_create_plist(d), space = H5Dget_space(d);
        int bad = km_h5_chunks_unsound(d, dcpl, space, es, why, sizeof why);
        H5Pclose(dcpl);
        H5Sclose(space);
        if (bad)
            km_fuzz_die("km_h5_chunks_unsound refused the writer's chunks", why);
    }
    if (rank == 3 && !f64) {
        km_h5_chunks *rd = km_h5_chunks_open(d, (size_t)1 << 24);
        memset(back, 0xa5, bytes);
        char why[160];
        if (rd == NULL)
            km_fuzz_die("km_h5_chunks_open refused the writer's dataset", "");
        int64_t got = km_h5_chunks_read(rd, 0, (int64_t)n_rows, (float *)(void *)back);
        if (km_h5_chunks_damage(rd, why, sizeof why))
            km_fuzz_die("km_h5_chunks_read calls the writer's chunk damaged", why);
        if ((got > 0 || own) && (got != (int64_t)n_rows || memcmp(back, v, bytes) != 0))
            km_fuzz_die("km_h5_chunks_read differs from what was written", "");
        km_h5_chunks_free(rd);
    }
    H5Dclose(d);
    H5Fclose(f);
    H5Pclose(fapl);
    free(v);
    free(back);
    return 0;
}
