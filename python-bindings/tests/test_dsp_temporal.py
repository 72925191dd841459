"""Temporal filters (km_temporal_*) against scipy.signal / scipy.ndimage.

The Python layer has no wrapper for them yet, so these tests call the C API
through the package's cffi module.  References and tolerances:

- IIR low/high-pass: scipy.signal.butter(order, cutoff, fs=, output="sos")
  run by sosfilt with zi = sosfilt_zi * first frame (knotmap starts in the
  steady state of the first frame).  Tolerance 1e-6 of the signal level
  (float32 in/out, double state).
- Notch: stacked scipy.signal.iirnotch(k * f0, Q, fs) sections, same rule.
- FIR: scipy.signal.firwin(taps, cutoff, pass_zero=, fs=) applied as a
  zero-phase filter with the ends repeated: scipy.ndimage.convolve1d(x, h,
  mode="nearest") along time, which equals lfilter(h, 1, padded x) shifted
  by (taps-1)/2.  Tolerance 2e-6 of the signal level (float32 FFT).
- Median: scipy.ndimage.median_filter(x, size=(w, 1), mode="nearest"): exact.
"""
import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as ss

from knotmap._core import check, ctx, ffi, lib

FS = 100.0


def run(x, block=7, **params):
    """Push x [T, taxels] through a km_temporal in blocks, then flush."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    T, nt = x.shape
    p = ffi.new("km_temporal_params *")
    lib.km_temporal_params_default(p)
    for k, v in params.items():
        setattr(p, k, v)
    c = ctx()
    tp = ffi.new("km_temporal **")
    check(c, lib.km_temporal_create(c, nt, p, tp))
    t = ffi.gc(tp[0], lib.km_temporal_free)
    outs = []
    n_out = ffi.new("int64_t *")
    for i in range(0, T, block):
        chunk = x[i:i + block]
        buf = np.empty((lib.km_temporal_max_output(t, len(chunk)), nt), np.float32)
        check(c, lib.km_temporal_push(c, t, ffi.from_buffer("float[]", chunk), len(chunk),
                                      ffi.from_buffer("float[]", buf), n_out))
        outs.append(buf[:n_out[0]].copy())
    buf = np.empty((lib.km_temporal_max_output(t, 0), nt), np.float32)
    check(c, lib.km_temporal_flush(c, t, ffi.from_buffer("float[]", buf), n_out))
    outs.append(buf[:n_out[0]].copy())
    return np.concatenate(outs)


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(42)
    t = np.arange(4000) / FS
    base = 30 + 5 * np.sin(2 * np.pi * 0.7 * t)[:, None] + 0.05 * t[:, None]
    return (base + rng.standard_normal((len(t), 6))).astype(np.float32)


def _sosfilt_steady(sos, x):
    x = x.astype(np.float64)
    zi = ss.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
    return ss.sosfilt(sos, x, axis=0, zi=zi)[0]


@pytest.mark.parametrize("btype,kind", [("lowpass", lib.KM_TEMPORAL_IIR_LOWPASS),
                                        ("highpass", lib.KM_TEMPORAL_IIR_HIGHPASS)])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("cutoff", [0.5, 5.0, 30.0])
def test_butterworth_matches_sosfilt(signal, btype, kind, order, cutoff):
    got = run(signal, kind=kind, rate_hz=FS, cutoff_hz=cutoff, order=order)
    want = _sosfilt_steady(ss.butter(order, cutoff, btype, fs=FS, output="sos"), signal)
    assert got.shape == signal.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * 40 * max(1, order / 2))


@pytest.mark.parametrize("harmonics", [1, 3])
def test_notch_matches_iirnotch(signal, harmonics):
    fs = 1000.0
    got = run(signal, kind=lib.KM_TEMPORAL_NOTCH, rate_hz=fs, notch_hz=50.0, notch_q=30.0,
              harmonics=harmonics)
    sos = np.array([np.concatenate(ss.iirnotch(50.0 * k, 30.0, fs=fs))
                    for k in range(1, harmonics + 1)])
    want = _sosfilt_steady(sos, signal)
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-5)


def test_notch_attenuation_40db_and_2hz_within_1pct():
    fs = 1000.0
    t = np.arange(20000) / fs
    x = (10 + 4 * np.sin(2 * np.pi * 2 * t) + 2 * np.sin(2 * np.pi * 50 * t))[:, None]
    y = run(x.astype(np.float32), block=4096, kind=lib.KM_TEMPORAL_NOTCH, rate_hz=fs)[:, 0]
    tail = slice(5000, None)  # after the transient, whole periods of both

    def amp(sig, f):
        return 2 * np.abs(np.mean(sig[tail] * np.exp(-2j * np.pi * f * t[tail])))

    assert 20 * np.log10(amp(y, 50) / 2) <= -40
    assert amp(y, 2) == pytest.approx(4, rel=0.01)


@pytest.mark.parametrize("pass_zero,kind", [(True, lib.KM_TEMPORAL_FIR_LOWPASS),
                                            (False, lib.KM_TEMPORAL_FIR_HIGHPASS)])
@pytest.mark.parametrize("taps,cutoff", [(31, 10.0), (101, 2.0), (0, 5.0), (0, 0.5)])
def test_fir_matches_firwin_zero_phase(signal, pass_zero, kind, taps, cutoff):
    got = run(signal, kind=kind, rate_hz=FS, cutoff_hz=cutoff, taps=taps)
    m = taps or (int(np.ceil(3.3 * FS / min(cutoff, FS / 2 - cutoff))) | 1)
    h = ss.firwin(m, cutoff, pass_zero=pass_zero, fs=FS)
    want = ndi.convolve1d(signal.astype(np.float64), h, axis=0, mode="nearest")
    assert got.shape == signal.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * 40 * np.sqrt(m / 31))
    # the same thing said with lfilter on the padded signal
    d = (m - 1) // 2
    pad = np.concatenate([np.repeat(signal[:1], d, 0), signal, np.repeat(signal[-1:], d, 0)])
    lf = ss.lfilter(h, 1.0, pad.astype(np.float64), axis=0)[2 * d:]
    np.testing.assert_allclose(want, lf, rtol=0, atol=1e-9)


@pytest.mark.parametrize("width", [1, 3, 5, 9, 31])
def test_median_matches_ndimage(signal, width):
    x = signal.copy()
    x[::97] += 500  # spikes
    got = run(x, kind=lib.KM_TEMPORAL_MEDIAN, median_width=width)
    np.testing.assert_array_equal(got, ndi.median_filter(x, size=(width, 1), mode="nearest"))


@pytest.mark.parametrize("params", [
    dict(kind=lib.KM_TEMPORAL_FIR_LOWPASS, rate_hz=FS, cutoff_hz=3.0, taps=151),
    dict(kind=lib.KM_TEMPORAL_FIR_HIGHPASS, rate_hz=FS, cutoff_hz=0.5),
    dict(kind=lib.KM_TEMPORAL_IIR_LOWPASS, rate_hz=FS, cutoff_hz=3.0),
    dict(kind=lib.KM_TEMPORAL_NOTCH, rate_hz=FS, notch_hz=10.0, harmonics=4),
    dict(kind=lib.KM_TEMPORAL_MEDIAN, median_width=7),
], ids=["fir-lp", "fir-hp", "iir-lp", "notch", "median"])
def test_streaming_blocks_identical(signal, params):
    ref = run(signal, block=len(signal), **params)
    for block in (1, 7, 4096):
        np.testing.assert_array_equal(run(signal, block=block, **params), ref)


@pytest.mark.parametrize("T", [1, 2, 5, 40])
def test_short_streams_fir(T, signal):
    x = signal[:T]
    got = run(x, block=1, kind=lib.KM_TEMPORAL_FIR_LOWPASS, rate_hz=FS, cutoff_hz=5.0, taps=31)
    h = ss.firwin(31, 5.0, fs=FS)
    want = ndi.convolve1d(x.astype(np.float64), h, axis=0, mode="nearest")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
