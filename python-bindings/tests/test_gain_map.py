"""Equilibration from Python: knotmap.gain_map_from_recording, read_gain_map and
process(equilibrate=...) / process(gain_map=path), against the synthetic sensor's
true gains."""
import h5py
import numpy as np
import pytest

import knotmap


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("equil_py")
    s = knotmap.synth(d / "s.h5", mode="mat", preset="hard", seed=4, duration=8.0)
    e = knotmap.synth(d / "eq.h5", mode="mat", preset="hard", seed=4, duration=5.0,
                      equilibration_kpa=50.0)
    _, truth = knotmap.synth(mode="mat", preset="hard", seed=4, duration=0.01)
    return d, s, e, truth


def test_gain_map_inverts_the_true_gains(files):
    _, _, e, truth = files
    gains, summary = knotmap.gain_map_from_recording(e)
    true = truth["gain"].reshape(gains.shape)
    bad = truth["taxel_state"].reshape(gains.shape) != 0
    np.testing.assert_array_equal(np.isnan(gains), bad)
    prod = gains[~bad] * true[~bad]
    # within the noise (about 0.6% per taxel here); the spread removed is 10%
    assert np.abs(prod / np.median(prod) - 1).max() < 0.04
    assert summary["n_dead"] == bad.sum()
    assert summary["rows"] == 32 and summary["n_loaded"] > 250
    assert knotmap.EQUIL_DEFAULTS["load_fraction"] == 0.8
    with pytest.raises(knotmap.Error, match="load_fraction"):
        knotmap.gain_map_from_recording(e, load_fraction=1.5)


def test_process_equilibrate_matches_the_gain_array(files):
    d, s, e, _ = files
    gains, _ = knotmap.gain_map_from_recording(e)
    a = knotmap.process(s, d / "a.h5", equilibrate=e)
    b = knotmap.process(s, d / "b.h5", gain_map=gains)
    path = d / "gains.txt"
    np.savetxt(path, gains, fmt="%.9g")
    np.testing.assert_array_equal(knotmap.read_gain_map(path), gains)
    c = knotmap.process(s, d / "c.h5", gain_map=str(path))
    with h5py.File(d / "a.h5") as fa, h5py.File(d / "b.h5") as fb, h5py.File(d / "c.h5") as fc:
        np.testing.assert_array_equal(fa["frames/max"][:], fb["frames/max"][:])
        np.testing.assert_array_equal(fa["frames/max"][:], fc["frames/max"][:])
        assert fa["params"].attrs["equilibrate_path"] == str(e)
        assert fc["params"].attrs["gain_map_path"] == str(path)
    assert a["n_candidates"] == b["n_candidates"] == c["n_candidates"]
    r = knotmap.process(s, d / "o.h5", equilibrate=e, equil_max_gain=1.1)
    assert r["n_frames"] > 0
    assert knotmap.read_result(d / "o.h5")["params"]["gain_map_max"] <= 1.1 + 1e-6
