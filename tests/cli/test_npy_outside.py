""".npy files as users bring them, beyond what numpy.save of a recording makes
(docs/FORMAT.md 1.9): empty and 0-d arrays, float128, a pickled object array whose
unpickling would act (it must be refused, never executed), a memory-mapped array."""
import os

import numpy as np
import pytest

from km_cli import refused, run, run_ok

knotmap = pytest.importorskip("knotmap")


@pytest.mark.parametrize("shape", [(0, 16, 12), (30, 0, 12), (30, 16, 0), (0, 0, 0), (0, 12)])
def test_empty_arrays_are_bad_data_not_usage(tmp_path, shape):
    # before: exit 64 (usage) "grid: grid 0x16 is empty" for (0, 16, 12): the empty time
    # axis was taken for a grid dimension
    p = tmp_path / "empty.npy"
    np.save(p, np.zeros(shape, "f4"))
    refused(tmp_path, p, 65, "empty array")


def test_zero_d_and_float16(tmp_path):
    z = tmp_path / "z.npy"
    np.save(z, np.float32(3))
    refused(tmp_path, z, 65, "0 dimensions")
    h = tmp_path / "h.npy"  # float16 is read since session 46 (tests/io/test_real_exports.py); float128 is not
    np.save(h, np.ones((4, 3, 3), "f16"))
    refused(tmp_path, h, 69, "'<f16'", "astype('float32')")


class _Acts:
    """Unpickling this makes a folder: proof that a pickle was executed."""
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_object_array_is_refused_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    p = tmp_path / "o.npy"
    a = np.empty((2, 2, 2), dtype=object)
    a[...] = 0
    a[0, 0, 0] = _Acts(str(marker))
    np.save(p, a, allow_pickle=True)
    refused(tmp_path, p, 69, "'|O'")
    assert not marker.exists()


def test_memmap_array_equals_np_load(tmp_path):
    p = tmp_path / "mm.npy"
    a = (np.random.default_rng(2).random((30, 8, 6)) * 90).astype("f4")
    m = np.lib.format.open_memmap(p, mode="w+", dtype="f4", shape=a.shape)
    m[:] = a
    m.flush()
    del m
    assert "frames:       30" in run_ok("info", p).stdout
    with pytest.warns(knotmap.AssumedWarning):
        got = np.asarray(knotmap.read_session(str(p)).frames)
    assert np.array_equal(got.view("u4"), a.view("u4"))
    assert run("process", "-q", p, "-o", tmp_path / "mm.h5").returncode == 0
