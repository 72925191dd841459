"""NumPy .npz archives (numpy.savez, numpy.savez_compressed) read as sessions
(docs/FORMAT.md 1.10). Before session 33 they were "format not recognised". The
reference is numpy's own np.load: frames must equal it bit for bit, stored or deflated,
with the times, mask and metadata saved beside them; a damaged archive is refused with
the member and the byte named, and nothing written."""
import struct
import zipfile
import zlib

import numpy as np
import pytest

from km_cli import assert_same_results, refused, run_ok

knotmap = pytest.importorskip("knotmap")
h5py = pytest.importorskip("h5py")

T, R, C = 40, 12, 10
META = dict(units="kPa", row_pitch_mm=8.0, col_pitch_mm=8.0, mode="mat", frame_rate_hz=20.0)


def recording(dtype="f4"):
    return (np.random.default_rng(5).random((T, R, C)) * 90).astype(dtype)


def frames_of(path, **kw):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return knotmap.read_session(str(path), **kw)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
@pytest.mark.parametrize("dtype", ["<f4", ">f8", "<i2", "u1"])
def test_frames_time_and_metadata_equal_np_load(tmp_path, save, dtype):
    a = recording("f8").astype(dtype)
    t = 1.5 + np.arange(T) / 25.0
    p = tmp_path / "s.npz"
    save(p, frames=a, time=t, **META)
    ref = np.load(p)
    s = frames_of(p)
    assert np.asarray(s.frames).shape == (T, R, C)
    assert np.array_equal(np.asarray(s.frames), ref["frames"].astype("f4"))
    assert np.array_equal(np.asarray(s.time), t)
    r = run_ok("info", p)
    assert "format:       npz" in r.stdout and "pitch:        8 x 8 mm" in r.stdout
    assert "units:        kPa" in r.stdout and "rate:         20 Hz" in r.stdout
    assert r.stderr == "" and "assumed:      nothing" in r.stdout


def test_a_single_unnamed_array_and_the_time_axis(tmp_path):
    a = recording()
    p = tmp_path / "one.npz"
    np.savez(p, a)                                  # the key is arr_0
    r = run_ok("info", p)
    assert "time_axis" in r.stdout.split("assumed:")[1].splitlines()[0]
    assert "--time-axis first|last" in r.stderr
    assert np.array_equal(np.asarray(frames_of(p).frames), a)
    q = tmp_path / "rct.npz"                        # [R, C, T] with a time vector: its length decides
    np.savez_compressed(q, data=np.ascontiguousarray(a.transpose(1, 2, 0)), time=np.arange(T) / 10.0)
    assert np.array_equal(np.asarray(frames_of(q).frames), a)
    assert "time_axis" not in run_ok("info", q).stdout.split("assumed:")[1].splitlines()[0]
    f = tmp_path / "fortran.npz"
    np.savez(f, frames=np.asfortranarray(a), time=np.arange(T) / 10.0)
    assert np.array_equal(np.asarray(frames_of(f).frames), a)


def test_mask_and_process_equal_the_same_session_in_hdf5(tmp_path):
    a = recording() * 2
    mask = np.ones((R, C), bool)
    mask[3, 4] = mask[0, 9] = False
    p = tmp_path / "s.npz"
    np.savez_compressed(p, frames=a, mask=mask, time=np.arange(T) / 20.0, **META)
    h = tmp_path / "s.h5"
    with h5py.File(h, "w") as f:
        f["frames"] = a
        f["mask"] = mask.astype("u1")
        f["time"] = np.arange(T) / 20.0
        f.attrs.update({"schema": "knotmap-session", "schema_version": 1, **META})
    assert "mask:         118 valid, 2 masked" in run_ok("info", p).stdout
    run_ok("process", "-q", p, "-o", tmp_path / "a.h5")
    run_ok("process", "-q", h, "-o", tmp_path / "b.h5")
    assert assert_same_results(tmp_path / "a.h5", tmp_path / "b.h5") in (b"npz", "npz")


def test_zip64_members_as_python_writes_them(tmp_path):
    """numpy.savez asks zipfile for zip64 headers (force_zip64); a hand-made archive
    with zip64 fields in the directory too reads the same."""
    a = recording()
    p = tmp_path / "z.npz"
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a)
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("frames.npy", "w", force_zip64=True) as m:
            m.write(buf.getvalue())
    assert np.array_equal(np.asarray(frames_of(p, time_axis="first").frames), a)


def damaged(tmp_path, name, edit):
    a = recording()
    p = tmp_path / name
    np.savez(p, frames=a, time=np.arange(T) / 20.0)
    b = bytearray(p.read_bytes())
    edit(b)
    p.write_bytes(bytes(b))
    return p


def test_damaged_archives_refused(tmp_path):
    def flip_value(b):                              # a stored member: only the CRC-32 can tell
        i = b.find(b"\x93NUMPY") + 200
        b[i] ^= 0x40
    refused(tmp_path, damaged(tmp_path, "crc.npz", flip_value), 65, "CRC-32", "frames", "damaged")

    def cut(b):
        del b[len(b) // 2:]
    refused(tmp_path, damaged(tmp_path, "cut.npz", cut), 65, "truncated")

    def no_end(b):                                  # the end-of-directory record gone
        i = b.rfind(b"PK\5\6")
        b[i:i + 4] = b"XXXX"
    refused(tmp_path, damaged(tmp_path, "noend.npz", no_end), 65, "zip")

    p = tmp_path / "big.npz"                        # a small member that declares 40 GB of values
    head = b"{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 10000, 10), }"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("frames.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head + b"\0" * 64)
    refused(tmp_path, p, 65, "frames", "declares")

    bomb = tmp_path / "bomb.npz"                    # a directory that claims more than deflate can give
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(b"\0" * 4096) + comp.flush()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("frames.npy", b"\0" * 4096)
    b = bytearray(bomb.read_bytes())
    i = b.find(b"PK\1\2")
    b[i + 24:i + 28] = struct.pack("<I", 2**31)     # uncompressed size in the directory
    bomb.write_bytes(bytes(b))
    assert len(body) < 100
    refused(tmp_path, bomb, 65, "frames", "1032:1")


def test_arrays_knotmap_cannot_take(tmp_path):
    a = recording()
    p = tmp_path / "two.npz"
    np.savez(p, left=a, right=a)
    refused(tmp_path, p, 65, "no array `frames`", "left", "right", "numpy.savez")
    c = tmp_path / "c.npz"
    np.savez(c, frames=a.astype("c8"))
    refused(tmp_path, c, 69, "frames", "'<c8'")
    o = tmp_path / "o.npz"                          # an object array: never unpickled
    np.savez(o, frames=np.array([1, "x"], dtype=object), allow_pickle=True)
    refused(tmp_path, o, 69, "frames", "'|O'")
    s = tmp_path / "s.npz"
    np.savez(s, frames=a, units="bar")  # psi is read converted since session 46
    refused(tmp_path, s, 65, "units", "bar", "knotmap reads kPa, mmHg, N/cm2, psi, Pa, MPa or raw")
    z = tmp_path / "bz.npz"                         # a zip method numpy never writes
    with zipfile.ZipFile(z, "w", zipfile.ZIP_BZIP2) as f:
        import io
        buf = io.BytesIO()
        np.lib.format.write_array(buf, a)
        f.writestr("frames.npy", buf.getvalue())
    refused(tmp_path, z, 69, "frames", "zip method 12")


def test_sniffed_by_content_not_name(tmp_path):
    a = recording()
    p = tmp_path / "session.dat"                    # any name: the first member is a .npy
    with open(p, "wb") as f:
        np.savez(f, frames=a, **META)
    r = run_ok("info", p)
    assert "format:       npz" in r.stdout


def test_dotted_names_read_as_struct_paths(tmp_path):
    """np.savez with keys "rec.frames", "rec.meta.fs": the MAT-file's struct rule
    (docs/FORMAT.md 1.8, 1.10); the rate in "rec.meta.fs" is read (before session 36
    it was ignored and 1 Hz assumed)."""
    a = (np.random.default_rng(1).random((12, 4, 3)) * 10).astype("f4")
    p = tmp_path / "s.npz"
    np.savez(p, **{"rec.frames": a, "rec.meta.fs": np.float64(40.0), "other.fs": np.float64(7.0)})
    r = run_ok("info", "--time-axis", "first", p)
    assert "rate:         40 Hz" in r.stdout and "frames:       12" in r.stdout
    assert "other.fs = 7" in r.stdout  # another struct's: a header entry only
