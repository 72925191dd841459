"""A session file cut while it is being read (a copy or sync tool replacing
it, a full disk's truncation): HDF5 reads past the file's end as zeros, so an
unfiltered session cut in half gave its second half as frames of zeros and
`knotmap process` exit 0 (session 46, hostile3).  The reader now checks the
file against HDF5's end of allocation after each block HDF5 reads and fails
naming the cut (docs/FORMAT.md 1.2, "Untrusted input").

Deterministic: the C reader (cffi, as read_session drives it) reads a first
block, the file is cut, the next block must fail."""
import os

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
from knotmap._core import ctx, ffi, lib  # noqa: E402

ATTRS = {"schema": "knotmap-session", "schema_version": np.int64(1), "frame_rate_hz": 100.0,
         "row_pitch_mm": 5.0, "col_pitch_mm": 5.0, "units": "kPa", "mode": "mat"}
T, R, C = 4000, 16, 16


def session(path, **create):
    a = np.random.default_rng(2).normal(10, 1, (T, R, C)).astype("f4")
    with h5py.File(path, "w") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        f.create_dataset("frames", data=a, **create)
    return a


@pytest.mark.parametrize("create", [{}, {"chunks": (256, R, C)}, {"chunks": (256, R, C), "compression": "gzip"}],
                         ids=["contiguous", "chunked", "deflate"])
def test_a_session_cut_while_read_fails_naming_the_cut(tmp_path, create):
    path = tmp_path / "s.h5"
    a = session(path, **create)
    c = ctx()
    opt = ffi.new("km_read_options *")
    lib.km_read_options_default(opt)
    out = ffi.new("km_reader **")
    assert lib.km_reader_open(c, str(path).encode(), opt, out) == 0, ffi.string(lib.km_ctx_last_error(c))
    reader = ffi.gc(out[0], lib.km_reader_free)
    buf = np.empty((512, R, C), np.float32)
    n = ffi.new("int64_t *")
    assert lib.km_reader_read(c, reader, ffi.cast("float *", buf.ctypes.data), ffi.NULL, 512, n) == 0
    assert n[0] == 512 and np.array_equal(buf, a[:512])
    os.truncate(path, os.path.getsize(path) // 2)          # the second half of the frames gone
    st, got = 0, 512
    while st == 0 and got < T:
        st = lib.km_reader_read(c, reader, ffi.cast("float *", buf.ctypes.data), ffi.NULL, 512, n)
        if st == 0:
            assert n[0] > 0 and np.array_equal(buf[:n[0]], a[got:got + n[0]]), "frames read wrong"
            got += n[0]
    assert st != 0, "the cut file was read to its end (its frames past the cut as zeros)"
    why = ffi.string(lib.km_ctx_last_error(c)).decode()
    assert why.startswith(f"{path}: frames "), why
    assert "cut while being read" in why, why
