"""`--rate HZ --override` on a file whose rate comes from its own times: the
frames' times follow the rate given, as they always did for Tekscan and audio
files (docs/FORMAT.md 1.1).  Until session 44 an HDF5 /time, a text table's
time column, XSENSOR's Time keys and a MAT-file's or .npz archive's `time`
kept the file's times while the result said the given rate: /session/time
0.5 s apart beside frame_rate_hz = 100."""
import h5py
import numpy as np
import pytest
import scipy.io as sio

from km_cli import run_ok

T, R, C = 12, 3, 4
FRAMES = (np.random.default_rng(1).random((T, R, C)) * 50).astype("f4")
TIME = np.arange(T) * 0.5                                   # the file's own 2 Hz


def hdf5(p):
    with h5py.File(p, "w") as f:
        f["frames"] = FRAMES
        f["time"] = TIME
        f["time"].attrs["units"] = "s"
    return ["--format", "session"]


def text(p):
    with open(p, "w") as f:
        f.write("time," + ",".join("v%d" % i for i in range(R * C)) + "\n")
        for t, fr in zip(TIME, FRAMES):
            f.write("%g," % t + ",".join("%g" % v for v in fr.ravel()) + "\n")
    return ["--grid", "%dx%d" % (R, C)]


def xsensor(p):
    with open(p, "w") as f:
        for i, (t, fr) in enumerate(zip(TIME, FRAMES)):
            f.write('"Frame:","%d"\n"Time:","%.3f"\n"Rows:","%d"\n"Columns:","%d"\n' % (i + 1, t, R, C))
            f.write("\n".join(",".join("%g" % v for v in row) for row in fr) + "\n")
    return []


def npz(p):
    np.savez(p, frames=FRAMES, time=TIME)
    return []


def mat(p):
    sio.savemat(p, {"frames": np.moveaxis(FRAMES, 0, -1), "time": TIME})
    return []


@pytest.mark.parametrize("make, ext", [(hdf5, "h5"), (text, "csv"), (xsensor, "csv"),
                                       (npz, "npz"), (mat, "mat")])
def test_times_follow_the_rate_given(tmp_path, make, ext):
    src = tmp_path / ("rec." + ext)
    opts = make(src)
    out = tmp_path / "r.h5"
    run_ok("process", "-q", src, *opts, "--rate", "100", "--override", "-o", out)
    with h5py.File(out) as f:
        assert f["session"].attrs["frame_rate_hz"] == 100.0
        np.testing.assert_array_equal(f["session/time"][()], np.arange(T) / 100.0)
    plain = tmp_path / "p.h5"                               # without the override: the file's
    run_ok("process", "-q", src, *opts, "-o", plain)
    with h5py.File(plain) as f:
        assert f["session"].attrs["frame_rate_hz"] == 2.0
        np.testing.assert_allclose(f["session/time"][()], TIME)
