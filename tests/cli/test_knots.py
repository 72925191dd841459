"""End to end: knot candidates, body map and tracks from `knotmap process`.

Run with /usr/bin/python3 -m pytest tests/cli/test_knots.py.  The binary comes from
$KNOTMAP_BIN, else build/knotmap in the repository.

Detection figures measured when these tests were written (seeds 1-3 pooled, 10 mm
tolerance, greedy one-to-one matching; docs/ALGORITHMS.md 10; the 20-seed table is in
bench/README.md):
  roller easy      precision 1.00  recall 1.00  F1 1.00   RMS error 1.8 mm
  roller moderate  precision 1.00  recall 1.00  F1 1.00   RMS error 2.1 mm (row pitch 9.8 mm)
  roller hard      precision 1.00  recall 0.94  F1 0.97   RMS error 2.8 mm
  mat easy         precision 1.00  recall 1.00  F1 1.00   RMS error 1.4 mm
  mat moderate     precision 1.00  recall 1.00  F1 1.00   RMS error 1.7 mm
  mat hard         precision 0.79  recall 0.83  F1 0.81   RMS error 2.8 mm
The assertions below use seeds 1-3 and leave a margin.
"""
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from km_cli import REPO, BIN, TEKSCAN, run_ok as run

TOL_MM = 10.0


def table(f, name):
    return {k: f[name][k][:] for k in f[name]}


def match(cx, cy, tx, ty, tol=TOL_MM):
    """Greedy one-to-one matching by increasing distance; returns the distances."""
    pairs = sorted((float(np.hypot(cx[i] - tx[j], cy[i] - ty[j])), i, j)
                   for i in range(len(cx)) for j in range(len(tx)))
    used_c, used_t, dist = set(), set(), []
    for d, i, j in pairs:
        if d > tol:
            break
        if i in used_c or j in used_t:
            continue
        used_c.add(i)
        used_t.add(j)
        dist.append(d)
    return dist


def synth_matched(tmp_path, mode, seed):
    """A 20 s model 2 moderate session of `knotmap synth` processed at the defaults: its
    true knots, the candidates and their matches."""
    s, r = tmp_path / "s.h5", tmp_path / "r.h5"
    run("synth", "--model", "2", "--mode", mode, "--preset", "moderate", "--seed", seed,
        "--duration", "20", "-o", s)
    run("process", "-q", s, "-o", r)
    with h5py.File(s) as fs, h5py.File(r) as fr:
        truth = table(fs, "truth/knots")
        cand = table(fr, "candidates")
    return truth, cand, match(cand["x_mm"], cand["y_mm"], truth["x_mm"], truth["y_mm"])


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("knots")
    out = {}
    for mode in ("roller", "mat"):
        for preset in ("easy", "moderate", "hard"):
            for seed in (1, 2, 3):
                s = folder / f"{mode}_{preset}_{seed}.h5"
                r = folder / f"{mode}_{preset}_{seed}.out.h5"
                run("synth", "--mode", mode, "--preset", preset, "--seed", seed, "-o", s)
                run("process", "-q", s, "-o", r)
                out[mode, preset, seed] = (s, r)
    return out


@pytest.mark.parametrize("mode", ["roller", "mat"])
@pytest.mark.parametrize("preset", ["easy", "moderate", "hard"])
def test_candidates_find_the_true_knots(sessions, mode, preset):
    matched = n_cand = n_truth = 0
    dists = []
    for seed in (1, 2, 3):
        s, r = sessions[mode, preset, seed]
        with h5py.File(s) as fs, h5py.File(r) as fr:
            truth = table(fs, "truth/knots")
            cand = table(fr, "candidates")
        d = match(cand["x_mm"], cand["y_mm"], truth["x_mm"], truth["y_mm"])
        matched += len(d)
        n_cand += len(cand["x_mm"])
        n_truth += len(truth["x_mm"])
        dists += d
    recall, precision = matched / n_truth, matched / n_cand
    f1 = 2 * matched / (n_cand + n_truth)
    rms = float(np.sqrt(np.mean(np.square(dists))))
    if preset == "hard":
        # Issue 5 asks F1 >= 0.8 on hard.  The roller is there with a margin; the
        # mat reaches 0.81 on these seeds but 0.77 over 20 (bench/README.md of 7837634): the
        # assertion guards what is reached, not the target.
        assert f1 >= (0.85 if mode == "roller" else 0.7)
        assert rms <= 3.5
        return
    assert recall == 1.0
    assert precision >= (1.0 if preset == "easy" else 0.94)
    assert f1 >= (1.0 if preset == "easy" else 0.95)
    assert rms <= 3.0  # half a row pitch is 4.9 mm (roller) / 5 mm (mat)


def test_mat_hard_with_equilibration_reaches_the_target(sessions, tmp_path):
    """Issue 5: hard preset F1 >= 0.8.  With the uniform-load recording of the same
    sensor (--equilibrate; docs/ALGORITHMS.md 1.4) the mat's per-taxel gain errors
    are gone: seeds 1-3 pooled measured F1 0.87 (17 of 18 knots, 21 candidates),
    0.878 over 20 seeds (bench/README.md of commit 0dd1de4)."""
    matched = n_cand = n_truth = 0
    dists = []
    for seed in (1, 2, 3):
        s, _ = sessions["mat", "hard", seed]
        e, r = tmp_path / f"eq{seed}.h5", tmp_path / f"r{seed}.h5"
        run("synth", "--mode", "mat", "--preset", "hard", "--seed", seed, "--equilibration",
            "-o", e)
        run("process", "-q", s, "--equilibrate", e, "-o", r)
        with h5py.File(s) as fs, h5py.File(r) as fr:
            truth = table(fs, "truth/knots")
            cand = table(fr, "candidates")
        d = match(cand["x_mm"], cand["y_mm"], truth["x_mm"], truth["y_mm"])
        matched += len(d)
        n_cand += len(cand["x_mm"])
        n_truth += len(truth["x_mm"])
        dists += d
    f1 = 2 * matched / (n_cand + n_truth)
    assert f1 >= 0.8
    assert matched / n_truth >= 0.88
    assert float(np.sqrt(np.mean(np.square(dists)))) <= 3.5


def test_candidates_table_is_consistent(sessions):
    s, r = sessions["roller", "moderate", 1]
    with h5py.File(r) as f:
        c = table(f, "candidates")
        bm = f["bodymap"]
        cov = bm["coverage"][:]
        assert bm["pressure"].shape == cov.shape == bm["excess"].shape == bm["mean"].shape
        assert bm.attrs["y_pitch_mm"] == pytest.approx(2 * np.pi * 50 / 32)
        assert bm.attrs["x_pitch_mm"] == 5.0
        assert f["candidates"].attrs["n_candidates"] == len(c["score"])
        y0, yp, xp = bm.attrs["y0_mm"], bm.attrs["y_pitch_mm"], bm.attrs["x_pitch_mm"]
    assert list(c["candidate"]) == list(range(len(c["score"])))
    assert np.all(np.diff(c["score"]) <= 0)
    np.testing.assert_allclose(c["persistence"], c["n_passes"] / c["n_covering"])
    np.testing.assert_allclose(c["score"], c["significance"] * c["persistence"], rtol=1e-6)
    assert np.all(c["n_passes"] <= c["n_covering"])
    assert np.all(c["first_time"] <= c["last_time"])
    # A knot passed by every stroke of a 30 s session at 25 cycles/min: ~25 passes.
    assert np.all(c["n_covering"][:6] >= 20)
    # The coverage at a candidate equals the body map's coverage there.
    for i in range(len(c["x_mm"])):
        iy, ix = int(round((c["y_mm"][i] - y0) / yp)), int(round(c["x_mm"][i] / xp))
        assert abs(int(cov[iy, ix]) - int(c["n_covering"][i])) <= 2


def test_every_peak_belongs_to_a_track(sessions):
    _, r = sessions["mat", "moderate", 1]
    with h5py.File(r) as f:
        p = table(f, "peaks")
        t = table(f, "tracks")
        assert f["tracks"].attrs["n_tracks"] == len(t["track"])
    ids = np.sort(t["track"])
    np.testing.assert_array_equal(ids, np.arange(len(ids)))
    assert p["track"].min() >= 0
    counts = np.bincount(p["track"], minlength=len(ids))
    order = np.argsort(t["track"])
    np.testing.assert_array_equal(counts, t["n_frames"][order])
    # ids in order of first appearance
    first = t["first_frame"][order]
    assert np.all(np.diff(first) >= 0)


# Stance phases of the Tekscan walking fixture (an insole, 60x21 taxels of 5.08 mm,
# 31.25 frames/s): frames where the mean pressure is above 1 kPa (a heel may touch a
# frame before that).  Frames 0-14 are the
# end of a step already under way; then five whole steps.  Row 0 is the toe end: the
# heel loads rows ~50-57 (y 255-290 mm) first, then the forefoot rows ~20-27 (y 100-140
# mm) carry the push-off to the end of the stance.
STEPS = [(29, 50), (65, 86), (100, 121), (136, 156), (171, 194)]


@pytest.fixture(scope="module")
def walking(tmp_path_factory):
    out = tmp_path_factory.mktemp("walk") / "walk.h5"
    run("process", "-q", TEKSCAN, "-o", out)
    with h5py.File(out) as f:
        return table(f, "metrics"), table(f, "tracks"), table(f, "peaks")


def test_walking_stance_phases(walking):
    metrics, _, _ = walking
    on = metrics["mean"] > 1.0
    starts = [i for i in range(1, len(on)) if on[i] and not on[i - 1]]
    ends = [i - 1 for i in range(1, len(on)) if not on[i] and on[i - 1]]
    assert starts == [s for s, _ in STEPS]
    assert ends[1:] == [e for _, e in STEPS]


@pytest.mark.parametrize("step", range(len(STEPS)))
def test_walking_heel_and_forefoot_tracks(walking, step):
    _, t, _ = walking
    s, e = STEPS[step]
    heel = (t["y_mm"] > 250) & (t["y_mm"] < 290) & (t["first_frame"] >= s - 2) & \
           (t["first_frame"] <= s + 3) & (t["n_frames"] >= 10) & (t["last_frame"] <= e - 5)
    fore = (t["y_mm"] > 100) & (t["y_mm"] < 150) & (t["first_frame"] >= s + 3) & \
           (t["last_frame"] >= e - 3) & (t["last_frame"] <= e + 1) & (t["n_frames"] >= 10)
    assert heel.any(), "no heel track at the start of the stance"
    assert fore.any(), "no forefoot track to the end of the stance"
    # The heel loads first, the forefoot takes over.
    assert t["first_frame"][heel].min() < t["first_frame"][fore].min()
    assert t["last_frame"][heel].max() < t["last_frame"][fore].max()


def test_tracking_and_candidate_options_reach_params(sessions):
    s, _ = sessions["roller", "hard", 1]
    out = Path(s).with_suffix(".opts.h5")
    run("process", "-q", s, "-o", out, "--track-gate-mm", 12.5, "--track-max-gap", 4,
        "--cand-min-snr", 6, "--cand-ridge-sigmas", 0, "--cand-max-candidates", 2)
    with h5py.File(out) as f:
        a = f["params"].attrs
        assert a["track_gate_mm"] == 12.5 and a["track_max_gap"] == 4
        assert a["cand_min_snr"] == 6 and a["cand_ridge_sigmas"] == 0
        assert a["cand_max_candidates"] == 2 and a["cand_knot_sigma_mm"] == 0
        assert len(f["candidates/x_mm"]) <= 2
    r = subprocess.run([str(BIN), "process", "-q", s, "-o", out, "--track-max-gap", "-1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 64 and "track-max-gap" in r.stderr


def test_cli_prints_candidates(sessions):
    s, _ = sessions["roller", "easy", 1]
    out = Path(s).with_suffix(".again.h5")
    r = run("process", s, "-o", out)
    assert "hottest spots" in r.stdout
    assert "knot candidates" in r.stdout


@pytest.mark.parametrize("mode", ["roller", "mat"])
def test_candidate_size_amplitude_and_significance(sessions, mode):
    """Issue 11: size_mm is the fitted footprint sigma; on moderate sessions it is
    within 30% of the true footprint sigma (/truth/knots/footprint_sigma_mm, written
    by the generator, hypot(nodule sigma, 4 mm)) for most matched knots; amplitude
    is in kPa near the true added pressure; significance is amplitude in noise sds
    and the score is significance * persistence."""
    rel, amp_rel = [], []
    for seed in (1, 2, 3):
        s, r = sessions[mode, "moderate", seed]
        with h5py.File(s) as fs, h5py.File(r) as fr:
            truth = table(fs, "truth/knots")
            cand = table(fr, "candidates")
            for col, unit in (("size_mm", "mm"), ("amplitude", "kPa"), ("significance", "1")):
                assert fr["candidates"][col].attrs["units"] == unit
        assert np.allclose(cand["score"], cand["significance"] * cand["persistence"])
        assert np.all(cand["significance"] >= 4.0)
        assert np.all((cand["size_mm"] >= 3.0) & (cand["size_mm"] < 15.0))
        for i in range(len(cand["x_mm"])):
            d = np.hypot(truth["x_mm"] - cand["x_mm"][i], truth["y_mm"] - cand["y_mm"][i])
            j = int(np.argmin(d))
            if d[j] <= TOL_MM:
                rel.append(cand["size_mm"][i] / truth["footprint_sigma_mm"][j] - 1.0)
                amp_rel.append(cand["amplitude"][i] / truth["amplitude_kpa"][j])
    rel = np.abs(rel)
    assert len(rel) >= 15
    assert np.median(rel) <= 0.2 and np.mean(rel <= 0.3) >= 0.75
    # the map holds the mean over passes of the pass maximum over the row median
    # background: the fitted amplitude is a share of the true added pressure
    assert 0.3 <= np.median(amp_rel) <= 1.2


def test_model2_thigh_narrower_than_the_roller(tmp_path):
    """Model 2 (docs/ALGORITHMS.md 6.7), roller, moderate, tuning seed 4: a thigh of about
    a third of the roller's length.  The odometry's plain row median was off the body and
    every frame looked lifted (0 of 7 knots found); with the row statistic of 7.1 for
    narrow bodies 7 of 7, no false candidate (measured).  Matching within 10 mm."""
    truth, cand, d = synth_matched(tmp_path, "roller", "4")
    assert len(truth["x_mm"]) == 7
    assert len(d) >= 6, "%d of 7 knots found" % len(d)
    assert len(d) / len(cand["x_mm"]) >= 0.85


@pytest.fixture(scope="module")
def model2_moderate(tmp_path_factory):
    """Model 2 (docs/ALGORITHMS.md 6.7), moderate, tuning seeds 1-6, 20 s, both modes."""
    folder = tmp_path_factory.mktemp("model2")
    out = {}
    for mode in ("roller", "mat"):
        for seed in range(1, 7):
            s, r = folder / f"{mode}_{seed}.h5", folder / f"{mode}_{seed}.out.h5"
            run("synth", "--model", "2", "--mode", mode, "--preset", "moderate", "--seed", seed,
                "--duration", "20", "-o", s)
            run("process", "-q", s, "-o", r)
            out[mode, seed] = (s, r)
    return out


@pytest.mark.parametrize("mode", ["roller", "mat"])
def test_model2_hot_taxels_and_contact_edges_are_not_knots(model2_moderate, mode):
    """Issue 11: hot and high-gain taxels and the edges of the contact never become
    candidates (ALGORITHMS 10.4 Spikes, Edges).  Pooled over model 2 moderate seeds 1-6,
    matching within 10 mm, measured: before the spike removal and the edge test, roller
    27 of 33 knots with 37 candidates (precision 0.73, F1 0.77), mat 28 of 31 with 35
    (0.80, F1 0.85); after, roller 26 of 33 with 30 (0.87, F1 0.83), mat 29 of 31 with
    35 (0.83, F1 0.88).  With the ridge median a length (`ridge_sigmas` 4.5, 67.5 mm
    instead of +-4 rows, 20-40 mm on these mats), mat 29 of 31 with 37 (0.78, F1 0.85),
    roller 26 of 33 with 29 (0.90, F1 0.84): the longer column window leaves more of the
    body's relief on fine mat rows; the mean F1 and AP over the 12 tuning cells rose
    (ALGORITHMS 10.4 Ridges), so the mat margins were lowered by that much."""
    matched, n_cand, n_truth = pooled(model2_moderate[mode, seed] for seed in range(1, 7))
    f1 = 2 * matched / (n_cand + n_truth)
    if mode == "roller":
        assert matched / n_cand >= 0.83 and f1 >= 0.80
    else:
        assert f1 >= 0.84 and matched / n_cand >= 0.76


def pooled(pairs_of_files):
    """(matched, candidates, truth) pooled over (session, result) pairs."""
    matched = n_cand = n_truth = 0
    for s, r in pairs_of_files:
        with h5py.File(s) as fs, h5py.File(r) as fr:
            truth = table(fs, "truth/knots")
            cand = table(fr, "candidates")
        matched += len(match(cand["x_mm"], cand["y_mm"], truth["x_mm"], truth["y_mm"]))
        n_cand += len(cand["x_mm"])
        n_truth += len(truth["x_mm"])
    return matched, n_cand, n_truth


def test_coarse_row_roller_broad_knots(tmp_path):
    """Issue 11: on the independent simulator's rollers (bench/sim_independent.py:
    24-48 rows, rows up to 17.8 mm, knots up to sigma 12 mm elongated along y), the
    row-median background and the peak distance set in mm (ALGORITHMS 10 steps 1 and
    4).  Moderate, diagnosis seeds 1-6, 20 s, pooled, matching within 10 mm, measured:
    with +-4 columns and 2 cells, 22 of 31 knots with 22 candidates (recall 0.71, F1
    0.83); with +-2 x 15 mm and 10 mm, 25 of 31 with 26 (recall 0.81, F1 0.88).  The
    elongation test in mm took knots on rows of 14-18 mm for ridges (the curvature
    along y is bounded by the row pitch; ALGORITHMS 10.4 Elongated peaks): before it
    was measured against a round footprint on the same grid (main 2c6697a) 24 of 31
    with 24 (recall 0.77, F1 0.87), after 27 of 31 with 27 (recall 0.87, F1 0.93)."""
    sys.path.insert(0, str(REPO / "bench"))
    import sim_independent
    files = []
    for seed in range(1, 7):
        s, r = tmp_path / f"s{seed}.h5", tmp_path / f"r{seed}.h5"
        sim_independent.write(str(s), "roller", "moderate", seed, 20.0)
        run("process", "-q", s, "-o", r)
        files.append((s, r))
    matched, n_cand, n_truth = pooled(files)
    assert matched / n_truth >= 0.84
    assert 2 * matched / (n_cand + n_truth) >= 0.90


def test_one_taxel_knots_listed_after_the_others(tmp_path):
    """Issue 11, one-taxel peaks (ALGORITHMS 10 step 4): knots narrower than a
    column and shorter than a row are one cell on the map, as a hot taxel.  On the
    independent simulator's rollers (moderate, tuning seeds 3 and 5: knots of sigma
    2.5-2.9 mm across on 8.3-8.9 mm columns, 33-68 kPa) they were dropped; with the
    thresholds opened as bench/eval.py's threshold-free ranking does, and since session
    18 without any other option (one_taxel_weight 0.05 by default, the significance
    bounded under the lowest score of a default candidate), they are listed below every other knot.
    Measured: seed 3 4 of 6 knots listed -> 6 of 6, seed 5 6 of 7 -> 7 of 7; the
    one-taxel ones at significance 0.6-1.5, size 3 mm.  At the defaults nothing
    changes: a single taxel is never a candidate.  Since session 24 seed 5's knot (one
    column, but 0.29 of its excess in the next row) is no longer a spike on that
    roller, which no second sensor row pressed (test_one_column_knots_where_no_second_row_pressed),
    and is a default candidate; seed 3's two are one cell each and stay one-taxel peaks."""
    sys.path.insert(0, str(REPO / "bench"))
    import sim_independent
    from eval import OPEN_ARGS
    assert "one-taxel" not in OPEN_ARGS
    for seed, n_knots in ((3, 6),):
        s = tmp_path / f"s{seed}.h5"
        sim_independent.write(str(s), "roller", "moderate", seed, 20.0)
        got = {}
        for w in (0, None):  # 0: dropped; None: bench/eval.py's opened run, default W
            r = tmp_path / f"r{seed}_{w}.h5"
            weight = ("--cand-one-taxel-weight", w) if w is not None else ()
            run("process", "-q", s, *OPEN_ARGS.split(), *weight, "-o", r)
            with h5py.File(s) as fs, h5py.File(r) as fr:
                truth = table(fs, "truth/knots")
                cand = table(fr, "candidates")
                tol = max(fs.attrs["row_pitch_mm"], fs.attrs["col_pitch_mm"])
            got[w] = (len(match(cand["x_mm"], cand["y_mm"], truth["x_mm"], truth["y_mm"],
                                tol)), cand)
        assert got[0][0] <= n_knots - 1
        assert got[None][0] == n_knots
        cand = got[None][1]
        one = cand["size_mm"] == 3.0
        assert one.sum() >= 1
        # ranked below the knots of the multi-cell kind that were listed before
        assert cand["score"][one].max() < np.sort(cand["score"][~one])[::-1][got[0][0] - 1]
        assert cand["significance"][one].max() < 1.35  # 0.9 x min_snr 5 x persistence 0.3
        # at the defaults: the same candidates with W 0 and the default W
        same = []
        for w in (0, None):
            r = tmp_path / f"d{seed}_{w}.h5"
            weight = ("--cand-one-taxel-weight", w) if w is not None else ()
            run("process", "-q", s, *weight, "-o", r)
            same.append(table(h5py.File(r), "candidates"))
        assert same[0].keys() == same[1].keys()
        for k in same[0]:
            assert np.array_equal(same[0][k], same[1][k]), k


def test_one_column_knots_where_no_second_row_pressed(tmp_path):
    """Issue 11 (ALGORITHMS 10.4 Spikes): on a roller a one-column peak is replaced as a
    taxel's spike only where a second sensor row pressed the body cell and did not see
    it; where one sensor row pressed it all session (a roller that never turns in the
    air, as the independent simulator's) the map holds the same evidence for a taxel
    and for a knot narrower than a column, and the peak is judged as any other (a
    single cell alone stays a one-taxel peak).  Independent simulator, roller, moderate,
    tuning seeds 5, 14, 16 (knots of 2.5-3.6 mm across on 6.8-8.3 mm columns, reaching
    the next row), 20 s, `knotmap eval` matching, measured: before (main 32b888f) 16 of
    20 knots with 16 candidates, after 20 of 20 with 20."""
    sys.path.insert(0, str(REPO / "bench"))
    import sim_independent
    matched = n_cand = n_truth = 0
    for seed in (5, 14, 16):
        s, r = tmp_path / f"s{seed}.h5", tmp_path / f"r{seed}.h5"
        sim_independent.write(str(s), "roller", "moderate", seed, 20.0)
        run("process", "-q", s, "-o", r)
        ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
        matched += ev["n_matched"]
        n_cand += ev["n_candidates"]
        n_truth += ev["n_truth"]
    assert n_truth == 20
    assert matched >= 19, (matched, n_cand)
    assert n_cand - matched <= 1, (matched, n_cand)


def test_model1_mat_hard_precision(tmp_path):
    """Issue 11: model 1 mats, hard, tuning seeds 1-6, 20 s, pooled, within 10 mm,
    measured: with the +-4-column background and 2-cell peak window 27 of 36 knots
    with 34 candidates (precision 0.79, F1 0.77); with the mm rules 27 of 36 with 30
    (precision 0.90, F1 0.82)."""
    files = []
    for seed in range(1, 7):
        s, r = tmp_path / f"s{seed}.h5", tmp_path / f"r{seed}.h5"
        run("synth", "--model", "1", "--mode", "mat", "--preset", "hard", "--seed", seed,
            "--duration", "20", "-o", s)
        run("process", "-q", s, "-o", r)
        files.append((s, r))
    matched, n_cand, n_truth = pooled(files)
    assert matched / n_cand >= 0.86
    assert 2 * matched / (n_cand + n_truth) >= 0.8


def test_model2_mat_hard_positions_within_one_pitch(tmp_path):
    """Issue 11: a candidate's position is where the footprint of its fitted size fits
    best (the map filtered at that sigma, ALGORITHMS 10.4 Peaks), not the peak cell of
    the amplitude map, where each cell keeps its own best scale and a broad knot's peak
    can sit on a noise bump 8-10 mm off: a false candidate and a missed knot at
    `knotmap eval`'s tolerance of one pitch.  Model 2 mats, hard, tuning seeds 1-6, 20 s,
    pooled, `knotmap eval` matching, measured: before, 20 of 31 knots with 38 candidates
    (recall 0.65, F1 0.58); after, 22 of 31 with 38 (recall 0.71, F1 0.64)."""
    matched = n_cand = n_truth = 0
    for seed in range(1, 7):
        s, r = tmp_path / f"s{seed}.h5", tmp_path / f"r{seed}.h5"
        run("synth", "--model", "2", "--mode", "mat", "--preset", "hard", "--seed", seed,
            "--duration", "20", "-o", s)
        run("process", "-q", s, "-o", r)
        ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
        matched += ev["n_matched"]
        n_cand += ev["n_candidates"]
        n_truth += ev["n_truth"]
    assert matched / n_truth >= 0.67
    assert 2 * matched / (n_cand + n_truth) >= 0.60


def test_model2_roller_knots_pass_the_threshold(tmp_path):
    """Issue 11: the significance is measured against the noise of the map the matched
    filter sees (the ridge-free map), not of the candidate map before the column median
    took the per-column structure off it (ALGORITHMS 10.4 Noise).  On model 2's rollers
    that structure stood 1.3-1.8 times the cell-to-cell noise, so knots that the opened
    ranking put first stood at z 2-4, under the threshold: hard seeds 2 and 3 gave no
    true candidate at all (F1 0) with their knots at the top of the list.  Model 2
    rollers, tuning seeds 1-6, 20 s, `knotmap eval` matching, measured: before, hard
    seeds 2 / 3 matched 0 / 0, moderate + hard pooled 37 of 66 knots with 46 candidates
    (F1 0.661); after (noise on the ridge-free map, `min_snr` 5), 1 / 1 (each its only
    candidate), 40 of 66 with 48 (F1 0.702); on main d9dea83 (the odometry's per-row
    floor) hard seed 3 lost its knot again: seeds 2 / 3 1 / 0, 39 of 66 with 47
    (F1 0.690)."""
    matched = n_cand = n_truth = 0
    for preset in ("moderate", "hard"):
        for seed in range(1, 7):
            s, r = tmp_path / f"{preset}{seed}.h5", tmp_path / f"{preset}{seed}.out.h5"
            run("synth", "--model", "2", "--mode", "roller", "--preset", preset, "--seed", seed,
                "--duration", "20", "-o", s)
            run("process", "-q", s, "-o", r)
            ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
            if preset == "hard" and seed == 2:
                assert ev["n_matched"] >= 1, (seed, ev)
            matched += ev["n_matched"]
            n_cand += ev["n_candidates"]
            n_truth += ev["n_truth"]
    assert 2 * matched / (n_cand + n_truth) >= 0.675


def test_broad_knots_need_a_lower_significance(tmp_path):
    """Issue 11: a peak whose fitted footprint sigma is 6 mm or more needs 0.8 x
    `min_snr` (z 4 at the default 5; ALGORITHMS 10.4 Peaks): a broad matched filter
    averages many cells, so its noise peaks are few per body area (knot-free null,
    models 1 and 2, both modes, moderate and hard, seeds 1-6: none fitted at 6 mm or
    more at z 4-5, 42 under 5 mm), while broad weak knots stood there.  Model 2
    rollers, hard, tuning seeds 3, 4 and 7, 20 s, `knotmap eval` matching, measured:
    before, 0 / 3 / 2 knots matched (5 of 20 with 10 candidates); after, 1 / 4 / 3
    (8 of 20 with 13), each gained knot fitted at 6.1-6.3 mm and z 4.2-4.6.  Every
    candidate still stands at z >= 5 when fitted under 6 mm, unless a second sensor row
    saw it (0.8 of the need on rollers, session 21): z >= 4 under 6 mm, >= 3.2 from 6 mm."""
    matched = n_cand = 0
    broad_low = 0
    for seed in (3, 4, 7):
        s, r = tmp_path / f"s{seed}.h5", tmp_path / f"r{seed}.h5"
        run("synth", "--model", "2", "--mode", "roller", "--preset", "hard", "--seed", seed,
            "--duration", "20", "-o", s)
        run("process", "-q", s, "-o", r)
        ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
        matched += ev["n_matched"]
        n_cand += ev["n_candidates"]
        with h5py.File(r) as f:
            c = table(f, "candidates")
        narrow = c["size_mm"] < 6.0
        assert np.all(c["significance"][narrow] >= 4.0), seed
        assert np.all(c["significance"][~narrow] >= 3.2), seed
        broad_low += int(np.sum(~narrow & (c["significance"] < 5.0)))
    assert matched >= 7, (matched, n_cand)
    assert broad_low >= 1


def test_broad_knots_found_at_the_broad_scales(tmp_path):
    """Issue 11: a broad knot whose top carries a narrower bump (a taxel's gain error, the
    noise) has its amplitude peak at the bump's scale, fitted at 3-5 mm, where it needs
    the full `min_snr`, and placed on the bump; the peaks of the broad scales alone
    (7.3-14.3 mm) are candidates too, away from the others, at 0.9 x `min_snr`
    (ALGORITHMS 10.4 Broad scales).  Independent simulator, hard, tuning seeds (roller
    18, 22, 36; mat 2, 11), 20 s, `knotmap eval` matching, measured: before, 18 of 27
    knots with 18 candidates; after, 23 with 23, each gained knot fitted at 7.3-9.6 mm
    at z 4.7-9.9."""
    sys.path.insert(0, str(REPO / "bench"))
    import sim_independent
    matched = n_cand = 0
    for mode, seed in (("roller", 18), ("roller", 22), ("roller", 36), ("mat", 2), ("mat", 11)):
        s, r = tmp_path / f"{mode}{seed}.h5", tmp_path / f"{mode}{seed}.out.h5"
        sim_independent.write(str(s), mode, "hard", seed, 20.0)
        run("process", "-q", s, "-o", r)
        ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
        matched += ev["n_matched"]
        n_cand += ev["n_candidates"]
    assert matched >= 22, (matched, n_cand)
    assert n_cand - matched <= 1, (matched, n_cand)


@pytest.mark.parametrize("mode,false_at", [("roller", (21.3, 28.0)), ("mat", (218.5, 121.4))])
def test_broad_band_peak_under_the_contact_pressure_share_dropped(tmp_path, mode, false_at):
    """Issue 11 (ALGORITHMS 10.4 Broad scales): a peak of the broad band whose fitted
    amplitude is under 0.08 of the contact pressure at its cell (the body map's maximum)
    is a gain pattern of the firm contact, not a knot.  Model 2 moderate, tuning seed 7,
    20 s, measured: roller 5 of 5 knots with 7 candidates -> 6 (the dropped one at
    x 21.3, y 28.0 mm: 6.97 kPa under 142 kPa, 0.049); mat 3 of 3 with 7 -> 6 (x 218.5,
    y 121.4 mm: 8.45 kPa under 119 kPa, 0.071).  Since session 31 (ALGORITHMS 10.4 Scale
    of a peak) the mat's one comes back as a peak of the full search scored at its
    neighbourhood's scale (7.8 mm, z 5.25 after the 0.08 share's discount, 0.89; 3 of 3
    knots with 4 candidates): the band's cut does not reach it, a cost of that change
    (model 2 mat moderate tuning F1 0.904 -> 0.900), listed last."""
    truth, cand, d = synth_matched(tmp_path, mode, "7")
    assert len(d) == len(truth["x_mm"])
    assert len(cand["x_mm"]) <= 6
    near = np.hypot(cand["x_mm"] - false_at[0], cand["y_mm"] - false_at[1]) <= 5.0
    if mode == "roller":
        assert not near.any()
    else:
        assert near.sum() <= 1
        assert (cand["significance"][near] < 5.5).all()
        assert (cand["score"][near] <= cand["score"].min()).all()


def moderate_run(tmp_path, source, mode, seed):
    """A moderate 20 s session of the independent simulator or model 2, processed at
    the defaults: `knotmap eval --json` and the candidates table."""
    s, r = tmp_path / "s.h5", tmp_path / "r.h5"
    if source == "independent":
        sys.path.insert(0, str(REPO / "bench"))
        import sim_independent
        sim_independent.write(str(s), mode, "moderate", seed, 20.0)
    else:
        run("synth", "--model", "2", "--mode", mode, "--preset", "moderate", "--seed", seed,
            "--duration", "20", "-o", s)
    run("process", "-q", s, "-o", r)
    ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
    with h5py.File(r) as f:
        return ev, table(f, "candidates")


@pytest.mark.parametrize("source,mode,seed,n_cand,false_at", [
    ("independent", "roller", 15, 4, ((52.5, 146.8),)),
    ("model2", "mat", 7, 4, ((197.7, 309.6), (5.9, 50.2))),
    ("model2", "roller", 19, 7, ((68.3, 20.6),)),
])
def test_peak_under_the_contact_pressure_share_discounted(tmp_path, source, mode, seed,
                                                          n_cand, false_at):
    """Issue 11 (ALGORITHMS 10.4 Peaks, Under a share of the contact pressure): a peak
    whose fitted amplitude is under 0.08 of the contact pressure at its cell counts only
    amplitude / (0.08 x pressure) of its significance.  Moderate, tuning seeds, 20 s,
    `knotmap eval` matching, measured (main 01d4c2a -> after): independent roller seed
    15, 3 of 3 knots with 5 candidates -> 4 (the one dropped beside a bony prominence of
    sigma 24 mm: 5.8 kPa under 76.5, 0.076); model 2 mat seed 7, 3 of 3 with 6 -> 4;
    model 2 roller seed 19, 7 of 7 with 8 -> 7."""
    ev, cand = moderate_run(tmp_path, source, mode, seed)
    assert ev["n_matched"] == ev["n_truth"], ev
    assert ev["n_candidates"] <= n_cand, ev
    for x, y in false_at:
        assert np.hypot(cand["x_mm"] - x, cand["y_mm"] - y).min() > 5.0, (x, y)


@pytest.mark.parametrize("source,mode,seed,false_at", [
    ("independent", "roller", 13, (87.0, 193.8)),
    ("model2", "roller", 17, (72.7, 48.0)),
    ("model2", "mat", 7, (88.2, 167.0)),
])
def test_peak_on_a_broad_rise_discounted(tmp_path, source, mode, seed, false_at):
    """Issue 11 (ALGORITHMS 10.4 Peaks, Above its surround): a peak whose excess over
    the median of the candidate map on the ring 10-25 mm around it is under 0.1 of the
    contact pressure keeps only that share of its significance.  Moderate, tuning seeds,
    20 s, `knotmap eval` matching, measured (main b97dc37 -> after): independent roller
    seed 13, 3 of 3 knots with 4 candidates -> 3; model 2 roller seed 17, 4 of 4 with 5
    -> 4; model 2 mat seed 7, 3 of 3 with 4 -> 3 (each fails on b97dc37).  Since session
    31 model 2 mat seed 7 has 4 again: a gain pattern elsewhere (x 218.2, y 116.7 mm, 8.45
    kPa under 119 kPa) scored at its neighbourhood's scale (ALGORITHMS 10.4 Scale of a
    peak; test_broad_band_peak_under_the_contact_pressure_share_dropped), listed last;
    since session 34 the mats' contact share (--cand-min-pressure-share 0.12 by default:
    it stands at 0.07 of the contact) drops it, so 3 again."""
    ev, cand = moderate_run(tmp_path, source, mode, seed)
    assert ev["n_matched"] == ev["n_truth"] == ev["n_candidates"], ev
    assert np.hypot(cand["x_mm"] - false_at[0], cand["y_mm"] - false_at[1]).min() > 5.0


@pytest.mark.parametrize("source,mode,seed,matched,n_cand", [
    ("independent", "roller", 14, 4, 5),
    ("2", "mat", 14, 6, 10),
])
def test_peak_scored_at_its_neighbourhoods_scale(tmp_path, source, mode, seed, matched, n_cand):
    """Issue 11 (ALGORITHMS 10.4 Scale of a peak): a peak of the amplitude map is scored
    at the scale whose matched filter stands highest within 1.5 of its sigma (at most
    the 10 mm peak window) of the peak cell, when that is a maximum across scales there,
    not only at the peak cell's own best scale (a narrow bump on a broad knot's top).
    Hard, tuning seeds, 20 s, `knotmap eval` matching, measured (main 4406be7 -> after):
    independent roller seed 14, 3 of 7 knots with 5 candidates -> 4 with 5; model 2 mat
    seed 14, 5 of 8 with 10 -> 6 with 10 (each fails on 4406be7).  Without the mats'
    contact share (0.12 by default since session 34, which drops one knot of seed 14 at
    the sensor's full scale: a clipped share), the rule under test alone."""
    s, r = tmp_path / "s.h5", tmp_path / "r.h5"
    if source == "independent":
        sys.path.insert(0, str(REPO / "bench"))
        import sim_independent
        sim_independent.write(str(s), mode, "hard", seed, 20.0)
    else:
        run("synth", "--model", source, "--mode", mode, "--preset", "hard", "--seed", seed,
            "--duration", "20", "-o", s)
    run("process", "-q", s, "--cand-min-pressure-share", "0", "-o", r)
    ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
    assert ev["n_matched"] >= matched, ev
    assert ev["n_candidates"] <= n_cand, ev


@pytest.mark.parametrize("seed,matched,n_cand", [(7, 3, 4), (17, 7, 9)])
def test_mat_knot_at_saturation_is_not_stuck(tmp_path, seed, matched, n_cand):
    """Issue 11 (ALGORITHMS 10 step 1, Stuck): on a mat a taxel that reads the session's
    saturation (0.99 of it and up) is held there by the load, not stuck; before, a knot
    pressed into saturation repeated that value while its neighbours changed, was taken
    for a stuck taxel after 25 frames and left out of the map for the whole session.
    Model 2 mat hard (full scale 100-200 kPa), tuning seeds, 20 s, `knotmap eval`
    matching, measured (main 257a864 -> after): seed 7, 2 of 3 knots with 4 candidates
    -> 3 with 4 (full scale 167 kPa); seed 17, 3 of 8 with 5 -> 7 with 9 (102 kPa).
    Both fail on 257a864.  Without the mats' contact share (0.12 by default since session
    34; a peak at the full scale is exempt from it since session 35,
    test_knots_relief.py), the stuck rule alone."""
    s, r = tmp_path / "s.h5", tmp_path / "r.h5"
    run("synth", "--model", "2", "--mode", "mat", "--preset", "hard", "--seed", seed,
        "--duration", "20", "-o", s)
    run("process", "-q", s, "--cand-min-pressure-share", "0", "-o", r)
    ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
    assert ev["n_matched"] >= matched, ev
    assert ev["n_candidates"] <= n_cand, ev
