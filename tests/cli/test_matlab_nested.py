"""Structs in structs in a MAT-file (`rec.frames` beside `rec.meta.fs`), both levels
(docs/FORMAT.md 1.8). Before session 36 neither reader looked deeper than one level:
the rate in `rec.meta.fs` was not read and the warning said "no frame rate in the
file: assuming 1 Hz" although the file had one. A name is now looked up nearest the
frames' struct first (in struct steps); two as near with different values are an
error naming both, never a silent pick.

Fixtures: scipy.io.savemat writes a dict in a dict as a struct in a struct (level 5);
the v7.3 files are written with h5py in MATLAB's layout (a group of MATLAB_class
'struct' per struct, test_matlab_v73.mat73). The frames are checked against
scipy.io.loadmat / h5py, which no one here wrote."""
import numpy as np
import pytest

from km_cli import refused, run_ok

sio = pytest.importorskip("scipy.io")
h5py = pytest.importorskip("h5py")
knotmap = pytest.importorskip("knotmap")
from test_matlab_v73 import mat73  # noqa: E402  (h5py in MATLAB's v7.3 layout)

R, C, T = 8, 6, 20
LEVELS = ["v5", "v73"]


def recording():
    """MATLAB's frames(r, c, t)."""
    return (np.random.default_rng(11).random((R, C, T)) * 60).astype("f8")


def save(level, path, variables):
    """variables: name -> value; a dict is a struct (nested dicts: structs in it)."""
    if level == "v5":
        sio.savemat(path, variables, do_compression=True)
        return path
    return mat73(path, variables)


def frames_of(path, **kw):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(knotmap.read_session(str(path), **kw).frames)


def info(path, *opts):
    return run_ok("info", *opts, path)


def assumed(stdout):
    return stdout.split("assumed:")[1].splitlines()[0]


@pytest.mark.parametrize("level", LEVELS)
def test_rate_units_and_pitch_in_a_nested_struct(tmp_path, level):
    a = recording()
    p = save(level, tmp_path / "rec.mat", {"rec": {"frames": a, "meta": {
        "frame_rate_hz": 50.0, "units": "mmHg", "row_pitch_mm": 7.5, "col_pitch_mm": 5.0,
        "rows": float(R)}}})
    r = info(p, "--time-axis", "last")
    for line in ("rate:         50 Hz", "units:        mmHg", "pitch:        7.5 x 5 mm"):
        assert line in r.stdout, r.stdout
    said = assumed(r.stdout)
    assert "frame_rate_hz" not in said and "units" not in said and "pitch" not in said
    assert "assuming 1 Hz" not in r.stderr
    assert "rec.meta.frame_rate_hz = 50" in r.stdout  # a header entry too
    assert np.array_equal(frames_of(p, time_axis="last"), a.transpose(2, 0, 1).astype("f4"))


@pytest.mark.parametrize("level", LEVELS)
def test_fs_in_a_nested_struct_is_the_rate_named(tmp_path, level):
    p = save(level, tmp_path / "fs.mat", {"rec": {"frames": recording(), "meta": {"fs": 40.0}}})
    r = info(p, "--time-axis", "last")
    assert "rate:         40 Hz" in r.stdout and "rate_name" in assumed(r.stdout)
    assert "assuming 1 Hz" not in r.stderr and "named like a sampling rate" in r.stderr


@pytest.mark.parametrize("level", LEVELS)
def test_frames_in_a_nested_struct_with_time_and_mask_beside(tmp_path, level):
    a = recording()
    mask = np.ones((R, C), dtype=bool)
    mask[0, :3] = False
    p = save(level, tmp_path / "deep.mat", {"rec": {"data": {"frames": a},
                                                    "meta": {"time": np.arange(T) / 25.0,
                                                             "mask": mask}}})
    if level == "v5":  # the reference: scipy reads the struct in a struct
        m = sio.loadmat(p, simplify_cells=True)
        assert np.array_equal(m["rec"]["data"]["frames"], a)
    r = info(p)
    assert "rate:         25 Hz" in r.stdout and "time_axis" not in assumed(r.stdout)
    assert "45 valid, 3 masked" in r.stdout, r.stdout
    assert np.array_equal(frames_of(p), a.transpose(2, 0, 1).astype("f4"))


@pytest.mark.parametrize("level", LEVELS)
def test_the_nearest_name_wins(tmp_path, level):
    """rec.fs is in the frames' struct (0 steps), rec.meta.fs one step away."""
    p = save(level, tmp_path / "near.mat", {"rec": {"frames": recording(), "fs": 100.0,
                                                    "meta": {"fs": 50.0}}})
    assert "rate:         100 Hz" in info(p, "--time-axis", "last").stdout
    # another top-level struct's fields are header entries only (another recording's)
    q = save(level, tmp_path / "other.mat", {"rec": {"frames": recording()},
                                             "other": {"meta": {"fs": 50.0}}})
    r = info(q, "--time-axis", "last")
    assert "rate:         1 Hz" in r.stdout and "other.meta.fs = 50" in r.stdout


@pytest.mark.parametrize("level", LEVELS)
def test_two_as_near_that_differ_are_an_error_naming_both(tmp_path, level):
    p = save(level, tmp_path / "two.mat", {"rec": {"frames": recording(), "meta": {"fs": 50.0},
                                                   "daq": {"fs": 1000.0}}})
    refused(tmp_path, p, 65, "rec.meta.fs", "rec.daq.fs", "two `fs` as near the frames (rec.frames)")
    q = save(level, tmp_path / "units.mat", {"frames": recording(), "units": "kPa",
                                             "meta": {"units": "mmHg"}, "cal": {"units": "kPa"}})
    assert "units:        kPa" in info(q, "--time-axis", "last").stdout  # the top level's: 0 steps
    u = save(level, tmp_path / "units2.mat", {"frames": recording(), "meta": {"units": "mmHg"},
                                              "cal": {"units": "kPa"}})
    refused(tmp_path, u, 65, "meta.units", "cal.units")
    # as near and equal: no doubt, taken
    e = save(level, tmp_path / "same.mat", {"rec": {"frames": recording(), "meta": {"fs": 50.0},
                                                    "daq": {"fs": np.uint8(50)}}})
    assert "rate:         50 Hz" in info(e, "--time-axis", "last").stdout


@pytest.mark.parametrize("level", LEVELS)
def test_depth_three_is_opened_and_deeper_is_listed(tmp_path, level):
    a = recording()
    p = save(level, tmp_path / "three.mat", {"a": {"b": {"c": {"frames": a, "fs": 20.0}}}})
    r = info(p, "--time-axis", "last")
    assert "rate:         20 Hz" in r.stdout and "a.b.c.fs = 20" in r.stdout
    q = save(level, tmp_path / "four.mat", {"a": {"b": {"c": {"d": {"frames": a}}}}})
    refused(tmp_path, q, 65, "a.b.c.d [1 x 1 struct]")
