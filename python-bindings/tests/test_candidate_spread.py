"""The pass-to-pass spread of the candidate map (docs/ALGORITHMS.md 10 step 3)
against numpy on a constructed mat session whose pass maxima are known."""
import numpy as np

import knotmap

R, C = 8, 16


def session(amps, rows_loaded_once=()):
    """Passes of 10 contact frames at 40 kPa (+0.01 kPa steps: no taxel
    repeats a value) 10 empty frames apart; taxel (3, 8) carries amps[p]
    more in pass p, so its pass maxima of the local excess are amps[p]."""
    frames = []
    for p, a in enumerate(amps):
        for k in range(20):
            f = np.zeros((R, C), np.float32)
            if k < 10:
                f[:] = np.float32(40.0) + np.float32(0.01) * np.float32(len(frames) % 3)
                f[3, 8] += np.float32(a)
                if p > 0:
                    f[list(rows_loaded_once)] = 0.0
            frames.append(f)
    return np.stack(frames)


def test_spread_matches_numpy():
    rng = np.random.default_rng(7)
    amps = rng.uniform(6.0, 30.0, size=9).astype(np.float32)
    cd = knotmap.candidates(session(amps, rows_loaded_once=(7,)), mode="mat",
                            row_pitch_mm=10.0, col_pitch_mm=5.0)
    sp, ex = cd["spread"], cd["excess"]
    assert sp.shape == (R, C) and sp.dtype == np.float32
    np.testing.assert_allclose(sp[3, 8], np.std(amps.astype(np.float64), ddof=1), rtol=1e-5)
    np.testing.assert_allclose(ex[3, 8], np.mean(amps.astype(np.float64)), rtol=1e-5)
    # the other loaded cells: the excess is 0 in every pass
    assert np.nanmax(np.abs(sp[[0, 1, 2, 4, 5, 6]])) < 1e-6
    # row 7 was covered by one pass: no spread
    assert np.isnan(sp[7]).all()


def test_spread_of_two_passes():
    cd = knotmap.candidates(session([10.0, 20.0]), mode="mat", row_pitch_mm=10.0,
                            col_pitch_mm=5.0)
    np.testing.assert_allclose(cd["spread"][3, 8], np.std([10.0, 20.0], ddof=1), rtol=1e-5)


def test_result_writes_the_spread(tmp_path):
    """`knotmap process` writes the spread as /bodymap/spread (FORMAT.md 2.1):
    numpy's std(ddof=1) of the known pass maxima at the knot's cell."""
    h5py = __import__("pytest").importorskip("h5py")
    rng = np.random.default_rng(11)
    amps = rng.uniform(6.0, 30.0, size=7).astype(np.float32)
    fr = session(amps, rows_loaded_once=(7,))
    src, out = tmp_path / "s.h5", tmp_path / "r.h5"
    with h5py.File(src, "w") as f:
        f.attrs.update({"schema": "knotmap-session", "schema_version": 1,
                        "frame_rate_hz": 100.0, "row_pitch_mm": 10.0, "col_pitch_mm": 5.0,
                        "units": "kPa", "mode": "mat"})
        f["frames"] = fr
        f["time"] = np.arange(len(fr)) / 100.0
    knotmap.process(src, out)
    bm = knotmap.read_result(out)["bodymap"]
    sp = bm["spread"]
    assert sp.shape == bm["excess"].shape == (R, C) and sp.dtype == np.float32
    np.testing.assert_allclose(sp[3, 8], np.std(amps.astype(np.float64), ddof=1), rtol=1e-5)
    assert np.nanmax(np.abs(sp[[0, 1, 2, 4, 5, 6]])) < 1e-6
    assert np.isnan(sp[7]).all()
    # the same map as the candidate layer's own (knotmap.candidates)
    cd = knotmap.candidates(fr, mode="mat", row_pitch_mm=10.0, col_pitch_mm=5.0)
    np.testing.assert_array_equal(sp, cd["spread"])
