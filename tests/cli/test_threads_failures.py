"""A session that fails mid-file fails the same way with any thread count.

One /frames chunk in the middle of the session is damaged (bytes inside its
deflate stream overwritten), so the read of that block fails while earlier
blocks are being computed, tracked, written and mapped on the executor's
threads, and (with threads) while the next block is read ahead.  With 1, 2
and 3 threads: the same exit status and message (naming the file and the
frames), no output and no temporary file left in the folder.
"""
import shutil

import h5py
import pytest

from km_cli import run, run_ok


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    d = tmp_path_factory.mktemp("damaged")
    good = d / "good.h5"
    run_ok("synth", "--mode", "roller", "--grid", "32x32", "--rate", "100", "--duration", "30",
           "--seed", "2", "-o", good)
    with h5py.File(good, "r") as f:
        ds = f["frames"]
        n = ds.id.get_num_chunks()
        assert n >= 8, "the session needs chunks before and after the damaged one"
        info = ds.id.get_chunk_info(n // 2)
        first = info.chunk_offset[0]
        last = first + ds.chunks[0] - 1
    bad = d / "bad.h5"
    shutil.copy(good, bad)
    with open(bad, "r+b") as g:
        g.seek(info.byte_offset + info.size // 2)
        g.write(b"\xff" * 64)
    return bad, first, last, info.byte_offset, info.size


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_damaged_chunk_mid_file(tmp_path, damaged, threads):
    # The chunk is named in knotmap's words (since session 46 a chunk that
    # does not decode is never handed to HDF5's H5Dread: "inflate() failed" before).
    bad, first, last, at, size = damaged
    out = tmp_path / "out.h5"
    r = run("process", "-q", "--threads", threads, bad, "-o", out)
    assert r.returncode == 65, r.stderr
    assert r.stderr.strip() == (f"knotmap: {bad}: frames {first}..{last}: /frames cannot be read (the chunk "
                                f"of frames {first}..{last} at byte {at}: {size} bytes stored do not decode "
                                f"to its {(last - first + 1) * 32 * 32 * 4} bytes, damaged file)")
    assert list(tmp_path.iterdir()) == []


def test_damaged_chunk_time_last_names_the_chunk(tmp_path):
    # A session stored [R, C, T] (h5py time-last) with one damaged chunk: the
    # chunk is refused by knotmap's decoder, which names it (until session
    # 46 it was read by HDF5, whose reason was the message; before that "()":
    # the dataspaces' closing cleared HDF5's error stack).
    import numpy as np
    a = np.random.default_rng(3).random((8, 8, 400)).astype(np.float32) * 50
    src = tmp_path / "rct.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("frames", data=a, chunks=(8, 8, 100), compression="gzip")
        f["time"] = np.arange(400) / 100.0
        info = f["frames"].id.get_chunk_info(2)
    with open(src, "r+b") as g:
        g.seek(info.byte_offset + info.size // 2)
        g.write(b"\xff" * 64)
    r = run("process", "-q", src, "--format", "session", "--pitch", "5", "--units", "kPa",
            "--mode", "mat", "-o", tmp_path / "out.h5")
    assert r.returncode == 65, r.stderr
    assert r.stderr.strip().endswith(f"/frames cannot be read (the chunk of frames 200..299 at byte "
                                     f"{info.byte_offset}: {info.size} bytes stored do not decode to "
                                     f"its 25600 bytes, damaged file)"), r.stderr
