#!/usr/bin/python3
"""What lies just under knotmap's candidate thresholds, and where found knots are placed
(issue 11; docs/ALGORITHMS.md 10 step 4).  TUNING seeds only (param_sweep.py's cells and
session cache: models 1 and 2 and bench/sim_independent.py, roller and mat, moderate and
hard; seeds under 100).

For each session: `knotmap process` at the defaults (R) and opened (bench/eval.py's
OPEN_ARGS, O), both with --process-args.  Every candidate of O is labelled true when the
one-to-one matching of `knotmap eval` (within the tolerance, best score first) gives it a
knot, and "default" when R lists it too (same position).  Then per cell:

  placement   over the default candidates matched within 2 tolerances: the mean and sd
              of dx and dy (candidate - knot) in tolerances, and how many lie 0.7-2
              tolerances off along y (a bias or spread that takes knots out of the
              tolerance: a false candidate and a missed knot at once);
  relaxed     F1 at the defaults, and with the opened candidates that R does not list
              added when they pass a relaxed cut (--cuts: z >= Z, persistence >= P,
              fitted size > S mm; amplitude >= 4 kPa): knots gained and false added.
              The opened run sets the mats' contact share to 0, so a cut here does not
              re-apply it: a relaxed z on mats also lets back the relief it removes.

Usage: /usr/bin/python3 bench/near_threshold.py [--bin build/knotmap] [--cache DIR]
           [--seeds 0-19] [--jobs 2] [--cells 2/mat/moderate,...] [--process-args "..."]
           [--cuts "4.5,0.3,0;4,0.99,0;4.5,0.3,3.2"]
"""
import argparse
import concurrent.futures as cf
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402  (bench/eval.py)
import param_sweep as ps  # noqa: E402


def one(a, m, mo, p, s, tmp):
    f, r, o, tol = ps.default_and_opened(a, m, mo, p, s, tmp)
    import h5py
    with h5py.File(f) as h:
        tx, ty = h["truth/knots/x_mm"][:], h["truth/knots/y_mm"][:]
    c, co = kev.read_candidates(r), kev.read_candidates(o)
    os.unlink(r)
    os.unlink(o)
    mt = {i for i, _, _ in kev.match(kev.pairs_within(co["x_mm"], co["y_mm"], tx, ty, tol),
                                     len(co["x_mm"]))}
    dset = set(zip(np.round(c["x_mm"], 3), np.round(c["y_mm"], 3)))
    opened = [dict(x=float(co["x_mm"][i]), y=float(co["y_mm"][i]),
                   z=float(co["significance"][i]), pers=float(co["persistence"][i]),
                   size=float(co["size_mm"][i]), amp=float(co["amplitude"][i]), true=i in mt,
                   default=(round(float(co["x_mm"][i]), 3), round(float(co["y_mm"][i]), 3))
                   in dset) for i in range(len(co["x_mm"]))]
    return dict(cell="%s/%s/%s" % (m, mo, p), tol=tol, tx=list(tx), ty=list(ty),
                cx=list(map(float, c["x_mm"])), cy=list(map(float, c["y_mm"])), opened=opened)


def f1(cx, cy, s):
    nm = len(kev.match(kev.pairs_within(cx, cy, s["tx"], s["ty"], s["tol"]), len(cx)))
    n = len(cx) + len(s["tx"])
    return 2 * nm / n if n else 1.0


def placement(rows):
    d = []
    for s in rows:
        for i, j, _ in kev.match(kev.pairs_within(s["cx"], s["cy"], s["tx"], s["ty"],
                                                  2 * s["tol"]), len(s["cx"])):
            d.append(((s["cx"][i] - s["tx"][j]) / s["tol"], (s["cy"][i] - s["ty"][j]) / s["tol"]))
    d = np.asarray(d).reshape(-1, 2)
    return len(d), d.mean(0), d.std(0), int((abs(d[:, 1]) > 0.7).sum())


def relaxed(rows, z, pers, size):
    f0 = f1a = 0.0
    gained = added = 0
    for s in rows:
        add = [o for o in s["opened"] if not o["default"] and o["z"] >= z and
               o["pers"] >= pers and o["size"] > size and o["amp"] >= 4.0]
        f0 += f1(s["cx"], s["cy"], s)
        f1a += f1(s["cx"] + [o["x"] for o in add], s["cy"] + [o["y"] for o in add], s)
        gained += sum(o["true"] for o in add)
        added += sum(not o["true"] for o in add)
    return f0 / len(rows), f1a / len(rows), gained, added


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "knotmap_sweep"))
    ap.add_argument("--seeds", default="0-19", help="tuning seeds, A-B")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cells", default="")
    ap.add_argument("--process-args", default="")
    ap.add_argument("--cuts", default="4.5,0.3,0;4,0.99,0;4.5,0.3,3.2",
                    help="relaxed cuts z,persistence,size_mm separated by ;")
    a = ap.parse_args()
    cells = [c for c in ps.CELLS if not a.cells or "/".join(c) in a.cells.split(",")]
    lo, hi = (int(v) for v in a.seeds.split("-"))
    if hi >= 100:
        sys.exit("near_threshold.py: seeds from 100 (independent) and 1000 (models) are held back")
    os.makedirs(a.cache, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, cf.ThreadPoolExecutor(a.jobs) as ex:
        res = list(ex.map(lambda j: one(a, *j, tmp),
                          [(*c, s) for c in cells for s in range(lo, hi + 1)]))
    by = {}
    for s in res:
        by.setdefault(s["cell"], []).append(s)
    cuts = [tuple(float(v) for v in c.split(",")) for c in a.cuts.split(";")]
    print("| cell | matched | dx mean / sd (tol) | dy mean / sd (tol) | 0.7-2 tol off in y |"
          " F1 | " + " | ".join("z>=%g p>=%g size>%g" % c for c in cuts) + " |")
    print("|---" * (6 + len(cuts)) + "|")
    mean = [0.0] * (1 + len(cuts))
    for cell, rows in by.items():
        n, mu, sd, off = placement(rows)
        rl = [relaxed(rows, *c) for c in cuts]
        mean[0] += rl[0][0] / len(by)
        for k, r in enumerate(rl):
            mean[k + 1] += r[1] / len(by)
        print("| %s | %d | %+.3f / %.3f | %+.3f / %.3f | %d | %.3f | %s |" % (
            cell, n, mu[0], sd[0], mu[1], sd[1], off, rl[0][0],
            " | ".join("%.3f (+%d, +%d false)" % (r[1], r[2], r[3]) for r in rl)))
    print("| mean | | | | | %.4f | %s |" % (mean[0], " | ".join("%.4f" % v for v in mean[1:])))
    print("\nseeds %s, 20 s; %s %s" % (a.seeds, a.bin, a.process_args))


if __name__ == "__main__":
    main()
