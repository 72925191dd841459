"""End to end: per-taxel equilibration (`knotmap process --equilibrate`, `--gain-map`).

A synthetic mat session and the uniform-load recording of the same sensor
(`knotmap synth --equilibration`, same seed and preset) go through `knotmap
process --equilibrate`; the gain map's source and statistics land in /params, and
the dead and stuck taxels (those whose value never changes in the recording,
found here with numpy) are masked.  Run with /usr/bin/python3 -m pytest
tests/cli/test_equilibrate.py; the binary comes from $KNOTMAP_BIN, else
build/knotmap.
"""

import h5py
import numpy as np
import pytest

from km_cli import run as knotmap, run_ok as run


@pytest.fixture(scope="module")
def mat(tmp_path_factory):
    d = tmp_path_factory.mktemp("equil")
    s, e = d / "s.h5", d / "eq.h5"
    run("synth", "--mode", "mat", "--preset", "hard", "--seed", 2, "--duration", 10, "-o", s)
    run("synth", "--mode", "mat", "--preset", "hard", "--seed", 2, "--equilibration", "-o", e)
    return d, s, e


def test_equilibration_recording_is_a_uniform_load(mat):
    _, _, e = mat
    with h5py.File(e) as f:
        frames = f["frames"][:]
        assert "truth" not in f  # no knots under a bladder
    assert frames.shape == (500, 32, 32)  # 5 s at 100 Hz by default
    live = frames.max(0) != frames.min(0)
    plateau = frames[200:300][:, live]
    # 50 kPa times gains of 10% spread, noise 2.5 kPa: the frame mean is ~50 kPa
    assert abs(plateau.mean() - 50.0) < 2.0
    assert 0.05 < plateau.mean(0).std() / 50.0 < 0.15
    assert frames[:40][:, live].mean() < 2.0  # unloaded at first


def test_process_equilibrate_records_params_and_masks_dead(mat):
    d, s, e = mat
    r = d / "r.h5"
    run("process", "-q", s, "--equilibrate", e, "-o", r)
    with h5py.File(e) as f:
        frames = f["frames"][:]
    never_changes = frames.max(0) == frames.min(0)
    with h5py.File(r) as f:
        p = dict(f["params"].attrs)
        fmax = f["frames/max"][:]
    assert p["equilibrate_path"] == str(e)
    assert p["gain_map_path"] == ""
    assert p["gain_map_given"] == 1
    assert p["gain_map_n_dead"] == never_changes.sum() > 0
    assert p["gain_map_n_clipped"] == 0
    assert p["gain_map_median"] == pytest.approx(1.0, abs=0.02)
    assert 0.5 < p["gain_map_min"] < 0.95 and 1.05 < p["gain_map_max"] < 2.0
    assert p["equil_n_loaded"] > 250 and p["equil_n_unloaded"] > 50
    assert p["equil_reference"] == pytest.approx(50.0, rel=0.05)
    assert p["equil_load_fraction"] == 0.8 and p["equil_max_gain"] == 4.0
    # the dead and stuck taxels are masked: NaN in the conditioned maximum
    np.testing.assert_array_equal(np.isnan(fmax), never_changes)


def test_equilibration_options_reach_params(mat):
    d, s, e = mat
    r = d / "r_opts.h5"
    run("process", "-q", s, "--equilibrate", e, "--equil-load-fraction", 0.7,
        "--equil-settle-frames", 3, "--equil-max-gain", 1.2, "-o", r)
    with h5py.File(r) as f:
        p = dict(f["params"].attrs)
    assert p["equil_load_fraction"] == 0.7
    assert p["equil_settle_frames"] == 3
    assert p["equil_max_gain"] == 1.2
    assert p["gain_map_n_clipped"] > 0  # a 10% gain spread exceeds 1.2 somewhere
    assert p["gain_map_max"] <= 1.2 + 1e-6 and p["gain_map_min"] >= 1 / 1.2 - 1e-6


def test_wrong_grid_recording_exits_65_naming_both_files(mat):
    d, s, _ = mat
    e16 = d / "eq16.h5"
    run("synth", "--mode", "mat", "--preset", "hard", "--seed", 2, "--grid", "16x32",
        "--equilibration", "-o", e16)
    out = d / "bad.h5"
    r = knotmap("process", "-q", s, "--equilibrate", e16, "-o", out)
    assert r.returncode == 65, r.stderr
    assert str(e16) in r.stderr and str(s) in r.stderr
    assert "16 x 32" in r.stderr and "32 x 32" in r.stderr
    assert not out.exists()


def test_gain_map_text_file(mat):
    d, s, _ = mat
    g = np.ones((32, 32))
    g[4, 7] = np.nan
    g[10, 3] = 2.0
    path = d / "gains.txt"
    np.savetxt(path, g)
    r = d / "r_gm.h5"
    run("process", "-q", s, "--gain-map", path, "-o", r)
    r0 = d / "r_plain.h5"
    run("process", "-q", s, "-o", r0)
    with h5py.File(r) as f, h5py.File(r0) as f0:
        p = dict(f["params"].attrs)
        m, m0 = f["frames/max"][:], f0["frames/max"][:]
    assert p["gain_map_path"] == str(path) and p["equilibrate_path"] == ""
    assert p["gain_map_n_dead"] == 1
    assert p["gain_map_max"] == 2.0 and p["gain_map_median"] == 1.0
    assert np.isnan(m[4, 7]) and not np.isnan(m0[4, 7])
    assert m[10, 3] == pytest.approx(2.0 * m0[10, 3], rel=1e-6)
    same = np.ones_like(m, bool)
    same[4, 7] = same[10, 3] = False
    np.testing.assert_array_equal(m[same], m0[same])
    # a gain map of another grid is refused, naming the file
    np.savetxt(path, np.ones((31, 32)))
    bad = knotmap("process", "-q", s, "--gain-map", path, "-o", d / "bad.h5")
    assert bad.returncode == 65 and str(path) in bad.stderr, bad.stderr


def test_one_gain_source_only(mat):
    d, s, e = mat
    r = knotmap("process", "-q", s, "--equilibrate", e, "--gain-map", e, "-o", d / "x.h5")
    assert r.returncode == 64
    assert "exclude each other" in r.stderr
