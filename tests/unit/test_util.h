/* Helpers shared by the unit test files: temporary folders and files,
 * opening and draining readers, the bad-file table.  Header-only (static
 * inline) so each test file stays one translation unit and unused helpers
 * cost nothing.  Every helper asserts with Criterion, so a failure names
 * the test that called it.
 *
 * Include after defining _POSIX_C_SOURCE 200809L (or _XOPEN_SOURCE 700)
 * at the top of the file: mkdtemp is POSIX, not C11. */
#ifndef KM_TEST_UTIL_H
#define KM_TEST_UTIL_H

#if !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE)
#error "define _POSIX_C_SOURCE 200809L before the first #include (mkdtemp)"
#endif

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knotmap.h"

/* ---- temporary folders and files ---------------------------------------- */

/* A fresh folder "/tmp/<prefix>XXXXXX"; its name goes to dir[cap]. */
static inline void km_test_make_dir(char *dir, size_t cap, const char *prefix)
{
    int n = snprintf(dir, cap, "/tmp/%sXXXXXX", prefix);
    cr_assert(n > 0 && (size_t)n < cap, "folder name too long for %zu bytes", cap);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

/* Remove a folder and everything in it; returns system()'s status so the
 * caller chooses between cr_assert and cr_expect. */
static inline int km_test_remove_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* out = dir/name. */
static inline void km_test_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    cr_assert(n > 0 && (size_t)n < cap, "path %s/%s too long", dir, name);
}

/* Write `content` (a C string) to `path`, replacing it. */
static inline void km_test_write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(content, f);
    fclose(f);
}

/* Entries of `dir` whose name contains `needle`; NULL counts every entry
 * but "." and "..". */
static inline int km_test_count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    cr_assert_not_null(d, "cannot list %s", dir);
    while ((e = readdir(d)) != NULL) {
        if (needle != NULL ? strstr(e->d_name, needle) != NULL
                           : strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

/* ---- readers --------------------------------------------------------------- */

/* km_reader_open that must succeed; the detail goes into the message. */
static inline km_reader *km_test_open(km_ctx *ctx, const char *path, const km_read_options *o)
{
    km_reader *r = NULL;
    km_status st = km_reader_open(ctx, path, o, &r);
    cr_assert_eq(st, KM_OK, "open %s: %s", path, km_ctx_last_error(ctx));
    return r;
}

/* All frames, read in blocks of `block`; *frames and *times are malloc'd
 * (the caller frees them).  Returns the frame count. */
static inline int64_t km_test_read_all(km_ctx *ctx, km_reader *r, int64_t block, float **frames,
                                       double **times)
{
    km_session_info in;
    km_reader_info(r, &in);
    size_t fs = (size_t)in.rows * (size_t)in.cols;
    int64_t cap = 16, n = 0, got = 0;
    float *f = malloc((size_t)cap * fs * sizeof *f);
    double *t = malloc((size_t)cap * sizeof *t);
    float *buf = malloc((size_t)block * fs * sizeof *buf);
    double *tb = malloc((size_t)block * sizeof *tb);
    cr_assert(f && t && buf && tb);
    do {
        km_status st = km_reader_read(ctx, r, buf, tb, block, &got);
        cr_assert_eq(st, KM_OK, "read: %s", km_ctx_last_error(ctx));
        cr_assert(got >= 0 && got <= block);
        if (n + got > cap) {
            while (n + got > cap)
                cap *= 2;
            f = realloc(f, (size_t)cap * fs * sizeof *f);
            t = realloc(t, (size_t)cap * sizeof *t);
            cr_assert(f && t);
        }
        memcpy(f + (size_t)n * fs, buf, (size_t)got * fs * sizeof *f);
        memcpy(t + n, tb, (size_t)got * sizeof *t);
        n += got;
    } while (got > 0);
    free(buf);
    free(tb);
    *frames = f;
    *times = t;
    return n;
}

/* The value of source-header key `key`, NULL when absent. */
static inline const char *km_test_header_value(const km_reader *r, const char *key)
{
    for (size_t i = 0; i < km_reader_header_count(r); i++) {
        const char *k, *v;
        km_reader_header_get(r, i, &k, &v);
        if (strcmp(k, key) == 0)
            return v;
    }
    return NULL;
}

/* b's source header starts with a's: the same keys and values, same order. */
static inline void km_test_header_starts_with(const km_reader *b, const km_reader *a)
{
    cr_assert_geq(km_reader_header_count(b), km_reader_header_count(a));
    for (size_t i = 0; i < km_reader_header_count(a); i++) {
        const char *ka, *va, *kb, *vb;
        km_reader_header_get(a, i, &ka, &va);
        km_reader_header_get(b, i, &kb, &vb);
        cr_assert_str_eq(ka, kb);
        cr_assert_str_eq(va, vb);
    }
}

/* a and b carry the same source header: same keys and values, same order. */
static inline void km_test_same_headers(const km_reader *a, const km_reader *b)
{
    cr_assert_eq(km_reader_header_count(a), km_reader_header_count(b));
    km_test_header_starts_with(b, a);
}

/* a and b read to their ends in blocks of `block` frames: `want` frames
 * each, the same frames, times and mask; both readers freed. */
static inline void km_test_same_reads(km_ctx *ctx, km_reader *a, km_reader *b, int64_t block, int64_t want)
{
    km_session_info in;
    float *fa, *fb;
    double *ta, *tb;
    km_reader_info(a, &in);
    size_t fs = (size_t)in.rows * (size_t)in.cols;
    cr_assert_eq(km_test_read_all(ctx, a, block, &fa, &ta), want, "%s", km_ctx_last_error(ctx));
    cr_assert_eq(km_test_read_all(ctx, b, block, &fb, &tb), want, "%s", km_ctx_last_error(ctx));
    cr_assert_arr_eq(fa, fb, (size_t)want * fs * sizeof(float));
    cr_assert_arr_eq(ta, tb, (size_t)want * sizeof(double));
    cr_assert_arr_eq(km_reader_mask(a), km_reader_mask(b), fs);
    free(fa);
    free(fb);
    free(ta);
    free(tb);
    km_reader_free(a);
    km_reader_free(b);
}

/* Read `path` three times, in blocks of 1, 7 and 4096 frames: each time
 * `want` frames, the same frames and times, and a read after the end
 * gives 0 frames and no error. */
static inline void km_test_block_sizes_agree(km_ctx *ctx, const char *path,
                                             const km_read_options *o, int64_t want)
{
    static const int64_t blocks[3] = {1, 7, 4096};
    float *f[3];
    double *t[3];
    size_t fs = 0;
    for (int i = 0; i < 3; i++) {
        km_reader *r = km_test_open(ctx, path, o);
        km_session_info in;
        km_reader_info(r, &in);
        fs = (size_t)in.rows * (size_t)in.cols;
        cr_assert_eq(km_test_read_all(ctx, r, blocks[i], &f[i], &t[i]), want, "%s", path);
        float *one = malloc(fs * sizeof *one);
        cr_assert_not_null(one);
        int64_t got = -1;
        cr_assert_eq(km_reader_read(ctx, r, one, NULL, 1, &got), KM_OK);
        cr_assert_eq(got, 0);
        free(one);
        km_reader_free(r);
    }
    for (int i = 1; i < 3; i++) {
        cr_assert_arr_eq(f[0], f[i], (size_t)want * fs * sizeof(float));
        cr_assert_arr_eq(t[0], t[i], (size_t)want * sizeof(double));
    }
    for (int i = 0; i < 3; i++) {
        free(f[i]);
        free(t[i]);
    }
}

/* Open `path` and read it to its end or its first error, in blocks of 8
 * frames: a bad file fails at open or at some read.  Returns the last
 * status; *format gets the format the reader chose (-1 when the open
 * failed, and then the reader must be NULL). */
static inline km_status km_test_open_and_drain(km_ctx *ctx, const char *path,
                                               const km_read_options *o, int *format)
{
    km_reader *r = NULL;
    km_status st = km_reader_open(ctx, path, o, &r);
    *format = -1;
    if (st != KM_OK) {
        cr_assert_null(r, "%s: failed open left a reader", path);
        return st;
    }
    km_session_info in;
    km_reader_info(r, &in);
    *format = (int)in.format;
    float *buf = malloc((size_t)in.rows * (size_t)in.cols * 8 * sizeof *buf);
    cr_assert_not_null(buf);
    int64_t got = 0;
    do
        st = km_reader_read(ctx, r, buf, NULL, 8, &got);
    while (st == KM_OK && got > 0);
    free(buf);
    km_reader_free(r);
    return st;
}

/* ---- tests/data/bad/EXPECTED.tsv ------------------------------------------ */

/* One line: file name, exit code, a fragment the detail must contain, and
 * an optional 4th column (e.g. "--sensor 1"); path is the file's path. */
typedef struct km_test_bad {
    char line[1024];
    char path[512];
    const char *name, *code, *frag, *extra;
} km_test_bad;

/* The next line of the open table whose file name starts with `prefix`;
 * 0 at the end. */
static inline int km_test_next_bad(FILE *f, const char *prefix, km_test_bad *b)
{
    while (fgets(b->line, sizeof b->line, f) != NULL) {
        b->name = strtok(b->line, "\t");
        b->code = strtok(NULL, "\t");
        b->frag = strtok(NULL, "\t\r\n");
        b->extra = strtok(NULL, "\r\n");
        if (b->name == NULL || b->code == NULL || b->frag == NULL ||
            strncmp(b->name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(b->path, sizeof b->path, KM_TEST_DATA "/bad/%s", b->name);
        return 1;
    }
    return 0;
}

#endif
