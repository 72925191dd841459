/* Variable-length string attributes read without libhdf5's global-heap
 * parser (h5_vlen.c).  Internal to the h5_*.c files of src/io. */
#ifndef KM_H5_VLEN_H
#define KM_H5_VLEN_H

#include "byte_order.h" /* km_le: the format's little-endian fields */
#include "h5util.h"

/* Register the descriptor conversion (once per process, from km_h5_init).
 * Without it, km_h5_read_vlen_string returns KM_ERR_UNSUPPORTED. */
void km_h5_vlen_register(void);

/* The variable-length string attribute `attr` (one element) of a file
 * opened read-only into buf (cap bytes, terminated).  KM_OK (an empty or
 * null string gives ""), KM_ERR_FORMAT for any inconsistency of the stored
 * descriptor or heap (*too_long = 1 when the string needs more than cap-1
 * bytes), KM_ERR_UNSUPPORTED when this path does not apply (a file open
 * for writing, a driver other than sec2): the caller reads it through
 * libhdf5 then.  Each thread keeps what it learnt of the last file it read
 * a string of (by its id, which HDF5 does not reuse), so the file's
 * property lists are read once for the strings of one file. */
km_status km_h5_read_vlen_string(hid_t attr, char *buf, size_t cap, int *too_long);

/* How many times a file's property lists were read (its descriptor, address
 * sizes and user block) to read such a string: once per file a thread reads
 * strings of in a row, not once per string.  For tests. */
unsigned long km_h5_vlen_file_looks(void);

/* The file under an object, read with pread beside libhdf5 (h5_vlen.c's
 * strings, h5_attr_check.c's headers): libhdf5's own descriptor (sec2
 * driver, a file opened read-only), the sizes of offsets and lengths, the
 * user block (the base of addresses) and the file's size at the call. */
typedef struct km_h5_raw_file {
    int fd;
    size_t sizeof_addr, sizeof_size;
    uint64_t base, eof;
} km_h5_raw_file;

/* What one use learnt of the last file it looked at, per thread: the
 * file's id (HDF5 never reuses it while the process lives) and what its
 * property lists said.  Each use keeps its own, so that its looks are its
 * own (km_h5_vlen_file_looks counts the strings' only). */
typedef struct km_h5_raw_seen {
    hid_t file;
    km_h5_raw_file raw;
} km_h5_raw_seen;

/* The file under `obj` into *raw: 1 when it can be read raw, else 0.  The
 * property lists are read (and *looks counted, when not NULL) only for a
 * file other than seen's last one.  The descriptor stays libhdf5's: valid
 * while the object keeps the file open, never closed here. */
int km_h5_raw_open(hid_t obj, km_h5_raw_seen *seen, _Atomic unsigned long *looks,
                   km_h5_raw_file *raw);

/* n bytes at file offset `off` (from the start of the file: add raw->base
 * to a format address) into buf: 0 when all lie inside the file and were
 * read, else -1. */
int km_h5_raw_read(const km_h5_raw_file *raw, uint64_t off, void *buf, size_t n);

/* n rounded up to a multiple of 8 (the format's padding). */
static inline size_t km_h5_align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

#endif
