/* Direct chunk reading of a session's /frames (docs/FORMAT.md 1.2): the
 * stored chunks are fetched and decoded here, outside HDF5's global lock:
 * deflate by libdeflate, h5py's LZF and the byte shuffle by hand.  From a
 * plain file (km_h5_raw_fd) every chunk's address, size and filter mask
 * are read from HDF5's chunk index once, at the open (up to 65 536 chunks),
 * and the bytes with pread: reading the frames then takes HDF5's lock
 * only for what HDF5 reads itself (below).  Otherwise each chunk is
 * fetched with H5Dread_chunk (the lock held only to copy bytes).  The
 * dataset must not be written while the object lives.  Frames are
 * bit-identical to H5Dread's (for LZF: to h5py's read with its filter).
 * Internal to src/io.
 *
 * Eligible: a chunked 3-D dataset [T, R, C] of little-endian float32,
 * float64 (converted to float32 as H5Dread does: beyond the float range an
 * infinity, otherwise rounded to nearest) or integers of 1, 2 or 4 bytes,
 * signed or unsigned (converted as H5Dread does: the C cast), chunked [k, r, c] (whole frames,
 * or tiles of them as h5py chunks a [T, R, C] array by itself: every tile
 * across the frame is decoded and put in place), whose filters are only
 * shuffle and one of deflate or LZF, in any order, or none, and whose
 * chunk row (k whole frames) fits the caller's bound.  Anything else (other types, other filters
 * such as the LZ4/BZip2 plugins, unallocated chunks, a chunk that does not
 * decode) is read by H5Dread as before: km_h5_chunks_read stops before
 * that chunk and the caller reads the rest of the request with H5Dread.
 * Not a stored chunk that does not decode to its size here, or whose
 * stored size no pipeline gives: H5Dread would take a deflate bomb's
 * gigabytes (HDF5's filter inflates all a stream says) or a short chunk's
 * uninitialised tail as frames; km_h5_chunks_read stops before it too and
 * km_h5_chunks_damage says where it is.
 *
 * Each chunk is decoded at most once per pass: the last decoded chunk row
 * is kept for the next request (reads are sequential), and a chunk row
 * wholly inside a request is decoded straight into the caller's buffer.
 * Memory: one decoded chunk row (at most max_slab_bytes) + one stored and
 * two decoded chunks (bounded by the open-time chunk size limit of
 * read_session.c).  One object per reader; not thread-safe,
 * but objects on different threads run their decoding in parallel. */
#ifndef KM_H5_CHUNKS_H
#define KM_H5_CHUNKS_H

#include <hdf5.h>
#include <stdint.h>

typedef struct km_h5_chunks km_h5_chunks;

/* The filter pipeline's steps, shared by reading and writing. */
enum { STEP_DEFLATE = 1, STEP_SHUFFLE = 2, STEP_LZF = 3, MAX_STEPS = 2 };
/* The dataset's filters as steps in write order, each deflate, shuffle or
 * LZF and each at most once, with their first client value in cd0
 * (deflate: the level; shuffle: the element size; UINT_MAX when absent).
 * The count, or -1 for any other pipeline. */
int km_h5_filter_steps(hid_t dcpl, int step[MAX_STEPS], unsigned cd0[MAX_STEPS]);

/* A dataset's creation list, type and dataspace closed (each when >= 0):
 * what the layout checks opened. */
void km_h5_close_layout(hid_t dcpl, hid_t type, hid_t space);

/* h5py's LZF filter (registered with The HDF Group as 32000): decoded here;
 * the HDF5 library has no LZF of its own. */
#define KM_H5_FILTER_LZF 32000

/* 1 when km_h5_chunks_open would take the dataset (its layout, type and
 * filters, its chunk row within max_slab_bytes), without allocating: the
 * session opener lets an LZF dataset pass its filter check only then,
 * since H5Dread cannot read it. */
int km_h5_chunks_eligible(hid_t frames, size_t max_slab_bytes);

/* NULL when the dataset is not eligible (or out of memory): read it with
 * H5Dread.  max_slab_bytes bounds the decoded chunk row kept (k frames).
 * The dataset handle stays owned by the caller and must outlive the
 * object. */
km_h5_chunks *km_h5_chunks_open(hid_t frames, size_t max_slab_bytes);
/* The same for a dataset stored [R, C, T] (read_session_rct.c), chunked
 * [r, c, k]: each chunk's runs in time are put in place in the frames
 * [T, R, C] that km_h5_chunks_read delivers; eligible by the same rules. */
km_h5_chunks *km_h5_chunks_open_rct(hid_t frames, size_t max_slab_bytes);

/* Frames [first, first + n) into out (n * R * C floats).  Returns how many
 * leading frames were read (n = all; fewer: the caller reads the rest with
 * H5Dread; 0 also for c == NULL or a request outside the dataset). */
int64_t km_h5_chunks_read(km_h5_chunks *c, int64_t first, int64_t n, float *out);

/* 1 when the last km_h5_chunks_read stopped at a damaged chunk (above),
 * its place and sizes in why (cap bytes): the caller fails, never reads it
 * with H5Dread; 0 otherwise (c == NULL too). */
int km_h5_chunks_damage(const km_h5_chunks *c, char *why, size_t cap);

/* The stored bytes of the chunk holding `frame`, fetched as
 * km_h5_chunks_read fetches them (HDF5 locates the chunk in its index and
 * copies it) but not decoded: what HDF5 itself parses to deliver that
 * frame, for the command's probe of an untrusted file (km_reader_probe).
 * 1 when the chunk would be decoded here; 0 when H5Dread would read it
 * (or c == NULL, or frame outside the dataset). */
int km_h5_chunks_fetch(km_h5_chunks *c, int64_t frame);

/* 1 when km_h5_chunks_read and km_h5_chunks_fetch call no HDF5 function
 * (every chunk located at the open): its caller need not silence HDF5's
 * error printing around them, which takes HDF5's lock too. */
int km_h5_chunks_lock_free(const km_h5_chunks *c);

/* How many times c has asked HDF5's chunk index after the open (a plain
 * file's chunks are all located at the open: 0 there): for tests. */
int64_t km_h5_chunks_index_calls(const km_h5_chunks *c);

void km_h5_chunks_free(km_h5_chunks *c);

/* 1 when km_h5_decode_steps decodes every sound chunk of the pipeline
 * `step` (write order), so a chunk it cannot decode is damaged: no shuffle
 * after a compressor (shuffled compressed bytes are not a chunk's size,
 * which km_h5_decode_steps requires; H5Dread reads such a rare layout). */
int km_h5_steps_exact(const int *step, int n_steps);

/* A stored chunk's filters undone, last first, skipping those whose bit is
 * set in `skipped` (its filter mask): raw[0, stored) into dst, which it
 * must fill exactly (chunk_bytes); scratch holds chunk_bytes between two
 * steps; elem is the shuffle's element size.  1 on success, 0 for bytes
 * that do not decode so. */
struct libdeflate_decompressor;
int km_h5_decode_steps(struct libdeflate_decompressor *dec, const int *step, int n_steps,
                       uint32_t skipped, const unsigned char *raw, size_t stored, size_t elem,
                       size_t chunk_bytes, unsigned char *scratch, unsigned char *dst);

/* What the decoders of filters libhdf5 runs for knotmap would make of a
 * stored chunk in[0, n) (h5_chunks_bound.c): the decoded size its header
 * declares, -1 when the header does not fit n (km_h5_blosc_size: filter
 * 32001; km_h5_szip_size: libhdf5's SZIP).  km_h5_bzip2_decode (filter
 * 307, no header says it) and km_h5_lz4_decode (32004, whose plugin trusts
 * the stream): the chunk decoded by libbz2 / liblz4 (its bounds-checked
 * decoder, block by block as the plugin walks them) into out[0, cap), its
 * size in *got: 1, 0 for a damaged stream or one longer than cap, -1 when
 * the library cannot be loaded. */
int64_t km_h5_blosc_size(const unsigned char *in, size_t n);
int64_t km_h5_szip_size(const unsigned char *in, size_t n);
int km_h5_lz4_decode(const unsigned char *in, size_t n, unsigned char *out, size_t cap, size_t *got);
int km_h5_bzip2_decode(const unsigned char *in, size_t n, unsigned char *out, size_t cap, size_t *got);

/* A 1-D little-endian float64 dataset (a session's /time) read by its
 * chunks: HDF5 finds and copies each (H5Dread_chunk, its lock held for
 * that only) and they are decoded here, outside the lock (deflate, LZF,
 * shuffle), bit for bit as H5Dread gives them.  km_h5_f64_open: 1 when d
 * is such a dataset (chunked, chunks of at most 2^16 values, no unfiltered
 * edge chunks, only those filters), its layout in v; 0 otherwise (v->chunk
 * 0).  km_h5_read_f64_chunks: values [first, first + n) into out; 1 when
 * done, 0 when v is not such a layout or a chunk is not stored or does not
 * decode: then H5Dread, which says what is wrong in its own words. */
typedef struct km_h5_f64 {
    hsize_t n, chunk; /* values; per chunk (0: not read here) */
    int n_steps;
    int step[MAX_STEPS];
} km_h5_f64;
int km_h5_f64_open(hid_t d, km_h5_f64 *v);
int km_h5_read_f64_chunks(hid_t d, const km_h5_f64 *v, int64_t first, int64_t n, double *out);

/* Direct chunk writing (docs/FORMAT.md 2.1): rows appended to an empty,
 * extendible, chunked dataset are gathered into whole chunks, put through
 * the dataset's own filter pipeline here (byte shuffle by hand, deflate by
 * libdeflate at the level of its creation property), outside HDF5's lock,
 * and stored with H5Dwrite_chunk (filter mask 0: every filter applied,
 * unless km_h5_chunks_out_best_of), so
 * plain HDF5 reads them as if H5Dwrite had written them; only the
 * compressed bytes differ from zlib's.  A chunk whose byte planes end in
 * runs of one byte (the high planes of small integers, a float's constant
 * top byte, a last chunk's zero padding) for a quarter of its bytes or
 * more is one zlib stream of deflate blocks knotmap writes itself: each
 * plane's run a block of fixed codes (a literal and copies at distance
 * 1), the planes' other bytes libdeflate's (at most 24 KiB together, one
 * block, continued after its end-of-block code), where libdeflate spent
 * ~2.5 ns a byte on a run as on any other byte (bench/HISTORY.md "Session
 * 46 (speed22)").
 *
 * Eligible: rank 1-3, chunks spanning dimensions 1.. whole, filters only
 * shuffle and deflate (each at most once, any order) or none, the file type
 * equal to the memory type the caller writes, the default fill value.
 * Otherwise km_h5_chunks_out_open returns NULL: write with H5Dwrite.
 *
 * A km_h5_deflater holds the compressors and scratch shared by the writers
 * one thread uses (one per level in use); each writer keeps one chunk.
 * Neither is thread-safe; writers on different threads with their own
 * deflaters compress in parallel. */
typedef struct km_h5_deflater km_h5_deflater;
typedef struct km_h5_chunks_out km_h5_chunks_out;

km_h5_deflater *km_h5_deflater_new(void);
void km_h5_deflater_free(km_h5_deflater *z);

/* NULL when not eligible (or out of memory).  ds and z must outlive it. */
km_h5_chunks_out *km_h5_chunks_out_open(hid_t ds, hid_t mtype, km_h5_deflater *z);

/* The layout of c (its element, chunk and filter pipeline, its deflater),
 * without a dataset or buffer: a pattern for km_h5_chunks_out_like; freed
 * with km_h5_chunks_out_free.  NULL when c is NULL or memory runs out. */
km_h5_chunks_out *km_h5_chunks_out_layout(const km_h5_chunks_out *c);

/* A writer for ds made from a layout, without asking HDF5 again (its
 * creation properties, type and dataspace: ~45 K instructions a dataset):
 * ds must be new (empty) and created with the same file type, rank,
 * dimensions 1.. and creation property list as the dataset the layout was
 * taken from.  NULL when layout is NULL or memory runs out. */
km_h5_chunks_out *km_h5_chunks_out_like(const km_h5_chunks_out *layout, hid_t ds);

/* Append n rows (each the product of dimensions 1.. elements of mtype):
 * every chunk they complete is written, the extent grown once to cover
 * them all (H5Dset_extent once per append, not per chunk).
 * 0 on failure (HDF5's error stack or the file driver say why; out of
 * memory leaves both empty). */
int km_h5_chunks_write(km_h5_chunks_out *c, const void *rows, size_t n);

/* From now on every chunk but a last one deflated as runs is also
 * deflated without its shuffle and stored so (filter mask bit 0: the
 * shuffle skipped, which HDF5's readers and ours honour) when that is
 * smaller, ties shuffled: about twice the compression time for the better
 * of both on every chunk (noisy or quantised floats deflate smaller
 * unshuffled, smooth ones shuffled: bench/HISTORY.md "Session 34, speed8").
 * Only for the pipeline shuffle then deflate; returns 1 when it applies. */
int km_h5_chunks_out_best_of(km_h5_chunks_out *c);
/* From now on the leading byte planes of a shuffled chunk that are noise
 * (byte entropy >= 7.9 bits: a float's low mantissa bytes) are stored in
 * deflate's stored blocks and only the planes after them go through
 * libdeflate, whose match search found nothing in them at ~4 ns a byte:
 * the same zlib stream format, read as any other; the planes from the
 * first that is not noise on (and the last plane always) are deflated.
 * Not with best_of (the unshuffled try deflates the whole chunk). */
void km_h5_chunks_out_noise_planes(km_h5_chunks_out *c);

/* The file keeps raw data (h5_vfd.h, io->defer_raw): after each
 * H5Dwrite_chunk, km_h5_io_flush_raw(io) writes the chunk, outside HDF5's
 * lock.  io must outlive c. */
struct km_h5_io;
void km_h5_chunks_out_flush_via(km_h5_chunks_out *c, struct km_h5_io *io);

/* 1 when km_h5_chunks_write of n rows would complete a chunk, i.e. call
 * HDF5; 0 when the rows only go to the buffer. */
int km_h5_chunks_out_fills(const km_h5_chunks_out *c, size_t n);

/* How many times c has set the dataset's extent (H5Dset_extent): for
 * tests. */
int64_t km_h5_chunks_out_extents(const km_h5_chunks_out *c);

/* Write the last, partly filled chunk (padded with zeros) and set the
 * extent to the rows appended.  Appending may go on after it. */
int km_h5_chunks_flush(km_h5_chunks_out *c);

void km_h5_chunks_out_free(km_h5_chunks_out *c);

#endif
