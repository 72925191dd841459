/* The metadata image of knotmap's HDF5 file driver (h5_vfd.h 5.). */
#define _GNU_SOURCE /* pwritev */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "h5_vfd_internal.h"

int vfd_image_on(vfd_file *f)
{
    if (!f->img_on && !f->img_done && f->io != NULL && f->io->image_max > 0)
        f->img_on = 1;
    return f->img_on;
}

/* The page holding addr, held from here on: 1, or 0 when it may not be
 * (io->image_max, no memory), -1 on a failed read.  A new page is read
 * from the file (what is kept written first) where the file has bytes,
 * unless `fresh` (the caller knows it: zeros but what it copies in). */
static int page_hold(vfd_file *f, haddr_t addr, int fresh, unsigned char **out)
{
    size_t i = (size_t)(addr / IMG_PAGE);
    haddr_t lo = (haddr_t)i * IMG_PAGE;
    if ((*out = vfd_held(f, addr)) != NULL)
        return 1;
    if ((f->n_held + 1) * IMG_PAGE > f->io->image_max)
        return 0;
    if (i >= f->pg_cap) {
        size_t cap = f->pg_cap > 0 ? f->pg_cap : 256;
        while (cap <= i)
            cap *= 2;
        unsigned char **p = realloc(f->pg, cap * sizeof *p);
        if (p == NULL)
            return 0;
        memset(p + f->pg_cap, 0, (cap - f->pg_cap) * sizeof *p);
        f->pg = p;
        f->pg_cap = cap;
    }
    unsigned char *b = malloc(IMG_PAGE);
    if (b == NULL)
        return 0;
    if (!fresh && lo < f->eof && vfd_settle(f, lo, lo + IMG_PAGE, 0) < 0) {
        free(b);
        return -1;
    }
    haddr_t disk = !fresh && lo < f->eof ? atomic_load(&f->disk_end) : 0;
    size_t have = disk <= lo ? 0 : disk - lo < IMG_PAGE ? (size_t)(disk - lo) : IMG_PAGE;
    if (have > 0 && vfd_read_file(f, lo, have, b) < 0) {
        free(b);
        return -1;
    }
    memset(b + have, 0, IMG_PAGE - have); /* never written: zeros, as the file reads */
    f->pg[i] = *out = b;
    f->n_held++;
    return 1;
}

void vfd_image_free(vfd_file *f)
{
    for (size_t i = 0; i < f->pg_cap; i++)
        free(f->pg[i]);
    free(f->pg);
    f->pg = NULL;
    f->pg_cap = f->n_held = 0;
}

/* The held pages written to fd, each run of neighbours in one call, the
 * last one cut at eof; 0 or an errno. */
static int write_pages(int fd, unsigned char *const *pg, size_t slots, uint64_t eof)
{
    struct iovec iov[64];
    for (size_t i = 0; i < slots;) {
        if (pg[i] == NULL || (uint64_t)i * IMG_PAGE >= eof) {
            i++;
            continue;
        }
        uint64_t lo = (uint64_t)i * IMG_PAGE, hi = lo;
        int n = 0;
        for (; i < slots && pg[i] != NULL && n < 64 && hi < eof; i++, n++) {
            iov[n].iov_base = pg[i];
            iov[n].iov_len = eof - hi < IMG_PAGE ? (size_t)(eof - hi) : IMG_PAGE;
            hi += iov[n].iov_len;
        }
        for (int k = 0; k < n;) { /* a short write goes on where it stopped */
            ssize_t w = pwritev(fd, iov + k, n - k, (off_t)lo);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return w < 0 ? errno : EIO;
            size_t left = (size_t)w;
            lo += (uint64_t)w;
            for (; k < n && left >= iov[k].iov_len; k++)
                left -= iov[k].iov_len;
            if (k < n) {
                iov[k].iov_base = (unsigned char *)iov[k].iov_base + left;
                iov[k].iov_len -= left;
            }
        }
    }
    return 0;
}

/* The held pages written to the file and the image given up: the file is
 * written directly from here on.  What is kept goes first: a page may
 * hold newer bytes where kept data lies. */
herr_t vfd_image_spill(vfd_file *f)
{
    herr_t rc = vfd_settle(f, 0, 0, 1);
    int e = rc < 0 || (f->io->closing && f->io->err != 0)
                ? 0
                : write_pages(f->fd, f->pg, f->pg_cap, f->eof);
    if (e != 0)
        rc = vfd_io_failed(f, H5E_WRITEERROR, "write failed", e);
    vfd_image_free(f);
    f->img_on = 0;
    f->img_done = 1;
    return rc;
}

/* A metadata write into the held pages: 1 done, 0 not (the image given up
 * first: the caller writes to the file), -1 failed. */
int vfd_image_write(vfd_file *f, haddr_t addr, const unsigned char *p, size_t size)
{
    while (size > 0) {
        unsigned char *pg;
        int r = page_hold(f, addr, 0, &pg);
        if (r <= 0)
            return r < 0 || vfd_image_spill(f) < 0 ? -1 : 0;
        size_t at = (size_t)(addr % IMG_PAGE), n = IMG_PAGE - at < size ? IMG_PAGE - at : size;
        memcpy(pg + at, p, n);
        p += n;
        addr += (haddr_t)n;
        size -= n;
    }
    return 1;
}

/* Raw data written to the file copied into the held pages it meets; its
 * last page held when the data begins it and nothing was written past
 * it (old_eof): the page is then known without a read, and the metadata
 * HDF5 puts after the data needs none. */
void vfd_image_through(vfd_file *f, haddr_t addr, const unsigned char *p, size_t size,
                          haddr_t old_eof)
{
    haddr_t end = addr + size, last = (end - 1) / IMG_PAGE * IMG_PAGE;
    unsigned char *pg;
    if (end % IMG_PAGE != 0 && last >= addr && end >= old_eof && vfd_held(f, last) == NULL &&
        page_hold(f, last, 1, &pg) == 1)
        memcpy(pg, p + (last - addr), (size_t)(end - last)); /* the rest zeros */
    while (size > 0) {
        size_t at = (size_t)(addr % IMG_PAGE), n = IMG_PAGE - at < size ? IMG_PAGE - at : size;
        unsigned char *hp = vfd_held(f, addr);
        if (hp != NULL)
            memcpy(hp + at, p, n);
        p += n;
        addr += (haddr_t)n;
        size -= n;
    }
}

/* After the file was cut at f->eoa: pages past it dropped, the bytes past
 * it zeros. */
void vfd_image_truncated(vfd_file *f)
{
    for (size_t i = (size_t)((f->eoa + IMG_PAGE - 1) / IMG_PAGE); i < f->pg_cap; i++)
        if (f->pg[i] != NULL) {
            free(f->pg[i]);
            f->pg[i] = NULL;
            f->n_held--;
        }
    unsigned char *last = f->eoa % IMG_PAGE != 0 ? vfd_held(f, f->eoa) : NULL;
    if (last != NULL)
        memset(last + f->eoa % IMG_PAGE, 0, IMG_PAGE - (size_t)(f->eoa % IMG_PAGE));
}

int km_h5_io_finish(km_h5_io *io, int discard)
{
    if (io == NULL || !io->image_held)
        return io != NULL && io->err != 0 ? -1 : 0;
    int e = discard || io->err != 0
                ? 0
                : write_pages(io->image_fd, io->image_pages, io->image_slots, io->image_eof);
    if (e == 0 && close(io->image_fd) != 0 && !discard)
        e = errno;
    else if (e != 0)
        close(io->image_fd);
    if (e != 0 && io->err == 0)
        io->err = e;
    for (size_t i = 0; i < io->image_slots; i++)
        free(io->image_pages[i]);
    free(io->image_pages);
    io->image_pages = NULL;
    io->image_slots = 0;
    io->image_held = 0;
    return io->err != 0 ? -1 : 0;
}

