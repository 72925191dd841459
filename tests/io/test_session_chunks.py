"""Session frames read by knotmap equal h5py's read, bit for bit, whatever
the storage filters (src/io/h5_chunks_read.c decodes shuffle, deflate and h5py's
LZF itself; everything else goes through HDF5, plugins included).

Files are written here with h5py: deflate levels with and without shuffle,
chunks that do not divide the session (a partial edge chunk), chunk
boundaries inside the reader's blocks, h5py's LZF (decoded by knotmap), and
the LZ4 and BZip2 filters of Debian's hdf5-filter-plugin and Blosc (its zstd, LZ4 and
BloscLZ codecs, byte- and bit-shuffled) of hdf5-filter-plugin-blosc-serial (HDF5 loads them
from its default plugin path, or HDF5_PLUGIN_PATH); a filter HDF5 cannot load is an
'unsupported' error naming it.  Run with the Python package on PYTHONPATH
(KNOTMAP_PYTHONPATH or build/python).
"""
import os
import subprocess

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
knotmap = pytest.importorskip("knotmap")

T, R, C = 203, 12, 9
LZ4, BZIP2, BLOSC = 32004, 307, 32001
# Blosc's cd_values: four slots the filter fills in, then level, shuffle (0 none, 1 byte,
# 2 bit) and codec (0 BloscLZ, 1 LZ4, 5 zstd).
BLOSC_ZSTD, BLOSC_LZ4, BLOSCLZ = 5, 1, 0


def frames():
    rng = np.random.default_rng(3)
    t = np.arange(T, dtype=np.float32)[:, None, None]
    f = 30 * np.sin(t / 20 + np.arange(R)[None, :, None] / 3) + rng.normal(0, 1, (T, R, C))
    f = f.astype(np.float32)
    f[:, 0, 0] = 0.0
    f[5] = -f[5]
    return f


def attrs(f):
    f.attrs["schema"] = "knotmap-session"
    f.attrs["schema_version"] = 1
    f.attrs["frame_rate_hz"] = 100.0
    f.attrs["row_pitch_mm"] = 5.0
    f.attrs["col_pitch_mm"] = 5.0
    f.attrs["units"] = "kPa"
    f.attrs["mode"] = "mat"


def write(path, data, **kw):
    with h5py.File(path, "w") as f:
        attrs(f)
        f.create_dataset("frames", data=data, **kw)


LAYOUTS = {
    "gzip4_shuffle": dict(compression="gzip", compression_opts=4, shuffle=True, chunks=(64, R, C)),
    "gzip1_shuffle": dict(compression="gzip", compression_opts=1, shuffle=True, chunks=(50, R, C)),
    "gzip9_shuffle": dict(compression="gzip", compression_opts=9, shuffle=True, chunks=(50, R, C)),
    "gzip6": dict(compression="gzip", compression_opts=6, chunks=(64, R, C)),
    "gzip0": dict(compression="gzip", compression_opts=0, chunks=(7, R, C)),
    "shuffle_only": dict(shuffle=True, chunks=(64, R, C)),
    "chunked_plain": dict(chunks=(100, R, C)),
    # frames split spatially, as h5py chunks a [T, R, C] array by itself
    "h5py_auto_gzip": dict(compression="gzip", chunks=True),
    "spatial_gzip_shuffle": dict(compression="gzip", shuffle=True, chunks=(150, 3, 5)),
    "spatial_lzf": dict(compression="lzf", chunks=(100, 5, 4)),
    "contiguous": dict(),
    "lzf_shuffle": dict(compression="lzf", shuffle=True, chunks=(64, R, C)),
    # decoded by knotmap itself (h5_chunks_read.c), not by h5py's registered filter
    "lzf": dict(compression="lzf", chunks=(50, R, C)),
    "lzf_float64": dict(compression="lzf", shuffle=True, chunks=(64, R, C), dtype="f8"),
    "fletcher32_gzip": dict(compression="gzip", fletcher32=True, chunks=(64, R, C)),
    "float64_gzip": dict(compression="gzip", shuffle=True, chunks=(64, R, C), dtype="f8"),
    # integer counts (a quantising sensor), decoded here and converted as HDF5 converts
    "int16_gzip_shuffle": dict(compression="gzip", shuffle=True, chunks=(64, R, C), dtype="i2"),
    "uint16_gzip": dict(compression="gzip", chunks=(50, 3, 5), dtype="u2"),
    "uint8_lzf_shuffle": dict(compression="lzf", shuffle=True, chunks=(64, R, C), dtype="u1"),
    "int8_gzip": dict(compression="gzip", chunks=(64, R, C), dtype="i1"),
    "int16_lzf_tiles": dict(compression="lzf", chunks=(100, 5, 4), dtype="i2"),
    "int32_gzip_shuffle": dict(compression="gzip", shuffle=True, chunks=(64, R, C), dtype="i4"),
    "uint32_plain": dict(chunks=(40, R, C), dtype="u4"),
    "int16_bigendian_gzip": dict(compression="gzip", chunks=(64, R, C), dtype=">i2"),
    "int64_gzip": dict(compression="gzip", chunks=(64, R, C), dtype="i8"),
    "lz4_plugin": dict(compression=LZ4, chunks=(64, R, C)),
    "lz4_plugin_shuffle": dict(compression=LZ4, shuffle=True, chunks=(64, R, C)),
    "bzip2_plugin": dict(compression=BZIP2, compression_opts=(9,), chunks=(64, R, C)),
    "blosc_zstd_plugin": dict(compression=BLOSC, compression_opts=(0, 0, 0, 0, 5, 1, BLOSC_ZSTD),
                              chunks=(64, R, C)),
    "blosc_zstd_bitshuffle_plugin": dict(compression=BLOSC,
                                         compression_opts=(0, 0, 0, 0, 9, 2, BLOSC_ZSTD),
                                         chunks=(50, 3, 5)),
    "blosc_lz4_plugin": dict(compression=BLOSC, compression_opts=(0, 0, 0, 0, 5, 1, BLOSC_LZ4),
                             chunks=(64, R, C), dtype="f8"),
    "blosclz_plugin": dict(compression=BLOSC, compression_opts=(0, 0, 0, 0, 5, 0, BLOSCLZ),
                           chunks=(64, R, C)),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("block", [256, 37])
def test_frames_identical_to_h5py(tmp_path, name, block):
    kw = dict(LAYOUTS[name])
    comp = kw.get("compression")
    if isinstance(comp, int) and not h5py.h5z.filter_avail(comp):
        pytest.skip("HDF5 filter %d not installed (Debian: hdf5-filter-plugin, "
                    "hdf5-filter-plugin-blosc-serial)" % comp)
    path = tmp_path / ("%s.h5" % name)
    data = frames()
    dtype = np.dtype(kw.get("dtype", "f4"))
    if dtype.kind in "iu":  # counts over the type's whole range, its extremes included
        info = np.iinfo(dtype)
        span = (float(info.max) - float(info.min)) / 100.0
        data = np.clip(np.round((data - data.min()) * span + float(info.min)), info.min,
                       info.max).astype(dtype)
        data[0, :2, :2] = [[info.min, info.max], [info.max - 1, info.min + 1]]
        data[1, 0, :3] = [16777217 % (info.max + 1), 0, 1]
    write(path, data, **kw)
    with h5py.File(path, "r") as f:
        want = f["frames"].astype(np.float32)[...]  # HDF5's own conversion
    got = knotmap.read_session(str(path), block_frames=block).frames
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_missing_filter_is_named(tmp_path):
    # A filter id no HDF5 here can load: the open fails and names it.
    path = tmp_path / "unknown.h5"
    data = frames()
    with h5py.File(path, "w") as f:
        attrs(f)
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((64, R, C))
        dcpl.set_filter(32099, h5py.h5z.FLAG_OPTIONAL, ())
        space = h5py.h5s.create_simple(data.shape)
        h5py.h5d.create(f.id, b"frames", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
    with pytest.raises(knotmap.Error) as e:
        knotmap.read_session(str(path))
    assert "32099" in str(e.value)


def _plugin_loads(path):
    """The filter plugins `knotmap info PATH` dlopens (glibc's LD_DEBUG)."""
    binary = os.environ.get("KNOTMAP_BIN")
    if not binary:
        pytest.skip("KNOTMAP_BIN is not set")
    dirs = [h5py.h5pl.get(i).decode() for i in range(h5py.h5pl.size())]
    dirs = [d for d in dirs if os.path.isdir(d) and any(n.endswith(".so") for n in os.listdir(d))]
    if not dirs:
        pytest.skip("no HDF5 filter plugin installed: nothing to load")
    r = subprocess.run([binary, "info", str(path)], env=dict(os.environ, LD_DEBUG="files"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return [line for line in r.stderr.splitlines()
            if "dynamically loaded" in line and any(d in line for d in dirs)]


def test_lzf_is_read_without_loading_the_filter_plugins(tmp_path):
    # knotmap decodes h5py's LZF itself, but asked HDF5 first whether the
    # filter was available, which made HDF5 dlopen every plugin of its path
    # (Blosc, BZip2, LZ4 and their libraries): 0.1-0.25 s per open, in the
    # probe and again in the command (session 29: 60 s LZF session
    # 0.56 -> 0.31 s; 46 M instructions of symbol lookups per process).
    path = tmp_path / "lzf.h5"
    write(path, frames(), compression="lzf", chunks=(50, R, C))
    assert _plugin_loads(path) == []
    # The check can see a load: a filter only a plugin decodes loads it.
    if h5py.h5z.filter_avail(LZ4):
        write(path, frames(), compression=LZ4, chunks=(64, R, C))
        assert _plugin_loads(path) != []


@pytest.mark.parametrize("dtype", ["i2", "u2", "u1"])
def test_integer_counts_are_decoded_here(tmp_path, dtype):
    # Integer frames (a sensor's counts) went to H5Dread, whatever their filters:
    # HDF5's zlib and its type conversion (a 60 s 32 x 32 int16 session: 433 M
    # instructions to read against 189 M now), and LZF, which only knotmap decodes
    # outside Python, was refused. Now their chunks are decoded here and converted as
    # HDF5 converts; LZF proves the path (HDF5 cannot read it in the command).
    binary = os.environ.get("KNOTMAP_BIN")
    if not binary:
        pytest.skip("KNOTMAP_BIN is not set")
    path, out = tmp_path / "counts.h5", tmp_path / "r.h5"
    data = (frames() - frames().min()).astype(dtype)
    write(path, data, compression="lzf", shuffle=True, chunks=(64, 5, 4))
    # Taxel (0, 0) reads a constant count (stuck to the warm-up): kept in /frames/max
    # (docs/ALGORITHMS.md 3.7), which is compared with every taxel read.
    r = subprocess.run([binary, "process", "-q", "--keep-suspect-taxels", str(path), "-o",
                        str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    with h5py.File(path) as f:
        want = f["frames"].astype(np.float32)[...]
    with h5py.File(out) as f:
        got = f["frames/max"][...]
    assert np.array_equal(got, want.max(axis=0))


TIME_LAST = {  # [R, C, T] layouts with a /time: chunks [r, c, k]
    "h5py_auto_gzip": dict(compression="gzip", chunks=True),
    "planes_gzip_shuffle": dict(compression="gzip", shuffle=True, chunks=(R, C, 64)),
    "tiles_partial_lzf": dict(compression="lzf", chunks=(5, 4, 50)),
    "int16_tiles_gzip": dict(compression="gzip", shuffle=True, chunks=(3, 9, 40), dtype="i2"),
    "float64_gzip": dict(compression="gzip", chunks=(R, 3, 100), dtype="f8"),
    "one_taxel_runs": dict(compression="gzip", chunks=(1, 1, T)),
}


def write_time_last(path, kw):
    data = frames()
    if np.dtype(kw.get("dtype", "f4")).kind == "i":
        data = np.round(data * 100).astype(kw["dtype"])
    with h5py.File(path, "w") as f:
        attrs(f)
        f.create_dataset("frames", data=np.ascontiguousarray(data.transpose(1, 2, 0)), **kw)
        f["time"] = np.arange(T) / 100.0
    with h5py.File(path, "r") as f:
        return f["frames"].astype(np.float32)[...].transpose(2, 0, 1)


@pytest.mark.parametrize("name", sorted(TIME_LAST))
@pytest.mark.parametrize("block", [256, 37])
def test_time_last_frames_identical_to_h5py(tmp_path, name, block):
    path = tmp_path / ("%s.h5" % name)
    want = write_time_last(path, TIME_LAST[name])
    got = knotmap.read_session(str(path), block_frames=block).frames
    assert got.shape == want.shape
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_time_last_chunks_are_decoded_here(tmp_path):
    # [R, C, T] sessions went through H5Dread whatever their filters (HDF5's zlib,
    # its chunk cache across R x C, then a transpose): a 60 s 32 x 32 session in
    # h5py's own chunks took 1944 M instructions against 1662 M stored [T, R, C]; now
    # 1630 M. LZF, which only knotmap decodes in the command, proves the path: it
    # was refused before.
    binary = os.environ.get("KNOTMAP_BIN")
    if not binary:
        pytest.skip("KNOTMAP_BIN is not set")
    path, out = tmp_path / "tl.h5", tmp_path / "r.h5"
    want = write_time_last(path, TIME_LAST["tiles_partial_lzf"])
    r = subprocess.run([binary, "process", "-q", str(path), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    with h5py.File(out) as f:
        assert np.array_equal(f["frames/max"][...], want.max(axis=0))


def drop_time(path):
    with h5py.File(path, "a") as f:
        del f["time"]


@pytest.mark.parametrize("name", ["h5py_auto_gzip", "tiles_partial_lzf", "float64_gzip"])
def test_time_last_without_time_read_with_time_axis(tmp_path, name):
    # Without /time nothing told the order: a [R, C, T] array was read as R frames of
    # C x T taxels. time_axis="last" (--time-axis last) reads it as the same session
    # stored [T, R, C], bit for bit; without it the old reading stands.
    path = tmp_path / ("%s.h5" % name)
    want = write_time_last(path, TIME_LAST[name])
    drop_time(path)
    got = knotmap.read_session(str(path), time_axis="last", block_frames=37)
    assert got.frames.shape == (T, R, C)
    assert np.array_equal(got.frames.view(np.uint32), want.view(np.uint32))
    assert np.allclose(np.diff(got.time), 0.01)  # from the root's frame_rate_hz
    assert knotmap.read_session(str(path)).frames.shape == (R, C, T)


def test_time_axis_against_time_is_an_error_naming_it(tmp_path):
    path = tmp_path / "tl.h5"
    write_time_last(path, TIME_LAST["planes_gzip_shuffle"])
    with pytest.raises(ValueError, match=r"/time has %d values but /frames has %d frames "
                       r"\(time_axis='first': /frames \[T, R, C\]\)" % (T, R)):
        knotmap.read_session(str(path), time_axis="first")
    tc = tmp_path / "tc.h5"
    write(tc, frames(), chunks=(64, R, C))
    with h5py.File(tc, "a") as f:
        f["time"] = np.arange(T) / 100.0
    with pytest.raises(ValueError, match=r"time_axis='last': /frames \[R, C, T\]"):
        knotmap.read_session(str(tc), time_axis="last")
    with pytest.raises(ValueError, match="time_axis must be 'first' or 'last'"):
        knotmap.read_session(str(tc), time_axis="middle")


def test_time_axis_last_in_the_command(tmp_path):
    binary = os.environ.get("KNOTMAP_BIN")
    if not binary:
        pytest.skip("KNOTMAP_BIN is not set")
    path, out = tmp_path / "tl.h5", tmp_path / "r.h5"
    want = write_time_last(path, TIME_LAST["h5py_auto_gzip"])
    drop_time(path)
    r = subprocess.run([binary, "process", "-q", str(path), "-o", str(out), "--time-axis", "last"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    with h5py.File(out) as f:
        assert np.array_equal(f["frames/max"][...], want.max(axis=0))
    r = subprocess.run([binary, "info", str(path), "--time-axis", "sideways"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 64 and "--time-axis" in r.stderr, (r.returncode, r.stderr)
