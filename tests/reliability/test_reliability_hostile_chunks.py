"""Stored chunks that lie about what they hold (docs/FORMAT.md, "Untrusted
input"): a few KB of deflate stream that inflates to 64 MiB where the chunk
holds 4 KiB, or a stream that ends short.  HDF5's deflate filter inflates
whatever a stream says (a 1 MB chunk of a session's /frames, /time or /mask
took 1.1 GB and 8-16 s, then read as valid) and hands on a short chunk with
its tail uninitialised (heap bytes read as frames or times).  knotmap decodes
such chunks itself into a buffer of the chunk's size and refuses the file:
exit 65, the file and the chunk named, nothing written.

Each run is fast (the bomb stops at the chunk's size); nothing is timed.
"""
import functools
import os
import subprocess
import zlib

import numpy as np
import pytest

from km_reliability import h5py as h5  # (skips without h5py)

ATTRS = {"schema": "knotmap-session", "schema_version": np.int64(1), "frame_rate_hz": 100.0,
         "row_pitch_mm": 5.0, "col_pitch_mm": 5.0, "units": "kPa", "mode": "mat"}
FRAMES = np.random.default_rng(1).normal(10, 1, (64, 8, 8)).astype(np.float32)


@functools.lru_cache(maxsize=None)
def bomb(mib=64):
    """A zlib stream of `mib` MiB of zeros: ~64 KB."""
    co = zlib.compressobj(9)
    return b"".join([co.compress(b"\0" * (1 << 20)) for _ in range(mib)] + [co.flush()])


def session(path, frames_chunk=None, time=None, mask=None):
    """A session of 64 frames of 8 x 8 in chunks of 16 frames; frames_chunk
    (stored bytes) replaces the chunk of frames 16..31; time / mask, when
    given, the stored bytes of that dataset's one chunk."""
    with h5.File(path, "w", libver="earliest") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        d = f.create_dataset("frames", data=FRAMES, chunks=(16, 8, 8), compression="gzip")
        if frames_chunk is not None:
            d.id.write_direct_chunk((16, 0, 0), frames_chunk)
        if time is not None:   # chunks of 2^16 values: a 64 MiB stream fits its size field
            t = f.create_dataset("time", shape=(64,), maxshape=(None,), dtype="f8",
                                 chunks=(65536,), compression="gzip")
            t.id.write_direct_chunk((0,), time)
        if mask is not None:
            m = f.create_dataset("mask", shape=(8, 8), maxshape=(None, None), dtype="u1",
                                 chunks=(1024, 1024), compression="gzip")
            m.id.write_direct_chunk((0, 0), mask)
    return path


def refused(knotmap_bin, tmp_path, src, *says):
    for cmd in ("info", "process"):
        out = tmp_path / "out.knotmap.h5"
        args = [knotmap_bin, cmd, str(src)] + (["-q", "-o", str(out)] if cmd == "process" else [])
        r = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert r.returncode == 65, (cmd, r.returncode, r.stderr)
        assert r.stderr.startswith(f"knotmap: {src}: "), r.stderr
        assert r.stderr.count("\n") == 1, r.stderr
        for s in says:
            assert s in r.stderr, (s, r.stderr)
        assert sorted(os.listdir(tmp_path)) == [src.name], os.listdir(tmp_path)


def test_frames_chunk_that_inflates_to_64_mib(knotmap_bin, tmp_path):
    """Before: read as valid (exit 0) after HDF5 inflated the 64 MiB."""
    src = session(tmp_path / "s.h5", frames_chunk=bomb())
    assert src.stat().st_size < 200_000
    refused(knotmap_bin, tmp_path, src, "the chunk of frames 16..31", "do not decode to its 4096 bytes",
            "damaged file")


def test_frames_chunk_that_inflates_short(knotmap_bin, tmp_path):
    """Before: exit 0, the chunk's last 3996 bytes whatever the heap held."""
    src = session(tmp_path / "s.h5", frames_chunk=zlib.compress(b"\1" * 100))
    refused(knotmap_bin, tmp_path, src, "the chunk of frames 16..31", "damaged file")


def test_frames_chunk_stored_without_its_filters(knotmap_bin, tmp_path):
    """A chunk's filter mask that says its deflate was skipped: its 3.5 KB
    of deflate stream are not the chunk's 4 KiB of values (before: read, the
    rest heap bytes)."""
    src = session(tmp_path / "s.h5")
    with h5.File(src, "r") as f:
        info = f["frames"].id.get_chunk_info(3)
    b = bytearray(src.read_bytes())
    at = bytes(b).find(info.byte_offset.to_bytes(8, "little"))   # its v1 B-tree entry
    assert at > 0
    b[at - 36:at - 32] = (1).to_bytes(4, "little")                 # the key's filter mask
    src.write_bytes(bytes(b))
    refused(knotmap_bin, tmp_path, src, "the chunk of frames 48..63", "damaged file")


@pytest.mark.parametrize("what", ["time", "mask"])
def test_time_or_mask_chunk_that_inflates_to_64_mib(knotmap_bin, tmp_path, what):
    """/time and /mask are read by HDF5 itself: their chunks are decoded
    once at the open (before: exit 0 after 64 MiB were inflated)."""
    src = session(tmp_path / "s.h5", **{what: bomb()})
    refused(knotmap_bin, tmp_path, src, f"/{what}: the chunk at byte", "damaged file")


def test_time_chunk_that_inflates_short(knotmap_bin, tmp_path):
    """Before: heap bytes as times ('/time[8] = 6.9e-310 is smaller than the
    one before', a different value each run)."""
    src = session(tmp_path / "s.h5", time=zlib.compress((np.arange(8) / 100.0).tobytes()))
    refused(knotmap_bin, tmp_path, src, "/time: the chunk at byte", "damaged file")


def test_sound_chunks_still_read(knotmap_bin, tmp_path):
    """The same layouts written whole by h5py read as before."""
    with h5.File(tmp_path / "s.h5", "w", libver="earliest") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        f.create_dataset("frames", data=FRAMES, chunks=(16, 8, 8), compression="gzip")
        f.create_dataset("time", data=np.arange(64) / 100.0, maxshape=(None,), chunks=(65536,),
                         compression="gzip", shuffle=True)
        f.create_dataset("mask", data=np.ones((8, 8), "u1"), maxshape=(None, None),
                         chunks=(1024, 1024), compression="gzip")
    r = subprocess.run([knotmap_bin, "process", "-q", "s.h5", "-o", "o.knotmap.h5"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("cmd", ["info", "render", "report"])
def test_result_column_that_inflates_to_64_mib(knotmap_bin, tmp_path, cmd):
    """A result's /candidates/score chunk replaced by 64 KB that inflate to
    64 MiB: the result readers behind info, render and report decode a
    table's chunks before HDF5 reads them and refuse the damaged column,
    naming it and its chunk, exit 65, nothing written (before: inflated
    whole, 1 GB of stream took 2.1 GB and 26-31 s, and the column read as
    scores of 0; then, until the lead's change in session 46, left out without
    a word: the report's score cells dashes)."""
    syn, res = tmp_path / "syn.h5", tmp_path / "r.knotmap.h5"
    for args in (["synth", "--duration", "3", "-q", "-o", syn], ["process", "-q", syn, "-o", res]):
        r = subprocess.run([knotmap_bin, *map(str, args)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    with h5.File(res, "r+") as f:
        assert f["candidates/score"].chunks == (4096,)
        f["candidates/score"].id.write_direct_chunk((0,), bomb())
    out = tmp_path / ("r.html" if cmd == "report" else "r.png")
    r = subprocess.run([knotmap_bin, cmd, str(res)] + (["-o", str(out)] if cmd != "info" else []),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 65, r.stderr
    assert "%s: /candidates/score cannot be read: the chunk at byte " % res in r.stderr, r.stderr
    assert "damaged file" in r.stderr, r.stderr
    assert not out.exists()


def fletcher32(b):
    """libhdf5's H5_checksum_fletcher32 (16-bit big-endian words, sums mod
    65535), stored after the chunk little-endian."""
    words = np.frombuffer(b[:len(b) // 2 * 2], dtype=">u2").astype(np.uint64)
    s1 = s2 = 0
    for i in range(0, len(words), 360):
        c = np.cumsum(words[i:i + 360])
        s2 += len(c) * s1 + int(c.sum())
        s1 += int(c[-1])
        s1, s2 = (s1 & 0xffff) + (s1 >> 16), (s2 & 0xffff) + (s2 >> 16)
    if len(b) % 2:
        s1 += b[-1] << 8
        s2 += s1
    s1, s2 = (s1 & 0xffff) + (s1 >> 16), (s2 & 0xffff) + (s2 >> 16)
    s1, s2 = (s1 & 0xffff) + (s1 >> 16), (s2 & 0xffff) + (s2 >> 16)
    return ((s2 << 16) | s1).to_bytes(4, "little")


def test_frames_chunk_with_a_checksum_that_inflates_to_64_mib(knotmap_bin, tmp_path):
    """/frames with deflate and a Fletcher-32 checksum (h5py's
    fletcher32=True) is read by HDF5 itself, not knotmap's chunk reader; its
    chunks are now checked block by block (km_h5_read_block).  Before
    (session 47): a bomb with a valid checksum was inflated whole and read
    as valid, exit 0 (256 MiB: 2.6 s, 337 MB)."""
    src = tmp_path / "s.h5"
    with h5.File(src, "w", libver="earliest") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        d = f.create_dataset("frames", data=FRAMES, chunks=(16, 8, 8), compression="gzip", fletcher32=True)
        raw = d.id.read_direct_chunk((0, 0, 0))[1]
        assert fletcher32(raw[:-4]) == raw[-4:]                     # the checksum as libhdf5 computes it
        d.id.write_direct_chunk((16, 0, 0), bomb() + fletcher32(bomb()))
    refused(knotmap_bin, tmp_path, src, "/frames cannot be read", "do not decode to its 4096 bytes",
            "damaged file")


def mat73(path, frames_chunk):
    """A MAT-file v7.3 (HDF5 behind a 512-byte MATLAB header) whose frames,
    stored [C, R, T] in chunks of 16 frames, have chunk 16..31 replaced."""
    with h5.File(path, "w", userblock_size=512, libver="earliest") as f:
        d = f.create_dataset("frames", data=FRAMES.transpose(2, 1, 0), chunks=(8, 8, 16), compression="gzip")
        d.attrs["MATLAB_class"] = np.bytes_("single")
        d.id.write_direct_chunk((0, 0, 16), frames_chunk)
        fs = f.create_dataset("fs", data=np.array([[100.0]]))
        fs.attrs["MATLAB_class"] = np.bytes_("double")
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Dec  7 12:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as fh:
        fh.write(head.ljust(116) + b"\0" * 8 + b"\x00\x02IM")
    return path


@pytest.mark.parametrize("chunk", ["bomb", "short"])
def test_mat73_frames_chunk_that_lies(knotmap_bin, tmp_path, chunk):
    """A MAT-file v7.3's frames are read by H5Dread: before (session 47) a
    chunk inflating to 64 MiB was inflated whole and read as valid (exit 0;
    256 MiB: 5.5 s, 339 MB); one inflating short handed on heap bytes."""
    src = mat73(tmp_path / "s.mat", bomb() if chunk == "bomb" else zlib.compress(b"\1" * 100))
    refused(knotmap_bin, tmp_path, src, "variable frames cannot be read", "do not decode to its 4096 bytes",
            "damaged file")


def test_sound_mat73_and_checksummed_frames_still_read(knotmap_bin, tmp_path):
    """The block check decodes sound chunks (and strips a checksum) to their
    size: the frames read as written."""
    good = mat73(tmp_path / "g.mat", zlib.compress(FRAMES[16:32].transpose(2, 1, 0).tobytes()))
    chk = tmp_path / "c.h5"
    with h5.File(chk, "w") as f:
        for k, v in ATTRS.items():
            f.attrs[k] = v
        f.create_dataset("frames", data=FRAMES, chunks=(16, 8, 8), compression="gzip", shuffle=True,
                         fletcher32=True)
    for src in (good, chk):
        out = tmp_path / (src.stem + ".knotmap.h5")
        r = subprocess.run([knotmap_bin, "process", "-q", str(src), "-o", str(out)], capture_output=True,
                           text=True, timeout=120, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        with h5.File(out, "r") as f:
            assert f["session"].attrs["n_frames"] == 64
