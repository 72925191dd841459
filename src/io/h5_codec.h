/* The byte codecs of HDF5's filters that knotmap runs itself, outside
 * HDF5's lock (h5_chunks_read.c reads and h5_chunks.c writes chunks with them): the byte
 * shuffle (filter 2) both ways and h5py's LZF (filter 32000) decoding.
 * Pure functions of their buffers.  Internal to src/io. */
#ifndef KM_H5_CODEC_H
#define KM_H5_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Undo the shuffle of n elements of 2 / 4 / 8 bytes: byte b of element i
 * was stored at b * n + i. */
void km_unshuffle2(const unsigned char *restrict in, unsigned char *restrict out, size_t n);
void km_unshuffle4(const unsigned char *restrict in, unsigned char *restrict out, size_t n);
void km_unshuffle8(const unsigned char *restrict in, unsigned char *restrict out, size_t n);

/* The shuffle of `bytes` bytes of `elem`-byte elements; a trailing part
 * element stays as it is. */
void km_shuffle_bytes(const unsigned char *restrict in, unsigned char *restrict out, size_t bytes,
                      size_t elem);

/* LZF stream in[0, in_n) into out, which it must fill exactly: 1 when it
 * does, 0 for a damaged or short stream or one that would pass out_n. */
int km_lzf_decode(const unsigned char *in, size_t in_n, unsigned char *out, size_t out_n);

/* A zlib stream (RFC 1950) of in[0, n) made of its runs: one block of
 * deflate's fixed codes, each byte a literal, a run of one byte a literal
 * and copies of it at distance 1 (at most 3 + 18 bits per 258 bytes).  Far
 * cheaper than a compressor on a chunk that is mostly one byte (the zero
 * padding of a table's last chunk); on other bytes about 8.5 bits a byte.
 * `adler` is the Adler-32 of in (the stream's check).  Returns the
 * stream's size, 0 when cap is below km_zlib_runs_bound(n). */
size_t km_zlib_runs_bound(size_t n);
size_t km_zlib_runs(const unsigned char *in, size_t n, uint32_t adler, unsigned char *out,
                    size_t cap);

/* Deflate blocks (RFC 1951) written bit by bit into a stream knotmap
 * composes itself (h5_chunks.c): p the next byte, the n < 8 bits of acc
 * not yet written.  On a byte boundary when n is 0.  The caller makes the
 * room: a run block takes at most 3 + (len / 258 + 3) * 18 bits, a stored
 * block 5 bytes a 65535 and its bytes, an alignment 5 bytes. */
typedef struct {
    unsigned char *p;
    uint64_t acc;
    int n;
} km_bits_out;

/* len >= 1 copies of byte b as one block of fixed codes: b a literal, then
 * copies at distance 1. */
void km_deflate_run_block(km_bits_out *w, unsigned char b, size_t len, int final);
/* in[0, len) as stored blocks of up to 65535 bytes (the last one final
 * when `final`); the writer ends on a byte boundary. */
void km_deflate_stored(km_bits_out *w, const unsigned char *in, size_t len, int final);
/* The writer to the next byte boundary, by an empty stored block when it
 * is not on one. */
void km_deflate_align(km_bits_out *w);

/* A raw deflate stream s[0, n) of one block (its first is final), as
 * libdeflate writes a short input: which numbers p of zero bits after the
 * block's end-of-block code, to the byte's end, fit its last bits: bit p
 * of the result (the code read from the block's header: fixed codes'
 * 0000000 fits any run of zeros; a stored block ends on its byte, p 0).
 * The true p is among them; 0 when s is not such a stream. */
unsigned km_deflate_pad_candidates(const unsigned char *s, size_t n);

#endif
