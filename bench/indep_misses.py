#!/usr/bin/python3
"""Why knots of the independent simulator's rollers are missed (issue 11; docs/ALGORITHMS.md 10).

For each session of bench/sim_independent.py (TUNING seeds only, 1-99; default roller,
moderate and hard, 20 s), or with --sim third of bench/sim_third.py (seeds 0-99; with
--conditions only the named conditions on, as eval_third.py's), it runs

  knotmap process S.h5 -o R.h5                            the defaults
  knotmap process S.h5 OPEN_ARGS -o O.h5                  every threshold opened
  knotmap process S.h5 OPEN_ARGS --cand-min-distance-mm 1 -o D.h5

and classes every knot that the default run misses (one-to-one matching within the
eval tolerance, the larger pitch, as `knotmap eval`):

  below a threshold  the opened run matches it: a candidate cut by min_snr (z < 4),
                     min_persistence or min_prominence; "false above" = false candidates
                     of the opened run that score higher;
  placed off         the opened run has a candidate 1-2 tolerances away and none within
                     one: dx, dy (candidate - knot) in mm and in pitches;
  merged             only with the peak window opened (min_distance_mm 1 cell): a
                     stronger peak within +-min_distance_mm took it;
  never seen         only when every pass sees every cell (the opened run with
                     --cand-seen-threshold 0): no pass maximum at the knot reached the
                     seen threshold (8 kPa), and a peak never seen is no candidate even
                     opened;
  never a candidate  no candidate within 2 tolerances at any threshold; then from the
                     candidate map A (/bodymap/excess) at the knot (the largest cell
                     within +-1 cell of the knot's cell):
                       off the map     its cell outside the map or covered by < 2 passes
                                       (the odometry);
                       under the noise its excess over the ring 2 cells away < 4 noise sd
                                       (the map's noise, 10.4: 1.4826 MAD of horizontal
                                       differences / sqrt 2, raised by a +-4-cell window);
                       one column      its left and right neighbours under 0.15 of that
                                       excess: one column wide, as a hot taxel (the spike
                                       and isolated-cell tests of 10.4);
                       shape rule      otherwise: a knot on A above the noise that a shape
                                       test dropped (elongated, edge of the contact, broader
                                       than any footprint searched).

The classes use only the result files, so they can be run on any build (--bin).
Every knot also gets the map's reading at it (map_share: the excess over the ring on A,
as for "never a candidate", over its true amplitude); --by-sigma prints the classes and
that reading per bin of the knot's sigma across the fibres over the column pitch, and
per cell and bin of its SNR over one frame's total per-taxel error (either simulator:
eval_independent.knot_snr, sim_third.knot_snr), with the recall at SNR >= 3 and >= 5.
--process-args adds options to every run (diagnosis only).

Usage: /usr/bin/python3 bench/indep_misses.py [--bin build/knotmap] [--seeds 40]
           [--seed-start 1] [--modes roller] [--presets moderate,hard] [--jobs 2]
           [--list] [--json FILE] [--by-sigma] [--process-args "..."]
       /usr/bin/python3 bench/indep_misses.py --sim third --seed-start 0 --seeds 20
           --modes roller,mat --presets hard --conditions footprint --by-sigma
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402  (bench/eval.py)
import eval_independent as ei  # noqa: E402  (knot_snr)
import sim_independent  # noqa: E402
import sim_third  # noqa: E402

CLASSES = ("below a threshold", "placed off", "merged", "never seen", "off the map",
           "under the noise", "one column", "shape rule")


def ring_excess(a, y, x):
    """a[y, x] over the median of the finite cells of the ring 2 cells away."""
    ring = [a[y + j, x + k] for j in range(-2, 3) for k in range(-2, 3)
            if max(abs(j), abs(k)) == 2 and 0 <= y + j < a.shape[0] and 0 <= x + k < a.shape[1]]
    ring = [v for v in ring if np.isfinite(v)]
    return a[y, x] - np.median(ring) if len(ring) >= 4 else float("nan")


def map_noise(a, y, x):
    """10.4's noise at (y, x): the global estimate raised by the +-4-cell window's."""
    def est(w):
        d = np.diff(w, axis=1).ravel()
        d = d[np.isfinite(d)]
        return 1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2) if len(d) > 1 else 0.0
    return max(est(a), est(a[max(y - 4, 0):y + 5, max(x - 4, 0):x + 5]))


def map_at(res, kx, ky, pitch):
    """The candidate map A (/bodymap/excess) at a knot: the largest cell within +-1
    cell of the knot's, its excess over the ring 2 cells away, that in the map's noise
    (z) and the larger of its left and right neighbours' share of it; None when the
    knot's cell is off the map or covered by < 2 passes."""
    with h5py.File(res) as f:
        b = f["bodymap"]
        a = b["excess"][:].astype(np.float64)
        cov = b["coverage"][:]
        y0 = float(b.attrs["y0_mm"])
    rp, cp = pitch
    r, c = int(round((ky - y0) / rp)), int(round(kx / cp))
    if not (0 <= r < a.shape[0] and 0 <= c < a.shape[1]) or cov[r, c] < 2:
        return None
    best = None
    for j in (-1, 0, 1):
        for k in (-1, 0, 1):
            y, x = r + j, c + k
            if 0 <= y < a.shape[0] and 0 <= x < a.shape[1] and np.isfinite(a[y, x]):
                if best is None or a[y, x] > a[best]:
                    best = (y, x)
    if best is None:
        return None
    y, x = best
    e = ring_excess(a, y, x)
    z = e / map_noise(a, y, x)
    share = max((a[y, x + k] - (a[y, x] - e)) / e if 0 <= x + k < a.shape[1] else -1.0
                for k in (-1, 1)) if e > 0 else float("nan")
    return float(e), float(z), float(share)


def on_map(res, kx, ky, tol, pitch):
    """The map's verdict on a knot no candidate came near (see the docstring)."""
    m = map_at(res, kx, ky, pitch)
    if m is None:
        return "off the map", {}
    info = {"z_map": m[1], "side_share": m[2]}
    if not (m[1] >= 4.0):
        return "under the noise", info
    if m[2] < 0.15:
        return "one column", info
    return "shape rule", info


def third_session(a, s, mode, preset, seed):
    """bench/sim_third.py's session (a.conditions on, or all) in sim_independent's
    terms: knots with x, y, sx (across the fibres), sy (along), amp, and the pitches."""
    conds = None if a.conditions is None else [c for c in a.conditions.split(",") if c]
    sim_third.write(s, mode, preset, seed, a.duration, conds)
    with h5py.File(s) as f:
        k = f["truth/knots"]
        t = {n: k[n][:] for n in ("x_mm", "y_mm", "sigma_across_mm", "sigma_along_mm",
                                  "amplitude_kpa")}
        d = {"row_pitch": float(f.attrs["row_pitch_mm"]),
             "col_pitch": float(f.attrs["col_pitch_mm"])}
    snr = sim_third.knot_snr(s, "total")
    d["knots"] = [{"x": t["x_mm"][j], "y": t["y_mm"][j], "sx": t["sigma_across_mm"][j],
                   "sy": t["sigma_along_mm"][j], "amp": t["amplitude_kpa"][j],
                   "snr": float(snr[j])} for j in range(len(t["x_mm"]))]
    return d


def one(a, mode, preset, seed, tmp):
    tag = "%s_%s_%d" % (mode, preset, seed)
    s, r, o, dd = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5", ".o.h5", ".d.h5"))
    if a.sim == "third":
        d = third_session(a, s, mode, preset, seed)
    else:
        d = sim_independent.write(s, mode, preset, seed, a.duration)
        for k, v in zip(d["knots"], ei.knot_snr(d, "total")):
            k["snr"] = float(v)
    extra = a.process_args.split()
    kev.run(a.bin, "process", "-q", s, *extra, "-o", r)
    kev.run(a.bin, "process", "-q", s, *extra, *kev.OPEN_ARGS.split(), "-o", o)
    kev.run(a.bin, "process", "-q", s, *extra, *kev.OPEN_ARGS.split(),
            "--cand-min-distance-mm", "1", "-o", dd)
    rp, cp = d["row_pitch"], d["col_pitch"]
    tol = max(rp, cp)
    tx = np.array([k["x"] for k in d["knots"]])
    ty = np.array([k["y"] for k in d["knots"]])
    cr, co, cd = (kev.read_candidates(p) for p in (r, o, dd))
    got = {j for _, j, _ in kev.match(kev.pairs_within(cr["x_mm"], cr["y_mm"], tx, ty, tol),
                                      len(cr["x_mm"]))}
    mo = {j: i for i, j, _ in kev.match(kev.pairs_within(co["x_mm"], co["y_mm"], tx, ty, tol),
                                        len(co["x_mm"]))}
    md = {j for _, j, _ in kev.match(kev.pairs_within(cd["x_mm"], cd["y_mm"], tx, ty, tol),
                                     len(cd["x_mm"]))}
    false_o = np.ones(len(co["x_mm"]), bool)
    false_o[list(mo.values())] = False
    us = os.path.join(tmp, tag + ".u.h5")
    memo = []

    def unseen():
        """Knots matched once every pass sees every cell (the opened run with
        --cand-seen-threshold 0; run only when a knot gets this far)."""
        if not memo:
            kev.run(a.bin, "process", "-q", s, *extra, *kev.OPEN_ARGS.split(),
                    "--cand-seen-threshold", "0", "-o", us)
            cu = kev.read_candidates(us)
            os.unlink(us)
            memo.append({j for _, j, _ in kev.match(
                kev.pairs_within(cu["x_mm"], cu["y_mm"], tx, ty, tol), len(cu["x_mm"]))})
        return memo[0]
    out = []
    for j, k in enumerate(d["knots"]):
        row = {"mode": mode, "preset": preset, "seed": seed, "knot": j, "x": k["x"], "y": k["y"],
               "sx": k["sx"], "sy": k["sy"], "amp": k["amp"], "row_pitch": rp, "col_pitch": cp,
               "snr": k.get("snr", float("nan"))}
        m = map_at(r, k["x"], k["y"], (rp, cp))
        row["map_share"] = m[0] / k["amp"] if m is not None and k["amp"] > 0 else float("nan")
        if j in got:
            row["class"] = "found"
        elif j in mo:
            i = mo[j]
            row.update({"class": "below a threshold", "z": float(co["significance"][i]),
                        "persistence": float(co["persistence"][i]),
                        "false_above": int(np.sum(false_o & (co["score"] > co["score"][i])))})
        else:
            dist = np.hypot(co["x_mm"] - k["x"], co["y_mm"] - k["y"])
            i = int(np.argmin(dist)) if len(dist) else -1
            if i >= 0 and dist[i] <= 2 * tol:
                dx, dy = co["x_mm"][i] - k["x"], co["y_mm"][i] - k["y"]
                row.update({"class": "placed off", "dx": float(dx), "dy": float(dy),
                            "dx_pitch": float(dx / cp), "dy_pitch": float(dy / rp),
                            "z": float(co["significance"][i]),
                            "taken": bool(not false_o[i])})
            elif j in md:
                row["class"] = "merged"
            elif j in unseen():
                row["class"] = "never seen"
            else:
                row["class"], info = on_map(r, k["x"], k["y"], tol, (rp, cp))
                row.update(info)
        out.append(row)
    for p in (s, r, o, dd):
        os.unlink(p)
    return out


def table(rows):
    print("| mode | preset | knots | found | " + " | ".join(CLASSES) + " |")
    print("|---" * (4 + len(CLASSES)) + "|")
    for key in sorted({(r["mode"], r["preset"]) for r in rows}, key=lambda k: (k[0], k[1] != "moderate")):
        rs = [r for r in rows if (r["mode"], r["preset"]) == key]
        n = {c: sum(r["class"] == c for r in rs) for c in ("found",) + CLASSES}
        print("| %s | %s | %d | %s |" % (*key, len(rs), " | ".join(
            str(n[c]) for c in ("found",) + CLASSES)))


def details(rows):
    print("\n| preset | seed | row x col pitch (mm) | knot sigma x, y (mm) | kPa | class | detail |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if r["class"] == "found":
            continue
        c = r["class"]
        if c == "below a threshold":
            det = "z %.1f, persistence %.2f, %d false above" % (r["z"], r["persistence"],
                                                                r["false_above"])
        elif c == "placed off":
            det = "dx %+.1f dy %+.1f mm (%+.2f, %+.2f pitches), z %.1f%s" % (
                r["dx"], r["dy"], r["dx_pitch"], r["dy_pitch"], r["z"],
                ", matched to another knot" if r["taken"] else "")
        elif "z_map" in r:
            det = "map z %.1f, side share %.2f" % (r["z_map"], r["side_share"])
        else:
            det = ""
        print("| %s | %d | %.1f x %.1f | %.1f, %.1f | %.0f | %s | %s |" % (
            r["preset"], r["seed"], r["row_pitch"], r["col_pitch"], r["sx"], r["sy"], r["amp"],
            c, det))


SIGMA_BINS = (0.0, 0.35, 0.5, 0.75, 1.0, 1.5, np.inf)


SNR_BINS = (0.0, 3.0, 5.0, 10.0, np.inf)


def by_sigma(rows):
    """The classes per bin of the knot's SNR over one frame's total per-taxel error
    (eval_independent.knot_snr / sim_third.knot_snr "total"), per cell, with the recall
    of the knots at SNR >= 3 and >= 5; then per bin of the knot's sigma across the
    fibres (sx) over the column pitch, its sigma in mm (median) and the map's reading at
    the knot (map_at's excess over the true amplitude, median over the knots found and
    missed)."""
    snr_rows = [r for r in rows if np.isfinite(r["snr"])]
    if snr_rows:
        print("\n| cell | total SNR | knots | found | " + " | ".join(CLASSES) + " |")
        print("|---" * (4 + len(CLASSES)) + "|")
        for key in sorted({(r["mode"], r["preset"]) for r in snr_rows},
                          key=lambda k: (k[0], k[1] != "moderate")):
            cell = [r for r in snr_rows if (r["mode"], r["preset"]) == key]
            bins = [(lo, hi, "%g-%g" % (lo, hi)) for lo, hi in zip(SNR_BINS[:-1], SNR_BINS[1:])]
            for lo, hi, name in bins + [(3.0, np.inf, ">= 3"), (5.0, np.inf, ">= 5")]:
                rs = [r for r in cell if lo <= r["snr"] < hi]
                n = {c: sum(r["class"] == c for r in rs) for c in ("found",) + CLASSES}
                found = "%d (%s)" % (n["found"], "%.2f" % (n["found"] / len(rs)) if rs else "-")
                print("| %s %s | %s | %d | %s | %s |" % (
                    *key, name, len(rs), found, " | ".join(str(n[c]) for c in CLASSES)))
    print("\n| sigma x / col pitch | knots | median sigma x mm | map / truth found, missed | found | "
          + " | ".join(CLASSES) + " |")
    print("|---" * (5 + len(CLASSES)) + "|")
    for lo, hi in zip(SIGMA_BINS[:-1], SIGMA_BINS[1:]):
        rs = [r for r in rows if lo <= r["sx"] / r["col_pitch"] < hi]
        if not rs:
            continue
        n = {c: sum(r["class"] == c for r in rs) for c in ("found",) + CLASSES}
        share = ["%.2f" % np.nanmedian([r["map_share"] for r in rs if (r["class"] == "found") == f])
                 if any((r["class"] == "found") == f for r in rs) else "-" for f in (True, False)]
        print("| %.2f-%.2f | %d | %.1f | %s, %s | %s |" % (
            lo, hi, len(rs), np.median([r["sx"] for r in rs]), *share,
            " | ".join(str(n[c]) for c in ("found",) + CLASSES)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--modes", default="roller")
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sim", choices=("independent", "third"), default="independent",
                    help="bench/sim_independent.py or bench/sim_third.py (seeds 0-99)")
    ap.add_argument("--conditions", default=None,
                    help="--sim third: only these conditions on (eval_third.py's)")
    ap.add_argument("--process-args", default="", help="extra `knotmap process` options")
    ap.add_argument("--by-sigma", action="store_true",
                    help="classes per true sigma across over the column pitch")
    ap.add_argument("--list", action="store_true", help="one row per missed knot")
    ap.add_argument("--json", default=None, help="write every knot's row here")
    a = ap.parse_args()
    if a.seed_start + a.seeds - 1 >= 100:
        ap.error("tuning seeds only (%d-99): 100 and up are held back"
                 % (0 if a.sim == "third" else 1))
    rows = []
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(a.jobs) as ex:
        futs = [ex.submit(one, a, m, p, s, tmp) for m in a.modes.split(",")
                for p in a.presets.split(",") for s in range(a.seed_start, a.seed_start + a.seeds)]
        for f in futs:
            rows += f.result()
    table(rows)
    if a.by_sigma:
        by_sigma(rows)
    if a.list:
        details(rows)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    print("\n%d seeds from %d, %g s each; bench/sim_%s.py%s; %s %s"
          % (a.seeds, a.seed_start, a.duration, a.sim,
             "" if a.conditions is None else " (conditions: %s)" % a.conditions, a.bin,
             a.process_args))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
