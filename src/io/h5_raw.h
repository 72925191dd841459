/* Stored chunk bytes read without HDF5: the file descriptor of a
 * dataset's file and a complete pread.  Internal (src/io). */
#ifndef KM_H5_RAW_H
#define KM_H5_RAW_H

#include <stddef.h>

#include <hdf5.h>

/* The descriptor of d's file when its chunks can be read at the addresses
 * H5Dget_chunk_info_by_coord gives (sec2 driver, no user block), else -1.
 * Valid while the file is open. */
int km_h5_raw_fd(hid_t d);

/* 1 when d's file is now shorter than HDF5's end of allocation (which
 * counts a user block, a MAT-file's 512 bytes), which it was not at the
 * open (HDF5 refuses such a file): cut while being read.  HDF5 reads past
 * the end as zeros, so an unfiltered session, or a MAT-file of v7.3, cut in
 * half gave half its frames as zeros, exit 0: both readers call it after
 * each block of frames.  The reason is then the only entry on HDF5's error
 * stack (km_h5_error_text).  0 otherwise, and when not known (not a plain
 * file). */
int km_h5_file_cut(hid_t d);

/* n bytes at file offset `at` into buf: 1 when all were read, else 0. */
int km_h5_pread_all(int fd, unsigned char *buf, size_t n, haddr_t at);

#endif
