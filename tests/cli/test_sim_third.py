"""bench/sim_third.py (issue 11, session 34): the third simulator's truth is where its
pressure is, and `knotmap process` at its defaults finds the knots of short fixed
sessions (figures of bench/eval_third.py, with a margin)."""
import json
import sys

import h5py
import numpy as np
import pytest

from km_cli import REPO, run_ok

sys.path.insert(0, str(REPO / "bench"))
import sim_third  # noqa: E402


def test_truth_is_where_the_pressure_is(tmp_path):
    """Mat, every real-use condition plain but the footprints: the mean pressed frame
    stands, at the taxel nearest each knot, over its row's median around it by the
    knot's excess at that taxel centre (sim_third.knot_snr x the noise), to within 30%
    (measured 0.80-1.14 on seeds 3-6: the taxel's area, the relief, the presses' ramps)."""
    s = tmp_path / "s.h5"
    sim_third.write(s, "mat", "moderate", 4, 6.0, ["footprint"])
    with h5py.File(s) as f:
        fr = f["frames"][:]
        k = {n: f["truth/knots"][n][:] for n in f["truth/knots"]}
        pitch, noise = f.attrs["col_pitch_mm"], f["truth"].attrs["noise_kpa"]
    seen = sim_third.knot_snr(s) * noise          # the excess at the nearest taxel
    pressed = fr.mean(axis=(1, 2)) > 0.5 * fr.mean(axis=(1, 2)).max()
    m = fr[pressed].mean(axis=0)
    assert len(k["x_mm"]) == 3
    for x, y, e in zip(k["x_mm"], k["y_mm"], seen):
        r, c = int(round(y / pitch)), int(round(x / pitch))
        ring = np.r_[m[r, max(c - 6, 0):c - 3], m[r, c + 4:c + 7]]
        assert m[r, c] - np.median(ring) == pytest.approx(e, rel=0.3, abs=0.5)


@pytest.mark.parametrize("mode,seed,f1_min", [("roller", 1, 0.85), ("mat", 2, 0.85)])
def test_knotmap_finds_easy_knots(tmp_path, mode, seed, f1_min):
    """12 s easy sessions (tuning seeds): at the defaults every knot is found within
    `knotmap eval`'s tolerance (F1 1.0 measured; asserted >= f1_min) and placed within
    3 mm (measured about 1 mm); a knot put where the simulator did not press it
    (the truth's y shifted by a row pitch) is not found."""
    s, r = tmp_path / "s.h5", tmp_path / "r.h5"
    sim_third.write(s, mode, "easy", seed, 12.0)
    run_ok("process", "-q", s, "-o", r)
    ev = json.loads(run_ok("eval", r, "--truth", s, "--json").stdout)
    assert ev["f1"] >= f1_min, ev
    assert ev["error_rms_mm"] <= 3.0, ev
    with h5py.File(s, "r+") as f:
        f["truth/knots/y_mm"][...] += 3 * f.attrs["row_pitch_mm"]
    ev = json.loads(run_ok("eval", r, "--truth", s, "--json").stdout)
    assert ev["f1"] < 0.5, ev


def test_band_shares_tell_a_long_band_from_a_knot():
    """bench/eval_third.py --geometry (session 39): noise-free features on a roller's
    grid (10 mm rows, 6 mm columns), the peak at their centre.  A band 3.5 mm across and
    60 mm long along y keeps about exp(-(20 / 60)^2 / 2) = 0.95 of its height 20 mm along
    (2 rows), 30 degrees off y 0.74 (its samples fall between the 6 mm columns of a 3.5 mm
    ridge), and about 0.02 across; a round knot of sigma 5 mm
    about 0.06 along (the mean of exp(-t^2 / 50) over t = 9.4-15.6 mm); one elongated
    2.5x less than the band; a band that ends at the peak (data on both sides) about 0,
    since along is the smaller side.  Fails with the distance at 1 fitted sigma instead
    of 2.5 (the knot reads 0.6) or with the larger side taken along (the end reads 0.9)."""
    import eval_third  # noqa: E402  (bench/, on the path above)
    ny, nx, py, px = 41, 41, 10.0, 6.0
    yy, xx = np.mgrid[0:ny, 0:nx]
    dy, dx = (yy - 20) * py, (xx - 20) * px

    def feature(sa, sl, deg):
        c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
        u, v = dy * c + dx * s, -dy * s + dx * c
        return np.exp(-0.5 * (u ** 2 / sl ** 2 + v ** 2 / sa ** 2))

    for deg in (0, 30):
        al, ac = eval_third.band_shares(feature(3.5, 60.0, deg), py, px, 20, 20, 5.0)
        assert al >= (0.9 if deg == 0 else 0.6) and ac <= 0.1, (deg, al, ac)
    al, ac = eval_third.band_shares(feature(5.0, 5.0, 0), py, px, 20, 20, 5.0)
    assert al <= 0.1 and ac <= 0.1, (al, ac)
    end = feature(3.5, 60.0, 0)
    end[:20] = 0.0                            # the band ends at the peak
    assert eval_third.band_shares(end, py, px, 20, 20, 5.0)[0] <= 0.1
    one_side = feature(5.0, 5.0, 0)
    one_side[21:] = 0.0                       # a peak with data on one side only
    assert eval_third.band_shares(one_side, py, px, 20, 20, 5.0)[0] <= 0.1
    al, _ = eval_third.band_shares(feature(5.0 / 2.5 ** 0.5, 5.0 * 2.5 ** 0.5, 20), py, px,
                                   20, 20, 5.0)
    assert al <= 0.5, al


def test_ranking_names_the_false_candidates_above_a_knot(tmp_path):
    """bench/eval_third.py --ranking (session 41), on a made-up opened result: three knots,
    candidates ranked knot 0, a false one, knot 1; knot 2 never a candidate.  The ranking
    lists the three candidates down to knot 1 with the false one between and names knot 2;
    a ranking that puts every knot first is []."""
    import eval_third  # noqa: E402  (bench/, on the path above)
    truth = (np.array([10.0, 50.0, 90.0]), np.array([20.0, 20.0, 20.0]),
             np.array([5.0, 5.0, 5.0]))

    def result(name, xs, scores):
        with h5py.File(tmp_path / name, "w") as f:
            g = f.create_group("candidates")
            g["x_mm"], g["y_mm"] = np.array(xs), np.full(len(xs), 21.0)
            for k in eval_third.RANK_COLS:
                g[k] = np.array(scores, dtype=float)
        return tmp_path / name

    lines = eval_third.ranking(result("o.h5", [10.0, 150.0, 51.0], [9.0, 5.0, 3.0]), truth, 4.0)
    assert [ln.split()[1] for ln in lines[:3]] == ["knot", "false", "knot"]
    assert "knot 2 never a candidate" in lines[3] and len(lines) == 4
    assert eval_third.ranking(result("ok.h5", [10.0, 50.0, 90.0, 150.0], [9.0, 5.0, 3.0, 1.0]),
                              truth, 4.0) == []
