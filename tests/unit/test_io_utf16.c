/* UTF-16 text read through a UTF-8 copy: km_utf16_to_utf8 against hand-made
 * UTF-8 (1-, 2-, 3- and 4-byte characters), split at every byte, into small
 * buffers, in both byte orders, and its refusals (unpaired surrogates). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "knotmap.h"
#include "io/text_scan.h"

/* "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z": a, e-acute, euro sign, U+1F600, z */
static const unsigned units[] = {0x61, 0xE9, 0x20AC, 0xD83D, 0xDE00, 0x7A};
static const char want[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";

static size_t encode(unsigned char *p, const unsigned *u, size_t n, int big)
{
    for (size_t i = 0; i < n; i++) {
        p[2 * i + (big ? 0 : 1)] = (unsigned char)(u[i] >> 8);
        p[2 * i + (big ? 1 : 0)] = (unsigned char)(u[i] & 0xFF);
    }
    return 2 * n;
}

Test(utf16, every_width_both_orders)
{
    for (int big = 0; big <= 1; big++) {
        unsigned char src[32];
        char out[64];
        unsigned hi = 0;
        size_t used = 0, n = encode(src, units, 6, big);
        size_t m = km_utf16_to_utf8(src, n, big, &hi, out, sizeof out, &used);
        cr_assert_eq(m, strlen(want));
        cr_assert_eq(used, n);
        cr_assert_eq(hi, 0u);
        cr_assert_eq(memcmp(out, want, m), 0);
    }
}

/* Split at every byte (an odd byte and a high surrogate carried over), the
   pieces give the whole. */
Test(utf16, split_anywhere)
{
    unsigned char src[32];
    size_t n = encode(src, units, 6, 0);
    for (size_t cut = 0; cut <= n; cut++) {
        char out[64];
        unsigned hi = 0;
        size_t used = 0, m = km_utf16_to_utf8(src, cut, 0, &hi, out, sizeof out, &used);
        cr_assert_neq(m, (size_t)-1);
        cr_assert_eq(used, cut & ~(size_t)1, "cut %zu", cut);
        size_t used2 = 0, m2 = km_utf16_to_utf8(src + used, n - used, 0, &hi, out + m, sizeof out - m, &used2);
        cr_assert_neq(m2, (size_t)-1);
        cr_assert_eq(m + m2, strlen(want), "cut %zu", cut);
        cr_assert_eq(memcmp(out, want, m + m2), 0, "cut %zu", cut);
    }
}

/* A small buffer stops early without splitting a character; resuming at
   `used` gives the rest. */
Test(utf16, small_buffer_resumes)
{
    unsigned char src[32];
    size_t n = encode(src, units, 6, 1), at = 0, m = 0;
    char out[64];
    unsigned hi = 0;
    while (at < n) {
        size_t used = 0, k = km_utf16_to_utf8(src + at, n - at, 1, &hi, out + m, 5, &used);
        cr_assert_neq(k, (size_t)-1);
        cr_assert(used > 0);
        at += used;
        m += k;
    }
    cr_assert_eq(m, strlen(want));
    cr_assert_eq(memcmp(out, want, m), 0);
}

Test(utf16, unpaired_surrogates_refused)
{
    static const unsigned lone_low[] = {0x61, 0xDC00, 0x62};
    static const unsigned high_then_char[] = {0xD800, 0x62};
    unsigned char src[16];
    char out[32];
    unsigned hi = 0;
    size_t used;
    cr_assert_eq(km_utf16_to_utf8(src, encode(src, lone_low, 3, 0), 0, &hi, out, sizeof out, &used), (size_t)-1);
    hi = 0;
    cr_assert_eq(km_utf16_to_utf8(src, encode(src, high_then_char, 2, 1), 1, &hi, out, sizeof out, &used),
                 (size_t)-1);
}

Test(utf16, names_and_marks)
{
    static const unsigned char le_bom[] = {0xFF, 0xFE, '1', 0}, be_bom[] = {0xFE, 0xFF, 0, '1'};
    static const unsigned char le[] = {'1', 0, ',', 0}, be[] = {0, '1', 0, ','}, ascii[] = "1,2,";
    cr_assert_str_eq(km_utf16_name(le_bom, 4), "UTF-16LE");
    cr_assert_str_eq(km_utf16_name(be_bom, 4), "UTF-16BE");
    cr_assert_str_eq(km_utf16_name(le, 4), "UTF-16LE");
    cr_assert_str_eq(km_utf16_name(be, 4), "UTF-16BE");
    cr_assert_null(km_utf16_name(ascii, 4));
    cr_assert_eq(km_utf16_has_bom(le_bom, 4), 1);
    cr_assert_eq(km_utf16_has_bom(le, 4), 0);
}

/* The whole reader: a UTF-16 text matrix reads as its values, in a private
   TMPDIR left empty (the copy is unlinked at once); a cancelled context stops
   the copy with KM_ERR_CANCELLED, nothing left behind either. */
static void write_utf16_matrix(const char *path)
{
    FILE *f = fopen(path, "wb");
    const char *text = "1,2,3\n4,5,6\n";
    cr_assert_not_null(f);
    fputc(0xFF, f);
    fputc(0xFE, f);
    for (const char *p = text; *p != '\0'; p++) {
        fputc(*p, f);
        fputc(0, f);
    }
    cr_assert_eq(fclose(f), 0);
}

static int dir_is_empty(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    return system(cmd) == 0;
}

Test(utf16, reader_reads_and_cancels)
{
    char dir[] = "/tmp/km-utf16-XXXXXX", tmp[300], path[300];
    km_ctx *ctx;
    km_reader *r = NULL;
    km_session_info in;
    float frame[6];
    int64_t got = 0;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    snprintf(path, sizeof path, "%s/m.txt", dir);
    cr_assert_eq(mkdir(tmp, 0700), 0);
    cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);
    write_utf16_matrix(path);
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);

    km_read_options opt;
    km_read_options_default(&opt);
    opt.text_frame_per_file = 0; /* a frame per line, of 1 x 3 */
    opt.rows = 1;
    opt.cols = 3;
    cr_assert_eq(km_reader_open(ctx, path, &opt, &r), KM_OK, "%s", km_ctx_last_error(ctx));
    km_reader_info(r, &in);
    cr_assert_eq(in.rows * in.cols, 3);
    cr_assert_eq(km_reader_read(ctx, r, frame, NULL, 2, &got), KM_OK);
    cr_assert_eq(got, 2);
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(frame[i], (float)(i + 1), 0);
    km_reader_free(r);
    cr_assert(dir_is_empty(tmp));

    km_ctx_cancel(ctx);
    r = NULL;
    cr_assert_eq(km_reader_open(ctx, path, &opt, &r), KM_ERR_CANCELLED);
    cr_assert_null(r);
    cr_assert(dir_is_empty(tmp));
    km_ctx_free(ctx);
    unsetenv("TMPDIR");
    remove(path);
    rmdir(tmp);
    rmdir(dir);
}
