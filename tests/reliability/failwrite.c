/* LD_PRELOAD shim for the disk-full tests (test_reliability_diskfull.py):
 * makes writes to files in one folder fail as a full disk or a file-size
 * limit would, after a byte budget.
 *
 *   KM_FAIL_DIR=/abs/folder   only files whose path starts with it count
 *                             (resolved through /proc/self/fd); unset: off
 *   KM_FAIL_AFTER=N           bytes that may still be written there; the
 *                             write crossing it is short, then -1
 *   KM_FAIL_ERRNO=ENOSPC|EFBIG   the error [ENOSPC]
 *   KM_FAIL_OP=create|sync|rename   instead of a budget: fail every
 *                             create (open with O_CREAT), fsync/fdatasync,
 *                             or rename into that folder
 *   KM_FAIL_REPORT=FILE       at exit, the bytes written there (counted
 *                             against KM_FAIL_AFTER) go to FILE: the
 *                             budgets of the tests are fractions of it
 *   KM_FAIL_OP=hang           fsync/fdatasync there never returns (a hung
 *                             NFS server): for the second-signal test;
 *                             it creates the file $KM_FAIL_MARK first
 *   KM_FAIL_OP=range          sync_file_range there fails with
 *                             KM_FAIL_ERRNO=EINVAL|ENOSYS|EIO (a file
 *                             system or kernel without it, a failing disk)
 *   KM_FAIL_RANGES=FILE       at exit, how many sync_file_range calls
 *                             there were on files there go to FILE
 *
 * Covered: write, pwrite, pwrite64, writev, pwritev, ftruncate (growing
 * past the budget), fallocate, posix_fallocate, fsync, fdatasync (fail once
 * a write has failed, like a file system that lost data), open/openat with
 * O_CREAT, rename, renameat, renameat2.  glibc's stdio writes through
 * internal calls that no preload sees: test stdio writers with ulimit -f.
 * Built by tests/CMakeLists.txt as build/tests/libkm_failwrite.so. */
#define _GNU_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_llong budget = -1;  /* -1: no byte budget */
static atomic_int tripped;        /* a write has failed */
static int fail_errno = ENOSPC;
static const char *fail_dir;
static size_t fail_dir_len;
static const char *fail_op = "";
static long long budget0 = -1;    /* the budget at start */

__attribute__((constructor)) static void init(void)
{
    const char *d = getenv("KM_FAIL_DIR"), *n = getenv("KM_FAIL_AFTER");
    const char *e = getenv("KM_FAIL_ERRNO"), *op = getenv("KM_FAIL_OP");
    if (d == NULL || d[0] == '\0')
        return;
    fail_dir = d;
    fail_dir_len = strlen(d);
    if (n != NULL && n[0] != '\0')
        atomic_store(&budget, budget0 = strtoll(n, NULL, 10));
    if (e != NULL && strcmp(e, "EFBIG") == 0)
        fail_errno = EFBIG;
    else if (e != NULL && strcmp(e, "EINVAL") == 0)
        fail_errno = EINVAL;
    else if (e != NULL && strcmp(e, "ENOSYS") == 0)
        fail_errno = ENOSYS;
    else if (e != NULL && strcmp(e, "EIO") == 0)
        fail_errno = EIO;
    if (op != NULL)
        fail_op = op;
}

static atomic_int ranges; /* sync_file_range calls on files in the folder */

__attribute__((destructor)) static void report(void)
{
    const char *r = getenv("KM_FAIL_REPORT"), *g = getenv("KM_FAIL_RANGES");
    FILE *f;
    if (g != NULL && g[0] != '\0' && fail_dir != NULL && (f = fopen(g, "w")) != NULL) {
        fprintf(f, "%d\n", atomic_load(&ranges));
        fclose(f);
    }
    if (r == NULL || r[0] == '\0' || budget0 < 0 || (f = fopen(r, "w")) == NULL)
        return;
    fprintf(f, "%lld\n", budget0 - atomic_load(&budget));
    fclose(f);
}

static int path_in_dir(const char *p)
{
    return fail_dir != NULL && p != NULL && strncmp(p, fail_dir, fail_dir_len) == 0;
}

/* Resolve a possibly relative path of a file that may not exist yet by its folder. */
static int new_path_in_dir(int dirfd, const char *p)
{
    char buf[PATH_MAX * 2], dir[PATH_MAX];
    if (fail_dir == NULL || p == NULL)
        return 0;
    if (p[0] == '/')
        return path_in_dir(p);
    if (dirfd == AT_FDCWD) {
        if (getcwd(dir, sizeof dir) == NULL)
            return 0;
    } else {
        char link[64];
        ssize_t k;
        snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
        k = readlink(link, dir, sizeof dir - 1);
        if (k < 0)
            return 0;
        dir[k] = '\0';
    }
    snprintf(buf, sizeof buf, "%s/%s", dir, p);
    return path_in_dir(buf);
}

static int fd_in_dir(int fd)
{
    char link[64], buf[PATH_MAX];
    ssize_t k;
    if (fail_dir == NULL)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    k = readlink(link, buf, sizeof buf - 1);
    if (k < 0)
        return 0;
    buf[k] = '\0';
    return path_in_dir(buf);
}

/* How many of n bytes may be written to fd: n, fewer (short write), or -1
 * with errno set. */
static ssize_t allowance(int fd, size_t n)
{
    long long left;
    if (n == 0 || !fd_in_dir(fd) || atomic_load(&budget) < 0)
        return (ssize_t)n;
    left = atomic_load(&budget);
    while (1) {
        long long take = (long long)n < left ? (long long)n : left;
        if (take <= 0) {
            atomic_store(&tripped, 1);
            errno = fail_errno;
            return -1;
        }
        if (atomic_compare_exchange_weak(&budget, &left, left - take))
            return (ssize_t)take;
    }
}

#define REAL(name) \
    static __typeof__(name) *real_##name; \
    if (real_##name == NULL) \
        *(void **)&real_##name = dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write);
    ssize_t k = allowance(fd, n);
    return k < 0 ? -1 : real_write(fd, buf, (size_t)k);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite);
    ssize_t k = allowance(fd, n);
    return k < 0 ? -1 : real_pwrite(fd, buf, (size_t)k, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    REAL(pwrite64);
    ssize_t k = allowance(fd, n);
    return k < 0 ? -1 : real_pwrite64(fd, buf, (size_t)k, off);
}

static size_t iov_bytes(const struct iovec *iov, int cnt)
{
    size_t s = 0;
    for (int i = 0; i < cnt; i++)
        s += iov[i].iov_len;
    return s;
}

/* A vector write is all or nothing here (no short vector writes). */
ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev);
    size_t n = iov_bytes(iov, cnt);
    ssize_t k = allowance(fd, n);
    if (k >= 0 && (size_t)k < n) {
        atomic_fetch_add(&budget, k);
        errno = fail_errno;
        atomic_store(&tripped, 1);
        return -1;
    }
    return k < 0 ? -1 : real_writev(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REAL(pwritev);
    size_t n = iov_bytes(iov, cnt);
    ssize_t k = allowance(fd, n);
    if (k >= 0 && (size_t)k < n) {
        atomic_fetch_add(&budget, k);
        errno = fail_errno;
        atomic_store(&tripped, 1);
        return -1;
    }
    return k < 0 ? -1 : real_pwritev(fd, iov, cnt, off);
}

/* Growing a file takes space too (HDF5 sets the file's end at close). */
static int grow_ok(int fd, off_t len)
{
    struct stat sb;
    if (!fd_in_dir(fd) || atomic_load(&budget) < 0 || fstat(fd, &sb) != 0 || len <= sb.st_size)
        return 1;
    return allowance(fd, (size_t)(len - sb.st_size)) == (ssize_t)(len - sb.st_size);
}

int ftruncate(int fd, off_t len)
{
    REAL(ftruncate);
    if (!grow_ok(fd, len)) {
        errno = fail_errno;
        atomic_store(&tripped, 1);
        return -1;
    }
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
    REAL(ftruncate64);
    if (!grow_ok(fd, (off_t)len)) {
        errno = fail_errno;
        atomic_store(&tripped, 1);
        return -1;
    }
    return real_ftruncate64(fd, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    REAL(fallocate);
    if (!grow_ok(fd, off + len)) {
        errno = fail_errno;
        return -1;
    }
    return real_fallocate(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    REAL(posix_fallocate);
    if (!grow_ok(fd, off + len))
        return fail_errno;
    return real_posix_fallocate(fd, off, len);
}

static int sync_fails(int fd)
{
    if (!fd_in_dir(fd))
        return 0;
    if (strcmp(fail_op, "hang") == 0) {
        const char *mark = getenv("KM_FAIL_MARK");
        if (mark != NULL)
            close(open(mark, O_WRONLY | O_CREAT, 0644));
        for (;;)
            pause();
    }
    if (strcmp(fail_op, "sync") == 0 || atomic_load(&tripped)) {
        errno = fail_errno;
        return 1;
    }
    return 0;
}

int fsync(int fd)
{
    REAL(fsync);
    return sync_fails(fd) ? -1 : real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    return sync_fails(fd) ? -1 : real_fdatasync(fd);
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags)
{
    REAL(sync_file_range);
    if (fd_in_dir(fd)) {
        atomic_fetch_add(&ranges, 1);
        if (strcmp(fail_op, "range") == 0) {
            errno = fail_errno;
            return -1;
        }
    }
    return real_sync_file_range(fd, off, n, flags);
}

static int create_fails(int dirfd, const char *p, int flags)
{
    if ((flags & O_CREAT) && strcmp(fail_op, "create") == 0 && new_path_in_dir(dirfd, p)) {
        errno = fail_errno;
        return 1;
    }
    return 0;
}

int open(const char *p, int flags, ...)
{
    REAL(open);
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (create_fails(AT_FDCWD, p, flags))
        return -1;
    return real_open(p, flags, mode);
}

int open64(const char *p, int flags, ...)
{
    REAL(open64);
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (create_fails(AT_FDCWD, p, flags))
        return -1;
    return real_open64(p, flags, mode);
}

int openat(int dirfd, const char *p, int flags, ...)
{
    REAL(openat);
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (create_fails(dirfd, p, flags))
        return -1;
    return real_openat(dirfd, p, flags, mode);
}

static int rename_fails(int dirfd, const char *to)
{
    if (strcmp(fail_op, "rename") == 0 && new_path_in_dir(dirfd, to)) {
        errno = fail_errno;
        return 1;
    }
    return 0;
}

int rename(const char *from, const char *to)
{
    REAL(rename);
    return rename_fails(AT_FDCWD, to) ? -1 : real_rename(from, to);
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
    REAL(renameat);
    return rename_fails(fd2, to) ? -1 : real_renameat(fd1, from, fd2, to);
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned flags)
{
    REAL(renameat2);
    return rename_fails(fd2, to) ? -1 : real_renameat2(fd1, from, fd2, to, flags);
}

int link(const char *from, const char *to)
{
    REAL(link);
    return rename_fails(AT_FDCWD, to) ? -1 : real_link(from, to);
}
