/* CF conventions in another tool's session HDF5 (h5_cf.c; docs/FORMAT.md 1.2). */
#ifndef KM_H5_CF_H
#define KM_H5_CF_H

#include <hdf5.h>

#include "reader_internal.h"

/* How stored /frames values become pressures: value = stored * scale +
 * offset (CF scale_factor, add_offset; a unit on /frames converted to kPa
 * folded in), and a stored fill (CF _FillValue) read as NaN. */
typedef struct km_h5_packing {
    double scale, offset, fill;
    int has_fill;
    int active; /* 0: values as stored */
} km_h5_packing;

/* Seconds per unit of /time (dataset d)'s `units` attribute: 1 without one;
 * "ms", "seconds since 2026-01-01", ... (KM_ERR_FORMAT naming it when it is
 * not a time unit). */
km_status km_h5_time_scale(km_ctx *ctx, hid_t d, double *scale);
/* 1 when dataset d is a netCDF-4 dimension without values (a dimension
 * scale whose NAME says "This is a netCDF dimension but not a netCDF
 * variable": xarray writes one for a dim that has no coordinate). */
int km_h5_netcdf_phony(km_ctx *ctx, hid_t d);
/* t[0..n) *= scale. */
void km_h5_scale_times(double *t, int64_t n, double scale);
/* /frames (dataset d)'s packing into *p; its unit into r->info.units when
 * the root had none (psi, Pa, MPa: recorded, km_reader_units_from, and
 * folded into p); r->info.saturation (the stored type's top) unpacked. */
km_status km_h5_frames_cf(km_ctx *ctx, hid_t d, km_reader *r, km_h5_packing *p);
/* v[0..n) unpacked by p (nothing when p->active is 0), a _FillValue made
 * nan; returns how many were. */
size_t km_h5_unpack(const km_h5_packing *p, float *v, size_t n);
/* The pitches the file's coordinates say, into info's row and column
 * pitch where the root's attributes gave none: the dimension scales
 * attached to /frames' row and column axes (what xarray and h5netcdf write
 * for coordinates, h5py's dims API too; rct: /frames stored [R, C, T]),
 * evenly spaced, in a length unit (their `units` attribute, else a name
 * ending in _mm, _cm, _m).  Anything else leaves the pitch as it was. */
void km_h5_coord_pitch(km_ctx *ctx, km_session_info *info, hid_t file, hid_t frames, int rct);
/* The times of a file without /time: the name of a dataset attached to
 * /frames' first or last dimension as a dimension scale (an xarray
 * coordinate of the time dimension under another name, "t", "frame_time")
 * whose `units` is a time unit ("s", "ms", "seconds since ..."), its name
 * printable ASCII (it is quoted in messages), into name (cap bytes); name
 * is left as it was when there is none. */
void km_h5_time_coord(km_ctx *ctx, hid_t file, hid_t frames, char *name, size_t cap);
/* 1 when `file` is a MATLAB v7.3 MAT-file (an HDF5 file behind a user
 * block that begins "MATLAB 7.3 MAT-file"): MATLAB keeps arrays
 * column-major and HDF5 shows their dimensions reversed, so its
 * frames(r, c, t) read as [t, c, r] (docs/FORMAT.md 1.2, From MATLAB). */
int km_h5_matlab_file(hid_t file);
/* "; /df is a pandas table (...): save it with df.to_csv() ..." into buf
 * when a group of the file carries pandas' `pandas_type` attribute (what
 * HDFStore and DataFrame.to_hdf write: axis0, axis1, block0_values, or a
 * PyTables table), else buf unchanged: the hint of a file without /frames. */
void km_h5_pandas_hint(hid_t file, char *buf, size_t cap);

#endif
