#!/usr/bin/python3
"""Where a roller knot's amplitude is lost between the sensor and the candidate (issue 11).

Per knot of `knotmap synth --model 2 --mode roller` sessions (TUNING seeds, default 1-20,
hard, 20 s), four readings of its excess in kPa, each one step further down the pipeline:

  raw      per pass, the largest excess over the frames of the pass of the taxel in the
           knot's column whose TRUE body position (km_synth_motion) lies within half a
           row pitch of the knot (the sensor's best sample of it), over the row median
           within +-W columns (W as docs/ALGORITHMS.md 10 step 1); mean over the passes.
           Also: `|dy|`, the mean distance of those samples from the knot along y in row
           pitches, and `wide`, the same samples over a background that cannot see the
           knot (the median of the row's contact taxels further than 3 footprint sigmas).
  ctrl     `raw` 25 mm to either side of the knot: the pass maximum's noise floor;
  map_true the candidate map A (every threshold opened) at the knot's cell with the TRUE
           odometry; map the same with the estimated odometry (the pipeline's);
  ring     A's median over the cells 2.5 footprint sigmas or more from the knot (within
           +-3 rows, +-6 columns); map_net = map - ring, raw_net = raw - ctrl;
  fit      the fitted amplitude of the nearest candidate of the opened run (0: none).

So raw / truth is the sensor's own sampling (row pitch, sensing area, crosstalk, gain),
raw / wide what the row median takes, map_true / raw what the deposit onto cells of one
row pitch and the mean over passes take, map / map_true the odometry's error, and
fit / map_net the filter.  Printed: per found and missed knots the median of each
reading over the truth and of each stage's ratio; then every miss (no default candidate
within the tolerance).  fit / map_net is not what the filter keeps of the map: map_net is A at the
knot's own cell over a ring of A (before the column median the filter works on), and a knot
without an opened candidate enters with fit 0 (missed model 2 roller hard: 0.80 so, 1.00
on the ridge-free map's peak near the knot; bench/fit_loss.py, bench/HISTORY.md "Session 40
(det14)").  The footprint sigma is not in the Python truth: the nodule sigma
(at least 3 mm) stands for it in `wide` and `ring`.

Usage: /usr/bin/python3 bench/map_loss.py [--seeds 20] [--seed-start 1] [--preset hard]
           [--jobs 2]
Needs the Python bindings on PYTHONPATH (build/python).
"""
import argparse
import concurrent.futures as cf
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from roller_misses import nearest  # noqa: E402  (bench/roller_misses.py)

from roller_misses import OPEN  # noqa: E402


def raw_samples(fr, mo, rp, cp, x, y, fs, W, rows, cols):
    """Per pass (a run of frames with a sample within half a pitch of y): max excess
    over the row median and over a knot-blind background, mean |dy| of the samples."""
    cr = np.asarray(mo["contact_row"])
    yc = np.asarray(mo["y_contact_mm"])
    load = np.asarray(mo["load"])
    c = int(round(x / cp))
    lo, hi = max(0, c - W), min(cols, c + W + 1)
    far = np.abs(np.arange(cols) * cp - x) > 3 * fs
    passes = []
    cur = None
    last = -100
    for t in range(fr.shape[0]):
        if load[t] <= 0:
            continue
        d = np.fmod(np.arange(rows) - cr[t] + 1.5 * rows, rows) - 0.5 * rows
        yb = yc[t] + d * rp
        k = np.flatnonzero((np.abs(yb - y) <= 0.5 * rp) & (np.abs(d) <= 1.5))
        if len(k) == 0:
            continue
        r = int(k[0])
        row = fr[t, r]
        e = row[c] - np.median(row[lo:hi])
        on = row[far]
        on = on[on > 5.0]
        ew = row[c] - (np.median(on) if len(on) else 0.0)
        if cur is None or t - last > 5:
            cur = [e, ew, abs(yb[r] - y) / rp]
            passes.append(cur)
        else:
            if e > cur[0]:
                cur[0], cur[2] = e, abs(yb[r] - y) / rp
            cur[1] = max(cur[1], ew)
        last = t
    if not passes:
        return math.nan, math.nan, math.nan, 0
    p = np.asarray(passes)
    return float(p[:, 0].mean()), float(p[:, 1].mean()), float(p[:, 2].mean()), len(p)


def one(preset, seed):
    import h5py  # noqa: F401
    import knotmap
    s, t = knotmap.synth(None, model=2, mode="roller", preset=preset, seed=seed, duration=20)
    fr = np.array(s.frames, np.float32)
    meta = s.metadata
    rp, cp = meta["row_pitch_mm"], meta["col_pitch_mm"]
    rows, cols = fr.shape[1], fr.shape[2]
    est = knotmap.odometry(s)
    tru = {k: np.array(v) for k, v in est.items()}
    tru["y_mm"] = np.asarray(t["motion"]["y_contact_mm"], np.float64)
    tru["contact_row"] = np.asarray(t["motion"]["contact_row"], np.float64)
    tru["theta_rad"] = np.asarray(t["motion"]["theta_rad"], np.float64)
    geo = dict(mode="roller", row_pitch_mm=rp, col_pitch_mm=cp, mask=s.mask, time=s.time)
    co = knotmap.candidates(fr, odometry=est, **geo, **OPEN)
    ct = knotmap.candidates(fr, odometry=tru, **geo, **OPEN)
    dflt = knotmap.candidates(fr, odometry=est, **geo)
    kn = t["knots"]
    tol = max(rp, cp)
    W = max(1, int(round(2.0 * 15.0 / cp)))
    out = []
    for j in range(len(kn["x_mm"])):
        x, y = float(kn["x_mm"][j]), float(kn["y_mm"][j])
        # footprint sigma is not in the Python truth; the nodule sigma is a lower bound
        fs = max(float(kn["sigma_mm"][j]), 3.0)
        raw, wide, dy, npass = raw_samples(fr, t["motion"], rp, cp, x, y, fs, W, rows, cols)
        ctrl = [raw_samples(fr, t["motion"], rp, cp, x + sx, y, fs, W, rows, cols)[0]
                for sx in (-25.0, 25.0) if 0 <= x + sx <= (cols - 1) * cp]
        ctrl = float(np.nanmean(ctrl)) if ctrl else math.nan

        def at(c):
            iy = int(round((y - c["y0_mm"]) / rp))
            ix = int(round(x / cp))
            A = c["excess"]
            if 0 <= iy < A.shape[0] and 0 <= ix < A.shape[1]:
                return float(A[iy, ix])
            return math.nan

        def ring(c):
            iy = int(round((y - c["y0_mm"]) / rp))
            ix = int(round(x / cp))
            A = c["excess"]
            v = [A[iy + a, ix + b] for a in range(-3, 4) for b in range(-6, 7)
                 if max(abs(a) * rp, abs(b) * cp) >= 2.5 * fs
                 and 0 <= iy + a < A.shape[0] and 0 <= ix + b < A.shape[1]]
            v = np.asarray(v, np.float64)
            v = v[np.isfinite(v)]
            return float(np.median(v)) if len(v) else math.nan
        i = nearest(co, x, y, tol)
        out.append({"seed": seed, "x": x, "y": y, "amp": float(kn["amplitude_kpa"][j]),
                    "sigma": float(kn["sigma_mm"][j]), "rp": rp, "cp": cp, "raw": raw,
                    "wide": wide, "ctrl": ctrl, "ring": ring(co), "dy": dy, "npass": npass,
                    "map_true": at(ct), "map": at(co),
                    "fit": float(co["amplitude"][i]) if i >= 0 else 0.0,
                    "z": float(co["significance"][i]) if i >= 0 else 0.0,
                    "found": nearest(dflt, x, y, tol) >= 0})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--preset", default="hard")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    if a.seed_start + a.seeds > 100:
        raise SystemExit("map_loss.py: seeds from 1000 are held back")
    rows = []
    with cf.ProcessPoolExecutor(a.jobs) as ex:
        for o in ex.map(one, [a.preset] * a.seeds,
                        range(a.seed_start, a.seed_start + a.seeds)):
            rows.extend(o)
    for r in rows:
        r["raw_net"] = r["raw"] - r["ctrl"]
        r["map_net"] = r["map"] - r["ring"]
    keys = ("amp", "raw", "wide", "ctrl", "raw_net", "map_true", "map", "ring", "map_net",
            "fit")
    for name, sel in (("found", [r for r in rows if r["found"]]),
                      ("missed", [r for r in rows if not r["found"]])):
        print("\n%s: %d knots; medians of each reading / the true amplitude" % (name, len(sel)))
        print("| " + " | ".join(keys[1:]) + " | |dy| (pitches) | row pitch |")
        print("|---" * (len(keys) + 1) + "|")
        m = [np.nanmedian([r[k] / r["amp"] for r in sel]) for k in keys[1:]]
        print("| " + " | ".join("%.2f" % v for v in m) + " | %.2f | %.1f |" % (
            np.nanmedian([r["dy"] for r in sel]), np.median([r["rp"] for r in sel])))
        q = {k: np.nanmedian([r[a] / r[b] for r in sel if r[b] > 0]) for k, a, b in (
            ("raw/wide", "raw", "wide"), ("map_true/raw", "map_true", "raw"),
            ("map/map_true", "map", "map_true"), ("fit/map_net", "fit", "map_net"))}
        print("stage ratios (medians per knot): " + ", ".join("%s %.2f" % kv for kv in q.items()))
    print("\nmisses: seed x y | truth | raw wide ctrl map_true map ring fit kPa | z | |dy| | "
          "passes | nodule sigma | row pitch")
    for r in rows:
        if not r["found"]:
            print("%2d %5.0f %5.0f | %5.1f | %5.1f %5.1f %5.1f %5.1f %5.1f %5.1f %5.1f | %4.1f | "
                  "%.2f | %2d | %4.1f | %4.1f" % (
                      r["seed"], r["x"], r["y"], r["amp"], r["raw"], r["wide"], r["ctrl"],
                      r["map_true"], r["map"], r["ring"], r["fit"], r["z"], r["dy"],
                      r["npass"], r["sigma"], r["rp"]))


if __name__ == "__main__":
    main()
