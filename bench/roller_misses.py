#!/usr/bin/python3
"""Where model 2 roller knots are lost (issue 11; docs/ALGORITHMS.md 7.4).

Per knot of `knotmap synth --model 2 --mode roller` sessions (TUNING seeds, default 1-10,
moderate and hard, 20 s), the candidate layer is run through the Python bindings
(knotmap.candidates, every threshold opened) on the same frames in four variants:

  est      the odometry as knotmap computes it (the pipeline's own result);
  true     the true contact line (y and contact row from km_synth_motion), the
           estimated strength and flags: what odometry error costs;
  nogain   the frames divided by the true per-taxel gain (model 2 applies it after the
           crosstalk, before offsets and noise), estimated odometry: what the gain
           pattern costs (docs/ALGORITHMS.md 7.3);
  both     true odometry and no gain.

For each knot: the nearest candidate within the eval tolerance (the larger pitch) in
each variant, its significance z (0: none), and in `est` its fitted amplitude against
the truth, its persistence and how many false candidates score above it. A knot is
then classed (in `est`):
  found      z >= the default min_snr (4), persistence >= 0.3;
  ranked     no candidate in the default run but in the opened one;
  no peak    no candidate within the tolerance at all.
The table gives median z per variant and the share of knots at z >= 4, and the misses
with their z in each variant, so that odometry (true >> est) and gain (nogain >> est)
are told apart from knots under the map's noise whatever the sensor (both < 4).

Usage: /usr/bin/python3 bench/roller_misses.py [--seeds 10] [--seed-start 1]
           [--presets moderate,hard] [--jobs 2] [--json FILE] [--args "..."]
Needs the Python bindings on PYTHONPATH (build/python).
"""
import argparse
import concurrent.futures as cf
import json
import math

import numpy as np

VARIANTS = ("est", "true", "nogain", "both")
OPEN = {"min_snr": 0.0, "min_prominence": 0.0, "min_persistence": 0.0,
        "max_candidates": -1}


def true_odometry(est, motion):
    """The estimated odometry with the true contact line (y, row, theta)."""
    o = {k: np.array(v) for k, v in est.items()}
    o["y_mm"] = np.asarray(motion["y_contact_mm"], np.float64)
    o["contact_row"] = np.asarray(motion["contact_row"], np.float64)
    o["theta_rad"] = np.asarray(motion["theta_rad"], np.float64)
    return o


def nearest(c, x, y, tol):
    if len(c["x_mm"]) == 0:
        return -1
    d = np.hypot(c["x_mm"] - x, c["y_mm"] - y)
    i = int(np.argmin(d))
    return i if d[i] <= tol else -1


def one(preset, seed, extra):
    import knotmap
    s, t = knotmap.synth(None, model=2, mode="roller", preset=preset, seed=seed, duration=20)
    fr = np.array(s.frames, np.float32)
    g = np.asarray(t["gain"], np.float32)
    fr_ng = np.where(g > 0, fr / np.where(g > 0, g, 1), fr).astype(np.float32)
    meta = s.metadata
    est = knotmap.odometry(s)
    tru = true_odometry(est, t["motion"])
    kn = t["knots"]
    tol = max(meta["row_pitch_mm"], meta["col_pitch_mm"])
    geo = dict(mode="roller", row_pitch_mm=meta["row_pitch_mm"],
               col_pitch_mm=meta["col_pitch_mm"], mask=s.mask, time=s.time)
    res = {}
    for name, f, o in (("est", fr, est), ("true", fr, tru), ("nogain", fr_ng, est),
                       ("both", fr_ng, tru)):
        res[name] = knotmap.candidates(f, odometry=o, **geo, **OPEN, **extra)
    dflt = knotmap.candidates(fr, odometry=est, **geo, **extra)
    # odometry error over contact frames (true load, estimate not lifted)
    on = (np.asarray(t["motion"]["load"]) > 0) & ((est["flags"] & knotmap.ODO_LIFTED) == 0)
    k = np.flatnonzero(on)
    err = (est["y_mm"][k] - est["y_mm"][k[0]]) - (tru["y_mm"][k] - tru["y_mm"][k[0]])
    out = []
    c = res["est"]
    for j in range(len(kn["x_mm"])):
        x, y = float(kn["x_mm"][j]), float(kn["y_mm"][j])
        r = {"seed": seed, "preset": preset, "x": x, "y": y,
             "amp": float(kn["amplitude_kpa"][j]), "sigma": float(kn["sigma_mm"][j]),
             "row_pitch": meta["row_pitch_mm"], "col_pitch": meta["col_pitch_mm"],
             "odo_err_mm": float(np.sqrt(np.mean(err * err)))}
        for v in VARIANTS:
            i = nearest(res[v], x, y, tol)
            r["z_" + v] = float(res[v]["significance"][i]) if i >= 0 else 0.0
        i = nearest(c, x, y, tol)
        if i >= 0:
            r["fit_amp"] = float(c["amplitude"][i])
            r["persistence"] = float(c["persistence"][i])
            r["n_passes"] = int(c["n_passes"][i])
            r["n_covering"] = int(c["n_covering"][i])
            r["size"] = float(c["size_mm"][i])
            sc = float(c["score"][i])
            false = [q for q in range(len(c["x_mm"]))
                     if all(nearest({"x_mm": c["x_mm"][q:q + 1], "y_mm": c["y_mm"][q:q + 1]},
                                    float(kn["x_mm"][m]), float(kn["y_mm"][m]), tol) < 0
                            for m in range(len(kn["x_mm"])))]
            r["false_above"] = int(sum(1 for q in false if c["score"][q] > sc))
        r["found"] = nearest(dflt, x, y, tol) >= 0
        r["cls"] = "found" if r["found"] else ("ranked" if i >= 0 else "no peak")
        out.append(r)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--args", default="", help="candidate params, e.g. 'seen_threshold=6'")
    a = ap.parse_args()
    extra = {}
    for kv in a.args.split():
        k, v = kv.split("=")
        extra[k] = float(v) if "." in v else int(v)
    jobs = [(p, s) for p in a.presets.split(",")
            for s in range(a.seed_start, a.seed_start + a.seeds)]
    rows = []
    with cf.ProcessPoolExecutor(a.jobs) as ex:
        for out in ex.map(one, *zip(*jobs), [extra] * len(jobs)):
            rows.extend(out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f)
    for p in a.presets.split(","):
        rr = [r for r in rows if r["preset"] == p]
        print("\n%s: %d knots, found %d, ranked only %d, no peak %d; odometry RMS %.2f mm" % (
            p, len(rr), sum(r["cls"] == "found" for r in rr),
            sum(r["cls"] == "ranked" for r in rr), sum(r["cls"] == "no peak" for r in rr),
            math.sqrt(np.mean([r["odo_err_mm"] ** 2 for r in rr]))))
        print("| variant | median z | z >= 4 |")
        print("|---|---|---|")
        for v in VARIANTS:
            z = np.array([r["z_" + v] for r in rr])
            print("| %s | %.2f | %.2f |" % (v, np.median(z), np.mean(z >= 4)))
        print("| seed | x | y | amp | nodule sigma | cls | z est/true/nogain/both | fit amp | "
              "pers | passes | false above |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rr:
            if r["cls"] == "found":
                continue
            print("| %d | %.0f | %.0f | %.1f | %.1f | %s | %.1f/%.1f/%.1f/%.1f | %s | %s | %s | %s |" % (
                r["seed"], r["x"], r["y"], r["amp"], r["sigma"], r["cls"], r["z_est"],
                r["z_true"], r["z_nogain"], r["z_both"],
                "%.1f" % r["fit_amp"] if "fit_amp" in r else "-",
                "%.2f" % r["persistence"] if "persistence" in r else "-",
                "%d/%d" % (r["n_passes"], r["n_covering"]) if "n_passes" in r else "-",
                r.get("false_above", "-")))


if __name__ == "__main__":
    main()
