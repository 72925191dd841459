"""End to end: the seen threshold the candidates counted, and the candidate map's
noise it came from, are recorded (issue 11, session 41; docs/FORMAT.md 2.1 /params
`cand_map_noise` and `cand_seen_threshold_used`, docs/ALGORITHMS.md 10 step 3).

With `--cand-seen-noise C` (default 3) a pass sees a cell at min(8 kPa, C x the map's
global noise), taken down to a rung of the ladder 2, 3, ... 7 kPa.  The noise is checked
against its definition (docs/ALGORITHMS.md 10 step 4, Noise) recomputed from the result's
own /bodymap/excess with numpy (the column median over the ridge window) and scipy
(`median_abs_deviation(scale="normal")` of the horizontal differences, over sqrt 2); the
threshold against the ladder's rule.  A quiet session (mat easy) takes the lowest rung, a
moderate one a rung between, a noisy one (mat hard) stays at 8, and `--cand-seen-noise 0`
counts at 8 with the same noise recorded.  Fails on 0370410 (neither attribute written).
Run with /usr/bin/python3 -m pytest tests/cli/test_seen_recorded.py; the binary comes
from $KNOTMAP_BIN, else build/knotmap.
"""

import math
import warnings

import h5py
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from km_cli import run_ok as run

scipy_stats = pytest.importorskip("scipy.stats")


def _recorded(path):
    with h5py.File(path) as f:
        a = f["bodymap/excess"][()].astype(np.float64)
        return a, dict(f["params"].attrs), float(f["bodymap"].attrs["y_pitch_mm"])


def _map_noise(a, p, y_pitch):
    """The global noise of the ridge-free candidate map, from its definition."""
    s = p["cand_knot_sigma_mm"] if p["cand_knot_sigma_mm"] > 0 else p["cand_max_sigma_mm"]
    h = min(max(1, math.floor(p["cand_ridge_sigmas"] * s / y_pitch + 0.5)), a.shape[0])
    padded = np.pad(a, ((h, h), (0, 0)), constant_values=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows off the body
        ridge = np.nanmedian(sliding_window_view(padded, 2 * h + 1, axis=0), axis=-1)
    d = np.diff(a - ridge, axis=1).ravel()
    d = d[np.isfinite(d)]
    return scipy_stats.median_abs_deviation(d, scale="normal") / math.sqrt(2.0)


def _rung(p, noise):
    """The ladder's rung the documented rule takes for C x noise."""
    top, c = p["cand_seen_threshold"], p["cand_seen_noise"]
    if c <= 0 or c * noise >= top:
        return top
    rungs = [top * (k + 2) / 8.0 for k in range(6)]
    under = [r for r in rungs if r <= c * noise]
    return max(under) if under else rungs[0]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("seen")
    out = {}
    cases = {"mat_easy": ("--mode", "mat", "--preset", "easy"),
             "mat_moderate": ("--mode", "mat", "--preset", "moderate"),
             "mat_hard": ("--mode", "mat", "--preset", "hard"),
             "roller2_moderate": ("--model", 2, "--mode", "roller", "--preset", "moderate")}
    for name, args in cases.items():
        run("synth", *args, "--seed", 3, "--duration", 10, "-o", d / f"{name}.h5")
        run("process", "-q", d / f"{name}.h5", "-o", d / f"{name}.r.h5")
        out[name] = d / f"{name}.r.h5"
    run("process", "-q", d / "mat_moderate.h5", "--cand-seen-noise", 0, "-o", d / "off.r.h5")
    out["off"] = d / "off.r.h5"
    return out


@pytest.mark.parametrize("name,where", [("mat_easy", "lowest"), ("mat_moderate", "between"),
                                        ("roller2_moderate", "between"), ("mat_hard", "top")])
def test_the_threshold_counted_and_its_noise_are_recorded(results, name, where):
    a, p, y_pitch = _recorded(results[name])
    noise = _map_noise(a, p, y_pitch)
    assert p["cand_map_noise"] == pytest.approx(noise, rel=1e-6)
    used = p["cand_seen_threshold_used"]
    assert used == _rung(p, p["cand_map_noise"])
    if where == "lowest":
        assert used == p["cand_seen_threshold"] * 2 / 8 and 3 * noise < used
    elif where == "between":
        assert p["cand_seen_threshold"] * 2 / 8 < used < p["cand_seen_threshold"]
    else:
        assert used == p["cand_seen_threshold"] == 8.0 and 3 * noise >= 8.0


def test_seen_noise_0_counts_at_8_and_still_records_the_noise(results):
    _, on, _ = _recorded(results["mat_moderate"])
    _, off, _ = _recorded(results["off"])
    assert off["cand_seen_noise"] == 0 and off["cand_seen_threshold_used"] == 8.0
    assert on["cand_seen_threshold_used"] < 8.0
    assert off["cand_map_noise"] == on["cand_map_noise"] and off["cand_map_noise"] > 0


def test_info_says_it(results):
    _, p, _ = _recorded(results["mat_moderate"])
    r = run("info", results["mat_moderate"])
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("seen:"))
    assert f"at {p['cand_seen_threshold_used']:.4g} kPa" in line
    assert f"noise: {p['cand_map_noise']:.3g} kPa" in line


def test_no_contact_records_nan_and_says_so(tmp_path):
    """A roller session that never touches the body has no candidate map (Ny = 0): the
    noise is NaN, the threshold cand_seen_threshold, and info says there is no map
    instead of printing a NaN noise."""
    s, r = tmp_path / "s.h5", tmp_path / "r.h5"
    with h5py.File(s, "w") as f:
        f.attrs.update({"schema": "knotmap-session", "schema_version": 1,
                        "frame_rate_hz": 100.0, "row_pitch_mm": 5.0, "col_pitch_mm": 5.0,
                        "units": "kPa", "mode": "roller", "roller_radius_mm": 40.0})
        f["frames"] = np.zeros((50, 8, 8), np.float32)
    run("process", "-q", s, "-o", r)
    a, p, _ = _recorded(r)
    assert a.shape[0] == 0 and math.isnan(p["cand_map_noise"])
    assert p["cand_seen_threshold_used"] == p["cand_seen_threshold"] == 8.0
    seen = [ln for ln in run("info", r).stdout.splitlines() if ln.startswith("seen:")]
    assert seen == ["seen:         no candidate map (no contact)"]
