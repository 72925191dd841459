"""`knotmap synth --model 2`: the independent second model (docs/ALGORITHMS.md 6.7).

Run with /usr/bin/python3 -m pytest tests/cli/test_synth_model2.py.  The binary comes from
$KNOTMAP_BIN, else build/knotmap in the repository.
"""
import math
import subprocess

import h5py
import numpy as np

from km_cli import BIN


def synth(out, *args):
    return subprocess.run([str(BIN), "synth", "--model", "2", *map(str, args), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)


def test_devices_and_knots_are_drawn_within_the_documented_ranges(tmp_path):
    seen_rows = set()
    for mode in ("roller", "mat"):
        for seed in (1, 2, 3, 4):
            s = tmp_path / f"{mode}{seed}.h5"
            r = synth(s, "--mode", mode, "--preset", "moderate", "--seed", seed, "--duration", 2)
            assert r.returncode == 0, r.stderr
            with h5py.File(s) as f:
                a = f.attrs if "rows" in f.attrs else f["frames"].attrs
                v = f["frames"]
                T, R, C = v.shape
                seen_rows.add(R)
                assert 24 <= R <= 48 and 16 <= C <= 48
                k = f["truth/knots"]
                n = len(k["x_mm"])
                assert 3 <= n <= 8
                fp, sg = k["footprint_sigma_mm"][:], k["sigma_mm"][:]
                # nodule FWHM 2-10 mm; footprint = hypot(nodule, 0.3-0.45 x 5-25 mm)
                assert np.all(sg >= 2 / 2.3549) and np.all(sg <= 10 / 2.3548)
                assert np.all(fp >= sg) and np.all(fp <= math.hypot(10 / 2.3548, 0.45 * 25) + 1e-9)
                x, y = k["x_mm"][:], k["y_mm"][:]
                d = np.hypot(x[:, None] - x[None], y[:, None] - y[None]) + 1e9 * np.eye(n)
                assert d.min() >= 40.0
                frames = v[:]
                assert np.all(np.isfinite(frames)) and frames.min() >= 0.0
    assert len(seen_rows) > 1, "the device must vary with the seed"


def test_same_seed_same_session_and_model_2_differs_from_model_1(tmp_path):
    a, b, c = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"
    for out in (a, b):
        assert synth(out, "--seed", 7, "--duration", 1).returncode == 0
    r = subprocess.run([str(BIN), "synth", "--seed", "7", "--duration", "1", "-o", str(c)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with h5py.File(a) as fa, h5py.File(b) as fb, h5py.File(c) as fc:
        assert np.array_equal(fa["frames"][:], fb["frames"][:])
        assert "footprint_sigma_mm" in fc["truth/knots"]
        assert not np.array_equal(fa["truth/knots/x_mm"][:], fc["truth/knots/x_mm"][:len(fa["truth/knots/x_mm"])]) \
            or fa["frames"].shape != fc["frames"].shape


def test_geometry_options_are_refused_with_model_2(tmp_path):
    for opt in (("--grid", "16x16"), ("--knots", "3"), ("--roller-radius", "60")):
        r = synth(tmp_path / "x.h5", *opt)
        assert r.returncode == 64 and opt[0] in r.stderr
        assert not (tmp_path / "x.h5").exists()
    r = subprocess.run([str(BIN), "synth", "--model", "3", "-o", str(tmp_path / "y.h5")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 64 and "--model" in r.stderr
