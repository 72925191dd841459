#!/usr/bin/python3
"""Roller odometry against the true motion (issue 11; docs/ALGORITHMS.md 7.1).

For roller sessions of bench/sim_independent.py (TUNING seeds 1-99) and of `knotmap synth`
models 1 and 2 (seeds 1-40 are tuning seeds), it runs the odometry (knotmap.odometry, the
pipeline's km_odometry with its defaults, on the session's frames) and compares it with
the simulator's own contact line, frame by frame:

  travel   the distance rolled along the body, estimated / true (sum of |dy| between
           positions 0.25 s apart, the truth's over steps in contact; 1 = right; the
           estimate's frame-to-frame jitter is left out so, not all of it);
  span     the range of y covered, estimated / true;
  rms, max the position error over the frames in true contact that the odometry did not
           flag lifted: (y_est - y_est at the first such frame) - (the same for the truth),
           in mm and in row pitches;
  lost     frames in true contact that the odometry flagged lifted (below lift_threshold,
           not the light ones), in %.

With --lifts, what each lift passes on (docs/ALGORITHMS.md 7.1 step 5, "the walk"): inside
one contact the travel between two firm frames is their contact rows' difference, so the
error changes only across lifts, by rp * (e_L - e_A) - (y_A - y_L), e = estimated - true
contact row of the last firm frame L before the lift and the first one A after it (the
simulator's own row: model 2's motion truth, the independent simulator's y / radius), y the
true body position; per session: lifts, the final error, the mean and sd of that change a
lift (t = mean / sd * sqrt(lifts)), and its mean at the far end (y above the median) and
the near end.

A physiotherapist expects the knot where it is: the body map places every sample at the
odometry's y, so a travel ratio away from 1 stretches the map and a max error of a row
pitch moves a knot by a cell.

Usage: /usr/bin/python3 bench/odo_travel.py [--sims indep,m1,m2] [--presets moderate,hard]
           [--seeds 40] [--seed-start 1] [--worst 15] [--jobs 2] [--json FILE] [--lifts] [--anchor]
Needs the Python bindings on PYTHONPATH (build/python).
"""
import argparse
import concurrent.futures as cf
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sim_independent  # noqa: E402


def session(sim, preset, seed, duration):
    """frames [T, R, C], true contact y [T], true load [T], radius, row pitch, extra info."""
    if sim == "indep":
        d = sim_independent.draw("roller", preset, seed)
        y, lean = sim_independent.motion(d, duration)
        fr = sim_independent.frames(sim_independent.draw("roller", preset, seed), duration)
        info = "band %.1f mm" % d["band_mm"]
        ct = (y / d["radius"]) / (2 * math.pi) * d["rows"] % d["rows"]
        return fr, y, lean, d["radius"], d["row_pitch"], info, ct
    import knotmap
    s, t = knotmap.synth(None, model=int(sim[1]), mode="roller", preset=preset, seed=seed,
                         duration=duration)
    m = t["motion"]
    meta = s.metadata
    return (np.asarray(s.frames, np.float32), np.asarray(m["y_contact_mm"], np.float64),
            np.asarray(m["load"], np.float64), meta["roller_radius_mm"], meta["row_pitch_mm"],
            "", np.asarray(m["contact_row"], np.float64))


def one(sim, preset, seed, duration):
    import knotmap
    fr, yt, load, radius, rp, info, ct = session(sim, preset, seed, duration)
    R = fr.shape[1]
    o = knotmap.odometry(fr, roller_radius_mm=radius)
    del fr
    ye = np.asarray(o["y_mm"], np.float64)
    lifted = (np.asarray(o["flags"]) & knotmap.ODO_LIFTED) != 0
    light = (np.asarray(o["flags"]) & knotmap.ODO_LIGHT) != 0
    touch = load > 0
    step = 25  # frames at 100 Hz: 0.25 s
    both = touch[step::step] & touch[:-step:step]
    t_travel = float(np.sum(np.abs(np.diff(yt[::step]))[both]))
    e_travel = float(np.sum(np.abs(np.diff(ye[::step]))))
    on = np.flatnonzero(touch & ~lifted)
    row = {"sim": sim, "preset": preset, "seed": seed, "row_pitch": rp, "info": info,
           "true_travel": t_travel, "travel": e_travel / t_travel if t_travel > 0 else float("nan"),
           "lost": float(np.mean(lifted[touch] & ~light[touch])) * 100 if touch.any() else 0.0}
    if len(on):
        err = (ye[on] - ye[on[0]]) - (yt[on] - yt[on[0]])
        row["rms"] = float(np.sqrt(np.mean(err ** 2)))
        row["max"] = float(np.max(np.abs(err)))
        row["span"] = float(np.ptp(ye[on]) / max(np.ptp(yt[on]), 1e-9))
    else:
        row.update({"rms": float("nan"), "max": float("nan"), "span": float("nan")})
    row.update(lifts(o, yt, touch, ct, R, rp))
    row.update(anchor(o, yt, touch, ct, R, rp))
    return row


def anchor(o, yt, touch, ct, R, rp):
    """The first firm frame's true y and contact row error (see --anchor)."""
    import knotmap
    fl = np.asarray(o["flags"])
    fi = np.flatnonzero(touch & ((fl & knotmap.ODO_LIFTED) == 0))
    if len(fi) == 0:
        return {"y0": float("nan"), "e0": float("nan")}
    c = float(np.asarray(o["contact_row"], np.float64)[fi[0]])
    return {"y0": float(yt[fi[0]]), "e0": float((c - ct[fi[0]] + R / 2) % R - R / 2)}


def anchor_table(rows):
    print("\n| sim | preset | sessions | true y at the anchor mm: mean [min, max] | e0 rows: "
          "mean (se), sd | e0 mm: mean, rms | knot shift -(y0 + e0 pitch) mm: mean |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted({(r["sim"], r["preset"]) for r in rows}):
        rs = [r for r in rows if (r["sim"], r["preset"]) == key and math.isfinite(r["e0"])]
        y0 = np.array([r["y0"] for r in rs])
        e0 = np.array([r["e0"] for r in rs])
        mm = e0 * np.array([r["row_pitch"] for r in rs])
        print("| %s | %s | %d | %.2f [%.2f, %.2f] | %+.3f (%.3f), %.3f | %+.2f, %.2f | %+.2f |" % (
            *key, len(rs), y0.mean(), y0.min(), y0.max(), e0.mean(),
            e0.std(ddof=1) / math.sqrt(len(rs)), e0.std(ddof=1), mm.mean(),
            math.sqrt(np.mean(mm ** 2)), -np.mean(y0 + mm)))


def lifts(o, yt, touch, ct, R, rp):
    """What each lift passes on (see --lifts)."""
    import knotmap
    fl = np.asarray(o["flags"])
    c = np.asarray(o["contact_row"], np.float64)
    firm = touch & ((fl & knotmap.ODO_LIFTED) == 0)
    A = np.flatnonzero(fl & knotmap.ODO_START)
    fi = np.flatnonzero(firm)
    e = (c - ct + R / 2) % R - R / 2
    out = {"n_lifts": 0, "lift_mean": float("nan"), "lift_sd": float("nan"),
           "lift_far": float("nan"), "lift_near": float("nan"), "final": float("nan")}
    if len(fi) == 0 or len(A) < 2:
        return out
    y = np.asarray(o["y_mm"], np.float64)
    ends = np.searchsorted(fi, A[1:]) - 1  # last firm frame before each re-anchor
    L, An = fi[ends], A[1:]
    keep = (ends >= 0) & (L >= A[0])
    L, An = L[keep], An[keep]
    d = rp * (e[L] - e[An]) - (yt[An] - yt[L])
    far = yt[An] > np.median(yt[fi])
    out.update({"n_lifts": int(len(d)), "lift_mean": float(d.mean()), "lift_sd": float(d.std()),
                "lift_far": float(d[far].mean()) if far.any() else float("nan"),
                "lift_near": float(d[~far].mean()) if (~far).any() else float("nan"),
                "final": float((y[fi[-1]] - y[fi[0]]) - (yt[fi[-1]] - yt[fi[0]]))})
    return out


def lift_table(rows):
    print("\n| sim | preset | seed | row pitch mm | lifts | final error mm | a lift: mean +- sd mm "
          "(t) | far end | near end |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = r["n_lifts"]
        t = r["lift_mean"] / r["lift_sd"] * math.sqrt(n) if n and r["lift_sd"] > 0 else float("nan")
        print("| %s | %s | %d | %.1f | %d | %.1f | %.2f +- %.2f (%.1f) | %.2f | %.2f |" % (
            r["sim"], r["preset"], r["seed"], r["row_pitch"], n, r["final"], r["lift_mean"],
            r["lift_sd"], t, r["lift_far"], r["lift_near"]))


def summary(rows):
    print("| sim | preset | sessions | travel ratio median [min, max] | rms mm median | "
          "max err > 1 pitch | lost % median |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted({(r["sim"], r["preset"]) for r in rows}):
        rs = [r for r in rows if (r["sim"], r["preset"]) == key]
        tr = np.array([r["travel"] for r in rs])
        print("| %s | %s | %d | %.3f [%.3f, %.3f] | %.2f | %d | %.1f |" % (
            *key, len(rs), np.median(tr), tr.min(), tr.max(),
            np.median([r["rms"] for r in rs]),
            sum(r["max"] > r["row_pitch"] for r in rs),
            np.median([r["lost"] for r in rs])))


def worst(rows, n):
    print("\n| sim | preset | seed | row pitch mm | travel est/true | span | rms mm | max mm "
          "(pitches) | lost % | |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    key = lambda r: -(r["max"] / r["row_pitch"] if math.isfinite(r["max"]) else 1e9)  # noqa
    for r in sorted(rows, key=key)[:n]:
        print("| %s | %s | %d | %.1f | %.3f (%.0f mm) | %.3f | %.1f | %.1f (%.2f) | %.1f | %s |" % (
            r["sim"], r["preset"], r["seed"], r["row_pitch"], r["travel"], r["true_travel"],
            r["span"], r["rms"], r["max"], r["max"] / r["row_pitch"], r["lost"], r["info"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sims", default="indep,m1,m2")
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--indep-seeds", type=int, default=None,
                    help="seeds of the independent simulator (default --seeds)")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--worst", type=int, default=15)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--lifts", action="store_true",
                    help="also what each lift passes on, per session (long sessions)")
    ap.add_argument("--anchor", action="store_true",
                    help="also where the body coordinates start (the first firm frame)")
    a = ap.parse_args()
    jobs = []
    for sim in a.sims.split(","):
        n = a.indep_seeds if sim == "indep" and a.indep_seeds else a.seeds
        last = a.seed_start + n - 1
        if (sim == "indep" and last >= 100) or (sim != "indep" and last >= 1000):
            ap.error("tuning seeds only: independent 1-99, models below 1000")
        for p in a.presets.split(","):
            jobs += [(sim, p, s, a.duration) for s in range(a.seed_start, last + 1)]
    with cf.ProcessPoolExecutor(a.jobs) as ex:
        rows = list(ex.map(one, *zip(*jobs)))
    summary(rows)
    worst(rows, a.worst)
    if a.lifts:
        lift_table(rows)
    if a.anchor:
        anchor_table(rows)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
