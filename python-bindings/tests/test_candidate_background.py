"""The local excess of the candidate map (docs/ALGORITHMS.md 10 step 1) against
numpy: the background is the median of the usable taxels of the frame row within
+-W columns, W = background_sigmas x the largest footprint sigma searched / the
column pitch, rounded, at least 1; the map is the mean over passes of each pass's
maximum excess."""
import numpy as np
import pytest

import knotmap

R, C = 6, 24


def session(rng, passes=3, loaded=5, gap=10):
    """Passes of `loaded` frames of values from a small set (many ties, no
    taxel repeating a value for long: none is stuck), `gap` empty frames
    apart; taxels (1, 3) and (4, 17) have no data (NaN)."""
    frames = []
    for _ in range(passes):
        for k in range(loaded + gap):
            f = np.zeros((R, C), np.float32)
            if k < loaded:
                f[:] = (20.0 + 2.5 * rng.integers(0, 9, size=(R, C))).astype(np.float32)
            f[1, 3] = f[4, 17] = np.nan
            frames.append(f)
    return np.stack(frames), passes, loaded, gap


def expected_map(frames, passes, loaded, gap, w):
    per_pass = []
    for p in range(passes):
        block = frames[p * (loaded + gap):p * (loaded + gap) + loaded].astype(np.float64)
        ex = np.full(block.shape, np.nan)
        for x in range(C):
            lo, hi = max(0, x - w), min(C, x + w + 1)
            ex[:, :, x] = block[:, :, x] - np.nanmedian(block[:, :, lo:hi], axis=2)
        per_pass.append(ex.max(axis=0))
    return np.mean(per_pass, axis=0)


# (background_sigmas, knot_sigma_mm, col_pitch_mm) -> W columns
CASES = [(2.0, 0.0, 5.0, 6),     # 2 x 15 mm / 5 mm
         (3.0, 4.5, 5.0, 3),     # 3 x 4.5 mm / 5 mm = 2.7
         (1.0, 0.0, 3.0, 5),     # 15 mm / 3 mm
         (0.1, 0.0, 5.0, 1),     # 0.3 columns: at least 1
         (4.0, 0.0, 5.0, 12)]    # 60 mm: wider than half the row


@pytest.mark.parametrize("k,knot_sigma,pitch,w", CASES)
def test_excess_is_the_row_median_within_w_columns(k, knot_sigma, pitch, w):
    frames, passes, loaded, gap = session(np.random.default_rng(11))
    cd = knotmap.candidates(frames, mode="mat", row_pitch_mm=10.0, col_pitch_mm=pitch,
                            background_sigmas=k, knot_sigma_mm=knot_sigma)
    want = expected_map(frames, passes, loaded, gap, w)
    assert np.array_equal(np.isnan(cd["excess"]), np.isnan(want))
    np.testing.assert_allclose(cd["excess"], want, rtol=1e-6, atol=1e-5, equal_nan=True)
    # a window one column narrower or wider gives another map
    for other in (w - 1, w + 1):
        if other >= 1:
            assert not np.allclose(expected_map(frames, passes, loaded, gap, other), want,
                                   equal_nan=True)


def test_broad_footprint_keeps_its_excess():
    """A footprint 5 columns (25 mm) wide: the +-4-column median of before covers 9
    columns, 5 of them raised, and took the footprint for background (excess 0); the
    default window (2 x 15 mm = 6 columns each side, 13 values) keeps the contact's level."""
    frames = []
    for p in range(3):
        for k in range(15):
            f = np.zeros((R, C), np.float32)
            if k < 5:
                f[:] = np.float32(40.0) + np.float32(0.01) * np.float32(len(frames) % 3)
                f[2, 10:15] += np.float32(20.0)
            frames.append(f)
    frames = np.stack(frames)
    ex = knotmap.candidates(frames, mode="mat", row_pitch_mm=10.0, col_pitch_mm=5.0)["excess"]
    np.testing.assert_allclose(ex[2, 10:15], 20.0, atol=1e-4)
    narrow = knotmap.candidates(frames, mode="mat", row_pitch_mm=10.0, col_pitch_mm=5.0,
                                background_sigmas=4.0 / 3.0)["excess"]
    np.testing.assert_allclose(narrow[2, 12], 0.0, atol=1e-4)
