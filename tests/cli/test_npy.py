"""NumPy .npy arrays (numpy.save) read as sessions (docs/FORMAT.md 1.9). Before session
32 they were "format not recognised". The reference is numpy's own np.load: frames must
equal it bit for bit, in every layout numpy writes (C and Fortran order, either byte
order, the integer and float types, format versions 1.0 and 2.0)."""
import numpy as np
import pytest

from km_cli import assert_same_results, refused, run, run_ok

knotmap = pytest.importorskip("knotmap")
h5py = pytest.importorskip("h5py")
fmt = pytest.importorskip("numpy.lib.format")

T, R, C = 40, 12, 10


def recording(dtype="f4"):
    return (np.random.default_rng(3).random((T, R, C)) * 90).astype(dtype)


def frames_of(path, **kw):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(knotmap.read_session(str(path), **kw).frames)


@pytest.mark.parametrize("dtype", ["<f4", ">f4", "<f8", ">f8", "<i2", ">u2", "u1", "i1",
                                   "<i4", "<u4", "<i8", "?"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_frames_equal_np_load(tmp_path, dtype, order):
    a = recording("f8")
    a = (a > 45) if dtype == "?" else a.astype(dtype)
    p = tmp_path / "s.npy"
    np.save(p, np.asarray(a, order=order))
    ref = np.load(p)
    got = frames_of(p)
    assert got.shape == (T, R, C) and np.array_equal(got, ref.astype("f4"))


def test_version_2_header_and_one_frame(tmp_path):
    p = tmp_path / "v2.npy"
    a = recording()
    with open(p, "wb") as f:
        fmt.write_array(f, a, version=(2, 0))
    assert np.array_equal(frames_of(p), a)
    q = tmp_path / "one.npy"
    np.save(q, a[0].astype("f8"))
    got = frames_of(q)
    assert got.shape == (1, R, C) and np.array_equal(got[0], a[0])


def test_the_time_axis_assumed_said_and_given(tmp_path):
    a = recording()
    p = tmp_path / "s.npy"
    np.save(p, a)
    r = run_ok("info", p)
    assert "format:       npy" in r.stdout and "grid:         12 x 10 taxels" in r.stdout
    assert "time_axis" in r.stdout.split("assumed:")[1].splitlines()[0]
    assert "--time-axis first|last" in r.stderr
    r = run_ok("info", "--time-axis", "first", "--rate", "100", "--pitch", "5", "--units", "kPa", p)
    assert "assumed:" not in r.stdout.replace("assumed:      mode", "") and "rate:         100 Hz" in r.stdout
    last = tmp_path / "rct.npy"                    # an [R, C, T] array, as h5py users may keep it
    np.save(last, np.ascontiguousarray(a.transpose(1, 2, 0)))
    assert np.array_equal(frames_of(last), a)      # the longer end axis is time
    assert np.array_equal(frames_of(last, time_axis="last"), a)


def test_short_recording_of_a_wide_sensor_is_warned_and_told(tmp_path):
    """[T, R, C] with T under C: the shape's guess takes time last (docs/FORMAT.md 1.9), and
    says so; --time-axis first reads it as np.stack saved it. Fails if the default or the
    warning changes without the docs."""
    a = (np.random.default_rng(5).random((10, 32, 64)) * 90).astype("f4")
    p = tmp_path / "wide.npy"
    np.save(p, a)
    r = run_ok("info", p)
    assert "grid:         10 x 32 taxels" in r.stdout and "frames:       64" in r.stdout
    assert "time_axis" in r.stdout.split("assumed:")[1].splitlines()[0]
    assert "--time-axis first|last" in r.stderr
    assert np.array_equal(frames_of(p), a.transpose(2, 0, 1))
    r = run_ok("info", "--time-axis", "first", p)
    assert "grid:         32 x 64 taxels" in r.stdout and "frames:       10" in r.stdout
    assert "time_axis" not in r.stdout.split("assumed:")[1].splitlines()[0]
    assert np.array_equal(frames_of(p, time_axis="first"), a)


def test_process_equals_the_same_session_in_hdf5(tmp_path):
    a = recording() * 3
    p = tmp_path / "s.npy"
    np.save(p, a)
    h = tmp_path / "s.h5"
    with h5py.File(h, "w") as f:
        f["frames"] = a
        f.attrs.update({"schema": "knotmap-session", "schema_version": 1, "frame_rate_hz": 20.0,
                        "row_pitch_mm": 8.0, "col_pitch_mm": 8.0, "units": "kPa", "mode": "mat"})
    run_ok("process", "-q", "--rate", "20", "--pitch", "8", "--units", "kPa", "--mode", "mat",
           "--time-axis", "first", p, "-o", tmp_path / "a.h5")
    run_ok("process", "-q", h, "-o", tmp_path / "b.h5")
    assert assert_same_results(tmp_path / "a.h5", tmp_path / "b.h5") in (b"npy", "npy")


def test_refusals(tmp_path):
    a = recording()
    p = tmp_path / "cut.npy"
    np.save(p, a)
    b = p.read_bytes()
    p.write_bytes(b[: len(b) - 100])
    refused(tmp_path, p, 65, "truncated")
    big = tmp_path / "big.npy"                     # a few bytes that declare 40 GB
    head = b"{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 10000, 10), }"
    big.write_bytes(b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head + b"\0" * 64)
    refused(tmp_path, big, 65, "truncated")
    head = b"{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693953, 4, 4), }"
    big.write_bytes(b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head + b"\0" * 64)
    refused(tmp_path, big, 65, "truncated")         # T x R x C x 8 beyond 64 bits, not wrapped
    c = tmp_path / "c.npy"
    np.save(c, a.astype("c8"))
    refused(tmp_path, c, 69, "'<c8'", "float32")
    s = tmp_path / "s.npy"
    np.save(s, np.zeros(4, dtype=[("x", "f4"), ("y", "f4")]))
    refused(tmp_path, s, 69, "structured")
    v = tmp_path / "v.npy"
    np.save(v, np.zeros(5, "f4"))
    refused(tmp_path, v, 65, "1 dimension")
    o = tmp_path / "o.npy"
    np.save(o, np.array([1, "x"], dtype=object), allow_pickle=True)
    refused(tmp_path, o, 69, "'|O'")
