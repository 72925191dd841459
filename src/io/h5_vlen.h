/* Variable-length string attributes read without libhdf5's global-heap
 * parser (h5_vlen.c).  Internal to the h5_*.c files of src/io. */
#ifndef KM_H5_VLEN_H
#define KM_H5_VLEN_H

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

/* An n-byte little-endian unsigned field of the file format (here and in
 * h5_attr_check.c, the other reader of a file's bytes beside libhdf5). */
static inline uint64_t km_h5_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    while (n-- > 0)
        v = (v << 8) | p[n];
    return v;
}

/* n rounded up to a multiple of 8 (the format's padding). */
static inline size_t km_h5_align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

#endif
