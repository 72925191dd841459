"""calibrate and frame_metrics on numpy arrays, against analytic results."""
import math

import numpy as np
import pytest

import knotmap


def test_calibrate_gain_offset_noise():
    f = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    out = knotmap.calibrate(f, offset=1.0, gain=2.0, noise_threshold=3.0)
    assert out.dtype == np.float32 and out.shape == f.shape
    np.testing.assert_array_equal(out, [[0, 0, 4], [6, 8, 10]])
    # a [T, R, C] stack is calibrated frame by frame; input untouched
    stack = np.stack([f, f * 2])
    out = knotmap.calibrate(stack, gain=0.5)
    np.testing.assert_array_equal(out, stack * 0.5)
    np.testing.assert_array_equal(stack[0], f)


def test_units_to_kpa():
    assert knotmap.units_to_kpa("kPa") == 1.0
    assert knotmap.units_to_kpa("mmHg") == pytest.approx(0.133322, rel=1e-5)
    assert knotmap.units_to_kpa("N/cm2") == 10.0
    assert math.isnan(knotmap.units_to_kpa("raw"))


def test_frame_metrics_analytic():
    f = np.zeros((4, 5), np.float32)
    f[1, 2] = 30.0    # kPa
    f[2, 4] = 10.0
    m = knotmap.frame_metrics(f, row_pitch_mm=2.0, col_pitch_mm=3.0, units="kPa")
    assert m["peak"] == 30.0
    assert m["mean"] == pytest.approx(40.0 / 20)
    assert m["contact_area_mm2"] == pytest.approx(2 * 6.0)
    # kPa * mm^2 = 1e-3 N
    assert m["force_n"] == pytest.approx((30 + 10) * 6.0 * 1e-3)
    assert m["cop_grid_x_mm"] == pytest.approx((30 * 2 * 3.0 + 10 * 4 * 3.0) / 40)
    assert m["cop_grid_y_mm"] == pytest.approx((30 * 1 * 2.0 + 10 * 2 * 2.0) / 40)
    assert m["flags"] == 0
    mask = np.ones(f.shape, bool)
    mask[1, 2] = False
    m = knotmap.frame_metrics(f, mask=mask, row_pitch_mm=2.0, col_pitch_mm=3.0)
    assert m["peak"] == 10.0
    assert math.isnan(knotmap.frame_metrics(f, units="raw")["force_n"])
