"""Sessions compressed with h5py's LZF filter (h5py's `compression="lzf"`, HDF5
filter 32000), read by the command itself.

The HDF5 library has no LZF: h5py registers its own in the Python process
that writes the file, so before knotmap decoded LZF (src/io/h5_chunks_read.c) the
command refused such a session while the Python package, run beside h5py,
read it.  Here the files are written by h5py (its LZF encoder is the
reference), the command processes them, and every result dataset must equal
the one of the same session stored with gzip.  A damaged LZF chunk is a
format error naming the frames; LZF on a dataset knotmap does not decode
itself (/time) is refused with the filter's name, as before.
"""
import numpy as np
import pytest

from km_cli import run, run_ok

h5py = pytest.importorskip("h5py")


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, (o.dtype, o[()])) if isinstance(o, h5py.Dataset) else None)
    return out


def rewrite(src, dst, frames_dtype=None, time_kw=None, **kw):
    """src's session with /frames stored as kw says (h5py create_dataset)."""
    with h5py.File(src, "r") as s, h5py.File(dst, "w") as f:
        for k, v in s.attrs.items():
            f.attrs[k] = v
        fr = s["frames"][()]
        f.create_dataset("frames", data=fr if frames_dtype is None else fr.astype(frames_dtype), **kw)
        f.create_dataset("time", data=s["time"][()], **(time_kw or {}))
        if "mask" in s:
            f["mask"] = s["mask"][()]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    d = tmp_path_factory.mktemp("lzf")
    src = d / "synth.h5"
    run_ok("synth", "--mode", "roller", "--grid", "16x12", "--duration", "6", "--seed", "4",
           "-o", src)
    gz = d / "gzip.h5"
    rewrite(src, gz, compression="gzip", shuffle=True, chunks=(64, 16, 12))
    out = d / "gzip_result.h5"
    run_ok("process", "-q", gz, "-o", out)
    return d, src, datasets(out)


LAYOUTS = {
    "lzf": dict(compression="lzf", chunks=(64, 16, 12)),
    "lzf_shuffle": dict(compression="lzf", shuffle=True, chunks=(50, 16, 12)),
    # the last chunk only partly written (601 frames, chunks of 64)
    "lzf_one_frame_chunks": dict(compression="lzf", chunks=(1, 16, 12)),
    "lzf_float64": dict(compression="lzf", shuffle=True, chunks=(64, 16, 12), frames_dtype="f8"),
    # h5py's own chunking: frames split in tiles
    "lzf_h5py_chunks": dict(compression="lzf"),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_lzf_session_gives_the_gzip_sessions_result(session, name):
    d, src, want = session
    kw = dict(LAYOUTS[name])
    path = d / ("%s.h5" % name)
    rewrite(src, path, **kw)
    with h5py.File(path, "r") as f:
        assert f["frames"].compression == "lzf"
    out = d / ("%s_result.h5" % name)
    r = run("process", "-q", path, "-o", out)
    assert r.returncode == 0, r.stderr
    got = datasets(out)
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k][0] == want[k][0], k
        assert np.asarray(got[k][1]).tobytes() == np.asarray(want[k][1]).tobytes(), k


def test_incompressible_lzf_chunks_are_stored_plain_and_read(tmp_path):
    # h5py's LZF is an optional filter: a chunk it cannot shrink is stored
    # without it (the chunk's filter mask says so).  Noise does not shrink.
    rng = np.random.default_rng(7)
    fr = rng.uniform(0.0, 80.0, size=(130, 6, 5)).astype(np.float32)
    fr[:40] = 0.0  # and one chunk that does shrink
    results = []
    for name, kw in (("lzf", dict(compression="lzf")), ("gzip", dict(compression="gzip"))):
        path = tmp_path / ("noise_%s.h5" % name)
        with h5py.File(path, "w") as f:
            f.attrs.update({"schema": "knotmap-session", "schema_version": 1,
                            "frame_rate_hz": 50.0, "row_pitch_mm": 5.0, "col_pitch_mm": 5.0,
                            "units": "kPa", "mode": "mat"})
            f.create_dataset("frames", data=fr, chunks=(40, 6, 5), **kw)
            if name == "lzf":
                masks = [f["frames"].id.get_chunk_info(i).filter_mask for i in range(4)]
                # the last chunk is padded with zeros by HDF5, and shrinks
                assert masks[0] == 0 and masks[1] != 0 and masks[2] != 0, masks
        res = tmp_path / ("noise_%s_result.h5" % name)
        r = run("process", "-q", path, "-o", res)
        assert r.returncode == 0, r.stderr
        results.append(datasets(res))
    got, want = results
    assert sorted(got) == sorted(want)
    for k in want:
        assert np.asarray(got[k][1]).tobytes() == np.asarray(want[k][1]).tobytes(), k


def test_damaged_lzf_chunk_is_a_format_error(session, tmp_path):
    d, src, _ = session
    path = tmp_path / "damaged.h5"
    rewrite(src, path, compression="lzf", chunks=(64, 16, 12))
    with h5py.File(path, "r") as f:
        info = f["frames"].id.get_chunk_info(2)  # frames 128..191
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset)
        fh.write(b"\xff" * info.size)  # a back reference before the start
    out = tmp_path / "damaged_result.h5"
    r = run("process", "-q", path, "-o", out)
    assert r.returncode == 65, r.stderr
    assert str(path) in r.stderr and "/frames" in r.stderr, r.stderr
    assert not out.exists()


def test_lzf_time_is_refused_by_name(session, tmp_path):
    # /time is read by HDF5, which has no LZF: refused at open, by name.
    d, src, _ = session
    path = tmp_path / "lzf_time.h5"
    rewrite(src, path, compression="lzf", chunks=(64, 16, 12),
            time_kw=dict(compression="lzf", chunks=(64,)))
    out = tmp_path / "lzf_time_result.h5"
    r = run("process", "-q", path, "-o", out)
    assert r.returncode == 69, r.stderr
    assert "/time" in r.stderr and "32000" in r.stderr and "lzf" in r.stderr, r.stderr
    assert not out.exists()
