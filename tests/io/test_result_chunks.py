"""A result's chunked datasets, written by knotmap as pre-compressed chunks
(src/io/h5_chunks.c: shuffle by hand, deflate by libdeflate, H5Dwrite_chunk),
read back through h5py equal to the values written, and every stored chunk is
what HDF5's own filters would store: filter mask 0 (every filter applied) and
a zlib stream of the byte-shuffled chunk, decoded here with Python's zlib and
numpy, not with knotmap's code.

The session is 4567 frames, so every table's last chunk (4096 rows) and the
saved frames' last chunk (256 frames) are partly filled.  Columns whose values
are known without knotmap: /frames/frame and /peaks/peak (0..n-1),
/metrics/time and /session/time (the session's own /time), /metrics/peak
(the maximum of each saved conditioned frame).  Run with KNOTMAP_BIN set.
"""
import os
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("KNOTMAP_BIN", REPO / "build" / "knotmap"))
N_FRAMES = 4567


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("resultchunks")
    session, out = d / "s.h5", d / "r.h5"
    for args in (["synth", "--mode", "roller", "--grid", "16x16", "--rate", "100",
                  "--duration", "45.67", "--seed", "3", "-o", session],
                 # Every taxel in /metrics, the stuck ones too (docs/ALGORITHMS.md 3.7):
                 # the peak of each frame is checked against the saved frames below.
                 ["process", "-q", "--save-frames", "--keep-suspect-taxels", session, "-o", out]):
        r = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
    return session, out


def chunked_datasets(f):
    out = []
    f.visititems(lambda n, o: out.append(n) if isinstance(o, h5py.Dataset) and o.chunks
                 else None)
    return out


def decode(stored, ds):
    """One stored chunk through the dataset's filters, reversed, by hand."""
    raw = stored
    filters = ds.id.get_create_plist()
    steps = [filters.get_filter(i)[0] for i in range(filters.get_nfilters())]
    for fid in reversed(steps):
        if fid == h5py.h5z.FILTER_DEFLATE:
            raw = zlib.decompress(raw)
        elif fid == h5py.h5z.FILTER_SHUFFLE:
            size = ds.dtype.itemsize
            n = len(raw) // size
            raw = np.frombuffer(raw, np.uint8, n * size).reshape(size, n).T.tobytes()
        else:
            pytest.fail(f"{ds.name}: unexpected filter {fid}")
    return np.frombuffer(raw, ds.dtype).reshape(ds.chunks)


def test_stored_chunks_are_hdf5s_own(result):
    _, out = result
    with h5py.File(out, "r") as f:
        names = chunked_datasets(f)
        assert "frames/conditioned" in names and "peaks/value" in names
        partial = 0
        for name in names:
            ds = f[name]
            values = ds[...]
            for i in range(ds.id.get_num_chunks()):
                info = ds.id.get_chunk_info(i)
                mask, stored = ds.id.read_direct_chunk(info.chunk_offset)
                assert mask == 0, f"{name} chunk {i}: filter mask {mask}"
                chunk = decode(stored, ds)
                lo = info.chunk_offset[0]
                hi = min(lo + ds.chunks[0], ds.shape[0])
                partial += hi - lo < ds.chunks[0]
                np.testing.assert_array_equal(chunk[:hi - lo], values[lo:hi], err_msg=name)
                # the padding of a partial last chunk is the fill value, 0
                assert not np.any(chunk[hi - lo:].view(np.uint8)), name
        assert partial >= len(names) - 1


def test_values_read_back(result):
    session, out = result
    with h5py.File(out, "r") as f, h5py.File(session, "r") as s:
        assert f["frames/conditioned"].shape[0] == N_FRAMES
        np.testing.assert_array_equal(f["frames/frame"][...], np.arange(N_FRAMES))
        n_peaks = f["peaks"].attrs["n_peaks"]
        assert n_peaks > 4096
        np.testing.assert_array_equal(f["peaks/peak"][...], np.arange(n_peaks))
        np.testing.assert_array_equal(f["metrics/time"][...], s["time"][...])
        np.testing.assert_array_equal(f["session/time"][...], s["time"][...])
        c = f["frames/conditioned"][...].reshape(N_FRAMES, -1)
        np.testing.assert_array_equal(np.nanmax(c, axis=1), f["metrics/peak"][...])
        # every peak's frame index is a frame, in order
        frames = f["peaks/frame"][...]
        assert frames[0] >= 0 and frames[-1] < N_FRAMES and np.all(np.diff(frames) >= 0)
