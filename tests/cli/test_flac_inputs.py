"""FLAC recordings (lossless integer PCM through libsndfile, as soundfile and other
libsndfile writers save them) are recognised by `--format auto` (the `fLaC`
signature, then the `.flac` extension) and read as the same samples in WAV
(docs/FORMAT.md 1.1 and 1.5). Before, only `--format audio` read them: auto said
"format not recognised"."""

import ctypes
import ctypes.util

import h5py
import numpy as np
import pytest

from km_cli import run, run_ok

SF_WRITE, SF_STR_COMMENT = 0x20, 0x05
WAV, FLAC, PCM_16 = 0x010000, 0x170000, 0x0002


class _Info(ctypes.Structure):
    _fields_ = [("frames", ctypes.c_int64), ("samplerate", ctypes.c_int),
                ("channels", ctypes.c_int), ("format", ctypes.c_int),
                ("sections", ctypes.c_int), ("seekable", ctypes.c_int)]


def _libsndfile():
    name = ctypes.util.find_library("sndfile")
    if name is None:
        pytest.skip("libsndfile not installed")
    lib = ctypes.CDLL(name)
    lib.sf_open.restype = ctypes.c_void_p
    lib.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_Info)]
    lib.sf_set_string.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p]
    lib.sf_writef_short.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    lib.sf_writef_short.restype = ctypes.c_int64
    lib.sf_close.argtypes = [ctypes.c_void_p]
    return lib


def write(path, fmt, samples, rate, comment):
    lib = _libsndfile()
    info = _Info(0, rate, samples.shape[1], fmt, 0, 0)
    h = lib.sf_open(str(path).encode(), SF_WRITE, ctypes.byref(info))
    assert h, "libsndfile cannot write %s" % path
    lib.sf_set_string(h, SF_STR_COMMENT, comment.encode())
    data = np.ascontiguousarray(samples, dtype="<i2")
    assert lib.sf_writef_short(h, data.ctypes.data, data.shape[0]) == data.shape[0]
    lib.sf_close(h)
    return path


def frames():
    rng = np.random.default_rng(1)
    f = (rng.random((300, 2, 4)) * 1000).astype("i2")
    f[:, 1, 2] += np.arange(300, dtype="i2")
    return f


def result(tmp_path, path):
    out = tmp_path / (path.name + ".knotmap.h5")
    run_ok("process", "-q", path, "-o", out)
    with h5py.File(out) as f:
        return f["frames/max"][()], f["frames/mean"][()], f["session"].attrs["frame_rate_hz"]


@pytest.mark.parametrize("layout", ["per-taxel", "flattened"])
@pytest.mark.parametrize("name", ["rec.flac", "rec.FLAC", "rec.dat", "rec"])
def test_flac_reads_as_the_same_wav(tmp_path, layout, name):
    f = frames()
    if layout == "per-taxel":
        samples, rate, comment = f.reshape(300, 8), 100, "knotmap grid=2x4 pitch=5 mode=mat units=raw"
    else:
        samples, rate, comment = f.reshape(2400, 1), 800, "knotmap grid=2x4 pitch=5 mode=mat units=raw rate=100"
    wav = write(tmp_path / "rec.wav", WAV | PCM_16, samples, rate, comment)
    flac = write(tmp_path / name, FLAC | PCM_16, samples, rate, comment)
    r = run("info", flac)
    assert r.returncode == 0, r.stderr
    assert "format:       audio" in r.stdout and "grid:         2 x 4" in r.stdout
    assert "audio_format = FLAC" in r.stdout
    want, have = result(tmp_path, wav), result(tmp_path, flac)
    for a, b in zip(want, have):
        np.testing.assert_array_equal(a, b)
    assert have[2] == 100.0
