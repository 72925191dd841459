"""MATLAB MAT-files of level 5 (`save`, `-v6`, `-v7`; scipy.io.savemat): read as they
are (docs/FORMAT.md 1.8). Before session 32 every one of them was "format not
recognised". References no one here wrote: scipy.io.loadmat reads each file and the
frames must equal knotmap's bit for bit. Files come from scipy.io.savemat and from a
small writer below that follows the MAT-file format itself, for what savemat never
writes: big-endian files, doubles stored as narrower integers (as MATLAB saves them),
names in small data elements."""
import struct
import zlib

import numpy as np
import pytest

from km_cli import assert_same_results, refused, run, run_ok

sio = pytest.importorskip("scipy.io")
knotmap = pytest.importorskip("knotmap")
h5py = pytest.importorskip("h5py")

R, C, T = 12, 10, 40
CLASS = {"f8": 6, "f4": 7, "i1": 8, "u1": 9, "i2": 10, "u2": 11, "i4": 12, "u4": 13}
MI = {"i1": 1, "u1": 2, "i2": 3, "u2": 4, "i4": 5, "u4": 6, "f4": 7, "f8": 9}


def recording(dtype="f4"):
    """MATLAB's frames(r, c, t): R x C x T."""
    a = np.random.default_rng(5).random((R, C, T)) * 90
    return a.astype(dtype)


def frames_of(path, **kw):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return knotmap.read_session(str(path), **kw)


def knotmap_frames(path, **kw):
    return np.asarray(frames_of(path, **kw).frames)


# ---- a MAT-file writer of its own (the format, not scipy's code) ----

def _el(e, typ, payload, small=True):
    n = len(payload)
    if small and 0 < n <= 4:
        return struct.pack(e + "I", n << 16 | typ) + payload.ljust(4, b"\0")
    return struct.pack(e + "II", typ, n) + payload + b"\0" * (-n % 8)


def _matrix(e, name, arr, stored):
    cls = CLASS[arr.dtype.str[1:]]
    body = _el(e, 6, struct.pack(e + "II", cls, 0), small=False)
    body += _el(e, 5, struct.pack(e + "%di" % arr.ndim, *arr.shape), small=False)
    body += _el(e, 1, name.encode())
    data = np.asarray(arr).flatten(order="F").astype(np.dtype(stored).newbyteorder(e))
    body += _el(e, MI[stored], data.tobytes())
    return struct.pack(e + "II", 14, len(body)) + body


def mat5(path, variables, big_endian=False, compress=False, stored=None, extra=b""):
    """variables: name -> array in MATLAB's shape; stored: name -> narrower storage type;
    extra: raw elements written first."""
    e = ">" if big_endian else "<"
    out = b"MATLAB 5.0 MAT-file, written by knotmap's tests".ljust(116) + b"\0" * 8
    out += struct.pack(e + "H", 0x0100) + struct.pack(e + "H", 0x4D49) + extra
    for name, arr in variables.items():
        arr = np.asarray(arr)
        m = _matrix(e, name, arr, (stored or {}).get(name, arr.dtype.str[1:]))
        out += struct.pack(e + "II", 15, len(zlib.compress(m))) + zlib.compress(m) if compress else m
    path.write_bytes(out)
    return path


# ---- reading ----

@pytest.mark.parametrize("dtype", ["f4", "f8", "i2", "u1", "i4"])
@pytest.mark.parametrize("compress", [False, True])
def test_savemat_frames_equal_loadmat(tmp_path, dtype, compress):
    p = tmp_path / "s.mat"
    sio.savemat(p, {"frames": recording(dtype), "time": np.arange(T) / 50.0},
                do_compression=compress)
    ref = sio.loadmat(p)["frames"].transpose(2, 0, 1).astype("f4")
    got = knotmap_frames(p)
    assert got.shape == (T, R, C) and np.array_equal(got, ref)
    s = frames_of(p)
    assert s.metadata["format"] == "matlab" if isinstance(s.metadata, dict) else True
    r = run_ok("info", p)
    assert "format:       matlab" in r.stdout and "rate:         50 Hz" in r.stdout
    assert "time_axis" not in r.stdout


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("compress", [False, True])
def test_own_writer_narrow_storage_and_byte_order(tmp_path, big_endian, compress):
    frames = np.round(recording("f8"))            # doubles holding integers: MATLAB stores them
    mask = np.ones((R, C), dtype="u1")            # as uint8/int16, as this writer does
    mask[0, :3] = 0
    p = mat5(tmp_path / "o.mat", {"frames": frames, "time": np.arange(T)[None, :] / 25.0,
                                  "mask": mask, "row_pitch_mm": np.array([[7.5]])},
             big_endian=big_endian, compress=compress, stored={"frames": "u1"})
    ref = sio.loadmat(p)
    assert np.array_equal(ref["frames"], frames)   # the reference reads the file so too
    got = frames_of(p)
    assert np.array_equal(np.asarray(got.frames), frames.transpose(2, 0, 1).astype("f4"))
    assert np.array_equal(np.asarray(got.mask).astype(bool), mask.astype(bool))
    r = run_ok("info", p)
    assert "rate:         25 Hz" in r.stdout and "pitch:        7.5 x 1 mm" in r.stdout
    assert "row_pitch_mm = 7.5" in r.stdout


def test_objects_beside_the_frames_are_skipped(tmp_path):
    # MATLAB writes a datetime, string or table variable as an opaque object (class 17):
    # no dimensions after its flags, then its name, its class name and its data.
    body = _el("<", 6, struct.pack("<II", 17, 0), small=False) + _el("<", 1, b"when")
    body += _el("<", 1, b"MCOS") + _el("<", 2, bytes(range(40)))
    opaque = struct.pack("<II", 14, len(body)) + body
    a = recording("f4")
    p = mat5(tmp_path / "obj.mat", {"frames": a, "time": np.arange(T)[None, :] / 10.0}, extra=opaque)
    assert np.array_equal(knotmap_frames(p), a.transpose(2, 0, 1))


def test_time_first_told_by_time_and_option(tmp_path):
    a = recording("f4").transpose(2, 0, 1)          # a numpy [T, R, C] array saved by savemat
    p = tmp_path / "tf.mat"
    sio.savemat(p, {"frames": a, "time": np.arange(T) / 100.0})
    assert np.array_equal(knotmap_frames(p), a)
    q = tmp_path / "tf_no_time.mat"
    sio.savemat(q, {"frames": a})
    r = run_ok("info", q)                           # no time: the longer end axis, said
    assert "time_axis" in r.stdout.split("assumed:")[1].splitlines()[0]
    assert "frames(t, r, c) or frames(r, c, t)" in r.stderr and "--time-axis" in r.stderr
    assert np.array_equal(knotmap_frames(q), a)
    # told otherwise, it reads the other way and says nothing assumed about it
    r = run_ok("info", "--time-axis", "last", q)
    assert "grid:         40 x 12 taxels" in r.stdout
    assert "time_axis" not in r.stdout.split("assumed:")[1].splitlines()[0]


def test_one_frame_and_frames_picked_by_shape(tmp_path):
    one = recording("f8")[:, :, 0]
    p = tmp_path / "avg.mat"
    sio.savemat(p, {"avg": one, "note": "averaged"})
    got = knotmap_frames(p)
    assert got.shape == (1, R, C) and np.array_equal(got[0], one.astype("f4"))
    assert "note = averaged" in run_ok("info", p).stdout
    q = tmp_path / "named.mat"
    sio.savemat(q, {"pressure": recording("f4"), "gain": np.ones((R, C))})
    assert np.array_equal(knotmap_frames(q), recording("f4").transpose(2, 0, 1))


def test_metadata_variables_and_conflicts(tmp_path):
    p = tmp_path / "meta.mat"
    sio.savemat(p, {"frames": recording("f4"), "frame_rate_hz": 100.0, "row_pitch_mm": 5.0,
                    "col_pitch_mm": 5.0, "units": "kPa", "mode": "roller",
                    "roller_radius_mm": 40.0})
    r = run_ok("info", p)
    for line in ("rate:         100 Hz", "units:        kPa", "mode:         roller",
                 "pitch:        5 x 5 mm"):
        assert line in r.stdout
    assert r.stdout.split("assumed:")[1].split()[0] == "time_axis"  # 12 x 10 x 40: no time vector
    r = run("info", "--rate", "50", p)
    assert r.returncode == 64 and "100" in r.stderr and "50" in r.stderr


def test_process_equals_the_same_session_in_hdf5(tmp_path):
    a = recording("f4") * 3
    p = tmp_path / "s.mat"
    sio.savemat(p, {"frames": a, "frame_rate_hz": 20.0, "row_pitch_mm": 8.0,
                    "col_pitch_mm": 8.0, "units": "kPa", "mode": "mat"}, do_compression=True)
    h = tmp_path / "s.h5"
    with h5py.File(h, "w") as f:
        f["frames"] = np.ascontiguousarray(a.transpose(2, 0, 1))
        f.attrs.update({"schema": "knotmap-session", "schema_version": 1, "frame_rate_hz": 20.0,
                        "row_pitch_mm": 8.0, "col_pitch_mm": 8.0, "units": "kPa", "mode": "mat"})
    run_ok("process", "-q", p, "-o", tmp_path / "a.h5")
    run_ok("process", "-q", h, "-o", tmp_path / "b.h5")
    assert assert_same_results(tmp_path / "a.h5", tmp_path / "b.h5") in (b"matlab", "matlab")


# ---- refusals: exit 65 (format) or 69 (unsupported), the file and the place named, no output ----

def test_which_frames_when_several(tmp_path):
    p = tmp_path / "two.mat"
    sio.savemat(p, {"left": recording("f4"), "right": recording("f4")})
    refused(tmp_path, p, 65, "no variable `frames`", "left [12 x 10 x 40 single]",
            "right [12 x 10 x 40 single]")


def test_frames_of_the_wrong_kind(tmp_path):
    p = tmp_path / "cplx.mat"
    sio.savemat(p, {"frames": recording("f8") + 1j})
    refused(tmp_path, p, 69, "frames is", "complex")
    q = tmp_path / "cell.mat"
    sio.savemat(q, {"frames": np.array([recording("f4")[:, :, 0], 1], dtype=object)})
    refused(tmp_path, q, 69, "frames is", "cell")


def test_truncated_and_crafted_files(tmp_path):
    good = tmp_path / "g.mat"
    sio.savemat(good, {"frames": recording("f4")}, do_compression=True)
    b = good.read_bytes()
    cut = tmp_path / "cut.mat"
    cut.write_bytes(b[: len(b) // 2])
    refused(tmp_path, cut, 65, "declares", "truncated")
    # the same cut with the element's size mended: the stream ends early, found when read
    e = bytearray(b[: len(b) // 2])
    e[132:136] = struct.pack("<I", len(e) - 136)
    cut2 = tmp_path / "cut2.mat"
    cut2.write_bytes(bytes(e))
    refused(tmp_path, cut2, 65, "cut short")
    # a few bytes that claim 1 GB of values
    big = tmp_path / "big.mat"
    m = _matrix("<", "frames", np.zeros((2, 2, 2), "f4"), "f4")
    m = m[:-40] + struct.pack("<II", 7, 1 << 30) + m[-32:]
    z = zlib.compress(m + b"\0" * 64)
    big.write_bytes(b"MATLAB 5.0 MAT-file".ljust(124) + b"\0\x01IM" + struct.pack("<II", 15, len(z)) + z)
    refused(tmp_path, big, 65, "frames")
    # damaged zlib data
    bad = bytearray(b)
    bad[150:170] = b"\xff" * 20
    dmg = tmp_path / "dmg.mat"
    dmg.write_bytes(bytes(bad))
    refused(tmp_path, dmg, 65, "compressed element at byte 128")


def test_other_mat_files_are_named(tmp_path):
    v4 = tmp_path / "old.mat"                       # MATLAB v4: no text header
    v4.write_bytes(struct.pack("<5i", 0, 2, 2, 0, 2) + b"x\0" + np.zeros(4).tobytes())
    refused(tmp_path, v4, 65, "a MAT-file of level 4")
    r = run("info", tmp_path / "nothing.mat")
    assert r.returncode == 66


def test_struct_array_is_refused_naming_it(tmp_path):
    """A 1 x 2 struct array (scipy.io.savemat of a structured array, as MATLAB
    saves `trials(2).data = ...`): its fields are not read, and the error
    says so and what to save, naming the file and the variable."""
    sa = np.zeros((1, 2), dtype=[("data", "O"), ("fs", "O")])
    for i in range(2):
        sa[0, i] = (np.ones((6, 5, 8)) * i, 100.0)
    path = tmp_path / "trials.mat"
    sio.savemat(path, {"trials": sa})
    refused(tmp_path, path, 65, "trials [1 x 2 struct]",
            "the fields of a struct array are not read (trials: save one element, "
            "s = trials(1), or its frames as a variable)")
