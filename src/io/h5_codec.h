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

#endif
