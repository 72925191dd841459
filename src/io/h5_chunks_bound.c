/* What a stored chunk decodes to through the filters libhdf5 runs and
 * knotmap does not decode itself (h5_chunks_check.c asks before libhdf5
 * reads the chunk): the bytes each filter's decoder would allocate and
 * write, read from the chunk's own header, or for BZip2 (no header says
 * it) the chunk decoded by libbz2 into a buffer of the expected size.
 * Each plugin allocates what its header says (LZ4: the 8-byte size; Blosc:
 * nbytes) or grows its buffer as long as the stream goes on (BZip2), so a
 * few KiB could ask for gigabytes. */
#include <stdint.h>
#include <string.h>

#include "core/dynlib.h"
#include "h5_chunks.h"

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* liblz4, loaded on first use: the LZ4 plugin links it, so it is there
 * whenever the plugin is. */
typedef struct {
    int (*decompress_safe)(const char *src, char *dst, int compressed_size, int dst_capacity);
} lz4_api;
static lz4_api lz4;
static const char *const LZ4_NAMES[] = {"LZ4_decompress_safe"};
static km_dynlib lz4_lib = {"liblz4.so.1", "checking LZ4-compressed HDF5 chunks", "liblz4-1", LZ4_NAMES, 1,
                            &lz4, 0};

/* The LZ4 plugin (32004, H5Zlz4.c): an 8-byte big-endian decoded size, a
 * 4-byte block size, then per block a 4-byte stored size and its bytes
 * (stored as they are when that size is the block's).  The plugin walks
 * the blocks without checking them against the chunk's end, loops for
 * ever on a block size of 0, and decodes each block with
 * LZ4_decompress_fast, which trusts the stream: a literal run's length is
 * copied from the input whatever is left of it (liblz4 1.9.4 keeps the
 * output in bounds, not the input), so a block of a few bytes can make it
 * read the block's whole decoded size past the chunk's buffer.  Each block
 * is decoded here with LZ4_decompress_safe, which stops at the block's
 * end: one that does not give exactly its size from exactly its bytes is
 * refused, and for one that does, the plugin's decoder (the same sequences
 * parsed the same way) reads no byte more. */
int km_h5_lz4_decode(const unsigned char *in, size_t n, unsigned char *out, size_t cap, size_t *got)
{
    *got = 0;
    if (n < 12)
        return 0;
    uint64_t orig = (uint64_t)be32(in) << 32 | be32(in + 4), done = 0;
    uint32_t block = be32(in + 8);
    size_t at = 12;
    if (orig > cap || (block == 0 && orig > 0))
        return 0;
    if (block > orig)
        block = (uint32_t)orig;
    while (done < orig) {
        uint64_t this_block = orig - done < block ? orig - done : block;
        if (n - at < 4)
            return 0;
        uint32_t c = be32(in + at);
        at += 4;
        if (c > n - at)
            return 0;
        if (c == this_block) { /* stored as it is: the plugin copies it */
            memcpy(out + done, in + at, c);
        } else {
            if (c > INT32_MAX || this_block > INT32_MAX)
                return 0;
            if (km_dynlib_load(NULL, &lz4_lib) != KM_OK)
                return -1;
            /* liblz4 takes its input as const char *, its output as char * */
            if (lz4.decompress_safe((const char *)(in + at), (char *)(out + done), (int)c, (int)this_block) !=
                (int)this_block)
                return 0;
        }
        at += c;
        done += this_block;
    }
    if (at != n)
        return 0;
    *got = (size_t)orig;
    return 1;
}

/* Blosc (32001, blosc_filter.c): a 16-byte header, nbytes (decoded) at
 * byte 4, the block size at 8 and cbytes (the whole stored size) at 12,
 * little-endian; the filter allocates nbytes. */
int64_t km_h5_blosc_size(const unsigned char *in, size_t n)
{
    if (n < 16)
        return -1;
    uint32_t nbytes = le32(in + 4), blocksize = le32(in + 8), cbytes = le32(in + 12);
    if (cbytes != n || (nbytes > 0 && blocksize == 0))
        return -1;
    return nbytes;
}

/* SZIP (4, libhdf5's own filter): the decoded size, 4 bytes little-endian,
 * before the stream; the filter allocates it. */
int64_t km_h5_szip_size(const unsigned char *in, size_t n)
{
    return n < 4 ? -1 : (int64_t)le32(in);
}

/* libbz2, loaded on first use: the BZip2 plugin links it, so it is there
 * whenever the plugin is. */
typedef struct {
    int (*decompress)(char *dest, unsigned int *dest_len, char *source, unsigned int source_len,
                      int small, int verbosity);
} bz2_api;
static bz2_api bz2;
static const char *const BZ2_NAMES[] = {"BZ2_bzBuffToBuffDecompress"};
static km_dynlib bz2_lib = {"libbz2.so.1.0", "checking BZip2-compressed HDF5 chunks", "libbz2-1.0",
                            BZ2_NAMES, 1, &bz2, 0};

int km_h5_bzip2_decode(const unsigned char *in, size_t n, unsigned char *out, size_t cap, size_t *got)
{
    enum { BZ_OK = 0 };
    unsigned int len = (unsigned int)cap;
    *got = 0;
    if (cap > UINT32_MAX || n > UINT32_MAX)
        return 0;
    if (km_dynlib_load(NULL, &bz2_lib) != KM_OK)
        return -1;
    /* libbz2 takes its input as char *, never writes it */
    if (bz2.decompress((char *)out, &len, (char *)(uintptr_t)in, (unsigned int)n, 0, 0) != BZ_OK)
        return 0; /* damaged, or more than cap bytes (BZ_OUTBUFF_FULL) */
    *got = len;
    return 1;
}
