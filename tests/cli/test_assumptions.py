"""No silent assumption that changes meaning (docs/FORMAT.md 1.1, 1.4): an ambiguous
text layout is refused, every assumed value is a warning and the result's /session
attribute `assumed`, and an option that contradicts the file is an error naming both
values unless --override is given."""

import h5py
import numpy as np
import pytest

from km_cli import EXAMPLE, TEKSCAN, PHYSIONET, run


def test_physionet_without_grid_is_refused_not_read_as_one_frame(tmp_path):
    out = tmp_path / "bed.h5"
    r = run("process", PHYSIONET, "-o", out)
    assert r.returncode == 64, r.stderr
    assert "82 lines of 2048 values" in r.stderr and "--grid 64x32" in r.stderr, r.stderr
    assert "--text-layout matrix" in r.stderr
    assert list(tmp_path.iterdir()) == []
    r = run("info", PHYSIONET)
    assert r.returncode == 64 and "82 lines of 2048 values" in r.stderr
    r = run("info", PHYSIONET, "--text-layout", "matrix")   # asked for: one frame
    assert r.returncode == 0, r.stderr
    assert "82 x 2048 taxels" in r.stdout


def test_every_assumption_is_warned_recorded_and_shown(tmp_path):
    out = tmp_path / "bed.h5"
    r = run("process", PHYSIONET, "--grid", "64x32", "--rate", "1", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    warnings = [l for l in r.stderr.splitlines() if ": warning: " in l]
    # Not an assumption: this bed has a hot taxel (~1160 counts beside ~90) and a
    # stray 1-2 count one, left unmasked without --detect-bad-taxels (ALGORITHMS.md 11.3).
    faults = [w for w in warnings if "stuck or hot" in w]
    assert len(faults) == 1 and ": 2 taxels look" in faults[0], r.stderr
    warnings = [w for w in warnings if w not in faults]
    assert len(warnings) == 1, r.stderr  # 4 assumed, one line (session 40; 4 lines before)
    assert any("assuming 1 mm" in w and "--pitch" in w for w in warnings)
    assert any("raw counts" in w and "--units" in w for w in warnings)
    assert any("--mode" in w for w in warnings)
    assert not any("frame rate" in w for w in warnings), "the rate was given"
    with h5py.File(out) as f:
        s = f["session"].attrs
        assert s["assumed"] == "row_pitch_mm,col_pitch_mm,units,mode"
        assert s["row_pitch_mm"] == 1.0 and s["frame_rate_hz"] == 1.0
    r = run("info", PHYSIONET, "--grid", "64x32")
    assert r.returncode == 0
    assert "assumed:      row_pitch_mm,col_pitch_mm,frame_rate_hz,units,mode" in r.stdout
    assert r.stderr.count(": warning: ") == 1  # the 5 in one line


def test_a_file_that_says_everything_assumes_nothing(tmp_path):
    out = tmp_path / "ex.h5"
    r = run("process", EXAMPLE, "-o", out, "--quiet")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    with h5py.File(out) as f:
        assert f["session"].attrs["assumed"] == ""


@pytest.mark.parametrize("opt, mine, theirs", [
    (["--grid", "10x10"], "10x10", "60x21"),
    (["--rate", "100"], "100 Hz", "31.25 Hz"),
    (["--units", "mmHg"], "mmHg", "kPa"),
    (["--pitch", "2"], "2x2 mm", "5.08x5.08 mm"),
])
def test_an_option_that_contradicts_the_file_is_an_error_naming_both(tmp_path, opt, mine,
                                                                     theirs):
    out = tmp_path / "r.h5"
    r = run("process", TEKSCAN, *opt, "-o", out)
    assert r.returncode == 64, r.stderr
    assert mine in r.stderr and theirs in r.stderr, r.stderr
    assert not out.exists()
    r = run("info", TEKSCAN, *opt)
    assert r.returncode == 64 and mine in r.stderr


def test_override_lets_the_options_win(tmp_path):
    out = tmp_path / "r.h5"
    r = run("process", TEKSCAN, "--rate", "100", "--units", "mmHg", "--override", "-o", out,
            "--quiet")
    assert r.returncode == 0, r.stderr
    with h5py.File(out) as f:
        s = f["session"].attrs
        assert s["frame_rate_hz"] == 100.0
        assert "frame_rate_hz" not in s["assumed"] and "units" not in s["assumed"]
        # the frame times follow the rate given (were SECONDS_PER_FRAME's 0.032 s
        # apart under a 100 Hz rate before session 27)
        np.testing.assert_allclose(np.diff(f["session/time"][()]), 0.01, rtol=1e-9)
    r = run("process", TEKSCAN, "--grid", "10x10", "--override", "-o", tmp_path / "g.h5")
    assert r.returncode == 64 and "cannot be overridden" in r.stderr
    r = run("process", TEKSCAN, "--rate", "31.25", "-o", tmp_path / "same.h5", "--quiet")
    assert r.returncode == 0, "agreeing with the file is fine: " + r.stderr


def test_an_hdf5_without_the_schema_is_read_as_a_session_only_when_asked(tmp_path):
    # What another tool writes with h5py: /frames [T, R, C] and /time, no
    # knotmap attributes.  Auto: refused, saying how to read it; with
    # --format session: read, and the missing schema is one more assumption.
    src = tmp_path / "other_tool.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("frames", data=np.full((50, 6, 5), 3.0, dtype=np.float32),
                         compression="gzip")
        f["time"] = np.arange(50) / 50.0
    out = tmp_path / "r.h5"
    r = run("process", src, "-o", out, "--quiet")
    assert r.returncode == 65 and "attribute schema is missing" in r.stderr, r.stderr
    assert "pass --format session to read its /frames" in r.stderr and not out.exists()
    r = run("process", src, "--format", "session", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert any("no schema attribute" in l and "--format session" in l
               for l in r.stderr.splitlines() if ": warning: " in l), r.stderr
    with h5py.File(out) as f:
        s = f["session"].attrs
        # /time without a units attribute: seconds, said (session 44)
        assert s["assumed"].split(",")[-2:] == ["schema", "time_units"]
        assert s["frame_rate_hz"] == 50.0  # from /time
    r = run("info", src, "--format", "session")
    assert r.returncode == 0 and "schema" in r.stdout.split("assumed:")[1].splitlines()[0]
    # A file that says it is something else stays refused, format given or not.
    with h5py.File(src, "a") as f:
        f.attrs["schema"] = "other-tool"
    r = run("process", src, "--format", "session", "-o", tmp_path / "r2.h5", "--quiet")
    assert r.returncode == 65 and "expected \"knotmap-session\"" in r.stderr, r.stderr


@pytest.mark.parametrize("writer", ["h5py", "xarray"])
def test_frames_stored_time_last_are_read_as_such(tmp_path, writer):
    # h5py users often store a recording as [R, C, T], and xarray writes the
    # dims in the order given.  /time's length then matches the last axis and
    # not the first: the file is read [R, C, T] and transposed, and gives what
    # the same data stored [T, R, C] gives.  (Session 28 refused it with the
    # transpose to apply; before, "/time has 500 values but /frames has 16
    # frames".)
    a = np.random.default_rng(1).random((16, 12, 500)).astype(np.float32) * 50
    # A block 400 over noise of 0-50 (sd 14): it peaks above the floor of 8
    # noise sd (docs/ALGORITHMS.md 3.7); +40 (session 28) stood 3 sd up and
    # made no peaks after session 36, and the test wants some to compare.
    a[5:8, 4:7, :] += 400.0
    t = np.arange(500) / 100.0
    src, ref = tmp_path / "rct.h5", tmp_path / "trc.h5"
    if writer == "h5py":
        with h5py.File(src, "w") as f:
            f.create_dataset("frames", data=a, compression="gzip", shuffle=True)
            f["time"] = t
    else:
        xr = pytest.importorskip("xarray")
        xr.Dataset({"frames": (("row", "col", "time"), a)},
                   coords={"time": t}).to_netcdf(src, engine="h5netcdf")
    with h5py.File(ref, "w") as f:
        f["frames"] = np.ascontiguousarray(a.transpose(2, 0, 1))
        f["time"] = t
    info = run("info", src, "--format", "session")
    assert info.returncode == 0, info.stderr
    assert "16 x 12 taxels" in info.stdout and "frames:       500" in info.stdout
    outs = []
    for path in (src, ref):
        out = tmp_path / (path.stem + ".knotmap.h5")
        r = run("process", path, "--format", "session", "-o", out, "--quiet", "--pitch", "5",
                "--units", "kPa", "--mode", "mat")
        assert r.returncode == 0, r.stderr
        outs.append(out)
    with h5py.File(outs[0]) as x, h5py.File(outs[1]) as y:
        assert x["session"].attrs["rows"] == 16 and x["session"].attrs["cols"] == 12
        for table in ("metrics", "peaks"):
            for col in y[table]:
                assert np.array_equal(x[table][col][()], y[table][col][()], equal_nan=True), \
                    (table, col)
        assert len(x["peaks/value"]) > 0


@pytest.mark.parametrize("dims", [("time", "row", "col"), ("row", "col", "time")])
def test_xarray_without_a_time_coordinate(tmp_path, dims):
    # xr.Dataset({"frames": (dims, a)}) with no coordinate: h5netcdf writes
    # /time as a netCDF dimension without values (a dimension scale whose NAME
    # says "This is a netCDF dimension but not a netCDF variable").  Its
    # length still tells which axis is time; the times come from the rate,
    # assumed (1 Hz, warned) or given.  Before session 29: "/time declares
    # 2400 bytes but stores 0: unwritten data".
    xr = pytest.importorskip("xarray")
    trc = np.random.default_rng(4).random((300, 10, 8)).astype(np.float32) * 50
    trc[:, 4:7, 3:6] += 400.0  # above the noise floor, as above
    a = trc if dims[0] == "time" else np.ascontiguousarray(trc.transpose(1, 2, 0))
    src, ref = tmp_path / "nocoord.nc", tmp_path / "ref.h5"
    xr.Dataset({"frames": (dims, a)}).to_netcdf(src, engine="h5netcdf")
    with h5py.File(ref, "w") as f:
        f["frames"] = trc
        f["time"] = np.arange(300) / 100.0
    info = run("info", src, "--format", "session")
    assert info.returncode == 0, info.stderr
    assert "10 x 8 taxels" in info.stdout and "frames:       300" in info.stdout
    said = [l for l in info.stderr.splitlines() if " in the file: assuming " in l]
    assert len(said) == 1 and "frame rate" in said[0] and "1 Hz" in said[0] \
        and "--rate HZ" in said[0], info.stderr  # with pitch, units, mode (session 40)
    outs = []
    for path in (src, ref):
        out = tmp_path / (path.stem + ".knotmap.h5")
        r = run("process", path, "--format", "session", "-o", out, "--quiet", "--pitch", "5",
                "--units", "kPa", "--mode", "mat", "--rate", "100")
        assert r.returncode == 0, r.stderr
        outs.append(out)
    with h5py.File(outs[0]) as x, h5py.File(outs[1]) as y:
        for table in ("metrics", "peaks"):
            for col in y[table]:
                assert np.array_equal(x[table][col][()], y[table][col][()], equal_nan=True), \
                    (table, col)
        assert len(x["peaks/value"]) > 0


def test_no_frames_names_the_3d_datasets_there(tmp_path):
    # xr.DataArray(a, dims=...).to_netcdf() names the variable
    # "__xarray_dataarray_variable__"; an h5py user names it as they like.
    # The error lists the 3-D datasets and says how to name one /frames
    # (before session 29: only "no /frames dataset").
    xr = pytest.importorskip("xarray")
    a = np.zeros((30, 4, 3), np.float32)
    da = tmp_path / "da.nc"
    xr.DataArray(a, dims=("time", "row", "col")).to_netcdf(da, engine="h5netcdf")
    r = run("info", da, "--format", "session")
    assert r.returncode == 65, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "knotmap: %s: no /frames dataset (a session needs /frames [T, R, C]); the file's 3-D "
        "dataset is /__xarray_dataarray_variable__ [30 x 4 x 3]: name it /frames (h5py: "
        "f.move(\"__xarray_dataarray_variable__\", \"frames\"); xarray: name the variable "
        "frames)" % da)
    two = tmp_path / "two.h5"
    with h5py.File(two, "w") as f:
        f["left"] = a
        f["right"] = np.zeros((30, 4, 5), np.float32)
        f["time"] = np.arange(30) / 10.0
    r = run("info", two, "--format", "session")
    assert r.returncode == 65
    assert ("the file's 3-D datasets are /left [30 x 4 x 3], /right [30 x 4 x 5]: name the "
            "session's /frames") in r.stderr
    # A name from the file never puts raw control bytes on the terminal.
    evil = tmp_path / "evil.h5"
    with h5py.File(evil, "w") as f:
        f["a\x1b[31mred\nx"] = a
    r = run("info", evil, "--format", "session")
    assert r.returncode == 65 and "\x1b" not in r.stderr
    assert "the file's 3-D dataset is /a\\x1b[31mred\\x0ax [30 x 4 x 3]" in r.stderr
