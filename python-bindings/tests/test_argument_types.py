"""Arguments of the wrong type or an unknown name: knotmap's own functions
raise knotmap.Error (also TypeError or ValueError) naming the argument; the
drop-ins raise what their namesakes raise."""
import os

import numpy as np
import pytest

import knotmap

IMG = np.random.default_rng(4).random((9, 11)).astype(np.float32)


@pytest.mark.parametrize("call", [
    lambda: knotmap.condition(np.ones((4, 3, 3), np.float32), 100.0, curve="bogus"),
    lambda: knotmap.calib_curve_fit([(100.0, 4798, 240)], "bogus"),
], ids=["condition", "calib_curve_fit"])
def test_unknown_curve_is_a_value_error_naming_the_curves(call):
    with pytest.raises(knotmap.Error) as info:
        call()  # was a bare KeyError: 'bogus'
    assert isinstance(info.value, ValueError)
    assert "curve='bogus'" in str(info.value) and "'power'" in str(info.value)


@pytest.mark.parametrize("name", ["text_layout", "time_axis"])
def test_read_session_choices_are_knotmap_errors(datasets_dir, name):
    src = os.path.join(datasets_dir, "real", "tekscan_fscan", "FrasP01L.asf")
    with pytest.raises(knotmap.Error) as info:
        knotmap.read_session(src, **{name: "bogus"})
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith("%s must be " % name) and "got 'bogus'" in str(info.value)


@pytest.mark.parametrize("name", ["threshold_abs", "threshold_rel", "min_prominence",
                                  "saturation", "p_norm"])
@pytest.mark.parametrize("bad", ["5", [1.0, 2.0], object()], ids=["str", "list", "object"])
def test_find_peaks_numbers_must_be_numbers(name, bad):
    with pytest.raises(knotmap.Error) as info:
        knotmap.find_peaks(IMG, **{name: bad})  # "5" was taken as 5.0
    assert isinstance(info.value, TypeError) and name + "=" in str(info.value)


def test_find_peaks_takes_numpy_numbers():
    got = knotmap.find_peaks(IMG, threshold_abs=np.float32(0.5), threshold_rel=np.array(0.2),
                             saturation=np.int64(1))
    want = knotmap.find_peaks(IMG, threshold_abs=0.5, threshold_rel=0.2, saturation=1.0)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kw", [{"threshold_abs": "0.5"}, {"threshold_rel": "0.5"}])
def test_peak_local_max_non_number_threshold_is_a_type_error_as_in_skimage(kw):
    skimage_feature = pytest.importorskip("skimage.feature")
    with pytest.raises(TypeError):
        skimage_feature.peak_local_max(IMG, **kw)
    with pytest.raises(TypeError):
        knotmap.peak_local_max(IMG, **kw)  # was ValueError or a silent float("0.5")


@pytest.mark.parametrize("kw", [{"cval": "x", "mode": "constant"}, {"truncate": "4"}])
def test_gaussian_filter_non_number_is_scipys_type_error(kw):
    ndimage = pytest.importorskip("scipy.ndimage")
    with pytest.raises(TypeError) as theirs:
        ndimage.gaussian_filter(IMG, 1.0, **kw)
    with pytest.raises(TypeError) as ours:
        knotmap.gaussian_filter(IMG, 1.0, **kw)  # was ValueError: could not convert
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("call", [
    lambda a: knotmap.find_peaks(a), lambda a: knotmap.frame_metrics(a),
    lambda a: knotmap.calibrate(a), lambda a: knotmap.find_peaks(IMG, mask=a),
], ids=["find_peaks", "frame_metrics", "calibrate", "mask"])
def test_complex_frames_are_refused_not_cut_to_their_real_part(call):
    with pytest.raises(knotmap.Error) as info:
        call(IMG.astype(np.complex64))  # was a ComplexWarning and the real part
    assert isinstance(info.value, TypeError) and "complex64" in str(info.value)


def test_pipeline_push_refuses_complex_frames_and_text_times():
    with knotmap.Pipeline(grid=(9, 11), rate=100, pitch=5) as pipe:
        with pytest.raises(knotmap.Error) as info:
            pipe.push(IMG.astype(np.complex64))  # was cut to its real part
        assert isinstance(info.value, TypeError) and "frames" in str(info.value)
    with knotmap.Pipeline(grid=(9, 11), rate=100, pitch=5) as pipe:
        with pytest.raises(knotmap.Error) as info:
            pipe.push(IMG, "x")  # was a bare ValueError of numpy
        assert isinstance(info.value, TypeError) and "times" in str(info.value)
        pipe.push(np.stack([IMG, IMG]).astype(object), [0.0, 0.01])  # numbers in objects: fine


FRAMES = np.random.default_rng(5).random((20, 9, 11)).astype(np.float32)
GEOMETRY = {"mode": "mat", "row_pitch_mm": 5.0, "col_pitch_mm": 5.0}
# knotmap's own functions: (call, {argument: a good value}); every number
# given as a string is a TypeError naming it, every whole number given as
# 2.5 too (int() cut it)
OWN = [
    (lambda **k: knotmap.calibrate(IMG, **k), {"offset": 0.0, "gain": 1.0, "noise_threshold": 0.0}),
    (lambda **k: knotmap.frame_metrics(IMG, **k),
     {"row_pitch_mm": 1.0, "col_pitch_mm": 1.0, "contact_threshold": 0.0, "saturation": 9.0}),
    (lambda **k: knotmap.temporal_filter(FRAMES, **{"rate_hz": 100.0, **k}),
     {"rate_hz": 100.0, "cutoff_hz": 5.0, "notch_hz": 50.0, "notch_q": 30.0, "order": 4,
      "taps": 0, "fft_size": 0, "harmonics": 1, "median_width": 5}),
    (lambda **k: knotmap.bodymap(FRAMES, **{**GEOMETRY, **k}),
     {"row_pitch_mm": 5.0, "col_pitch_mm": 5.0, "contact_half_rows": 1,
      "contact_threshold": 5.0, "pass_gap_frames": 5, "max_extent_mm": 1e5}),
    (lambda **k: knotmap.candidates(FRAMES, time=np.arange(20) / 10.0, **{**GEOMETRY, **k}),
     {"row_pitch_mm": 5.0, "col_pitch_mm": 5.0}),
    (lambda **k: knotmap.condition(FRAMES, **{"rate_hz": 10.0, **k}),
     {"rate_hz": 10.0, "offset": 0.0, "gain": 1.0, "noise_threshold": 0.0, "sigma": 0.0}),
    (lambda **k: knotmap.bad_taxels(FRAMES, **k),
     {"flat_range": 0.0, "dead_level": 0.0, "active_range": 0.0, "hot_ratio": 4.0,
      "offset_sigmas": 3.0, "unload_sigmas": 8.0}),
    (lambda **k: knotmap.odometry(FRAMES, **{"roller_radius_mm": 50.0, **k}),
     {"roller_radius_mm": 50.0, "lift_threshold": 5.0, "window_rows": 4}),
    (lambda **k: knotmap.track([0, 1], [1.0, 1.5], [2.0, 2.0], [5.0, 5.0], **k),
     {"gate_mm": 15.0, "max_gap": 2}),
]
CASES = [(call, name, good) for call, args in OWN for name, good in args.items()]


@pytest.mark.parametrize("call,name,good", CASES,
                         ids=["%d-%s" % (i, c[1]) for i, c in enumerate(CASES)])
def test_own_functions_refuse_numbers_that_are_not(call, name, good):
    call(**{name: good})  # the good value passes
    bads = ["5"] + ([2.5] if isinstance(good, int) and not isinstance(good, bool) else [])
    for bad in bads:
        with pytest.raises(knotmap.Error) as info:
            call(**{name: bad})  # "5" was read as 5, 2.5 cut to 2
        assert isinstance(info.value, TypeError) and name + "=" in str(info.value), bad
