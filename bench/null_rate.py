#!/usr/bin/python3
"""The knot-free null of docs/ALGORITHMS.md 10 ("Threshold and the null distribution").

Knot-free sessions (`knotmap.synth(..., knots=0, model=M)`), models 1 and 2, roller and
mat, moderate and hard, TUNING seeds 1-6, 20 s; `knotmap process --cand-min-snr 0` (every
other threshold and test at its default); candidates counted at significance >= t in the
body area covered by two passes or more (cells with /bodymap/coverage >= 2 times the two
pitches). Prints the counts per cell and the rate per 100 cm2 per mode and pooled, and in
the last column the candidates of a second run at the defaults (what a user gets: every
threshold as shipped, including the lower one for broad footprints of 10.4 Peaks).

Usage: PYTHONPATH=build/python /usr/bin/python3 bench/null_rate.py [--bin build/knotmap]
           [--seeds 6] [--jobs 2] [--process-args "..."] [--json FILE]
"""
import argparse
import concurrent.futures as cf
import json
import os
import shlex
import subprocess
import sys
import tempfile

import h5py
import numpy as np

ZS = (3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0)


def one(a, model, mode, preset, seed, tmp):
    import knotmap
    s = os.path.join(tmp, "%s_%s_%s_%d.h5" % (model, mode, preset, seed))
    r = s + ".r.h5"
    knotmap.synth(s, mode=mode, preset=preset, seed=seed, duration=20, knots=0, model=model)
    p = subprocess.run([a.bin, "process", "-q", s, "--cand-min-snr", "0",
                        *shlex.split(a.process_args), "-o", r], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(p.stderr)
    d = s + ".d.h5"
    p = subprocess.run([a.bin, "process", "-q", s, *shlex.split(a.process_args), "-o", d],
                       capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(p.stderr)
    with h5py.File(d) as f:
        n_default = len(f["candidates/significance"])
    os.unlink(d)
    with h5py.File(r) as f:
        z = f["candidates/significance"][:]
        cov = f["bodymap/coverage"][:]
        rp = float(f["bodymap"].attrs["y_pitch_mm"])
        cp = float(f["bodymap"].attrs["x_pitch_mm"])
    os.unlink(s)
    os.unlink(r)
    return (model, mode, preset, seed), float(np.sum(cov >= 2)) * rp * cp / 100.0, \
        [int(np.sum(z >= t)) for t in ZS] + [n_default]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/knotmap")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--process-args", default="")
    ap.add_argument("--json")
    a = ap.parse_args()
    jobs = [(m, mo, p, s) for m in (1, 2) for mo in ("roller", "mat")
            for p in ("moderate", "hard") for s in range(1, a.seeds + 1)]
    got = {}
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(a.jobs) as ex:
        for f in [ex.submit(one, a, *j, tmp) for j in jobs]:
            k, area, n = f.result()
            got[k] = (area, n)
    print("| model | mode | preset | area (cm2) | " + " | ".join("z>=%g" % t for t in ZS) + " | defaults |")
    print("|---" * (5 + len(ZS)) + "|")
    for m in (1, 2):
        for mo in ("roller", "mat"):
            for p in ("moderate", "hard"):
                v = [got[m, mo, p, s] for s in range(1, a.seeds + 1)]
                print("| %d | %s | %s | %.0f | %s |" % (m, mo, p, sum(x[0] for x in v), " | ".join(
                    str(sum(x[1][i] for x in v)) for i in range(len(ZS) + 1))))
    for lab, sel in (("rollers", ("roller",)), ("mats", ("mat",)), ("pooled", ("roller", "mat"))):
        v = [x for k, x in got.items() if k[1] in sel]
        area = sum(x[0] for x in v)
        print("%s (%.0f cm2) per 100 cm2 at the z above, then at the defaults: %s" % (lab, area, " / ".join(
            "%.2f" % (100.0 * sum(x[1][i] for x in v) / area) for i in range(len(ZS) + 1))))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"%s/%s/%s/%d" % k: v for k, v in got.items()}, fh)


if __name__ == "__main__":
    main()
