/* The knotmap HDF5 file driver for writing (see h5_vfd.h). */
#define _GNU_SOURCE /* pread/pwrite, flock */

#include "h5_vfd_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define KM_VFD_MAXADDR (((haddr_t)1 << (8 * sizeof(off_t) - 1)) - 1)

/* Raw data (chunks) written since the last writeback hint: once this much,
   its write-out to the disk is started (early_writeback). */
#define KM_VFD_WRITEBACK_BYTES ((haddr_t)256 << 10)
/* At most this much raw data kept for km_h5_io_flush_raw (h5_vfd.h 4.). */
#define KM_VFD_KEEP_BYTES ((size_t)4 << 20)

typedef struct vfd_fapl {
    km_h5_io *io;
} vfd_fapl;


typedef struct kept_rec {
    haddr_t addr;
    size_t size;
} kept_rec;


static _Thread_local int tls_errno;

int km_h5_vfd_take_errno(void)
{
    int e = tls_errno;
    tls_errno = 0;
    return e;
}

static void push_error(H5E_minor_t minor, const char *what, int e)
{
    H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_VFL, minor, "%s: %s",
             what, strerror(e));
}

/* A failed write, truncate or close: 0 when it may be dropped (closing),
 * -1 when HDF5 must see it. */
herr_t vfd_io_failed(vfd_file *f, H5E_minor_t minor, const char *what, int e)
{
    if (f->io != NULL && f->io->err == 0)
        f->io->err = e;
    tls_errno = e;
    if (f->io != NULL && f->io->closing)
        return 0;
    push_error(minor, what, e);
    return -1;
}

static H5FD_t *vfd_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    const vfd_fapl *fa = H5Pget_driver_info(fapl);
    int oflags = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
    struct stat sb;
    vfd_file *f;
    int fd;

    if (name == NULL || maxaddr == 0 || maxaddr > KM_VFD_MAXADDR) {
        push_error(H5E_BADVALUE, "bad file name or address space", EINVAL);
        return NULL;
    }
    oflags |= (flags & H5F_ACC_TRUNC) ? O_TRUNC : 0;
    oflags |= (flags & H5F_ACC_CREAT) ? O_CREAT : 0;
    oflags |= (flags & H5F_ACC_EXCL) ? O_EXCL : 0;
    fd = open(name, oflags | O_CLOEXEC, 0666);
    if (fd < 0) {
        push_error(H5E_CANTOPENFILE, "cannot open the file", errno);
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || (f = calloc(1, sizeof *f)) == NULL) {
        push_error(H5E_CANTOPENFILE, "cannot open the file", errno != 0 ? errno : ENOMEM);
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->eof = (haddr_t)sb.st_size;
    atomic_init(&f->disk_end, f->eof);
    f->dev = sb.st_dev;
    f->ino = sb.st_ino;
    f->io = fa != NULL ? fa->io : NULL;
    pthread_mutex_init(&f->kept_m, NULL);
    if (f->io != NULL)
        f->io->vf = f;
    return &f->pub;
}

static herr_t vfd_close(H5FD_t *file)
{
    vfd_file *f = (vfd_file *)file;
    herr_t rc = vfd_settle(f, 0, 0, 1);
    if (f->n_held > 0 && rc == 0 && f->io->closing && !f->io->image_held) {
        /* Written by km_h5_io_finish, after HDF5's lock is released. */
        f->io->image_held = 1;
        f->io->image_fd = f->fd;
        f->io->image_pages = f->pg;
        f->io->image_slots = f->pg_cap;
        f->io->image_eof = (uint64_t)f->eof;
        f->io->vf = NULL;
        pthread_mutex_destroy(&f->kept_m);
        free(f->kept);
        free(f);
        return 0;
    }
    if (f->img_on && rc == 0)
        rc = vfd_image_spill(f);
    vfd_image_free(f);
    if (close(f->fd) != 0 && rc == 0)
        rc = vfd_io_failed(f, H5E_CANTCLOSEFILE, "cannot close the file", errno);
    if (f->io != NULL)
        f->io->vf = NULL;
    pthread_mutex_destroy(&f->kept_m);
    free(f->kept);
    free(f);
    return rc;
}

static int vfd_cmp(const H5FD_t *a, const H5FD_t *b)
{
    const vfd_file *x = (const vfd_file *)a, *y = (const vfd_file *)b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

/* The flags of HDF5's sec2 driver: the library lays the file out the same. */
static herr_t vfd_query(const H5FD_t *file, unsigned long *flags)
{
    (void)file;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_POSIX_COMPAT_HANDLE |
             H5FD_FEAT_SUPPORTS_SWMR_IO | H5FD_FEAT_DEFAULT_VFD_COMPATIBLE;
    return 0;
}

static haddr_t vfd_get_eoa(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const vfd_file *)file)->eoa;
}

static herr_t vfd_set_eoa(H5FD_t *file, H5FD_mem_t type, haddr_t addr)
{
    (void)type;
    ((vfd_file *)file)->eoa = addr;
    return 0;
}

static haddr_t vfd_get_eof(const H5FD_t *file, H5FD_mem_t type)
{
    (void)type;
    return ((const vfd_file *)file)->eof;
}

static herr_t vfd_get_handle(H5FD_t *file, hid_t fapl, void **handle)
{
    (void)fapl;
    *handle = &((vfd_file *)file)->fd;
    return 0;
}

/* size bytes at addr from the file on disk (what is kept written first). */
herr_t vfd_read_file(vfd_file *f, haddr_t addr, size_t size, unsigned char *p)
{
    if (vfd_settle(f, addr, addr + size, 0) < 0)
        return -1;
    while (size > 0) {
        ssize_t n = pread(f->fd, p, size, (off_t)addr);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            push_error(H5E_READERROR, "read failed", errno);
            return -1;
        }
        if (n == 0) { /* past the end of the file: zeros, as sec2 does */
            memset(p, 0, size);
            break;
        }
        p += n;
        addr += (haddr_t)n;
        size -= (size_t)n;
    }
    return 0;
}

static herr_t vfd_read(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                       void *buf)
{
    vfd_file *f = (vfd_file *)file;
    unsigned char *p = buf;
    (void)type;
    (void)dxpl;
    if (addr > KM_VFD_MAXADDR || size > KM_VFD_MAXADDR - addr) {
        push_error(H5E_OVERFLOW, "read beyond the address space", EINVAL);
        return -1;
    }
    if (f->n_held == 0)
        return vfd_read_file(f, addr, size, p);
    /* Held pages copied, the runs between them read from the file. */
    while (size > 0) {
        size_t in = IMG_PAGE - (size_t)(addr % IMG_PAGE), n = 0;
        const unsigned char *pg = vfd_held(f, addr);
        if (pg != NULL) {
            n = in < size ? in : size;
            memcpy(p, pg + addr % IMG_PAGE, n);
        } else {
            for (n = in < size ? in : size; n < size && vfd_held(f, addr + n) == NULL;)
                n += size - n < IMG_PAGE ? size - n : IMG_PAGE;
            if (vfd_read_file(f, addr, n, p) < 0)
                return -1;
        }
        p += n;
        addr += (haddr_t)n;
        size -= n;
    }
    return 0;
}

/* Start the write-out of raw data written so far (chunks are written once and
 * never rewritten), so that the fsync at commit finds little left to write:
 * the disk works while the session is still being written.  Files whose
 * io asks for it only (h5_vfd.h 3.: sessions, not results).  Only a hint:
 * SYNC_FILE_RANGE_WRITE neither waits nor consumes a write-back error (the
 * fsync at commit still sees every one), and when the call fails (EINVAL,
 * ENOSYS, ESPIPE on file systems and kernels without it, or anything else)
 * the file just goes on without hints and the fsync does all the work. */
static void early_writeback(vfd_file *f, H5FD_mem_t type, haddr_t addr, haddr_t end)
{
    if (type != H5FD_MEM_DRAW || f->wb_off || f->io == NULL || !f->io->write_out)
        return;
    if (f->wb_hi <= f->wb_lo) {
        f->wb_lo = addr;
        f->wb_hi = end;
    } else {
        f->wb_lo = addr < f->wb_lo ? addr : f->wb_lo;
        f->wb_hi = end > f->wb_hi ? end : f->wb_hi;
    }
    if (f->wb_hi - f->wb_lo < KM_VFD_WRITEBACK_BYTES)
        return;
#ifdef SYNC_FILE_RANGE_WRITE
    if (sync_file_range(f->fd, (off_t)f->wb_lo, (off_t)(f->wb_hi - f->wb_lo),
                        SYNC_FILE_RANGE_WRITE) != 0)
        f->wb_off = 1;
#else
    f->wb_off = 1;
#endif
    f->wb_lo = f->wb_hi = 0;
}

/* size bytes at addr, then the write-out hint (3.); the end of file is the
 * caller's to move. */
static herr_t write_at(vfd_file *f, H5FD_mem_t type, haddr_t addr, const void *buf, size_t size)
{
    const unsigned char *p = buf;
    haddr_t start = addr, end = addr + size;
    /* After a failure while closing, nothing more reaches the file: it is removed anyway. */
    if (f->io != NULL && f->io->closing && f->io->err != 0)
        size = 0;
    while (size > 0) {
        ssize_t n = pwrite(f->fd, p, size, (off_t)addr);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return vfd_io_failed(f, H5E_WRITEERROR, "write failed", n < 0 ? errno : EIO);
        p += n;
        addr += (haddr_t)n;
        size -= (size_t)n;
    }
    if (addr == end) { /* written (not dropped after a failure) */
        haddr_t had = atomic_load(&f->disk_end);
        while (had < end && !atomic_compare_exchange_weak(&f->disk_end, &had, end))
            ;
        early_writeback(f, type, start, end);
    }
    return 0;
}

/* The kept raw data written, in the order kept (kept_m held); after a
 * failure the rest is dropped (the writer fails the file). */
static herr_t write_kept(vfd_file *f)
{
    herr_t rc = 0;
    for (size_t at = 0; at < f->kept_len;) {
        kept_rec r;
        memcpy(&r, f->kept + at, sizeof r);
        at += sizeof r;
        if (rc == 0)
            rc = write_at(f, H5FD_MEM_DRAW, r.addr, f->kept + at, r.size);
        at += (r.size + 7) & ~(size_t)7;
    }
    f->kept_len = 0;
    f->kept_lo = f->kept_hi = 0;
    return rc;
}

static int keeps(const vfd_file *f)
{
    return f->io != NULL && f->io->defer_raw;
}

/* What is kept written first when [addr, end) overlaps it (any: in all
 * cases): before HDF5 reads, truncates, closes or writes there. */
herr_t vfd_settle(vfd_file *f, haddr_t addr, haddr_t end, int any)
{
    herr_t rc = 0;
    if (!keeps(f))
        return 0;
    pthread_mutex_lock(&f->kept_m);
    if (f->kept_len > 0 && (any || (addr < f->kept_hi && end > f->kept_lo)))
        rc = write_kept(f);
    pthread_mutex_unlock(&f->kept_m);
    return rc;
}

/* Keep raw data for km_h5_io_flush_raw; written at once when it cannot be
 * kept (no memory), and what is kept first when it would pass
 * KM_VFD_KEEP_BYTES (raw data written by H5Dwrite, which no flush follows). */
static herr_t keep(vfd_file *f, haddr_t addr, const void *buf, size_t size)
{
    size_t need = sizeof(kept_rec) + ((size + 7) & ~(size_t)7);
    herr_t rc = 0;
    pthread_mutex_lock(&f->kept_m);
    if (f->kept_len > 0 && ((addr < f->kept_hi && addr + size > f->kept_lo) ||
                            f->kept_len + need > KM_VFD_KEEP_BYTES))
        rc = write_kept(f);
    if (rc == 0 && need > KM_VFD_KEEP_BYTES) {
        rc = write_at(f, H5FD_MEM_DRAW, addr, buf, size);
        pthread_mutex_unlock(&f->kept_m);
        return rc;
    }
    if (rc == 0 && f->kept_len + need > f->kept_cap) {
        size_t cap = f->kept_cap > 0 ? f->kept_cap : (size_t)1 << 16;
        while (cap < f->kept_len + need)
            cap *= 2;
        unsigned char *p = realloc(f->kept, cap);
        if (p != NULL) {
            f->kept = p;
            f->kept_cap = cap;
        }
    }
    if (rc == 0 && f->kept_len + need > f->kept_cap) {
        rc = write_kept(f);
        if (rc == 0)
            rc = write_at(f, H5FD_MEM_DRAW, addr, buf, size);
    } else if (rc == 0) {
        kept_rec r = {addr, size};
        memcpy(f->kept + f->kept_len, &r, sizeof r);
        memcpy(f->kept + f->kept_len + sizeof r, buf, size);
        f->kept_lo = f->kept_len == 0 || addr < f->kept_lo ? addr : f->kept_lo;
        f->kept_hi = addr + size > f->kept_hi ? addr + size : f->kept_hi;
        f->kept_len += need;
    }
    pthread_mutex_unlock(&f->kept_m);
    return rc;
}

int km_h5_io_flush_raw(km_h5_io *io)
{
    vfd_file *f = io != NULL ? io->vf : NULL;
    return f == NULL ? 0 : vfd_settle(f, 0, 0, 1) < 0 ? -1 : 0;
}

static herr_t vfd_write(H5FD_t *file, H5FD_mem_t type, hid_t dxpl, haddr_t addr, size_t size,
                        const void *buf)
{
    vfd_file *f = (vfd_file *)file;
    (void)dxpl;
    if (addr > KM_VFD_MAXADDR || size > KM_VFD_MAXADDR - addr) {
        push_error(H5E_OVERFLOW, "write beyond the address space", EINVAL);
        return -1;
    }
    haddr_t end = addr + size;
    herr_t rc;
    /* Metadata and small raw data (axes, maps of small grids) held; chunks
       written, their last page held (vfd_image_through). */
    int small = type != H5FD_MEM_DRAW || size < IMG_PAGE;
    haddr_t old_eof = f->eof;
    int in_image = small && vfd_image_on(f) ? vfd_image_write(f, addr, buf, size) : 0;
    if (in_image != 0)
        rc = in_image < 0 ? -1 : 0;
    else if (type == H5FD_MEM_DRAW && keeps(f) && !f->io->closing)
        rc = keep(f, addr, buf, size);
    else if ((rc = vfd_settle(f, addr, end, 0)) == 0)
        rc = write_at(f, type, addr, buf, size);
    if (rc == 0 && in_image == 0 && f->img_on)
        vfd_image_through(f, addr, buf, size, old_eof);
    if (rc == 0 && end > f->eof)
        f->eof = end;
    return rc;
}

static herr_t vfd_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    vfd_file *f = (vfd_file *)file;
    (void)dxpl;
    (void)closing;
    if (vfd_settle(f, 0, 0, 1) < 0)
        return -1;
    if (f->eoa == f->eof)
        return 0;
    if (f->io != NULL && f->io->closing && f->io->err != 0)
        return 0;
    if (ftruncate(f->fd, (off_t)f->eoa) != 0)
        return vfd_io_failed(f, H5E_SEEKERROR, "cannot set the file size", errno);
    f->eof = f->eoa;
    atomic_store(&f->disk_end, f->eoa);
    vfd_image_truncated(f);
    return 0;
}

static herr_t vfd_lock(H5FD_t *file, hbool_t rw)
{
    vfd_file *f = (vfd_file *)file;
    if (flock(f->fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 && errno != ENOSYS) {
        push_error(H5E_CANTLOCKFILE, "cannot lock the file", errno);
        return -1;
    }
    return 0;
}

static herr_t vfd_unlock(H5FD_t *file)
{
    vfd_file *f = (vfd_file *)file;
    if (flock(f->fd, LOCK_UN) != 0 && errno != ENOSYS) {
        push_error(H5E_CANTUNLOCKFILE, "cannot unlock the file", errno);
        return -1;
    }
    return 0;
}

static const H5FD_class_t vfd_class = {
    .name = "knotmap",
    .maxaddr = KM_VFD_MAXADDR,
    .fc_degree = H5F_CLOSE_WEAK,
    .fapl_size = sizeof(vfd_fapl),
    .open = vfd_open,
    .close = vfd_close,
    .cmp = vfd_cmp,
    .query = vfd_query,
    .get_eoa = vfd_get_eoa,
    .set_eoa = vfd_set_eoa,
    .get_eof = vfd_get_eof,
    .get_handle = vfd_get_handle,
    .read = vfd_read,
    .write = vfd_write,
    .truncate = vfd_truncate,
    .lock = vfd_lock,
    .unlock = vfd_unlock,
    .fl_map = H5FD_FLMAP_DICHOTOMY,
};

static pthread_mutex_t vfd_lock_m = PTHREAD_MUTEX_INITIALIZER;
static hid_t vfd_id = H5I_INVALID_HID;

/* The driver's ID, registered again if the library was closed and reopened. */
static hid_t vfd_driver(void)
{
    hid_t id;
    pthread_mutex_lock(&vfd_lock_m);
    if (vfd_id < 0 || H5Iis_valid(vfd_id) <= 0)
        vfd_id = H5FDregister(&vfd_class);
    id = vfd_id;
    pthread_mutex_unlock(&vfd_lock_m);
    return id;
}

hid_t km_h5_write_fapl(km_h5_io *io)
{
    vfd_fapl fa = {io};
    tls_errno = 0;
    hid_t driver = vfd_driver();
    hid_t fapl = driver >= 0 ? H5Pcreate(H5P_FILE_ACCESS) : H5I_INVALID_HID;
    if (fapl >= 0 && H5Pset_driver(fapl, driver, &fa) < 0) {
        H5Pclose(fapl);
        fapl = H5I_INVALID_HID;
    }
    return fapl;
}
