/* The knotmap HDF5 file driver's parts (h5_vfd.c: the driver; h5_vfd_image.c:
 * the metadata image, h5_vfd.h 5.), private to src/io. */
#ifndef KM_H5_VFD_INTERNAL_H
#define KM_H5_VFD_INTERNAL_H

#include <stdatomic.h>
#include <pthread.h>
#include <sys/types.h>

#include "h5_vfd.h"

/* A page of the metadata image. */
#define IMG_PAGE ((size_t)4096)

typedef struct vfd_file {
    H5FD_t pub; /* must be first */
    int fd;
    haddr_t eoa, eof;
    dev_t dev;
    ino_t ino;
    km_h5_io *io;
    haddr_t wb_lo, wb_hi; /* raw data written and not yet hinted: [wb_lo, wb_hi) */
    int wb_off;           /* the hint failed once (not supported here): no more */
    /* Raw data kept (io->defer_raw): records {addr, size, bytes} in
       kept[0, kept_len), spanning [kept_lo, kept_hi); under kept_m. */
    pthread_mutex_t kept_m;
    unsigned char *kept;
    size_t kept_len, kept_cap;
    haddr_t kept_lo, kept_hi;
    /* The metadata image (io->image_max, h5_vfd.h 5.): pg[i] holds the
       file's bytes [i * IMG_PAGE, (i + 1) * IMG_PAGE) when not NULL (n_held
       pages of pg_cap slots); disk_end: the bytes the file on disk holds
       (kept raw data is written by other threads: atomic).  img_on: pages
       may be held; img_done: the image was given up. */
    unsigned char **pg;
    size_t pg_cap, n_held;
    _Atomic haddr_t disk_end;
    int img_on, img_done;
} vfd_file;

/* The driver's helpers (h5_vfd.c). */
herr_t vfd_settle(vfd_file *f, haddr_t addr, haddr_t end, int any);
herr_t vfd_read_file(vfd_file *f, haddr_t addr, size_t size, unsigned char *p);
herr_t vfd_io_failed(vfd_file *f, H5E_minor_t minor, const char *what, int e);

/* The metadata image (h5_vfd_image.c). */
/* The held page holding addr, or NULL. */
static inline unsigned char *vfd_held(const vfd_file *f, haddr_t addr)
{
    size_t i = (size_t)(addr / IMG_PAGE);
    return i < f->pg_cap ? f->pg[i] : NULL;
}

/* 1 when pages may be held (io->image_max set, the image not given up). */
int vfd_image_on(vfd_file *f);
/* A metadata (or small raw) write into held pages: 1 done, 0 not (the
 * image given up first: the caller writes to the file), -1 failed. */
int vfd_image_write(vfd_file *f, haddr_t addr, const unsigned char *p, size_t size);
/* Raw data written to the file, copied into the held pages it meets
 * (old_eof: the end of file before the write). */
void vfd_image_through(vfd_file *f, haddr_t addr, const unsigned char *p, size_t size,
                       haddr_t old_eof);
/* The held pages written (what is kept first), the image given up. */
herr_t vfd_image_spill(vfd_file *f);
/* The held pages freed, unwritten. */
void vfd_image_free(vfd_file *f);
/* After the file was cut at f->eoa: the held pages past it dropped. */
void vfd_image_truncated(vfd_file *f);

#endif
