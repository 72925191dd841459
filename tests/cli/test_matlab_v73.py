"""MATLAB MAT-files of v7.3 (`save -v7.3`): HDF5 behind a 512-byte user block that
begins "MATLAB 7.3 MAT-file", read as MAT-files by the rule of level 5 (docs/FORMAT.md
1.8). Before session 34 `--format auto` refused them ("attribute schema is missing") and
`--format session` read them with rows and columns swapped.

The fixtures are written with h5py as MATLAB writes (hdf5storage's and matio's layout):
each variable a root dataset with the attribute MATLAB_class, its dimensions reversed
(frames(r, c, t) stored [t, c, r]), a scalar 1 x 1, char arrays uint16 with
MATLAB_int_decode = 2, logical uint8, empty arrays marked MATLAB_empty (the dataset then
holds the dimensions), a 1 x 1 struct a group of class 'struct', cells object references
into "#refs#", arrays deflated in chunks as MATLAB's default. References no one here
wrote: h5py reads the frames back, scipy.io.savemat writes the same session as a level-5
MAT-file, and `process` must give the same result dataset for dataset."""
import numpy as np
import pytest

from km_cli import assert_same_results, refused, run, run_ok

h5py = pytest.importorskip("h5py")
sio = pytest.importorskip("scipy.io")
knotmap = pytest.importorskip("knotmap")

R, C, T = 12, 10, 40
HEAD = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Sun Dec  6 03:00:00 2026 HDF5 schema 1.00 ."


def recording(dtype="f8"):
    """MATLAB's frames(r, c, t): R x C x T."""
    return (np.random.default_rng(7).random((R, C, T)) * 90).astype(dtype)


def _put(g, name, value):
    if isinstance(value, dict):  # a 1 x 1 struct
        sub = g.create_group(name)
        sub.attrs["MATLAB_class"] = np.bytes_(b"struct")
        for k, v in value.items():
            _put(sub, k, v)
        return
    if isinstance(value, str):  # char: 1 x N, stored [N, 1] uint16
        d = g.create_dataset(name, data=np.array([[ord(ch)] for ch in value], dtype="u2"))
        d.attrs["MATLAB_class"] = np.bytes_(b"char")
        d.attrs["MATLAB_int_decode"] = np.int32(2)
        return
    if isinstance(value, list):  # a cell: references into #refs#
        refs = g.file.require_group("#refs#")
        items = []
        for i, v in enumerate(value):
            _put(refs, "c%s%d" % (name, i), v)
            items.append(refs["c%s%d" % (name, i)].ref)
        d = g.create_dataset(name, data=np.array([items], dtype=h5py.ref_dtype).T)
        d.attrs["MATLAB_class"] = np.bytes_(b"cell")
        return
    a = np.asarray(value)
    cls = {"f8": "double", "f4": "single", "i2": "int16", "u2": "uint16", "u1": "uint8",
           "i4": "int32", "b1": "logical"}[a.dtype.str[1:]]
    if a.size == 0:
        d = g.create_dataset(name, data=np.array(a.shape, dtype="u8"))
        d.attrs["MATLAB_empty"] = np.uint8(1)
    else:
        a = np.atleast_2d(a).astype("u1" if cls == "logical" else a.dtype)
        data = np.ascontiguousarray(a.T)  # MATLAB's dimensions reversed
        kw = {"compression": "gzip", "compression_opts": 3, "chunks": True} if a.size > 1 else {}
        d = g.create_dataset(name, data=data, **kw)
        if cls == "logical":
            d.attrs["MATLAB_int_decode"] = np.int32(1)
    d.attrs["MATLAB_class"] = np.bytes_(cls.encode())


def mat73(path, variables):
    """variables: name -> MATLAB value (array in MATLAB's shape, str, dict, list)."""
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        for name, value in variables.items():
            _put(f, name, value)
    with open(path, "r+b") as fp:
        fp.write(HEAD.ljust(116) + b"\0" * 8 + b"\0\x02IM")
    return path


def frames_of(path, **kw):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return knotmap.read_session(str(path), **kw)


@pytest.mark.parametrize("dtype", ["f8", "f4", "i2", "u1"])
def test_frames_equal_matlabs_array(tmp_path, dtype):
    a = recording(dtype)
    p = mat73(tmp_path / "s.mat", {"frames": a, "time": np.arange(T)[None, :] / 50.0})
    with h5py.File(p) as f:  # the reference: what h5py reads is MATLAB's array reversed
        assert f["frames"].shape == (T, C, R) and f["frames"].compression == "gzip"
        assert np.array_equal(f["frames"][()].transpose(2, 1, 0), a)
    for fmt in ("auto", "matlab"):
        got = np.asarray(frames_of(p, format=fmt).frames)
        assert got.shape == (T, R, C) and np.array_equal(got, a.transpose(2, 0, 1).astype("f4"))
        r = run_ok("info", "--format", fmt, p)
        assert "format:       matlab" in r.stdout and "grid:         12 x 10" in r.stdout
        assert "rate:         50 Hz" in r.stdout and "time_axis" not in r.stdout
        assert "MAT-file = MATLAB 7.3 MAT-file" in r.stdout


def test_time_first_metadata_mask_and_fs(tmp_path):
    a = recording("f4")
    mask = np.ones((R, C), dtype=bool)
    mask[2, :4] = False
    tf = np.ascontiguousarray(a.transpose(2, 0, 1))  # frames(t, r, c), told by time
    p = mat73(tmp_path / "t.mat", {"frames": tf, "time": np.arange(T)[:, None] / 20.0,
                                   "mask": mask, "units": "kPa", "mode": "roller",
                                   "row_pitch_mm": np.array([[7.5]]), "note": [np.ones((2, 2))],
                                   "nothing": np.zeros((0, 0))})
    s = frames_of(p)
    assert np.array_equal(np.asarray(s.frames), tf)
    assert np.array_equal(np.asarray(s.mask).astype(bool), mask)
    r = run_ok("info", p)
    for line in ("grid:         12 x 10", "rate:         20 Hz", "units:        kPa",
                 "mode:         roller", "pitch:        7.5 x 1 mm", "116 valid, 4 masked"):
        assert line in r.stdout, r.stdout
    q = mat73(tmp_path / "fs.mat", {"frames": a, "fs": np.array([[25.0]])})
    r = run_ok("info", q)
    assert "rate:         25 Hz" in r.stdout and "rate_name" in r.stdout


def test_struct_fields_as_level_5(tmp_path):
    a = recording("f8")
    p = mat73(tmp_path / "s.mat", {"s": {"frames": a, "fs": np.array([[40.0]]), "units": "mmHg"}})
    assert np.array_equal(np.asarray(frames_of(p).frames), a.transpose(2, 0, 1).astype("f4"))
    r = run_ok("info", p)
    assert "rate:         40 Hz" in r.stdout and "units:        mmHg" in r.stdout


def test_process_equals_the_same_session_as_level_5(tmp_path):
    a = recording("f8") * 3
    meta = {"frame_rate_hz": 20.0, "row_pitch_mm": 8.0, "col_pitch_mm": 8.0, "units": "kPa",
            "mode": "mat"}
    v5 = tmp_path / "v5.mat"
    sio.savemat(v5, {"frames": a, **meta}, do_compression=True)
    v73 = mat73(tmp_path / "v73.mat", {"frames": a, **{k: (v if isinstance(v, str) else
                                                            np.array([[v]])) for k, v in meta.items()}})
    run_ok("process", "-q", v73, "-o", tmp_path / "a.h5")
    run_ok("process", "-q", v5, "-o", tmp_path / "b.h5")
    assert assert_same_results(tmp_path / "a.h5", tmp_path / "b.h5") in (b"matlab", "matlab")


def test_refusals(tmp_path):
    p = tmp_path / "huge.mat"  # frames declaring 10^6 x 1000 x 1000 doubles in a tiny file
    with h5py.File(p, "w", userblock_size=512) as f:
        d = f.create_dataset("frames", shape=(1000000, 1000, 1000), dtype="f8", chunks=(1, 100, 100),
                             compression="gzip")
        d.attrs["MATLAB_class"] = np.bytes_(b"double")
    with open(p, "r+b") as fp:
        fp.write(HEAD.ljust(116) + b"\0" * 8 + b"\0\x02IM")
    assert p.stat().st_size < 10000
    refused(tmp_path, p, 65, "frames")
    c = mat73(tmp_path / "cell.mat", {"frames": [recording()]})
    refused(tmp_path, c, 69, "frames", "cell")


def test_session_format_keeps_its_reading(tmp_path):
    p = mat73(tmp_path / "s.mat", {"frames": recording("f4")})
    r = run_ok("info", "--format", "session", p)
    assert "format:       session" in r.stdout and "grid:         10 x 12" in r.stdout
    assert "matlab" in r.stdout.split("assumed:")[1].splitlines()[0]


def test_one_frame_strings_and_empties(tmp_path):
    a = recording("f8")[:, :, 0]
    p = mat73(tmp_path / "one.mat", {"frames": a, "who": "subject 3", "none": np.zeros((0, 3))})
    assert np.array_equal(np.asarray(frames_of(p).frames), a[None].astype("f4"))
    r = run_ok("info", p)
    assert "frames:       1" in r.stdout and "who = subject 3" in r.stdout
    t = mat73(tmp_path / "t.mat", {"frames": recording(), "time": np.arange(T + 1)[None, :] / 10.0})
    refused(tmp_path, t, 65, "time has 41 values", "40 frames")


@pytest.mark.parametrize("time_first", [False, True])
def test_blocks_of_frames_and_their_times(tmp_path, time_first):
    """Read 7 frames at a time (a hyperslab along HDF5's first or last axis): the same
    frames and times as read whole."""
    a = recording("i2")
    t = np.cumsum(np.random.default_rng(3).random(T)) / 10.0
    f = np.ascontiguousarray(a.transpose(2, 0, 1)) if time_first else a
    p = mat73(tmp_path / "b.mat", {"frames": f, "time": t[None, :]})
    want = a.transpose(2, 0, 1).astype("f4")
    for block in (7, 1, T):
        s = frames_of(p, block_frames=block)
        assert np.array_equal(np.asarray(s.frames), want), block
        assert np.array_equal(np.asarray(s.time), t), block


def test_struct_array_is_listed_as_one_and_refused_naming_it(tmp_path):
    """A 1 x 2 struct array as MATLAB stores it in v7.3 (matio reads it so):
    a group of class 'struct' whose fields are arrays of references WITHOUT
    MATLAB_class, one per element (a 1 x 1 struct's cell field has the
    class).  Before session 35 it was listed as `trials [1 x 1 struct],
    trials.data [1 x 2 cell]`; now as level 5 lists it, with what to save."""
    path = tmp_path / "trials.mat"
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        refs = f.create_group("#refs#")
        g = f.create_group("trials")
        g.attrs["MATLAB_class"] = np.bytes_(b"struct")
        items = []
        for i in range(2):
            d = refs.create_dataset("t%d" % i, data=np.ascontiguousarray(recording().T))
            d.attrs["MATLAB_class"] = np.bytes_(b"double")
            items.append(d.ref)
        g.create_dataset("data", data=np.array([items], dtype=h5py.ref_dtype).T)  # [2, 1]: 1 x 2
    with open(path, "r+b") as fp:
        fp.write(HEAD.ljust(116) + b"\0" * 8 + b"\0\x02IM")
    r = refused(tmp_path, path, 65, "trials [1 x 2 struct]",
                "the fields of a struct array are not read (trials: save one element, "
                "s = trials(1), or its frames as a variable)")
    assert "trials.data" not in r.stderr and "cell" not in r.stderr


def test_scalar_struct_with_a_cell_field_is_still_a_struct(tmp_path):
    """The other side of the rule: s.c a cell (references WITH MATLAB_class)
    beside s.frames: s is 1 x 1 and its frames are read."""
    path = mat73(tmp_path / "s.mat", {"s": {"frames": recording(), "c": [np.ones((2, 2))]}})
    want = recording().transpose(2, 0, 1).astype(np.float32)
    np.testing.assert_array_equal(frames_of(path).frames, want)


@pytest.mark.parametrize("name", ["time", "frames"])
def test_a_crafted_number_type_is_refused_not_converted(tmp_path, name):
    """A float type of 64 MiB per value (what the fuzzer made of a nested `time`):
    HDF5 converting it to double aborted or took GBs. Refused by name, exit 65."""
    p = mat73(tmp_path / "t.mat", {"frames": recording(), "time": np.arange(T)[None, :] / 50.0}
              if name == "time" else {"time": np.arange(T)[None, :] / 50.0})
    with h5py.File(p, "r+") as f:
        if name in f:
            del f[name]
        t = h5py.h5t.IEEE_F64LE.copy()
        t.set_size(1 << 26)
        shape = (T, 1) if name == "time" else (T, C, R)
        h5py.h5d.create(f.id, name.encode(), t, h5py.h5s.create_simple(shape))
        f[name].attrs["MATLAB_class"] = np.bytes_(b"double")
    r = refused(tmp_path, p, 65, "variable %s" % name, "is stored as a type knotmap does not read")
    assert "crashed" not in r.stderr
