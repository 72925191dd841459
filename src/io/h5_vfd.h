/* The HDF5 file driver of knotmap's writers (results, sessions): POSIX
 * I/O like HDF5's default "sec2" driver (same feature flags, so files are
 * byte-identical), plus what sec2 does not do (1.-3. here, 4. and 5. below):
 *
 * 1. It keeps the first OS error of the file (errno), so a failed write
 *    can be reported as "PATH: cannot append peaks: No space left on
 *    device" rather than through HDF5's long error text.
 * 2. Once the writer says it is closing, write, truncate and close errors
 *    are recorded and the data dropped instead of failing H5Fclose.
 *
 * Why 2: in HDF5 1.10, an H5Fclose that fails while flushing (ENOSPC,
 * EFBIG) tears the file object down but leaves its ID registered with a
 * NULL shared part; the library's shutdown (atexit, H5_term_library ->
 * H5F_term_package -> H5I_clear_type -> H5F__close_cb) then closes it again
 * and crashes (SIGSEGV after exit(), also in a Python interpreter that
 * used knotmap).  With this driver the close of a file whose writes fail
 * succeeds, the error is still reported (km_h5_io.err after the close),
 * and the temporary is removed.
 *
 * 3. With io->write_out (the session writer's files), raw data (the
 *    chunks, written once) is handed to the disk as it is written: every
 *    256 KiB of it, sync_file_range(SYNC_FILE_RANGE_WRITE) starts its
 *    write-out without waiting, so the fsync at commit finds little left.
 *    A hint only: where the call fails (EINVAL, ENOSYS, or an I/O error)
 *    the file goes on without hints and the fsync does all the work and
 *    reports any write-back error, as before.  Results (io->write_out 0)
 *    are not hinted: with two sessions in one process (-j 2), each one's
 *    hinted write-out kept the disk busy while the other committed, and on
 *    the bench machine's disk a commit beside another took a median 13 ms
 *    instead of 4 (two threads 1.66x -> 1.87x of the sequence; one session
 *    alone the same to the noise: bench/HISTORY.md "Session 42 (burst16)").
 *
 * A writer owns one km_h5_io per file, passes it to km_h5_write_fapl()
 * before H5Fcreate, sets `closing` before its H5Fclose (always: on success
 * and on failure) and checks `err` after it. */
#ifndef KM_H5_VFD_H
#define KM_H5_VFD_H

#include <hdf5.h>
#include <stdint.h>

typedef struct km_h5_io {
    int err;      /* first errno of a failed write/truncate/close, 0 when none */
    int closing;  /* set by the writer before H5Fclose: errors are recorded, not raised */
    int defer_raw; /* set before H5Fcreate: raw data kept for km_h5_io_flush_raw (4.) */
    void *vf;      /* the driver's open file (while open), for km_h5_io_flush_raw */
    int write_out; /* set before H5Fcreate: raw data's write-out started as it is written (3.) */
    size_t image_max; /* set after H5Fcreate: metadata held in memory, up to this much (5.) */
    /* The image handed over at the close (5.), for km_h5_io_finish. */
    int image_held, image_fd;
    unsigned char **image_pages;
    size_t image_slots;
    uint64_t image_eof;
} km_h5_io;

/* 4. With io->defer_raw, the raw data HDF5 asks the driver to write (the
 * chunks of H5Dwrite_chunk, a contiguous dataset's values) is copied and
 * kept, not written, and km_h5_io_flush_raw writes it (and gives the
 * write-out hint of 3. with io->write_out) after the HDF5 call has returned: outside HDF5's
 * global lock, which every pwrite and sync_file_range of a chunk held
 * before (~5 ms of a 60 s session's ~10 ms with the lock held;
 * bench/HISTORY.md "Session 38 (threads)").  Whatever is kept is written
 * first by any read, truncate or close of the file, and by any write that
 * overlaps it, so HDF5 never sees the file without it; the file's bytes
 * are the same.  Errors as for any write (err, errno, closing).
 * Thread-safe against the driver's callbacks on other threads.  0, or -1
 * on a failed write. */
int km_h5_io_flush_raw(km_h5_io *io);

/* 5. With io->image_max set (after H5Fcreate, so that a file that cannot
 * even be made still fails there), the pages (4 KiB) of the file that
 * HDF5 writes metadata to are held in memory, at most image_max bytes of
 * them: HDF5's metadata writes, and its reads of what its small metadata
 * cache let go, are copies instead of system calls (the result of a 2 s
 * session: 297 system calls on it -> 30; of the bench's 60 s one: 575 ->
 * 145; bench/HISTORY.md "Session 43 (speed18)").  Small raw data (under a
 * page: axes, small maps) is held too; chunks are written as before (4.),
 * copied into the held pages they meet, and a chunk's last page is held
 * when nothing was written past it (known without a read: the metadata
 * HDF5 puts next needs none).  A page first held where the file already
 * has bytes is read from it (what is kept written first).  When more
 * pages would be needed, the held ones are written out (what is kept
 * first) and the file goes on without an image.
 * At the close (io->closing) the pages are handed over, not written: the
 * writer calls km_h5_io_finish after H5Fclose, outside HDF5's lock, which
 * writes them (each run of neighbouring pages in one call) and closes the
 * file; a failed write is recorded in io->err as any other. */

/* The pages handed over at the close written to the file (unless
 * `discard`: the file is removed anyway), the file closed, the pages
 * freed.  Call after H5Fclose of a file whose io had image_max set (a
 * no-op when nothing was handed over).  0, or -1 with io->err set (also
 * when an earlier write had failed). */
int km_h5_io_finish(km_h5_io *io, int discard);

/* The errno of the last failed write, truncate or close through this
 * driver on the calling thread (HDF5 calls the driver on the caller's
 * thread), 0 when none; reading clears it, and so does km_h5_write_fapl()
 * (a new file).  For messages of writers that do not hold their km_h5_io
 * at hand: "PATH: cannot append frames: No space left on device". */
int km_h5_vfd_take_errno(void);

/* A new file access property list using the knotmap driver with `io`
 * (which must outlive the file); the caller closes it.  -1 on failure. */
hid_t km_h5_write_fapl(km_h5_io *io);

#endif
