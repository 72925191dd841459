/* A session's /time read ahead: see h5_times.h. */
#include <string.h>

#include "h5_times.h"
#include "h5util.h"

int km_h5_times_held(const km_h5_times *t, int64_t first, int64_t n)
{
    return t->n > 0 && first >= t->first && first + n <= t->first + t->n;
}

int km_h5_times_range(const km_h5_f64 *direct, hid_t d, int64_t first, int64_t n, double *out)
{
    hsize_t start = (hsize_t)first, count = (hsize_t)n;
    return km_h5_read_f64_chunks(d, direct, first, n, out) ||
           km_h5_read_block(d, H5T_NATIVE_DOUBLE, 1, &start, &count, out);
}

int km_h5_times_read(km_h5_times *t, hid_t d, int64_t total, int64_t first, int64_t n,
                     double *out)
{
    if (n <= 0)
        return 1;
    if (!km_h5_times_held(t, first, n)) {
        t->reads++;
        if (n >= KM_H5_TIMES_AHEAD || t->buf == NULL)
            return km_h5_times_range(&t->direct, d, first, n, out);
        int64_t ahead = total - first < KM_H5_TIMES_AHEAD ? total - first : KM_H5_TIMES_AHEAD;
        t->n = 0;
        if (ahead < n || !km_h5_times_range(&t->direct, d, first, ahead, t->buf))
            return ahead < n ? km_h5_times_range(&t->direct, d, first, n, out) : 0;
        t->first = first;
        t->n = ahead;
    }
    memcpy(out, t->buf + (first - t->first), (size_t)n * sizeof *out);
    return 1;
}
