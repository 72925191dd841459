#!/usr/bin/python3
"""3x3 local maxima on float32 smooth-noise frames: knotmap (C and Python)
against OpenCV, scipy and scikit-image, in the same run, on the same frames.

  /usr/bin/python3 bench/compare_peaks.py --bench BUILD/bench/knotmap-bench-peaks \
      --pythonpath BUILD/python

Prints one table, ns per taxel, one core: the best of many short
repetitions timed by the thread's CPU clock (time.thread_time here,
CLOCK_THREAD_CPUTIME_ID in the C harness), so that time spent descheduled
on a shared, loaded machine is not counted.  Every tool runs on one thread
(cv2.setNumThreads(1)).  OpenCV and scipy return only a mask
(dilate/maximum_filter + compare); knotmap and scikit-image return
coordinates.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def smooth_noise(n, seed):
    from scipy.ndimage import uniform_filter
    rng = np.random.default_rng(seed)
    f = rng.random((n, n), dtype=np.float32)
    for _ in range(3):
        f = uniform_filter(f, size=5, mode="nearest")
    return np.ascontiguousarray(f, dtype=np.float32)


def best_ns(fn, frame, budget=0.6, reps=40):
    clock = time.thread_time
    fn(frame)
    t0 = clock()
    for _ in range(3):
        fn(frame)
    one = max((clock() - t0) / 3, 1e-7)
    inner = max(1, int(budget / reps / one))
    best = float("inf")
    for _ in range(reps):
        t0 = clock()
        for _ in range(inner):
            fn(frame)
        best = min(best, (clock() - t0) / inner)
    return best * 1e9 / frame.size


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, help="path to knotmap-bench-peaks")
    ap.add_argument("--pythonpath", help="folder holding the built knotmap package")
    ap.add_argument("--sizes", default="64,256,1024")
    ap.add_argument("--skip-skimage-above", type=int, default=1024,
                    help="skip scikit-image above this side (it is slow)")
    args = ap.parse_args()
    if args.pythonpath:
        sys.path.insert(0, args.pythonpath)
    import cv2
    from scipy import ndimage as ndi
    from skimage.feature import peak_local_max as sk_plm
    try:
        import knotmap
    except ImportError:
        knotmap = None
    cv2.setNumThreads(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    frames = {n: smooth_noise(n, n) for n in sizes}
    kernel = np.ones((3, 3), np.uint8)

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [args.bench, "--raw"]
        for n, f in frames.items():
            path = os.path.join(tmp, "f%d.f32" % n)
            f.tofile(path)
            cmd += [path, str(n), str(n)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    c = {}
    for line in out.split("\n"):
        if line.strip():
            r, _, np_, ns_auto, ns_port = line.split()
            c[int(r)] = (int(np_), float(ns_auto), float(ns_port))

    rows = []
    for n, f in frames.items():
        res = {"size": "%dx%d" % (n, n), "peaks": c[n][0], "knotmap C": c[n][1],
               "knotmap C portable": c[n][2]}
        res["OpenCV dilate+cmp"] = best_ns(lambda a: a >= cv2.dilate(a, kernel), f)
        res["scipy max_filter+cmp"] = best_ns(
            lambda a: a >= ndi.maximum_filter(a, size=3, mode="constant", cval=-np.inf), f)
        if knotmap is not None:
            res["knotmap.peak_local_max"] = best_ns(
                lambda a: knotmap.peak_local_max(a, min_distance=1, exclude_border=False), f)
            kp = knotmap.peak_local_max(f, min_distance=1, exclude_border=False)
        else:
            res["knotmap.peak_local_max"] = float("nan")
        if n <= args.skip_skimage_above:
            res["skimage peak_local_max"] = best_ns(
                lambda a: sk_plm(a, min_distance=1, exclude_border=False), f, budget=1.5, reps=5)
            sp = sk_plm(f, min_distance=1, exclude_border=False)
            if knotmap is not None:
                same = set(map(tuple, kp)) == set(map(tuple, sp))
                res["same coords"] = "yes" if same else "NO"
        else:
            res["skimage peak_local_max"] = float("nan")
        rows.append(res)

    cols = ["size", "peaks", "knotmap C", "knotmap C portable", "OpenCV dilate+cmp",
            "scipy max_filter+cmp", "skimage peak_local_max", "knotmap.peak_local_max"]
    print("ns per taxel, 3x3 local maxima, float32 smooth noise, one core, best of N "
          "(thread CPU time); load average %.2f %.2f %.2f" % os.getloadavg())
    print("| " + " | ".join(cols) + " | OpenCV / knotmap C | skimage / knotmap.py | same coords |")
    print("|" + "---|" * (len(cols) + 3))
    for r in rows:
        cells = [str(r[k]) if isinstance(r[k], (str, int)) else "%.3f" % r[k] for k in cols]
        ratio_cv = r["OpenCV dilate+cmp"] / r["knotmap C"]
        ratio_sk = r["skimage peak_local_max"] / r["knotmap.peak_local_max"]
        print("| " + " | ".join(cells) + " | %.2fx | %.0fx | %s |" % (
            ratio_cv, ratio_sk, r.get("same coords", "-")))


if __name__ == "__main__":
    main()
