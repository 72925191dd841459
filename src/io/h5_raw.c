/* A dataset's stored chunks read with pread, outside HDF5's global lock:
 * see h5_raw.h. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5_raw.h"
#include "h5util.h"

/* The descriptor of the dataset's file under HDF5's default sec2 driver
 * (its handle is the descriptor), and the file's user block size (*ub):
 * -1 for another driver. */
static int sec2_fd(hid_t d, hsize_t *ub)
{
    int fd = -1;
    void *h = NULL;
    hid_t f = H5Iget_file_id(d);
    hid_t fapl = f >= 0 ? H5Fget_access_plist(f) : -1, fcpl = f >= 0 ? H5Fget_create_plist(f) : -1;
    if (fapl >= 0 && fcpl >= 0 && H5Pget_driver(fapl) == H5FD_SEC2 && H5Pget_userblock(fcpl, ub) >= 0 &&
        H5Fget_vfd_handle(f, fapl, &h) >= 0 && h != NULL)
        fd = *(const int *)h;
    if (fcpl >= 0)
        H5Pclose(fcpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (f >= 0)
        H5Fclose(f); /* this id only: the dataset keeps the file open */
    return fd;
}

/* The descriptor when the stored chunks can be read with pread at the
 * addresses H5Dget_chunk_info_by_coord gives: sec2 and no user block (HDF5
 * 1.10 gives the address without it).  H5Dread_chunk copies the stored
 * bytes with HDF5's global lock held: ~15 MB a 60 s 32x32 session, which
 * another session's thread waits for. */
int km_h5_raw_fd(hid_t d)
{
    hsize_t ub = 1;
    int fd = sec2_fd(d, &ub);
    return ub == 0 ? fd : -1;
}

/* n bytes at offset `at` of fd into buf, all of them or 0. */
int km_h5_pread_all(int fd, unsigned char *buf, size_t n, haddr_t at)
{
    while (n > 0) {
        ssize_t got = pread(fd, buf, n, (off_t)at);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return 0;
        buf += got;
        n -= (size_t)got;
        at += (haddr_t)got;
    }
    return 1;
}

int km_h5_file_cut(hid_t d)
{
    struct stat sb;
    haddr_t eoa = 0;
    hsize_t ub = 0; /* not needed: H5Fget_eoa counts a user block (a MAT-file's 512 bytes) */
    hid_t why = H5Eget_current_stack(); /* a failed read's reason: the calls below would clear it */
    int fd = sec2_fd(d, &ub), cut = 0;
    hid_t f = fd >= 0 ? H5Iget_file_id(d) : H5I_INVALID_HID;
    if (f >= 0 && H5Fget_eoa(f, &eoa) >= 0 && fstat(fd, &sb) == 0 && (haddr_t)sb.st_size < eoa)
        cut = 1;
    if (f >= 0)
        H5Fclose(f);
    if (why >= 0 && !cut)
        H5Eset_current_stack(why); /* closes it */
    else if (why >= 0)
        H5Eclose_stack(why);
    if (cut) { /* the reason is this, not what a read past the end gave; pushed last (an API call clears it) */
        H5Eclear2(H5E_DEFAULT);
        H5Epush2(H5E_DEFAULT, __FILE__, KM_H5_CUT_FUNC, __LINE__, H5E_ERR_CLS, H5E_FILE, H5E_READERROR,
                 "the file is now %lld bytes, its HDF5 structure ends at byte %llu: cut while being "
                 "read (changed on disk?)", (long long)sb.st_size, (unsigned long long)eoa);
    }
    return cut;
}
