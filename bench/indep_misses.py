#!/usr/bin/python3
"""Why knots of the independent simulator's rollers are missed (issue 11; docs/ALGORITHMS.md 10).

For each session of bench/sim_independent.py (TUNING seeds only, 1-99; default roller,
moderate and hard, 20 s) it runs

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

Usage: /usr/bin/python3 bench/indep_misses.py [--bin build/knotmap] [--seeds 40]
           [--seed-start 1] [--modes roller] [--presets moderate,hard] [--jobs 2]
           [--list] [--json FILE]
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
import sim_independent  # noqa: E402

CLASSES = ("below a threshold", "placed off", "merged", "off the map", "under the noise",
           "one column", "shape rule")


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


def on_map(res, kx, ky, tol, pitch):
    """The map's verdict on a knot no candidate came near (see the docstring)."""
    with h5py.File(res) as f:
        b = f["bodymap"]
        a = b["excess"][:].astype(np.float64)
        cov = b["coverage"][:]
        y0 = float(b.attrs["y0_mm"])
    rp, cp = pitch
    r, c = int(round((ky - y0) / rp)), int(round(kx / cp))
    if not (0 <= r < a.shape[0] and 0 <= c < a.shape[1]) or cov[r, c] < 2:
        return "off the map", {}
    best = None
    for j in (-1, 0, 1):
        for k in (-1, 0, 1):
            y, x = r + j, c + k
            if 0 <= y < a.shape[0] and 0 <= x < a.shape[1] and np.isfinite(a[y, x]):
                if best is None or a[y, x] > a[best]:
                    best = (y, x)
    if best is None:
        return "off the map", {}
    y, x = best
    e = ring_excess(a, y, x)
    z = e / map_noise(a, y, x)
    share = max((a[y, x + k] - (a[y, x] - e)) / e if 0 <= x + k < a.shape[1] else -1.0
                for k in (-1, 1)) if e > 0 else float("nan")
    info = {"z_map": float(z), "side_share": float(share)}
    if not (z >= 4.0):
        return "under the noise", info
    if share < 0.15:
        return "one column", info
    return "shape rule", info


def one(a, mode, preset, seed, tmp):
    tag = "%s_%s_%d" % (mode, preset, seed)
    s, r, o, dd = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5", ".o.h5", ".d.h5"))
    d = sim_independent.write(s, mode, preset, seed, a.duration)
    kev.run(a.bin, "process", "-q", s, "-o", r)
    kev.run(a.bin, "process", "-q", s, *kev.OPEN_ARGS.split(), "-o", o)
    kev.run(a.bin, "process", "-q", s, *kev.OPEN_ARGS.split(), "--cand-min-distance-mm", "1",
            "-o", dd)
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
    out = []
    for j, k in enumerate(d["knots"]):
        row = {"mode": mode, "preset": preset, "seed": seed, "knot": j, "x": k["x"], "y": k["y"],
               "sx": k["sx"], "sy": k["sy"], "amp": k["amp"], "row_pitch": rp, "col_pitch": cp}
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--modes", default="roller")
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--list", action="store_true", help="one row per missed knot")
    ap.add_argument("--json", default=None, help="write every knot's row here")
    a = ap.parse_args()
    if a.seed_start + a.seeds - 1 >= 100:
        ap.error("tuning seeds only (1-99): 100 and up are held back")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(a.jobs) as ex:
        futs = [ex.submit(one, a, m, p, s, tmp) for m in a.modes.split(",")
                for p in a.presets.split(",") for s in range(a.seed_start, a.seed_start + a.seeds)]
        for f in futs:
            rows += f.result()
    table(rows)
    if a.list:
        details(rows)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    print("\n%d seeds from %d, %g s each; bench/sim_independent.py; %s"
          % (a.seeds, a.seed_start, a.duration, a.bin))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
