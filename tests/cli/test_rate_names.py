"""A rate saved under the name MATLAB and numpy users give it (`fs`, `fps`,
`sample_rate`, ...; docs/FORMAT.md 1.8) in a MAT-file or .npz archive. Without
`frame_rate_hz`, a `time` that gives the rate and `--rate`, the number is taken
as the rate and the assumption is said (stderr, the 'assumed:' line, the
result's /session attribute 'assumed' as `rate_name`); before, such a file's rate
was assumed 1 Hz, the `fs` in it shown only as a header entry."""
import numpy as np
import pytest

from km_cli import run, run_ok

sio = pytest.importorskip("scipy.io")
h5py = pytest.importorskip("h5py")

T, R, C = 30, 8, 6


def frames():
    return (np.random.default_rng(3).random((R, C, T)) * 50).astype("f4")


def assumed(stdout):
    return stdout.split("assumed:")[1].splitlines()[0]


@pytest.mark.parametrize("name", ["fs", "Fs", "fps", "sample_rate", "sampling_rate"])
def test_mat_rate_under_a_rate_name(tmp_path, name):
    p = tmp_path / "s.mat"
    sio.savemat(p, {"frames": frames(), name: 250.0})
    r = run_ok("info", "--time-axis", "last", p)
    assert "rate:         250 Hz" in r.stdout
    assert "rate_name" in assumed(r.stdout) and "frame_rate_hz" not in assumed(r.stdout)
    assert "named like a sampling rate" in r.stderr and "--rate" in r.stderr


def test_mat_struct_field_fs(tmp_path):
    p = tmp_path / "s.mat"
    sio.savemat(p, {"s": {"frames": frames(), "fs": 125.0, "units": "kPa"}})
    r = run_ok("info", "--time-axis", "last", p)
    assert "rate:         125 Hz" in r.stdout and "rate_name" in assumed(r.stdout)


def test_npz_rate_under_fs_reaches_the_result(tmp_path):
    p = tmp_path / "s.npz"
    np.savez(p, frames=frames().transpose(2, 0, 1), fs=np.float64(40.0), units="kPa")
    out = tmp_path / "r.h5"
    run_ok("process", "-q", p, "-o", out)
    with h5py.File(out, "r") as f:
        s = f["session"].attrs
        assert s["frame_rate_hz"] == 40.0
        said = s["assumed"].decode() if isinstance(s["assumed"], bytes) else str(s["assumed"])
        assert "rate_name" in said.split(",")
        t = f["metrics/time"][:]
        assert np.allclose(np.diff(t), 1 / 40.0)


def test_what_wins_over_a_rate_name(tmp_path):
    a = frames()
    # frame_rate_hz wins, the other name is a header entry only
    p = tmp_path / "both.mat"
    sio.savemat(p, {"frames": a, "fs": 250.0, "frame_rate_hz": 100.0})
    r = run_ok("info", "--time-axis", "last", p)
    assert "rate:         100 Hz" in r.stdout and "rate_name" not in assumed(r.stdout)
    assert "fs = 250" in r.stdout
    # a time vector gives the rate
    q = tmp_path / "time.mat"
    sio.savemat(q, {"frames": a, "fs": 250.0, "time": np.arange(T) / 20.0})
    r = run_ok("info", q)
    assert "rate:         20 Hz" in r.stdout and "rate_name" not in assumed(r.stdout)
    # --rate wins without a conflict (the name was only a guess)
    o = tmp_path / "fs_only.mat"
    sio.savemat(o, {"frames": a, "fs": 250.0})
    r = run_ok("info", "--time-axis", "last", "--rate", "50", o)
    assert "rate:         50 Hz" in r.stdout and "rate_name" not in assumed(r.stdout)


@pytest.mark.parametrize("extra", [{"fs": -5.0},                   # not a rate
                                   {"fs": np.array([1.0, 2.0])}])  # not a number
def test_no_rate_when_the_names_do_not_tell_one(tmp_path, extra):
    p = tmp_path / "s.mat"
    sio.savemat(p, {"frames": frames(), **extra})
    r = run_ok("info", "--time-axis", "last", p)
    assert "rate:         1 Hz" in r.stdout
    assert "frame_rate_hz" in assumed(r.stdout) and "rate_name" not in assumed(r.stdout)


def test_two_rate_names_that_disagree_are_an_error_naming_both(tmp_path):
    """fs = 250 beside fps = 100: which is the frame rate? Before session 36 neither
    was taken, without a word, and the warning said the file had no frame rate."""
    p = tmp_path / "s.mat"
    sio.savemat(p, {"frames": frames(), "fs": 250.0, "fps": 100.0})
    r = run("process", "-q", "--time-axis", "last", p, "-o", tmp_path / "r.h5")
    assert r.returncode == 65 and str(p) in r.stderr
    assert "variables fs = 250 and fps = 100 are both named like a frame rate and disagree" in r.stderr
    assert "--rate HZ" in r.stderr and not (tmp_path / "r.h5").exists()
    r = run_ok("info", "--time-axis", "last", "--rate", "100", p)  # the option says which
    assert "rate:         100 Hz" in r.stdout
    q = tmp_path / "s.npz"
    np.savez(q, frames=frames().transpose(2, 0, 1), fs=np.float64(40.0), srate=np.float64(50.0))
    r = run("info", q)
    assert r.returncode == 65 and "arrays fs = 40 and srate = 50" in r.stderr
    knotmap = pytest.importorskip("knotmap")
    with pytest.raises(ValueError, match="pass rate=HZ"):
        knotmap.read_session(str(p), time_axis="last")
