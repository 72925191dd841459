"""Sessions written by knotmap's C session writer, read back with h5py.

Checks the file layout of docs/FORMAT.md 1.2 from outside the library:
values, times, mask, root attributes, the /truth/knots table, chunking and
filters.  The library is loaded with ctypes from $KNOTMAP_LIB, the build beside
$KNOTMAP_BIN, or the newest non-sanitizer build*/libknotmap.so of this checkout.  Run:
    /usr/bin/python3 -m pytest tests/io/test_session_h5py.py
"""
import ctypes
import glob
import math
import os

import h5py
import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _find_lib():
    env = os.environ.get("KNOTMAP_LIB")
    if env:
        return env
    # The library beside the command under test, then the newest plain build
    # (a sanitizer build's library cannot be loaded into an unsanitized Python).
    binary = os.environ.get("KNOTMAP_BIN")
    if binary:
        beside = os.path.join(os.path.dirname(os.path.abspath(binary)), "libknotmap.so")
        if os.path.exists(beside):
            return beside
    found = [p for p in glob.glob(os.path.join(REPO, "build*", "libknotmap.so"))
             if "asan" not in os.path.basename(os.path.dirname(p))]
    return max(found, key=os.path.getmtime) if found else None


class SessionInfo(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rows", ctypes.c_int32), ("cols", ctypes.c_int32),
                ("n_frames", ctypes.c_int64), ("frame_rate_hz", ctypes.c_double),
                ("row_pitch_mm", ctypes.c_double), ("col_pitch_mm", ctypes.c_double),
                ("units", ctypes.c_char * 16), ("mode", ctypes.c_int32),
                ("roller_radius_mm", ctypes.c_double), ("saturation", ctypes.c_double),
                ("n_valid", ctypes.c_int32), ("assumed", ctypes.c_char * 96)]


@pytest.fixture(scope="module")
def lib():
    path = _find_lib()
    if path is None:
        pytest.skip("no libknotmap.so built (set KNOTMAP_LIB)")
    L = ctypes.CDLL(path)
    L.km_ctx_last_error.restype = ctypes.c_char_p
    return L


def _check(L, ctx, st):
    assert st == 0, L.km_ctx_last_error(ctx).decode()


def write_session(L, path, frames, times, mask, knots):
    T, R, C = frames.shape
    ctx = ctypes.c_void_p()
    _check(L, None, L.km_ctx_create(ctypes.byref(ctx)))
    info = SessionInfo(rows=R, cols=C, frame_rate_hz=100.0,
                       row_pitch_mm=2 * math.pi * 50 / R, col_pitch_mm=10.0,
                       units=b"kPa", mode=1, roller_radius_mm=50.0)
    w = ctypes.c_void_p()
    m = np.ascontiguousarray(mask, np.uint8)
    _check(L, ctx, L.km_session_writer_create(ctx, path.encode(), ctypes.byref(info),
                                              m.ctypes.data_as(ctypes.c_void_p), 0,
                                              ctypes.byref(w)))
    f = np.ascontiguousarray(frames, np.float32)
    t = np.ascontiguousarray(times, np.float64)
    half = T // 2
    for a, b in ((0, half), (half, T)):
        _check(L, ctx, L.km_session_writer_append(
            ctx, w, ctypes.c_void_p(f.ctypes.data + a * R * C * 4),
            ctypes.c_void_p(t.ctypes.data + a * 8), ctypes.c_int64(b - a)))
    cols = [np.ascontiguousarray(knots[:, i], np.float64) for i in range(4)]
    _check(L, ctx, L.km_session_writer_set_truth(
        ctx, w, *[c.ctypes.data_as(ctypes.c_void_p) for c in cols], None, ctypes.c_size_t(len(knots))))
    _check(L, ctx, L.km_session_writer_commit(ctx, w))
    L.km_session_writer_free(w)
    L.km_ctx_free(ctx)


def test_c_writer_layout_read_by_h5py(lib, tmp_path):
    rng = np.random.default_rng(7)
    frames = rng.normal(40, 10, (300, 8, 5)).astype(np.float32)
    times = np.cumsum(rng.uniform(0.009, 0.011, 300))
    mask = np.ones((8, 5), np.uint8)
    mask[2, 3] = 0
    knots = np.array([[10.0, 20.0, 4.0, 35.0], [30.5, 140.25, 5.5, 60.0]])
    path = str(tmp_path / "s.h5")
    write_session(lib, path, frames, times, mask, knots)
    assert os.listdir(tmp_path) == ["s.h5"]

    with h5py.File(path, "r") as f:
        a = f.attrs
        assert a["schema"] == "knotmap-session"
        assert a["schema_version"] == 1
        assert a["frame_rate_hz"] == 100.0
        assert a["row_pitch_mm"] == 2 * math.pi * 50 / 8
        assert a["col_pitch_mm"] == 10.0
        assert a["units"] == "kPa" and a["mode"] == "roller"
        assert a["roller_radius_mm"] == 50.0
        d = f["frames"]
        assert d.dtype == np.float32 and d.shape == (300, 8, 5)
        assert d.maxshape == (None, 8, 5)
        assert d.chunks[1:] == (8, 5)
        assert d.shuffle and d.compression == "gzip"
        np.testing.assert_array_equal(d[:], frames)
        assert f["time"].dtype == np.float64
        np.testing.assert_array_equal(f["time"][:], times)
        np.testing.assert_array_equal(f["mask"][:], mask)
        assert f["mask"].dtype == np.uint8
        g = f["truth/knots"]
        assert isinstance(g, h5py.Group)
        assert sorted(g.keys()) == ["amplitude_kpa", "sigma_mm", "x_mm", "y_mm"]
        for i, name in enumerate(["x_mm", "y_mm", "sigma_mm", "amplitude_kpa"]):
            assert g[name].dtype == np.float64 and g[name].shape == (2,)
            np.testing.assert_array_equal(g[name][:], knots[:, i])
        assert g["x_mm"].attrs["units"] == "mm"
        assert g["amplitude_kpa"].attrs["units"] == "kPa"


def test_bundled_example_follows_the_format():
    path = os.path.join(REPO, "datasets", "example", "roller_example.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["schema"] == "knotmap-session"
        assert f.attrs["schema_version"] == 1
        assert f.attrs["mode"] == "roller"
        T, R, C = f["frames"].shape
        assert (R, C) == (32, 16) and T == 1500
        assert f["time"].shape == (T,)
        assert np.all(np.diff(f["time"][:]) > 0)
        assert f["mask"].shape == (R, C)
        # row pitch is the circumference over the rows (DESIGN section 6)
        assert abs(f.attrs["row_pitch_mm"] - 2 * math.pi * f.attrs["roller_radius_mm"] / R) < 1e-9
        k = f["truth/knots"]
        assert k["x_mm"].shape == k["amplitude_kpa"].shape == (3,)
        p = f["frames"][:]
        # contact band around 40 kPa, knots push the maximum well above it
        assert 30 < np.median(p.max(axis=(1, 2))) < 60
        assert p.max() > 80
        assert p.min() >= 0
