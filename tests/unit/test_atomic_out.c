/* src/io/atomic_out.c: the one atomic-output mechanism and the registry of
 * in-flight temporaries that km_remove_temporaries() empties. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "io/atomic_out.h"
#include "knotmap.h"
#include "test_util.h"

static char dir[64];
static km_ctx *ctx;
static km_alloc_ref ref;

static void setup(void)
{
    km_test_make_dir(dir, sizeof dir, "km-atomic-");
    cr_assert_eq(km_ctx_create(&ctx), KM_OK);
    ref = km_ctx_alloc_ref(ctx);
}

static void teardown(void)
{
    km_ctx_free(ctx);
    cr_expect_eq(km_test_remove_dir(dir), 0);
}

TestSuite(atomic_out, .init = setup, .fini = teardown);

static int n_entries(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' || strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    fputs(text, f);
    fclose(f);
}

Test(atomic_out, temporary_beside_the_target_then_renamed_with_umask_mode)
{
    char path[128];
    km_atomic_out o;
    struct stat sb;
    mode_t old = umask(027);
    snprintf(path, sizeof path, "%s/out.csv", dir);
    cr_assert_eq(km_atomic_open(ctx, &ref, path, NULL, 0, &o), KM_OK);
    umask(old);
    cr_assert(strncmp(o.tmp, dir, strlen(dir)) == 0);
    cr_assert(strstr(o.tmp, "/.out.csv.tmp-") != NULL, "%s", o.tmp);
    cr_assert_eq(write(o.fd, "abc", 3), 3);
    cr_assert_eq(stat(path, &sb), -1); /* nothing under the final name yet */
    cr_assert_eq(km_atomic_commit(ctx, &o), KM_OK);
    cr_assert_eq(stat(path, &sb), 0);
    cr_expect_eq(sb.st_size, 3);
    cr_expect_eq(sb.st_mode & 0777, 0640);
    km_atomic_discard(&o);
    cr_expect_eq(n_entries(), 1); /* no temporary left */
    unlink(path);
}

Test(atomic_out, remove_temporaries_unlinks_the_in_flight_files_only)
{
    char a[128], b[128], done[128];
    km_atomic_out oa, ob, od;
    snprintf(a, sizeof a, "%s/a.csv", dir);
    snprintf(b, sizeof b, "%s/b.csv", dir);
    snprintf(done, sizeof done, "%s/done.csv", dir);
    cr_assert_eq(km_atomic_open(ctx, &ref, done, NULL, 0, &od), KM_OK);
    cr_assert_eq(km_atomic_commit(ctx, &od), KM_OK);
    cr_assert_eq(km_atomic_open(ctx, &ref, a, NULL, 0, &oa), KM_OK);
    cr_assert_eq(km_atomic_open(ctx, &ref, b, NULL, 0, &ob), KM_OK);
    cr_assert_eq(n_entries(), 3);
    cr_expect_eq(km_remove_temporaries(), 2);
    cr_expect_eq(n_entries(), 1); /* the committed file stays */
    cr_expect_eq(access(done, F_OK), 0);
    cr_expect_eq(km_remove_temporaries(), 0);
    /* The writers whose temporaries went fail at commit, and leave nothing. */
    cr_expect_neq(km_atomic_commit(ctx, &oa), KM_OK);
    km_atomic_discard(&oa);
    km_atomic_discard(&ob);
    km_atomic_discard(&od);
    cr_expect_eq(access(a, F_OK), -1);
    cr_expect_eq(n_entries(), 1);
    /* The slots are free again: a new temporary is listed and removed. */
    cr_assert_eq(km_atomic_open(ctx, &ref, a, NULL, 0, &oa), KM_OK);
    cr_expect_eq(km_remove_temporaries(), 1);
    km_atomic_discard(&oa);
    unlink(done);
}

Test(atomic_out, without_overwrite_a_target_that_appeared_meanwhile_is_kept)
{
    char path[128], buf[16] = {0};
    km_atomic_out o;
    FILE *f;
    snprintf(path, sizeof path, "%s/t.csv", dir);
    cr_assert_eq(km_atomic_open(ctx, &ref, path, NULL, 0, &o), KM_OK);
    put(path, "theirs");
    cr_expect_eq(km_atomic_commit(ctx, &o), KM_ERR_CREATE);
    cr_expect(strstr(km_ctx_last_error(ctx), "t.csv: exists") != NULL, "%s",
              km_ctx_last_error(ctx));
    km_atomic_discard(&o);
    f = fopen(path, "r");
    cr_assert(f != NULL);
    cr_expect(fgets(buf, sizeof buf, f) != NULL);
    fclose(f);
    cr_expect_str_eq(buf, "theirs");
    cr_expect_eq(n_entries(), 1);
    unlink(path);
}

Test(atomic_out, a_file_of_another_kind_is_never_replaced)
{
    char path[128];
    km_atomic_out o;
    snprintf(path, sizeof path, "%s/r.h5", dir);
    put(path, "not hdf5");
    cr_expect_eq(km_atomic_open(ctx, &ref, path, "knotmap-result", 1, &o), KM_ERR_CREATE);
    cr_expect(strstr(km_ctx_last_error(ctx), "is not a knotmap-result file") != NULL, "%s",
              km_ctx_last_error(ctx));
    cr_expect_eq(n_entries(), 1);
    cr_expect_eq(km_atomic_open(ctx, &ref, dir, NULL, 1, &o), KM_ERR_CREATE); /* a folder */
    unlink(path);
}

Test(atomic_out, a_missing_folder_is_a_create_error)
{
    char path[160];
    km_atomic_out o;
    snprintf(path, sizeof path, "%s/no/such/x.csv", dir);
    cr_expect_eq(km_atomic_open(ctx, &ref, path, NULL, 0, &o), KM_ERR_CREATE);
    cr_expect(strstr(km_ctx_last_error(ctx), "the folder does not exist") != NULL);
    km_atomic_discard(&o); /* safe on the emptied handle */
}

/* An HDF5 file whose root attribute `schema` is `schema`. */
static void put_h5(const char *path, const char *schema)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    cr_assert(f >= 0 && t >= 0 && s >= 0 && H5Tset_size(t, strlen(schema)) >= 0);
    hid_t a = H5Acreate2(f, "schema", t, s, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(a >= 0 && H5Awrite(a, t, schema) >= 0);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    H5Fclose(f);
}

/* The commit reads an existing target's schema again only when the file
 * changed since the open checked it (the old code read it at both). */
Test(atomic_out, an_unchanged_target_is_read_once)
{
    char path[128];
    km_atomic_out o;
    snprintf(path, sizeof path, "%s/r.h5", dir);
    put_h5(path, "knotmap-test");
    unsigned long n0 = km_atomic_schema_reads();
    cr_assert_eq(km_atomic_open(ctx, &ref, path, "knotmap-test", 1, &o), KM_OK);
    cr_assert_eq(write(o.fd, "new", 3), 3);
    cr_assert_eq(km_atomic_commit(ctx, &o), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_expect_eq(km_atomic_schema_reads() - n0, 1);
    km_atomic_discard(&o);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_expect_eq(sb.st_size, 3); /* replaced */
    cr_expect_eq(n_entries(), 1);
    unlink(path);
}

/* Replaced by another file, or rewritten in place, between the open and
 * the commit: checked again, and a file of another kind is kept. */
Test(atomic_out, a_target_changed_meanwhile_is_checked_again)
{
    char path[128], other[128], buf[16];
    km_atomic_out o;
    snprintf(path, sizeof path, "%s/r.h5", dir);
    snprintf(other, sizeof other, "%s/other.txt", dir);
    for (int in_place = 0; in_place < 2; in_place++) {
        put_h5(path, "knotmap-test");
        cr_assert_eq(km_atomic_open(ctx, &ref, path, "knotmap-test", 1, &o), KM_OK);
        unsigned long n0 = km_atomic_schema_reads();
        if (in_place) {
            put(path, "theirs"); /* same inode, truncated and rewritten */
        } else {
            put(other, "theirs");
            cr_assert_eq(rename(other, path), 0);
        }
        cr_expect_eq(km_atomic_commit(ctx, &o), KM_ERR_CREATE, "case %d", in_place);
        cr_expect(strstr(km_ctx_last_error(ctx), "is not a knotmap-test file") != NULL, "%s",
                  km_ctx_last_error(ctx));
        cr_expect_eq(km_atomic_schema_reads() - n0, 1, "case %d", in_place);
        km_atomic_discard(&o);
        FILE *f = fopen(path, "r");
        cr_assert(f != NULL);
        cr_expect(fgets(buf, sizeof buf, f) != NULL);
        fclose(f);
        cr_expect_str_eq(buf, "theirs", "case %d", in_place);
        cr_expect_eq(n_entries(), 1, "case %d", in_place);
        unlink(path);
    }
}

/* Missing at the open, a knotmap file by the commit: checked, replaced. */
Test(atomic_out, a_target_that_appeared_meanwhile_is_checked)
{
    char path[128];
    km_atomic_out o;
    snprintf(path, sizeof path, "%s/r.h5", dir);
    cr_assert_eq(km_atomic_open(ctx, &ref, path, "knotmap-test", 1, &o), KM_OK);
    put_h5(path, "knotmap-test");
    unsigned long n0 = km_atomic_schema_reads();
    cr_expect_eq(km_atomic_commit(ctx, &o), KM_OK, "%s", km_ctx_last_error(ctx));
    cr_expect_eq(km_atomic_schema_reads() - n0, 1);
    km_atomic_discard(&o);
    unlink(path);
}
