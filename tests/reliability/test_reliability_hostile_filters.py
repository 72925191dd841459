"""Chunks that lie about what they hold, past the checks of session 47
(test_reliability_hostile_chunks.py; docs/FORMAT.md, "Untrusted input"):
a result's column declared over 64 MiB (its chunks were not checked before
libhdf5 read it whole), chunks compressed by the plugins of Debian's
hdf5-filter-plugin (LZ4, BZip2) and hdf5-filter-plugin-blosc-serial (Blosc
and its zstd codec), whose decoders allocate what the chunk's header says or
grow their buffer as long as the stream goes on, and /time shuffled after its
deflate.  Before (session 47's build): each chunk of 4 KiB decoded to 64 MiB
and was read as valid, exit 0.  Now: exit 65, the chunk named, nothing
written.  Each run stops at the chunk's size; nothing is timed.
"""
import os
import subprocess
import zlib

import numpy as np
import pytest

from km_reliability import h5py as h5  # (skips without h5py)

ATTRS = {"schema": "knotmap-session", "schema_version": np.int64(1), "frame_rate_hz": 100.0,
         "row_pitch_mm": 5.0, "col_pitch_mm": 5.0, "units": "kPa", "mode": "mat"}
FRAMES = np.random.default_rng(1).normal(10, 1, (64, 8, 8)).astype(np.float32)
LZ4, BZIP2, BLOSC = 32004, 307, 32001
BIG = 64 << 20


def run(knotmap_bin, args, cwd):
    return subprocess.run([knotmap_bin, *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def refused(knotmap_bin, tmp_path, src, *says):
    for cmd in ("info", "process"):
        out = tmp_path / "out.knotmap.h5"
        r = run(knotmap_bin, [cmd, src] + (["-q", "-o", out] if cmd == "process" else []), tmp_path)
        assert r.returncode == 65, (cmd, r.returncode, r.stderr)
        assert r.stderr.startswith(f"knotmap: {src}: "), r.stderr
        for s in says:
            assert s in r.stderr, (s, r.stderr)
        assert not out.exists()


def plugin_chunk(tmp_path, comp, opts):
    """The stored bytes of one chunk of 64 MiB of zeros compressed by the
    plugin `comp`: a few KiB that its decoder turns into 64 MiB."""
    if not h5.h5z.filter_avail(comp):
        pytest.skip("HDF5 filter %d not installed (Debian: hdf5-filter-plugin, "
                    "hdf5-filter-plugin-blosc-serial)" % comp)
    with h5.File(tmp_path / "scratch.h5", "w") as f:
        d = f.create_dataset("z", shape=(BIG,), dtype="u1", chunks=(BIG,), compression=comp,
                             compression_opts=opts)
        d[:] = 0
        raw = d.id.read_direct_chunk((0,))[1]
    os.unlink(tmp_path / "scratch.h5")
    assert len(raw) < 2 << 20
    return raw


def plugin_session(path, comp, opts, chunk):
    with h5.File(path, "w", libver="earliest") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        d = f.create_dataset("frames", data=FRAMES, chunks=(16, 8, 8), compression=comp,
                             compression_opts=opts)
        d.id.write_direct_chunk((16, 0, 0), chunk)
    return path


PLUGINS = {"lz4": (LZ4, None), "bzip2": (BZIP2, (9,)),
           "blosc_zstd": (BLOSC, (0, 0, 0, 0, 5, 1, 5)), "blosc_lz4": (BLOSC, (0, 0, 0, 0, 5, 1, 1))}


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_plugin_chunk_that_decodes_to_64_mib(knotmap_bin, tmp_path, name):
    """Before: the plugin decoded 64 MiB for a chunk of 4 KiB, exit 0."""
    comp, opts = PLUGINS[name]
    src = plugin_session(tmp_path / "s.h5", comp, opts, plugin_chunk(tmp_path, comp, opts))
    refused(knotmap_bin, tmp_path, src, "/frames cannot be read", "do not decode to its 4096 bytes",
            "damaged file")


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_sound_plugin_sessions_still_read(knotmap_bin, tmp_path, name):
    comp, opts = PLUGINS[name]
    if not h5.h5z.filter_avail(comp):
        pytest.skip("HDF5 filter %d not installed" % comp)
    src = tmp_path / "s.h5"
    with h5.File(src, "w") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        f.create_dataset("frames", data=FRAMES, chunks=(16, 8, 8), compression=comp, compression_opts=opts,
                         shuffle=True)
    r = run(knotmap_bin, ["process", "-q", src, "-o", "o.knotmap.h5"], tmp_path)
    assert r.returncode == 0, r.stderr


def shuffled(b, elem):
    """HDF5's shuffle of b (elem-byte elements; a trailing part stays)."""
    k = len(b) // elem
    head = np.frombuffer(b[:k * elem], np.uint8).reshape(k, elem).T.tobytes()
    return head + b[k * elem:]


def deflate_then_shuffle(path, time_chunk=None):
    """A session whose /time is deflated, then shuffled (filters in that
    order: libhdf5 reads it; knotmap's checks skipped such a pipeline)."""
    with h5.File(path, "w", libver="earliest") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        f.create_dataset("frames", data=FRAMES, chunks=(16, 8, 8), compression="gzip")
        dcpl = h5.h5p.create(h5.h5p.DATASET_CREATE)
        dcpl.set_chunk((65536,))
        dcpl.set_deflate(4)
        dcpl.set_shuffle()
        space = h5.h5s.create_simple((64,), (h5.h5s.UNLIMITED,))
        t = h5.Dataset(h5.h5d.create(f.id, b"time", h5.h5t.IEEE_F64LE, space, dcpl=dcpl))
        assert [dcpl.get_filter(i)[0] for i in range(2)] == [1, 2]   # deflate, then shuffle
        t[:] = np.arange(64) / 100.0
        if time_chunk is not None:
            t.id.write_direct_chunk((0,), shuffled(time_chunk, 8))
    return path


def test_time_shuffled_after_deflate_that_inflates_to_64_mib(knotmap_bin, tmp_path):
    """Before: libhdf5 inflated the 64 MiB, exit 0."""
    co = zlib.compressobj(9)
    bomb = b"".join([co.compress(b"\0" * (1 << 20)) for _ in range(64)] + [co.flush()])
    src = deflate_then_shuffle(tmp_path / "s.h5", bomb)
    refused(knotmap_bin, tmp_path, src, "/time: the chunk at byte", "damaged file")


def test_time_shuffled_after_deflate_still_read(knotmap_bin, tmp_path):
    src = deflate_then_shuffle(tmp_path / "s.h5")
    r = run(knotmap_bin, ["process", "-q", src, "-o", "o.knotmap.h5"], tmp_path)
    assert r.returncode == 0, r.stderr
    with h5.File(tmp_path / "o.knotmap.h5", "r") as f:
        assert np.array_equal(f["session/time"][()], np.arange(64) / 100.0)


@pytest.fixture(scope="module")
def big_column_result(knotmap_bin, tmp_path_factory):
    """A result whose /candidates/amplitude (the first column the readers
    take, by name) declares 9 Mi rows (72 MiB of float64, over the 64 MiB the
    checks stopped at), stored as deflated zeros in chunks of 1 Mi rows, its
    fourth chunk a stream of 64 MiB."""
    d = tmp_path_factory.mktemp("big")
    syn, res = d / "syn.h5", d / "r.knotmap.h5"
    for args in (["synth", "--duration", "3", "-q", "-o", syn], ["process", "-q", syn, "-o", res]):
        r = run(knotmap_bin, args, d)
        assert r.returncode == 0, r.stderr
    n, chunk = 9 << 20, 1 << 20
    co = zlib.compressobj(9)
    bomb = b"".join([co.compress(b"\0" * (1 << 20)) for _ in range(64)] + [co.flush()])
    with h5.File(res, "r+") as f:
        g = f["candidates"]
        assert sorted(g)[0] == "amplitude"
        attrs, dtype = dict(g["amplitude"].attrs), g["amplitude"].dtype
        assert dtype.itemsize == 8
        del g["amplitude"]
        col = g.create_dataset("amplitude", shape=(n,), dtype=dtype, chunks=(chunk,), compression="gzip")
        zeros = zlib.compress(bytes(chunk * dtype.itemsize), 9)
        for k in range(n // chunk):
            col.id.write_direct_chunk((k * chunk,), bomb if k == 3 else zeros)
        for k, v in attrs.items():
            col.attrs[k] = v
    assert res.stat().st_size < 4 << 20
    return res


@pytest.mark.parametrize("cmd", ["info", "render", "report"])
def test_result_column_over_64_mib_with_a_bomb_chunk(knotmap_bin, big_column_result, tmp_path, cmd):
    """Before: the column was read whole by libhdf5 without a check (its
    chunk of 64 MiB inflated whole and cut to its 8 MiB)."""
    out = tmp_path / ("r.html" if cmd == "report" else "r.png")
    # render and report weigh every column at the longest one's length (15 x 72 MiB)
    more = ["-o", out, "--max-memory", "2G"] if cmd != "info" else []
    r = run(knotmap_bin, [cmd, big_column_result] + more, tmp_path)
    assert r.returncode == 65, (r.returncode, r.stderr[-600:])
    assert "/candidates/amplitude cannot be read: the chunk at byte " in r.stderr, r.stderr
    assert "do not decode to its 8388608 bytes" in r.stderr, r.stderr
    assert not out.exists()


def test_read_result_checks_the_chunks_h5py_decodes(knotmap_bin, tmp_path):
    """Python's read_result reads with h5py, whose deflate filter inflated a
    64 MiB stream for a 32 KiB column chunk and returned it as scores of 0
    (session 47: 'Not checked: Python's read_result').  It now asks
    km_result_check_chunks first: knotmap.Error naming the column."""
    knotmap = pytest.importorskip("knotmap")
    syn, res = tmp_path / "syn.h5", tmp_path / "r.knotmap.h5"
    for args in (["synth", "--duration", "3", "-q", "-o", syn], ["process", "-q", syn, "-o", res]):
        r = run(knotmap_bin, args, tmp_path)
        assert r.returncode == 0, r.stderr
    assert knotmap.read_result(str(res), as_pandas=False)["candidates"]["score"].size > 0  # sound
    co = zlib.compressobj(9)
    bomb = b"".join([co.compress(b"\0" * (1 << 20)) for _ in range(64)] + [co.flush()])
    with h5.File(res, "r+") as f:
        f["candidates/score"].id.write_direct_chunk((0,), bomb)
    with pytest.raises(knotmap.Error) as e:
        knotmap.read_result(str(res), as_pandas=False)
    assert "/candidates/score cannot be read: the chunk at byte" in str(e.value), str(e.value)
    assert isinstance(e.value, ValueError)
