/* A session's /time read ahead: fetched from HDF5 KM_H5_TIMES_AHEAD values
 * at a time and handed out from memory, so that reading the frames block
 * by block takes HDF5's global lock for the times once per
 * KM_H5_TIMES_AHEAD frames, not once per block (with two sessions on two
 * threads every lock taken during the frames can wait out the other
 * thread's run of HDF5 calls: bench/HISTORY.md "Session 32 (pipe3)"), and
 * decoded outside that lock when `direct` says how (Session 40 (burst14)).
 * Internal to src/io; one per reader, not thread-safe. */
#ifndef KM_H5_TIMES_H
#define KM_H5_TIMES_H

#include <hdf5.h>
#include <stdint.h>

#include "h5_chunks.h"

#define KM_H5_TIMES_AHEAD 4096 /* values held: 32 KiB */

typedef struct km_h5_times {
    double *buf;      /* KM_H5_TIMES_AHEAD values, owned by the caller */
    int64_t first, n; /* held: values [first, first + n) */
    int64_t reads;    /* reads from HDF5 so far (for tests) */
    km_h5_f64 direct; /* the dataset's chunks decoded here (km_h5_f64_open; zeroed: H5Dread) */
} km_h5_times;

/* 1 when values [first, first + n) are held: km_h5_times_read then calls
 * no HDF5 function. */
int km_h5_times_held(const km_h5_times *t, int64_t first, int64_t n);

/* Values [first, first + n) of the 1-D float64 dataset d into out, not
 * held: decoded here, outside HDF5's lock, when `direct` says how
 * (km_h5_read_f64_chunks), else by H5Dread.  1 on success, 0 on an HDF5
 * failure (its error stack says why).  The open's scan of /time reads
 * through it too. */
int km_h5_times_range(const km_h5_f64 *direct, hid_t d, int64_t first, int64_t n, double *out);

/* Values [first, first + n) of the 1-D float64 dataset d (total values)
 * into out, from memory or read from HDF5 (up to KM_H5_TIMES_AHEAD values
 * from `first`, or a longer request straight into out).  1 on success, 0
 * on an HDF5 failure (its error stack says why; nothing is held then). */
int km_h5_times_read(km_h5_times *t, hid_t d, int64_t total, int64_t first, int64_t n,
                     double *out);

#endif
