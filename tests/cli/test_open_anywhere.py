"""A result opens in the tools the README names (docs/FORMAT.md 2.1): h5py, pandas
through a dict of columns, xarray with the h5netcdf engine (named dimensions,
coordinate variables, units), and knotmap.read_result.  Real libraries, no stand-ins."""
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest

from km_cli import BIN, EXAMPLE


TABLES = {
    "metrics": ("time", ["time", "peak", "mean", "contact_area_mm2", "force_n",
                         "cop_grid_x_mm", "cop_grid_y_mm", "flags"]),
    "peaks": ("peak", ["peak", "frame", "time", "row", "col", "grid_y_mm", "grid_x_mm",
                       "value", "prominence", "area_taxels", "flags", "track"]),
    "tracks": ("track", ["track", "first_frame", "last_frame", "n_frames", "y_mm", "x_mm",
                         "value_max"]),
    "candidates": ("candidate", None),
}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("anywhere") / "ex.knotmap.h5"
    r = subprocess.run([str(BIN), "process", str(EXAMPLE), "-o", str(out), "--save-frames"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def test_every_dataset_has_units_and_description(result):
    seen = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            seen.append(name)
            assert "units" in obj.attrs, name
            assert isinstance(obj.attrs["units"], str), name
            assert obj.attrs["description"].strip(), name
    with h5py.File(result) as f:
        f.visititems(visit)
        assert f["metrics/force_n"].attrs["units"] == "N"
        assert f["peaks/value"].attrs["units"] == f["session"].attrs["units"] == "kPa"
        assert f["candidates/persistence"].attrs["units"] == "1"
    assert len(seen) > 40


def test_pandas_dict_of_columns_keeps_file_order(result):
    with h5py.File(result) as f:
        for g, (_, cols) in TABLES.items():
            df = pd.DataFrame({k: f[g][k][:] for k in f[g]})
            if cols is not None:
                assert list(df.columns) == cols, g
            assert len(df) == len(f[g][TABLES[g][0]]), g
        assert len(df) > 0


def test_xarray_h5netcdf_dimensions_coordinates_units(result):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    with h5py.File(result) as f:
        b = f["bodymap"]
        ny, nx = b["pressure"].shape
        y0, yp, xp = b.attrs["y0_mm"], b.attrs["y_pitch_mm"], b.attrs["x_pitch_mm"]
        pressure = b["pressure"][:]
        n_frames = int(f["session"].attrs["n_frames"])
        rows, cols = int(f["session"].attrs["rows"]), int(f["session"].attrs["cols"])
        t = f["session/time"][:]
    with xr.open_dataset(result, engine="h5netcdf", group="bodymap") as ds:
        assert ds["pressure"].dims == ("y_mm", "x_mm")
        np.testing.assert_allclose(ds["y_mm"].values, y0 + yp * np.arange(ny))
        np.testing.assert_allclose(ds["x_mm"].values, xp * np.arange(nx))
        assert ds["y_mm"].attrs["units"] == "mm" and ds["pressure"].attrs["units"] == "kPa"
        assert ds["coverage"].dims == ("y_mm", "x_mm")
        np.testing.assert_array_equal(ds["pressure"].values, pressure)
        # a body position selects its cell
        iy, ix = ny // 2, nx // 3
        v = ds["pressure"].sel(y_mm=y0 + yp * iy + 0.3 * yp, x_mm=xp * ix, method="nearest")
        assert np.array_equal(v.values, pressure[iy, ix], equal_nan=True)
    with xr.open_dataset(result, engine="h5netcdf", group="metrics") as ds:
        assert set(ds.dims) == {"time"} and list(ds.coords) == ["time"]
        np.testing.assert_array_equal(ds["time"].values, t)
        assert ds["peak"].dims == ("time",) and ds["time"].attrs["units"] == "s"
        assert ds["force_n"].attrs["units"] == "N"
    with xr.open_dataset(result, engine="h5netcdf", group="frames") as ds:
        assert ds["conditioned"].dims == ("frame", "row", "col")
        assert ds.sizes["frame"] == n_frames
        np.testing.assert_array_equal(ds["frame"].values, np.arange(n_frames))
        assert ds["max"].dims == ("row", "col") and ds.sizes["row"] == rows
    with xr.open_dataset(result, engine="h5netcdf", group="session") as ds:
        assert ds["mask"].dims == ("row", "col") and ds.sizes["col"] == cols
        assert ds.attrs["units"] == "kPa" and ds.attrs["mode"] == "roller"
    for g, (dim, _) in TABLES.items():
        with xr.open_dataset(result, engine="h5netcdf", group=g) as ds:
            assert list(ds.dims) == [dim], g
            for v in ds.variables.values():
                assert "units" in v.attrs and v.attrs["description"], g


def test_read_result_reads_it(result):
    knotmap = pytest.importorskip("knotmap")
    res = knotmap.read_result(result)
    with h5py.File(result) as f:
        for g in TABLES:
            assert set(res[g]) == set(f[g]), g
            np.testing.assert_array_equal(res[g][TABLES[g][0]], f[g][TABLES[g][0]][:])
