"""The seen threshold the candidates counted and the candidate map's noise it
came from (issue 11, session 41; docs/ALGORITHMS.md 10 step 3): process()'s
summary says what the result's /params record, and candidates() returns them
(with seen_noise 0 the threshold is seen_threshold, the noise the same).
tests/cli/test_seen_recorded.py checks the values against their definitions.
Fails on 0370410 (no such keys)."""
import numpy as np
import pytest

import knotmap

h5py = pytest.importorskip("h5py")


def _rung(top, c, noise):
    """The ladder's rung (seen_threshold x 2/8 .. 7/8) for c x noise."""
    if c <= 0 or c * noise >= top:
        return top
    under = [top * (k + 2) / 8.0 for k in range(6) if top * (k + 2) / 8.0 <= c * noise]
    return max(under) if under else top * 2 / 8.0


def test_process_summary_and_candidates_say_it(tmp_path):
    src = knotmap.synth(tmp_path / "s.h5", mode="mat", preset="moderate", seed=3, duration=10)
    s = knotmap.process(src, tmp_path / "r.h5")
    with h5py.File(tmp_path / "r.h5", "r") as f:
        p = dict(f["params"].attrs)
    assert s["cand_map_noise"] == p["cand_map_noise"] > 0
    assert s["cand_seen_threshold_used"] == p["cand_seen_threshold_used"]
    assert p["cand_seen_threshold_used"] == _rung(8.0, 3.0, p["cand_map_noise"]) < 8.0
    ses = knotmap.read_session(src)
    cd = knotmap.candidates(ses)
    cd0 = knotmap.candidates(ses, seen_noise=0)
    assert np.isfinite(cd["map_noise"]) and cd["map_noise"] > 0
    assert cd["seen_threshold_used"] == _rung(8.0, 3.0, cd["map_noise"])
    assert cd0["seen_threshold_used"] == 8.0 and cd0["map_noise"] == cd["map_noise"]


def test_pipeline_candidates_say_it_as_process_does(tmp_path):
    """Pipeline.candidates() says the seen threshold under the summary's and
    /params' names, with their values once the frames are all in (session
    42: it said nothing; fails on 80e4cd4 with a KeyError)."""
    src = knotmap.synth(tmp_path / "s.h5", mode="mat", preset="moderate", seed=5, duration=10)
    s = knotmap.process(src, tmp_path / "r.h5")
    with h5py.File(tmp_path / "r.h5", "r") as f:
        p = dict(f["params"].attrs)
    ses = knotmap.read_session(src)
    with knotmap.Pipeline(ses) as pipe:
        pipe.push(ses.frames, times=ses.time)
        pipe.finish()
        cd = pipe.candidates()
    keys = [k for k in s if k.startswith("cand_")]
    assert sorted(keys) == ["cand_map_noise", "cand_seen_threshold_used"]
    for k in keys:
        assert cd[k] == s[k] == p[k], k
    assert cd["cand_seen_threshold_used"] == _rung(8.0, 3.0, cd["cand_map_noise"]) < 8.0
