"""LZ4 chunks whose stream lies (Debian's hdf5-filter-plugin, filter 32004).

The plugin (H5Zlz4.c) decodes each block with LZ4_decompress_fast, which
trusts the stream: a literal run's length is copied from the input whatever
is left of it (liblz4 1.9.4 keeps the output in bounds, not the input).
Session 48's bound walked the plugin's blocks (sizes, their sum), not their
streams: a block of 18 bytes saying "4096 literals follow" passed, and the
plugin read 4114 bytes from it ("decompressed size not the same: 4114, !=
18" on stdout, then "filter returned failure during read").  With a chunk of
64 MiB so made (263 KB stored) `process --max-memory 4G` died of SIGSEGV
(139) in the plugin's read past its buffer.  Now each block is decoded first
by liblz4's bounds-checked LZ4_decompress_safe into a buffer of its size
(src/io/h5_chunks_bound.c): such a chunk is refused, named, before libhdf5
hands it to the plugin; a sound one decodes to the same frames as h5py's."""
import struct
import subprocess

import numpy as np
import pytest

from km_reliability import h5py as h5  # (skips without h5py)

LZ4 = 32004
ATTRS = {"schema": "knotmap-session", "schema_version": np.int64(1), "frame_rate_hz": 100.0,
         "row_pitch_mm": 5.0, "col_pitch_mm": 5.0, "units": "kPa", "mode": "mat"}
T, R, C = 16, 8, 8
FRAMES = np.random.default_rng(1).normal(10, 1, (2 * T, R, C)).astype(np.float32)
FRAMES[T:] = np.round(FRAMES[T:])  # the second chunk compresses: blocks decoded, not stored

pytestmark = pytest.mark.skipif(not h5.h5z.filter_avail(LZ4),
                                reason="HDF5 filter 32004 not installed (Debian: hdf5-filter-plugin)")


def literal_run(n):
    """An LZ4 block that says n literals follow and holds none of them."""
    ll = n - 15
    return b"\xf0" + b"\xff" * (ll // 255) + bytes([ll % 255])


def session(path, second_chunk=None, block=None):
    with h5.File(path, "w", libver="earliest") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        d = f.create_dataset("frames", data=FRAMES, chunks=(T, R, C), compression=LZ4,
                             compression_opts=None if block is None else (block,))
        if second_chunk is not None:
            d.id.write_direct_chunk((T, 0, 0), second_chunk)
    return path


def test_a_block_that_reads_past_its_end_is_refused(knotmap_bin, tmp_path):
    n = T * R * C * 4
    stream = literal_run(n)
    src = session(tmp_path / "s.h5", struct.pack(">QII", n, n, len(stream)) + stream)
    for cmd in ("info", "process"):
        out = tmp_path / "o.knotmap.h5"
        args = [knotmap_bin, cmd, str(src)] + (["-q", "-o", str(out)] if cmd == "process" else [])
        r = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
        assert r.returncode == 65, (cmd, r.returncode, r.stderr)
        assert "/frames cannot be read (the chunk at byte" in r.stderr, r.stderr
        assert "stored do not decode to its %d bytes, damaged file" % n in r.stderr, r.stderr
        assert "decompressed size" not in r.stdout, r.stdout  # the plugin never saw it
        assert not out.exists()


@pytest.mark.parametrize("cut", [1, 7])
def test_a_stream_cut_short_is_refused(knotmap_bin, tmp_path, cut):
    """A sound block's stream with its last bytes cut (the block's stored
    size said so): before, the walk's sizes agreed and the plugin read past."""
    with h5.File(tmp_path / "scratch.h5", "w") as f:
        d = f.create_dataset("z", data=np.round(FRAMES[:T]), chunks=(T, R, C), compression=LZ4)
        raw = d.id.read_direct_chunk((0, 0, 0))[1]
    n, block, c = struct.unpack(">QII", raw[:16])
    assert c < block, "the sample chunk was stored uncompressed"
    bad = struct.pack(">QII", n, block, c - cut) + raw[16:16 + c - cut]
    src = session(tmp_path / "s.h5", bad)
    r = subprocess.run([knotmap_bin, "process", "-q", str(src), "-o", str(tmp_path / "o.h5")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 65, r.stderr
    assert "do not decode to its %d bytes, damaged file" % n in r.stderr, r.stderr
    assert r.stdout == "", r.stdout


@pytest.mark.parametrize("block", [None, 1000, 4096])
def test_sound_blocks_read_as_h5py_reads_them(tmp_path, block):
    knotmap = pytest.importorskip("knotmap")
    src = session(tmp_path / "s.h5", block=block)
    with h5.File(src, "r") as f:
        want = f["frames"][()]
    assert np.array_equal(want, FRAMES)
    got = np.asarray(knotmap.read_session(str(src)).frames)
    assert got.dtype == np.float32 and np.array_equal(got, want)
