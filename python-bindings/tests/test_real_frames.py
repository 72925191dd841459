"""Frames of complex numbers, text or objects that are not numbers are a
TypeError naming the argument (a knotmap.Error), in every function that
takes frames, as find_peaks, calibrate, odometry and the Pipeline did: until
session 39 temporal_filter, bad_taxels and condition cut complex frames to
their real part (numpy's ComplexWarning only), and text frames raised numpy's
own ValueError, not a knotmap.Error, in those and in calibrate and odometry."""
import numpy as np
import pytest

import knotmap

T, R, C = 12, 6, 5
REAL = np.random.default_rng(4).random((T, R, C)).astype(np.float32) * 10

CALLS = {
    "temporal_filter": lambda a: knotmap.temporal_filter(a, "median", rate_hz=10),
    "calibrate": lambda a: knotmap.calibrate(a),
    "bad_taxels": lambda a: knotmap.bad_taxels(a),
    "condition": lambda a: knotmap.condition(a, rate_hz=10),
    "odometry": lambda a: knotmap.odometry(a, roller_radius_mm=25.0),
    "find_peaks": lambda a: knotmap.find_peaks(a[0]),
    "frame_metrics": lambda a: knotmap.frame_metrics(a[0]),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("bad", ["complex", "text"])
def test_frames_that_are_not_real_numbers_are_a_type_error(name, bad):
    a = REAL.astype(np.complex64) + 1j if bad == "complex" else np.full((T, R, C), "x")
    with pytest.raises(TypeError) as e:
        CALLS[name](a)
    assert isinstance(e.value, knotmap.Error) and "must be real numbers" in str(e.value)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_numbers_in_other_dtypes_still_work(name):
    CALLS[name](REAL.astype(np.float64))
    CALLS[name](REAL.astype(np.int16))
