/* Fields of file formats read byte by byte, whatever the host's byte
 * order.  Internal (src/io): HDF5's own structures (h5_vlen.c,
 * h5_attr_check.c), ZIP records (read_npz.c), .npy headers (read_npy.c). */
#ifndef KM_BYTE_ORDER_H
#define KM_BYTE_ORDER_H

#include <stddef.h>
#include <stdint.h>

/* An n-byte (n <= 8) little-endian unsigned field at p. */
static inline uint64_t km_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    while (n-- > 0)
        v = (v << 8) | p[n];
    return v;
}

#endif
