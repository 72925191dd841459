import os

import h5py
import numpy as np
import pytest

import knotmap


@pytest.fixture
def tekscan(datasets_dir):
    return os.path.join(datasets_dir, "real", "tekscan_fscan", "FrasP01L.asf")


def test_process_end_to_end(tekscan, tmp_path):
    out = tmp_path / "walk.knotmap.h5"
    calls = []
    s = knotmap.process(tekscan, out, sigma=1.0, threshold_abs=50, min_distance=2,
                        block_frames=64, progress=lambda done, total: calls.append((done, total)))
    assert s["n_frames"] == 205
    assert s["info"]["rows"] == 60 and s["info"]["cols"] == 21
    assert s["info"]["format"] == "tekscan"
    assert s["n_peaks"] > 0
    assert 1 <= len(s["top"]) <= 5
    values = [t["value"] for t in s["top"]]
    assert values == sorted(values, reverse=True)
    assert all(v > 50 for v in values)
    # progress after each block of 64 frames, ending at the total
    assert calls and calls[-1][0] == 205
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    with h5py.File(out, "r") as f:
        assert f.attrs["schema"] in ("knotmap-result", b"knotmap-result")
        assert int(f.attrs["schema_version"]) == 1
        assert f.attrs["knotmap_version"] in (knotmap.__version__, knotmap.__version__.encode())
        peaks = f["peaks"]
        lengths = {name: peaks[name].shape[0] for name in peaks}
        assert len(set(lengths.values())) == 1, lengths
        assert lengths["value"] == s["n_peaks"]
        assert float(np.max(peaks["value"][:])) == pytest.approx(values[0])
        assert f["metrics"]["peak"].shape[0] == 205
        assert f["session"]["mask"].shape == (60, 21)
        assert f["frames"]["max"].shape == (60, 21)
        # the parameters given here are the ones recorded
        params = dict(f["params"].attrs)
        assert params["smooth_sigma_rows"] == 1.0
        assert params["peaks_threshold_abs"] == 50.0
        assert params["peaks_min_distance"] == 2


def test_process_missing_input_leaves_nothing(tmp_path):
    out = tmp_path / "r.h5"
    with pytest.raises(knotmap.Error) as info:
        knotmap.process(tmp_path / "missing.asf", out)
    assert info.value.status_name == "KM_ERR_NOT_FOUND"
    assert "missing.asf" in info.value.detail
    assert os.listdir(tmp_path) == []


def test_progress_can_cancel(tekscan, tmp_path):
    out = tmp_path / "r.h5"
    with pytest.raises(knotmap.Error) as info:
        knotmap.process(tekscan, out, block_frames=16, progress=lambda d, t: d >= 32)
    assert info.value.status_name == "KM_ERR_CANCELLED"
    assert not out.exists()


def test_progress_exception_propagates(tekscan, tmp_path):
    def boom(done, total):
        raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        knotmap.process(tekscan, tmp_path / "r.h5", progress=boom)
    assert not (tmp_path / "r.h5").exists()


def test_summary_counts_bad_and_suspect_taxels(tmp_path):
    """The summary's taxel counts are the result's /params and, for the stuck
    taxels left in without detect_bad, the simulator's own truth."""
    grid = dict(mode="mat", preset="moderate", seed=1, grid=(32, 32), rate=100, duration=10)
    _, truth = knotmap.synth(None, **grid)
    n_stuck = int((np.asarray(truth["taxel_state"]) == 2).sum())
    assert n_stuck > 0
    src = knotmap.synth(tmp_path / "s.h5", **grid)
    for detect_bad, out in ((False, tmp_path / "plain.h5"), (True, tmp_path / "bad.h5")):
        s = knotmap.process(src, out, detect_bad=detect_bad)
        with h5py.File(out, "r") as f:
            p = f["params"].attrs
            assert s["n_bad_taxels"] == p["bad_taxels"]
            assert s["n_offset_taxels"] == p["offset_taxels"]
            assert s["n_suspect_taxels"] == p["suspect_taxels"]
        if detect_bad:
            assert s["n_suspect_taxels"] == 0 and s["n_bad_taxels"] >= n_stuck
        else:
            assert s["n_suspect_taxels"] == n_stuck and s["n_bad_taxels"] == s["n_offset_taxels"]


def test_a_result_under_a_picture_name_is_refused(tmp_path):
    """Session 39: process(..., "map.png") wrote HDF5 under the picture's name."""
    import os
    example = os.path.join(os.path.dirname(__file__), "..", "..", "datasets", "example",
                           "roller_example.h5")
    with pytest.raises(ValueError) as e:
        knotmap.process(example, str(tmp_path / "map.png"))
    assert "a result is one HDF5 file, not a picture" in str(e.value)
    assert list(tmp_path.iterdir()) == []
