/* A session's /time read ahead: see h5_times.h. */
#include <string.h>

#include "h5_times.h"

int km_h5_times_held(const km_h5_times *t, int64_t first, int64_t n)
{
    return t->n > 0 && first >= t->first && first + n <= t->first + t->n;
}

/* Values [first, first + n) of d into out by HDF5. */
static int read_range(hid_t d, int64_t first, int64_t n, double *out)
{
    hsize_t start = (hsize_t)first, count = (hsize_t)n;
    hid_t fspace = H5Dget_space(d), mspace = H5Screate_simple(1, &count, NULL);
    int ok = fspace >= 0 && mspace >= 0 &&
             H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) >= 0 &&
             H5Dread(d, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, out) >= 0;
    hid_t why = ok ? H5I_INVALID_HID : H5Eget_current_stack(); /* closing clears it */
    if (mspace >= 0)
        H5Sclose(mspace);
    if (fspace >= 0)
        H5Sclose(fspace);
    if (why >= 0)
        H5Eset_current_stack(why);
    return ok;
}

int km_h5_times_read(km_h5_times *t, hid_t d, int64_t total, int64_t first, int64_t n,
                     double *out)
{
    if (n <= 0)
        return 1;
    if (!km_h5_times_held(t, first, n)) {
        t->reads++;
        if (n >= KM_H5_TIMES_AHEAD || t->buf == NULL)
            return read_range(d, first, n, out);
        int64_t ahead = total - first < KM_H5_TIMES_AHEAD ? total - first : KM_H5_TIMES_AHEAD;
        t->n = 0;
        if (ahead < n || !read_range(d, first, ahead, t->buf))
            return ahead < n ? read_range(d, first, n, out) : 0;
        t->first = first;
        t->n = ahead;
    }
    memcpy(out, t->buf + (first - t->first), (size_t)n * sizeof *out);
    return 1;
}
