"""The taxel pitch from the coordinates another tool saved (docs/FORMAT.md 1.2,
"Coordinates"): xarray and h5netcdf write a coordinate of /frames' row and column
dimensions as an HDF5 dimension scale (h5py's dims API does too). Evenly spaced, in a
length unit (its `units`, or a name ending in _mm, _cm, _m), its step is the pitch.
Before session 30 the pitch of such a file was assumed 1 mm and warned, although the
file said it."""

import re

import h5py
import numpy as np
import pytest

from km_cli import run, run_ok, says_assumed

T, R, C = 40, 8, 8  # a square grid: rows and columns must not be confused
rng = np.random.default_rng(7)
FRAMES = (20 + 5 * rng.random((T, R, C))).astype("f4")
xr = pytest.importorskip("xarray")


def info(path, *opts):
    r = run_ok("info", "--format", "session", "--mode", "mat", "--units", "kPa", path, *opts)
    return dict(re.findall(r"^(\w+):\s+(.*)$", r.stdout, re.M)), r.stderr


def save(path, y, x, units=("mm", "mm"), names=("y", "x"), time_last=False):
    dims = (names[0], names[1], "time") if time_last else ("time", names[0], names[1])
    a = FRAMES.transpose(1, 2, 0) if time_last else FRAMES
    ds = xr.Dataset({"frames": (dims, a)},
                    coords={"time": np.arange(T) / 50.0, names[0]: y, names[1]: x})
    for n, u in zip(names, units):
        if u is not None:
            ds[n].attrs["units"] = u
    ds.to_netcdf(path, engine="h5netcdf")
    return path


def test_xarray_coordinates_in_mm_give_the_pitch(tmp_path):
    got, err = info(save(tmp_path / "c.h5", np.arange(R) * 7.5, 100 + np.arange(C) * 5.0))
    assert got["pitch"] == "7.5 x 5 mm"
    assert "pitch" not in got["assumed"] and "pitch" not in err
    out = tmp_path / "r.h5"
    run_ok("process", "-q", "--format", "session", "--mode", "mat", "--units", "kPa",
           tmp_path / "c.h5", "-o", out)
    with h5py.File(out) as f:
        a = f["session"].attrs
        assert (a["row_pitch_mm"], a["col_pitch_mm"]) == (7.5, 5.0)


@pytest.mark.parametrize("units,names,want", [
    (("cm", "centimetres"), ("y", "x"), "7.5 x 5 mm"),
    ((None, None), ("y_mm", "x_mm"), "0.75 x 0.5 mm"),
    (("m", "m"), ("row", "col"), "750 x 500 mm"),
])
def test_other_length_units(tmp_path, units, names, want):
    got, _ = info(save(tmp_path / "c.h5", np.arange(R) * 0.75, np.arange(C) * 0.5,
                       units=units, names=names))
    assert got["pitch"] == want


def test_time_last_and_descending_coordinates(tmp_path):
    path = save(tmp_path / "c.h5", np.arange(R)[::-1] * 7.5, np.arange(C) * 5.0, time_last=True)
    got, _ = info(path)
    assert got["pitch"] == "7.5 x 5 mm" and got["frames"] == str(T)


@pytest.mark.parametrize("y,units", [
    (np.array([0, 7, 15, 22, 30, 37, 45, 52.0]), ("mm", "mm")),  # uneven
    (np.arange(R) * 1.0, (None, None)),                         # taxel indices, no unit
    (np.arange(R) * 7.5, ("degrees", "mm")),                    # not a length
])
def test_what_does_not_say_a_pitch_is_still_assumed_and_warned(tmp_path, y, units):
    got, err = info(save(tmp_path / "c.h5", y, np.arange(C) * 5.0, units=units))
    row, col = got["pitch"].split(" x ")
    assert row == "1" and "row_pitch_mm" in got["assumed"]
    assert says_assumed(err, "row pitch")
    assert col == ("5 mm" if units[1] == "mm" else "1 mm")


def test_h5py_dimension_scales_and_the_root_attributes_first(tmp_path):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["frames"] = FRAMES
        for name, v, dim in (("ypos", np.arange(R) * 6.0, 1), ("xpos", np.arange(C) * 4.0, 2)):
            f[name] = v
            f[name].attrs["units"] = "mm"
            f[name].make_scale(name)
            f["frames"].dims[dim].attach_scale(f[name])
    assert info(path)[0]["pitch"] == "6 x 4 mm"
    with h5py.File(path, "a") as f:
        f.attrs["row_pitch_mm"] = 10.0
        f.attrs["col_pitch_mm"] = 10.0
    assert info(path)[0]["pitch"] == "10 x 10 mm"
    got, _ = info(path, "--pitch", "3", "--override")
    assert got["pitch"] == "3 x 3 mm"


def test_a_crafted_reference_list_is_ignored(tmp_path):
    """A REFERENCE_LIST of the wrong shape or type, or naming /frames' dimension with a
    coordinate of another length, leaves the pitch assumed; nothing crashes."""
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f["frames"] = FRAMES
        f["short"] = np.arange(R - 1) * 5.0
        f["short"].attrs["units"] = "mm"
        f["short"].make_scale("short")
        f["frames"].dims[1].attach_scale(f["short"])
        f["ints"] = np.arange(C) * 5.0
        f["ints"].attrs["units"] = "mm"
        f["ints"].attrs["REFERENCE_LIST"] = np.arange(6, dtype="i4")
        f["text"] = np.array([b"a"] * C)
        f["text"].make_scale("text")
        f["frames"].dims[2].attach_scale(f["text"])
    got, err = info(path)
    assert got["pitch"] == "1 x 1 mm" and says_assumed(err, "row pitch")
    r = run("process", "-q", "--format", "session", "--mode", "mat", path, "-o",
            tmp_path / "r.h5")
    assert r.returncode == 0, r.stderr


def test_a_coordinate_in_huge_chunks_is_not_read(tmp_path):
    """A coordinate chunked in far more values than it holds (HDF5 reads a chunk whole:
    a tiny file could declare one of gigabytes; 2^20 here, 8 MiB) is left alone: the
    pitch stays assumed."""
    path = tmp_path / "h.h5"
    with h5py.File(path, "w") as f:
        f["frames"] = FRAMES
        for name, dim in (("y_mm", 1), ("x_mm", 2)):
            f.create_dataset(name, data=np.arange(R) * 5.0, maxshape=(None,),
                             chunks=(1 << 20,) if dim == 1 else (4,), compression="gzip")
            f[name].make_scale(name)
            f["frames"].dims[dim].attach_scale(f[name])
    got, err = info(path)
    assert got["pitch"] == "1 x 5 mm" and says_assumed(err, "row pitch")


def save_t(path, t, name="t", units="s", time_last=False):
    dims = ("y", "x", name) if time_last else (name, "y", "x")
    a = FRAMES.transpose(1, 2, 0) if time_last else FRAMES
    ds = xr.Dataset({"frames": (dims, a)}, coords={name: t})
    if units is not None:
        ds[name].attrs["units"] = units
    ds.to_netcdf(path, engine="h5netcdf")
    return path


@pytest.mark.parametrize("time_last", [False, True])
def test_a_time_coordinate_by_another_name_gives_the_times(tmp_path, time_last):
    """xarray names the time dimension as the user did ("t", "frame"); its coordinate,
    in a time unit, gives the times as /time does (before: 1 Hz assumed and warned)."""
    t = 12.0 + np.arange(T) * 0.02
    path = save_t(tmp_path / "t.h5", t, time_last=time_last)
    got, err = info(path)
    assert float(got["rate"].split()[0]) == pytest.approx(50.0, rel=1e-9)
    assert "frame_rate_hz" not in got["assumed"] and "frame rate" not in err
    out = tmp_path / "r.h5"
    run_ok("process", "-q", "--format", "session", "--mode", "mat", "--units", "kPa", path,
           "-o", out)
    with h5py.File(out) as f:
        np.testing.assert_allclose(f["session/time"][()], t, rtol=0, atol=1e-12)


def test_a_timedelta_coordinate(tmp_path):
    t = (np.arange(T) * 20).astype("timedelta64[ms]")
    got, _ = info(save_t(tmp_path / "d.h5", t, name="frame", units=None))
    assert float(got["rate"].split()[0]) == pytest.approx(50.0, rel=1e-9)


def test_an_index_without_a_time_unit_is_not_taken_for_times(tmp_path):
    got, err = info(save_t(tmp_path / "i.h5", np.arange(T), name="frame", units=None))
    assert got["rate"].startswith("1 Hz") and "frame_rate_hz" in got["assumed"]
    assert says_assumed(err, "frame rate")


def test_errors_name_the_time_coordinate(tmp_path):
    t = np.arange(T) * 0.02
    t[3] = -1.0
    r = run("info", "--format", "session", save_t(tmp_path / "b.h5", t))
    assert r.returncode == 65 and "/t[3] = -1 is smaller than the one before" in r.stderr


def test_a_time_coordinate_with_control_bytes_in_its_name_is_not_taken(tmp_path):
    """Its name would be quoted in messages as it is (an escape sequence on the user's
    terminal): such a coordinate is left alone, the rate assumed."""
    got, err = info(save_t(tmp_path / "e.h5", np.arange(T) * 0.02, name="t\x1b[2J"))
    assert got["rate"].startswith("1 Hz") and "\x1b" not in err
