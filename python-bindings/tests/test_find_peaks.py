import threading

import numpy as np
import pytest

import knotmap
from knotmap._defaults import DETECTOR_DEFAULTS

# These tests check the detector itself, with its own defaults
# (km_peak_params_default), not the pipeline's that find_peaks takes.
def find_peaks(frame, **kw):
    return knotmap.find_peaks(frame, **dict(DETECTOR_DEFAULTS, **kw))

from knotmap import _core


def _blobs(seed, shape=(48, 40), n=8):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    img = rng.random(shape)
    for _ in range(n):
        cy, cx = rng.random() * shape[0], rng.random() * shape[1]
        img += 50 * rng.random() * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 6.0)
    return img.astype(np.float32)


def test_structured_result_matches_km_peak():
    assert knotmap.PEAK_DTYPE.itemsize == _core.ffi.sizeof("km_peak")
    assert knotmap.PEAK_DTYPE.names == ("row", "col", "y", "x", "value", "prominence",
                                        "area_taxels", "flags")
    img = np.zeros((7, 9), np.float32)
    img[3, 4] = 10.0
    img[3, 5] = 4.0
    p = find_peaks(img)
    assert p.dtype == knotmap.PEAK_DTYPE
    assert len(p) == 1
    assert (p["row"][0], p["col"][0], p["value"][0]) == (3, 4, 10.0)
    # sub-pixel x pulled towards the heavier right neighbour, y symmetric
    assert p["y"][0] == pytest.approx(3.0, abs=1e-9)
    assert 4.0 < p["x"][0] < 4.5
    # an isolated peak over a zero floor is as prominent as it is high
    assert p["prominence"][0] == pytest.approx(10.0)
    assert p["area_taxels"][0] >= 1


def test_options_turn_work_off():
    img = _blobs(1)
    p = find_peaks(img, subpixel=False, prominence=False)
    assert len(p) > 0
    assert np.all(np.isnan(p["prominence"]))
    assert np.all(p["area_taxels"] == -1)


def test_result_is_the_c_buffer_not_a_copy():
    p = find_peaks(_blobs(2))
    # a view of the array the C library wrote into
    assert p.base is not None and p.base.dtype == knotmap.PEAK_DTYPE


def test_capacity_retry_many_peaks():
    # a checkerboard of isolated maxima: far more peaks than the first buffer
    img = np.zeros((64, 64), np.float32)
    img[::2, ::2] = 1.0 + np.arange(32 * 32, dtype=np.float32).reshape(32, 32)
    p = find_peaks(img, exclude_border=False, prominence=False, subpixel=False)
    assert len(p) == 32 * 32
    assert np.all(np.diff(p["value"]) <= 0)
    assert p["value"][0] == img.max()


def test_strided_view_is_zero_copy_and_gives_the_same_peaks():
    big = np.zeros((96, 80), np.float32)
    big[::2, :] = _blobs(3, shape=(48, 80))
    view = big[::2, :]            # row stride = 2*cols elements
    assert not view.flags.c_contiguous
    arr, stride = _core._as_2d("frame", view, np.float32)
    assert arr is view and stride == 160        # no copy taken
    window = big[::2, 5:45]      # rows strided, starting mid-row
    arr, stride = _core._as_2d("frame", window, np.float32)
    assert arr is window and stride == 160
    for v in (view, window):
        c = np.ascontiguousarray(v)
        a, b = find_peaks(v), find_peaks(c)
        assert len(a) > 0
        assert np.array_equal(a, b)


def test_other_layouts_and_dtypes_are_converted_once():
    img = _blobs(4)
    ref = find_peaks(img)
    # column-strided and transposed layouts cannot be described by a row stride
    cols_strided = np.zeros((48, 80), np.float32)
    cols_strided[:, ::2] = img
    arr, _ = _core._as_2d("frame", cols_strided[:, ::2], np.float32)
    assert arr.flags.c_contiguous
    assert np.array_equal(find_peaks(cols_strided[:, ::2]), ref)
    assert np.array_equal(find_peaks(np.asfortranarray(img)), ref)
    # float64 / big-endian / int input: converted to float32 once
    assert np.array_equal(find_peaks(img.astype(np.float64)), ref)
    assert np.array_equal(find_peaks(img.astype(">f4")), ref)
    ints = (img * 10).astype(np.int32)
    assert np.array_equal(find_peaks(ints),
                          find_peaks(ints.astype(np.float32)))
    assert np.array_equal(knotmap.peak_local_max(img.tolist()), knotmap.peak_local_max(img))


def test_mask_excludes_taxels():
    img = _blobs(5)
    top = find_peaks(img)[0]
    mask = np.ones(img.shape, bool)
    mask[top["row"], top["col"]] = False
    p = find_peaks(img, mask=mask)
    assert not np.any((p["row"] == top["row"]) & (p["col"] == top["col"]))
    # uint8 and strided masks read the same
    m8 = mask.astype(np.uint8)
    assert np.array_equal(find_peaks(img, mask=m8), p)
    wide = np.zeros((48, 80), np.uint8)
    wide[:, :40] = m8
    assert np.array_equal(find_peaks(img, mask=wide[:, :40]), p)


def test_nan_taxels_are_never_peaks():
    img = _blobs(6)
    top = find_peaks(img)[0]
    img[top["row"], top["col"]] = np.nan
    p = find_peaks(img)
    assert len(p) > 0 and np.all(np.isfinite(p["value"]))


def test_four_threads_give_the_serial_results():
    frames = [_blobs(100 + i, shape=(64, 64), n=20) for i in range(16)]
    serial = [find_peaks(f, min_distance=2) for f in frames]
    results = [[None] * len(frames) for _ in range(4)]
    errors = []
    start = threading.Barrier(4)

    def work(t):
        try:
            start.wait()
            for _ in range(20):
                for i, f in enumerate(frames):
                    results[t][i] = find_peaks(f, min_distance=2)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for t in range(4):
        for i in range(len(frames)):
            assert np.array_equal(results[t][i], serial[i])


def test_each_thread_has_its_own_context():
    """Live threads hold distinct km_ctx (errors never cross threads)."""
    n = 3
    ctxs = [None] * n
    both_alive = threading.Barrier(n)

    def grab(i):
        ctxs[i] = int(_core.ffi.cast("uintptr_t", _core.ctx()))
        both_alive.wait()

    ths = [threading.Thread(target=grab, args=(i,)) for i in range(n)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    main_ctx = int(_core.ffi.cast("uintptr_t", _core.ctx()))
    assert len(set(ctxs)) == n
    assert main_ctx not in ctxs
