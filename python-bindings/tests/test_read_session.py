import os

import numpy as np
import pytest

import knotmap


def _tekscan(datasets_dir):
    return os.path.join(datasets_dir, "real", "tekscan_fscan", "FrasP01L.asf")


def test_tekscan_fixture(datasets_dir):
    s = knotmap.read_session(_tekscan(datasets_dir))
    m = s.metadata
    assert s.frames.shape == (205, 60, 21)
    assert s.frames.dtype == np.float32
    assert s.time.shape == (205,) and s.time.dtype == np.float64
    assert s.mask.shape == (60, 21) and s.mask.dtype == bool
    assert m["format"] == "tekscan"
    assert (m["rows"], m["cols"], m["n_frames"]) == (60, 21, 205)
    assert m["frame_rate_hz"] == pytest.approx(31.25, rel=1e-6)
    assert m["row_pitch_mm"] == pytest.approx(5.08)
    assert m["col_pitch_mm"] == pytest.approx(5.08)
    assert m["units"] == "kPa"
    assert int((~s.mask).sum()) == 305
    assert m["n_valid"] == 60 * 21 - 305
    assert float(s.frames[:, s.mask].max()) == 760.0
    # frames 0.032 s apart from 0
    assert s.time[0] == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(np.diff(s.time), 0.032, atol=1e-6)
    # every header key of the file is kept, by name
    assert len(m["source_header"]) > 5
    assert all(isinstance(k, str) and isinstance(v, str)
               for k, v in m["source_header"].items())
    assert s["frames"] is s.frames


def test_tekscan_block_size_does_not_change_the_frames(datasets_dir):
    a = knotmap.read_session(_tekscan(datasets_dir), block_frames=256)
    b = knotmap.read_session(_tekscan(datasets_dir), block_frames=7)
    assert np.array_equal(a.frames[:, a.mask], b.frames[:, b.mask])
    assert np.array_equal(a.time, b.time)


def test_physionet_experiment_i(datasets_dir):
    path = os.path.join(datasets_dir, "real", "physionet_pmd", "experiment-i", "S1", "1.txt")
    s = knotmap.read_session(path, grid=(64, 32), rate=1)
    assert s.frames.shape[1:] == (64, 32)
    assert s.frames.shape[0] > 2
    assert s.metadata["frame_rate_hz"] == 1.0
    assert np.allclose(s.time, np.arange(s.frames.shape[0], dtype=np.float64))
    # The file: one frame per line, 2048 tab-separated integers, row-major.
    with open(path, encoding="ascii") as f:
        first = [float(v) for v in f.readline().split()]
    assert np.array_equal(s.frames[0].ravel(), np.asarray(first, np.float32))
    assert s.mask.all()


def test_physionet_experiment_i_grid_as_string(datasets_dir):
    path = os.path.join(datasets_dir, "real", "physionet_pmd", "experiment-i", "S1", "1.txt")
    a = knotmap.read_session(path, grid="64x32", rate=1)
    assert a.frames.shape[1:] == (64, 32)


def test_physionet_experiment_ii(datasets_dir):
    path = os.path.join(datasets_dir, "real", "physionet_pmd", "experiment-ii", "S1",
                        "Air_Mat", "Matrix_Air_B1.txt")
    s = knotmap.read_session(path, grid=(64, 27), text_frame_per_file=True)
    assert s.frames.shape == (1, 64, 27)
    with open(path, encoding="ascii") as f:
        rows = [[float(v) for v in line.split()] for line in f if line.strip()]
    assert np.array_equal(s.frames[0], np.asarray(rows, np.float32))


def test_hdf5_without_schema_needs_the_session_format(tmp_path):
    # Another tool's file: /frames [T, R, C] and /time, no knotmap attributes.
    # As the command: refused in auto, read with format="session", and the
    # missing schema is one of the assumptions.
    h5py = pytest.importorskip("h5py")
    path = str(tmp_path / "other.h5")
    frames = np.arange(20 * 4 * 3, dtype=np.float32).reshape(20, 4, 3)
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=frames, compression="lzf")
        f["time"] = np.arange(20) / 10.0
    with pytest.raises(knotmap.Error) as e:
        knotmap.read_session(path)
    assert "schema is missing" in str(e.value)
    s = knotmap.read_session(path, format="session")
    assert np.array_equal(s.frames, frames)
    # /time without a units attribute: seconds, said (session 44)
    assert s.metadata["assumed"].split(",")[-2:] == ["schema", "time_units"]
    assert s.metadata["frame_rate_hz"] == pytest.approx(10.0)


def test_read_session_takes_the_options_its_errors_name(datasets_dir):
    """The errors name text_layout, override and max_memory; read_session
    takes each as the keyword of the same name, as process() does (before
    session 27 it raised TypeError for all three).  Since session 35 the
    errors spell them as Python's keywords, not as the CLI's options."""
    bed = os.path.join(datasets_dir, "real", "physionet_pmd", "experiment-i", "S1", "1.txt")
    with pytest.raises(ValueError) as e:
        knotmap.read_session(bed)
    assert "grid=(R, C) for one frame per line (e.g. grid=(64, 32)), or " \
        "text_layout='matrix' for one frame" in str(e.value) and "--" not in str(e.value)
    one = knotmap.read_session(bed, text_layout="matrix")
    assert one.frames.shape == (1, 82, 2048)
    lines = knotmap.read_session(bed, grid=(64, 32), text_layout="line")
    assert lines.frames.shape == (82, 64, 32)
    walk = _tekscan(datasets_dir)
    with pytest.raises(ValueError, match="pass override=True "):
        knotmap.read_session(walk, rate=100)
    fast = knotmap.read_session(walk, rate=100, override=True)
    assert fast.metadata["frame_rate_hz"] == 100.0
    assert np.allclose(np.diff(fast.time), 0.01)
    assert knotmap.read_session(walk, max_memory=1 << 30).frames.shape == (205, 60, 21)


@pytest.mark.parametrize("kw, builtin", [
    ({"rate": "fast"}, TypeError), ({"roller_radius": "big"}, TypeError),
    ({"sensor": "left"}, TypeError), ({"max_memory": "lots"}, TypeError),
    ({"pitch": ("a", 1)}, TypeError), ({"grid": [1]}, ValueError), ({"rate": [100]}, TypeError),
    ({"rate": "100"}, TypeError), ({"grid": (60.5, 21)}, TypeError), ({"sensor": 0.5}, TypeError),
    ({"override": "no"}, TypeError)])
def test_a_bad_option_value_is_knotmaps_error_naming_it(datasets_dir, kw, builtin):
    """Before session 27, rate="fast" raised Python's bare ValueError "could not
    convert string to float: 'fast'", not knotmap.Error, naming no argument.
    Before session 35, rate="100" was read as 100.0, grid=(60.5, 21) as
    (60, 21) and override="no" as True (float()/int()/truth test); a value of
    the wrong type is now the TypeError the array functions raise."""
    with pytest.raises(knotmap.Error) as e:
        knotmap.read_session(_tekscan(datasets_dir), **kw)
    assert isinstance(e.value, builtin)
    assert next(iter(kw)) in str(e.value)
