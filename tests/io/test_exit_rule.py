"""One rule for the exit status of a file knotmap cannot read (docs/CLI.md,
"Exit status"), what a user's script needs to tell apart:

  65 (KM_ERR_FORMAT)      the file is bad: its bytes contradict its format or
                          themselves (damaged, crafted, truncated before the
                          run); no tool will read it as it is;
  69 (KM_ERR_UNSUPPORTED) the file is sound but uses something knotmap (this
                          build) does not read: convert or repack it;
  74 (KM_ERR_IO)          reading failed: the OS said so, or the file changed
                          (was cut) while being read; try again once it is
                          still.

Before session 49 (io7): an HDF5 dataset whose filters knotmap cannot check
before libhdf5 decodes them (a compressor under one whose output is only
sized, a filter it cannot bound, filtered chunks over 64 MiB) was 65 where a
filter this build cannot decode was 69; a .npy, .npz, MAT-file of level 5 or
HDF5 session cut while being read was 65 where a text export so cut was 74;
a MAT-file of v7.3 stored contiguously and so cut read zeros past the cut,
exit 0 (io8: km_h5_file_cut found no descriptor behind its user block).
The decisions are made in one place each: km_h5_unsound_status and
km_h5_error_kind (src/io/h5_chunks_check.c, h5_util.c) for HDF5, read_failed
(src/io/mat_file.c) for the byte-range readers, as km_lines_changed is for
text."""
import os
import subprocess

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
sio = pytest.importorskip("scipy.io")
from knotmap._core import ctx, ffi, lib  # noqa: E402

ATTRS = {"schema": "knotmap-session", "schema_version": np.int64(1), "frame_rate_hz": 100.0,
         "row_pitch_mm": 5.0, "col_pitch_mm": 5.0, "units": "kPa", "mode": "mat"}
T, R, C = 4000, 16, 16
FRAMES = np.random.default_rng(2).normal(10, 1, (T, R, C)).astype("f4")


def knotmap_cmd(*args, cwd=None):
    b = os.environ.get("KNOTMAP_BIN")
    if not b:
        pytest.skip("KNOTMAP_BIN not set")
    return subprocess.run([b, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


def test_a_filter_knotmap_cannot_check_is_unsupported(tmp_path):
    """A sound session whose /time is deflated in chunks of 68.7 MiB: h5py
    reads it, knotmap checks the decoding of chunks up to 64 MiB only (a
    crafted one could inflate to gigabytes inside libhdf5): not for this
    build, as a filter it cannot decode is not (69), with the remedy."""
    src = tmp_path / "s.h5"
    with h5py.File(src, "w") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        f.create_dataset("frames", data=FRAMES[:64], chunks=(16, R, C), compression="gzip")
        f.create_dataset("time", data=np.arange(64) / 100.0, chunks=(9_000_000,), maxshape=(None,),
                         compression="gzip")
    with h5py.File(src, "r") as f:  # a sound file: h5py reads it
        assert np.array_equal(f["time"][()], np.arange(64) / 100.0)
    out = tmp_path / "o.knotmap.h5"
    for args in (["process", "-q", src, "-o", out], ["info", src]):
        r = knotmap_cmd(*args)
        assert r.returncode == 69, (args[0], r.returncode, r.stderr)
        assert r.stderr == ("knotmap: %s: /time: its filtered chunks of 68.7 MiB are beyond the 64 MiB whose "
                            "decoding knotmap checks before libhdf5 decodes them (rechunk it, e.g. with "
                            "h5repack -l)\n" % src), r.stderr
    assert not out.exists()


def _open(path):
    c = ctx()
    opt = ffi.new("km_read_options *")
    lib.km_read_options_default(opt)
    out = ffi.new("km_reader **")
    assert lib.km_reader_open(c, str(path).encode(), opt, out) == 0, ffi.string(lib.km_ctx_last_error(c))
    return c, ffi.gc(out[0], lib.km_reader_free)


def read_cut(path, want):
    """Read a first block, cut the file in half, read on: the status and
    words of the first failure."""
    c, reader = _open(path)
    buf = np.empty((512, R, C), np.float32)
    n = ffi.new("int64_t *")
    assert lib.km_reader_read(c, reader, ffi.cast("float *", buf.ctypes.data), ffi.NULL, 512, n) == 0
    assert n[0] == 512 and np.array_equal(buf, want[:512])
    os.truncate(path, os.path.getsize(path) // 2)
    st, got = 0, 512
    while st == 0 and got < T:
        st = lib.km_reader_read(c, reader, ffi.cast("float *", buf.ctypes.data), ffi.NULL, 512, n)
        if st == 0:
            assert n[0] > 0 and np.array_equal(buf[:n[0]], want[got:got + n[0]]), "frames read wrong"
            got += n[0]
    assert st != 0, "the cut file was read to its end"
    return st, ffi.string(lib.km_ctx_last_error(c)).decode()


def npy(path):
    np.save(path, FRAMES)


def npz_stored(path):
    np.savez(path, frames=FRAMES)


def npz_deflated(path):
    np.savez_compressed(path, frames=np.round(FRAMES, 1))


def mat5(path):
    sio.savemat(path, {"frames": FRAMES, "fs": 100.0}, do_compression=False)


def mat73(path):
    """MATLAB's save -v7.3 (HDF5 behind its 512-byte user block), frames
    stored contiguously (MATLAB's choice for an array that is not
    compressed): a cut leaves no chunk to fail, HDF5 reads zeros past it."""
    with h5py.File(path, "w", userblock_size=512) as f:
        v = f.create_dataset("frames", data=FRAMES.transpose(0, 2, 1))  # frames(r, c, t): HDF5 [t, c, r]
        v.attrs["MATLAB_class"] = np.bytes_("single")
        assert v.chunks is None
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116) + bytes(8) + b"\x00\x02IM")


def h5_session(path):
    with h5py.File(path, "w") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        f.create_dataset("frames", data=FRAMES, chunks=(256, R, C), compression="gzip")


MAKERS = {"npy": (".npy", npy), "npz": (".npz", npz_stored), "npz_deflated": (".npz", npz_deflated),
          "mat5": (".mat", mat5), "mat73": (".mat", mat73), "hdf5": (".h5", h5_session)}


@pytest.mark.parametrize("kind", ["hdf5", "mat73", "npy", "npz", "npz_deflated"])  # (level 5 reads its array whole)
def test_a_file_cut_while_read_is_an_io_error(tmp_path, kind):
    ext, make = MAKERS[kind]
    path = tmp_path / ("s" + ext)
    make(path)
    want = np.round(FRAMES, 1) if kind == "npz_deflated" else FRAMES
    st, why = read_cut(path, want)
    assert st == lib.KM_ERR_IO, (st, why)
    assert why.startswith(str(path) + ": "), why
    assert "cut while being read" in why, why


@pytest.mark.parametrize("kind", ["npy", "npz", "mat5", "mat73"])
def test_a_file_short_before_the_run_is_still_bad_data(tmp_path, kind):
    """The same cut made before knotmap opens the file: the open sees it
    (the array declares more bytes than the file holds), 65."""
    ext, make = MAKERS[kind]
    path = tmp_path / ("s" + ext)
    make(path)
    os.truncate(path, os.path.getsize(path) // 2)
    r = knotmap_cmd("info", path)
    assert r.returncode == 65, (r.returncode, r.stderr)
    assert "cut while being read" not in r.stderr, r.stderr
