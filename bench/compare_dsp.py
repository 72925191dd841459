#!/usr/bin/python3
"""Conditioning speed against its peers, in one run (issue 4's targets).

  Gaussian sigma 1.5 on 256x256 float32: knotmap.gaussian_filter against
  cv2.GaussianBlur (one thread, same kernel: ksize 2*int(4*1.5+0.5)+1 = 13,
  BORDER_REPLICATE = scipy's "nearest") and scipy.ndimage.gaussian_filter.
  Temporal filters on a 32x32 grid: million taxel-samples per second for
  knotmap.temporal_filter (IIR low-pass order 4, notch, FIR 101 taps, median 5)
  against scipy.signal.sosfilt / ndimage.median_filter on the same data.

Times are best-of-N thread CPU time (time.thread_time), so other load on the
machine inflates them less.  Run:  /usr/bin/python3 bench/compare_dsp.py
with PYTHONPATH=build/python (a Release build).  Prints a table; the numbers
go to bench/README.md "Conditioning".
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.environ.get("KNOTMAP_PYTHONPATH", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "build", "python")))
import knotmap  # noqa: E402


def best(fn, repeat=7, min_time=0.2):
    """Best per-call thread CPU time of fn over `repeat` rounds."""
    fn()
    n = 1
    while True:
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        if time.thread_time() - t0 >= min_time / repeat:
            break
        n *= 2
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        times.append((time.thread_time() - t0) / n)
    return min(times)


def gaussian_table():
    import cv2
    import scipy.ndimage as ndi
    cv2.setNumThreads(1)
    rng = np.random.default_rng(1)
    img = ndi.gaussian_filter(rng.random((256, 256)), 3).astype(np.float32)
    out = np.empty_like(img)
    sigma, truncate = 1.5, 4.0
    k = 2 * int(truncate * sigma + 0.5) + 1
    ours = knotmap.gaussian_filter(img, sigma, mode="nearest", truncate=truncate)
    ref = ndi.gaussian_filter(img, sigma, mode="nearest", truncate=truncate)
    err = float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))
    t_km = best(lambda: knotmap.gaussian_filter(img, sigma, mode="nearest", truncate=truncate))
    t_cv = best(lambda: cv2.GaussianBlur(img, (k, k), sigma, dst=out, sigmaY=sigma,
                                         borderType=cv2.BORDER_REPLICATE))
    t_sp = best(lambda: ndi.gaussian_filter(img, sigma, mode="nearest", truncate=truncate,
                                            output=out))
    print("Gaussian sigma 1.5, 256x256 float32 (us per frame, thread CPU time)")
    print("  %-34s %9.1f" % ("knotmap.gaussian_filter", t_km * 1e6))
    print("  %-34s %9.1f   knotmap %.2fx faster" % ("cv2.GaussianBlur (1 thread)", t_cv * 1e6,
                                                     t_cv / t_km))
    print("  %-34s %9.1f   knotmap %.2fx faster" % ("scipy.ndimage.gaussian_filter", t_sp * 1e6,
                                                     t_sp / t_km))
    print("  max |knotmap - scipy| / max |scipy| = %.2g" % err)


def temporal_table():
    import scipy.ndimage as ndi
    import scipy.signal as sig
    rng = np.random.default_rng(2)
    t_n, rate = 4000, 100.0
    x = (30 + rng.standard_normal((t_n, 32, 32))).astype(np.float32)
    n = x.size
    sos = sig.butter(4, 5.0, fs=rate, output="sos")
    b, a = sig.iirnotch(50.0, 30.0, fs=250.0)
    cases = [
        ("IIR low-pass order 4", lambda: knotmap.temporal_filter(
            x, "iir_lowpass", rate, cutoff_hz=5.0, order=4),
         lambda: sig.sosfilt(sos, x, axis=0)),
        ("notch 50 Hz (rate 250 Hz)", lambda: knotmap.temporal_filter(
            x, "notch", 250.0, notch_hz=50.0),
         lambda: sig.lfilter(b, a, x, axis=0)),
        ("FIR low-pass 101 taps", lambda: knotmap.temporal_filter(
            x, "fir_lowpass", rate, cutoff_hz=5.0, taps=101),
         lambda: sig.oaconvolve(x, sig.firwin(101, 5.0, fs=rate)[:, None, None], axes=0)),
        ("median 5 frames", lambda: knotmap.temporal_filter(x, "median", median_width=5),
         lambda: ndi.median_filter(x, size=(5, 1, 1), mode="nearest")),
    ]
    print("Temporal filters, 32x32 grid, %d frames (M taxel-samples/s, thread CPU time)" % t_n)
    for name, ours, ref in cases:
        t_km = best(ours, repeat=3)
        t_ref = best(ref, repeat=3)
        print("  %-28s knotmap %7.0f   scipy %7.0f   knotmap %.1fx faster"
              % (name, n / t_km / 1e6, n / t_ref / 1e6, t_ref / t_km))


if __name__ == "__main__":
    print("load average %.2f %.2f %.2f" % os.getloadavg())
    gaussian_table()
    temporal_table()
