"""The simulator's taut bands and bony prominences in its truth (km_synth_distractor), so
that bench/false_candidates.py can name a false candidate that lies on one."""
import numpy as np
import pytest

import knotmap


@pytest.mark.parametrize("seed", [3, 4])
def test_model1_bands_are_where_the_frames_rise(seed):
    """Model 1 mat: the pressure the bands add (the same session with taut_band_kpa 0
    drawn from the same seed, subtracted) lies on the listed bands: every taxel at half
    the largest rise or more within 2 band sigmas and half a pitch of a band's axis and
    inside its extent widened by 2 end sigmas, and every band has such a taxel."""
    kw = dict(model=1, mode="mat", preset="easy", seed=seed, duration=4)
    s, t = knotmap.synth(None, **kw)
    s0, _ = knotmap.synth(None, taut_band_kpa=0.0, **kw)
    rise = (np.asarray(s.frames, np.float64) - np.asarray(s0.frames, np.float64)).max(axis=0)
    d = t["distractors"]
    assert len(d["kind"]) == int(t["knots"]["in_taut_band"].sum()) > 0
    assert (d["kind"] == 1).all() and (d["amplitude_kpa"] == 8.0).all()
    rp, cp = t["row_pitch_mm"], t["col_pitch_mm"]
    rr, cc = np.nonzero(rise >= 0.5 * rise.max())
    x, y = cc * cp, rr * rp
    hit = np.zeros((len(d["kind"]), len(x)), bool)
    for i in range(len(d["kind"])):
        along = y - d["y_mm"][i]  # model 1's bands run along y (angle 0)
        e = 2.0 * d["end_sigma_mm"][i]
        hit[i] = ((np.abs(x - d["x_mm"][i]) <= 2.0 * d["sigma_mm"][i] + 0.5 * cp)
                  & (along >= d["along_lo_mm"][i] - e) & (along <= d["along_hi_mm"][i] + e))
    assert hit.any(axis=0).all(), "a rise off every listed band"
    assert hit.any(axis=1).all(), "a listed band without a rise"


def test_model2_distractors_follow_the_generator():
    """Model 2 (docs/ALGORITHMS.md 6.7): bands 2.5-5 mm across and 40-120 mm long along
    one fibre direction, through a knot when the knot says in_taut_band; prominences of
    sigma 15-30 mm at least 30 mm + sigma from every knot."""
    kinds = set()
    for seed in range(1, 9):
        _, t = knotmap.synth(None, model=2, mode="mat", preset="moderate", seed=seed,
                             duration=0.2)
        d, k = t["distractors"], t["knots"]
        kinds.update(d["kind"].tolist())
        band, bone = d["kind"] == 1, d["kind"] == 2
        assert (band | bone).all()
        assert ((d["sigma_mm"][band] >= 2.5) & (d["sigma_mm"][band] <= 5.0)).all()
        length = d["along_hi_mm"][band] - d["along_lo_mm"][band]
        assert ((length >= 40.0) & (length <= 120.0)).all()
        assert ((d["along_lo_mm"][band] <= 0.0) & (d["along_hi_mm"][band] >= 0.0)).all()
        assert len(set(np.round(d["angle_rad"][band], 12))) <= 1
        assert ((d["sigma_mm"][bone] >= 15.0) & (d["sigma_mm"][bone] <= 30.0)).all()
        for i in np.nonzero(bone)[0]:
            dist = np.hypot(k["x_mm"] - d["x_mm"][i], k["y_mm"] - d["y_mm"][i])
            assert (dist >= 30.0 + d["sigma_mm"][i]).all()
        for j in np.nonzero(k["in_taut_band"])[0]:
            on = (np.hypot(d["x_mm"][band] - k["x_mm"][j], d["y_mm"][band] - k["y_mm"][j])
                  < 1e-9)
            assert on.any(), "knot %d says in_taut_band, no band through it" % j
    assert kinds == {1, 2}, "seeds 1-8 draw both kinds"
