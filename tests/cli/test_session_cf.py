"""Sessions another tool wrote with CF attributes (docs/FORMAT.md 1.2, "CF
attributes"): xarray's and h5netcdf's /time in milliseconds or as datetimes, int16
frames packed with scale_factor/add_offset/_FillValue, and the unit on /frames. Each
reads as the same session unpacked: before session 27 the rate came out 1000 times too
low (0.1 Hz for a 100 Hz session with /time in ms) and packed frames 10 times too high,
without a word."""

import re

import h5py
import numpy as np
import pytest

from km_cli import EXAMPLE, run, run_ok

with h5py.File(EXAMPLE) as _f:
    FRAMES = _f["frames"][:200]
T = FRAMES.shape[0]
SECONDS = np.arange(T) / 100.0


def info(path, *opts):
    r = run_ok("info", "--format", "session", "--mode", "roller", path, *opts)
    return dict(re.findall(r"^(\w+):\s+(.*)$", r.stdout, re.M)), r.stderr


def session_frames(tmp_path, path):
    """frames/max and /session/time of the processed file."""
    out = tmp_path / (path.name + ".knotmap.h5")
    run_ok("process", "-q", "--format", "session", "--mode", "roller", "--pitch", "10",
           path, "-o", out)
    with h5py.File(out) as f:
        return f["frames/max"][()], f["session/time"][()], f["session"].attrs["units"]


def write(path, frames, time=None, time_units=None, **frame_attrs):
    with h5py.File(path, "w") as f:
        f["frames"] = frames
        for k, v in frame_attrs.items():
            f["frames"].attrs[k] = v
        if time is not None:
            f["time"] = time
            if time_units is not None:
                f["time"].attrs["units"] = time_units
    return path


@pytest.mark.parametrize("units,factor", [("s", 1.0), ("ms", 1e3), ("milliseconds", 1e3),
                                          ("us", 1e6), ("nanoseconds since 2026-01-01", 1e9),
                                          ("Seconds since 1970-01-01 00:00:00", 1.0)])
def test_time_units_give_the_true_rate(tmp_path, units, factor):
    path = write(tmp_path / "t.h5", FRAMES, SECONDS * factor, units)
    got, _ = info(path)
    assert float(got["rate"].split()[0]) == pytest.approx(100.0, rel=1e-9)
    _, times, _ = session_frames(tmp_path, path)
    np.testing.assert_allclose(times, SECONDS, rtol=0, atol=1e-12)


def test_xarray_datetime_and_timedelta_coordinates(tmp_path):
    xr = pytest.importorskip("xarray")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("h5netcdf")
    for name, coord in (("dt.h5", pd.date_range("2026-01-01", periods=T, freq="10ms")),
                        ("td.h5", pd.to_timedelta(SECONDS, unit="s"))):
        ds = xr.Dataset({"frames": (("time", "y", "x"), FRAMES)}, coords={"time": coord})
        ds.frames.attrs["units"] = "kPa"
        ds.to_netcdf(tmp_path / name, engine="h5netcdf")
        got, err = info(tmp_path / name)
        assert float(got["rate"].split()[0]) == pytest.approx(100.0, rel=1e-9), name
        assert got["units"] == "kPa" and "units" not in got["assumed"], name


def test_an_unknown_time_unit_is_refused_by_name(tmp_path):
    path = write(tmp_path / "t.h5", FRAMES, SECONDS, "fortnights")
    r = run("info", "--format", "session", path)
    assert r.returncode == 65
    assert r.stderr.strip().splitlines()[-1].startswith(
        "knotmap: %s: /time: attribute units = \"fortnights\" is not a time unit" % path)


def test_packed_frames_read_unpacked(tmp_path):
    plain = write(tmp_path / "plain.h5", FRAMES, SECONDS, "s")
    packed = np.round((FRAMES - 5.0) / 0.01).astype("i2")
    packed[3, 0, 0] = -32768
    path = write(tmp_path / "packed.h5", packed, SECONDS, "s", scale_factor=0.01, add_offset=5.0,
                 _FillValue=np.int16(-32768), units="kPa")
    got, _ = info(path)
    assert float(got["saturation"].split()[0]) == pytest.approx(32767 * 0.01 + 5.0)
    assert got["units"] == "kPa"
    want, _, _ = session_frames(tmp_path, plain)
    have, _, units = session_frames(tmp_path, path)
    assert units == "kPa"
    np.testing.assert_allclose(have, want, atol=0.006)


@pytest.mark.parametrize("units,factor", [("kPa", 1.0), ("Pa", 1e-3), ("psi", 6.894757293168361)])
def test_units_on_frames_when_the_root_has_none(tmp_path, units, factor):
    path = write(tmp_path / "u.h5", (FRAMES / factor).astype("f4"), units=units)
    got, err = info(path, "--rate", "100")
    assert got["units"] == "kPa" and "units" not in got["assumed"] and "no units" not in err
    plain = write(tmp_path / "plain.h5", FRAMES, units="kPa")
    np.testing.assert_allclose(session_frames(tmp_path, path)[0],
                               session_frames(tmp_path, plain)[0], rtol=1e-5, atol=1e-4)


def test_bad_packing_is_refused(tmp_path):
    path = write(tmp_path / "z.h5", FRAMES, scale_factor=0.0)
    r = run("info", "--format", "session", path)
    assert r.returncode == 65 and "/frames: attribute scale_factor is 0" in r.stderr


def test_knotmap_sessions_are_unchanged(tmp_path):
    got, err = info(EXAMPLE)
    assert got["rate"].startswith("100 ") and got["units"] == "kPa"


def _fill_said(stderr):
    m = re.search(r"warning: (\d+) values? (?:is|are) nan or inf \((?:the first )?at ([^;)]*)(;[^)]*)?\)",
                  stderr)
    assert m, stderr
    return int(m.group(1)), m.group(2), (m.group(3) or "")


@pytest.mark.parametrize("kind", ["int16", "float32"])
def test_fill_values_said_as_fill_values(tmp_path, kind):
    """A CF _FillValue is read as nan (missing data) and counted with the frames' other nan
    and inf; since session 40 the warning says how many were the file's fill value (before:
    only the count, as if the file held nan). The reference counts are numpy's on the array
    written."""
    rng = np.random.default_rng(40)
    if kind == "int16":
        a = np.round((FRAMES - 5.0) / 0.01).astype("i2")
        fill, attrs = np.int16(-32768), dict(scale_factor=0.01, add_offset=5.0)
    else:
        a = FRAMES.astype("f4").copy()
        fill, attrs = np.float32(-9999.0), {}
    for k in rng.choice(a.size, size=7, replace=False):
        a.flat[k] = fill
    if kind == "float32":
        for k in rng.choice(np.flatnonzero(a != fill), size=4, replace=False):
            a.flat[k] = np.nan
    path = write(tmp_path / "f.h5", a, SECONDS, "s", _FillValue=fill, units="kPa", **attrs)
    missing = (a == fill) | ~np.isfinite(a.astype("f8"))
    first = np.argwhere(missing)[0]
    want_at = "0-based frame %d, row %d, column %d" % tuple(int(v) for v in first)
    n_fill = int(np.count_nonzero(a == fill))
    for r in (run_ok("info", "--format", "session", "--mode", "roller", path),
              run_ok("process", "-q", "--format", "session", "--mode", "roller", path,
                     "-o", tmp_path / "r.h5")):
        n, at, fill_part = _fill_said(r.stderr)
        assert (n, at) == (int(np.count_nonzero(missing)), want_at)
        if n_fill == n:
            assert fill_part == "; all were the file's _FillValue: missing data", r.stderr
        else:
            assert fill_part == "; %d of them the file's _FillValue: missing data" % n_fill, r.stderr
    clean = write(tmp_path / "c.h5", FRAMES.astype("f4"), SECONDS, "s", _FillValue=np.float32(-9999.0))
    assert "nan or inf" not in run_ok("info", "--format", "session", "--mode", "roller", clean).stderr
