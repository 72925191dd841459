#!/usr/bin/python3
"""Knot detection on sessions of the independent simulator (bench/sim_independent.py).

A held-out check: that simulator shares nothing with knotmap's own models and is never
used for tuning.  Per mode and preset, over --seeds sessions of --duration s:

  /usr/bin/python3 bench/sim_independent.py S.h5 --mode MODE --preset P --seed N
  knotmap process S.h5 -o R.h5                 (defaults)
  knotmap process S.h5 OPEN_ARGS -o O.h5       (every candidate threshold opened)

and the same figures as bench/eval.py (its functions): precision, recall, F1 at the
defaults, AP of the opened run ranked by score, localisation RMS, size error, and the
scipy/scikit-image recipe as the baseline row.

Seeds: 1-99 may be looked at to diagnose a failure (what kind of knot is lost); the
figures of record use seeds from 100 on, never looked at, with the defaults.

Usage: /usr/bin/python3 bench/eval_independent.py [--bin build/knotmap] [--seeds 6]
           [--seed-start 100] [--modes roller,mat] [--presets moderate,hard] [--jobs 2]
           [--process-args "..."]
"""
import argparse
import concurrent.futures as cf
import json
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402  (bench/eval.py)
import sim_independent  # noqa: E402


def one(a, mode, preset, seed, tmp):
    tag = "%s_%s_%d" % (mode, preset, seed)
    s, r, o = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5", ".o.h5"))
    sim_independent.write(s, mode, preset, seed, a.duration)
    extra = a.process_args.split()
    kev.run(a.bin, "process", "-q", s, *extra, "-o", r)
    kev.run(a.bin, "process", "-q", s, *extra, *kev.OPEN_ARGS.split(), "-o", o)
    ev = json.loads(kev.run(a.bin, "eval", r, "--truth", s, "--json"))
    with h5py.File(s) as f:
        k = f["truth/knots"]
        truth = (k["x_mm"][:], k["y_mm"][:], k["footprint_sigma_mm"][:])
        rp = float(f.attrs["row_pitch_mm"])
    tol = ev["tolerance_mm"]
    c = kev.read_candidates(r)
    fig, _, _ = kev.session_figures(c["x_mm"], c["y_mm"], c["score"], c.get("size_mm"),
                                    truth, tol, rp)
    co = kev.read_candidates(o)
    figo, pairs, sc = kev.session_figures(co["x_mm"], co["y_mm"], co["score"], None, truth,
                                          tol, rp)
    fig["ap"] = figo["ap"]
    fig["ranked"] = (pairs, [float(v) for v in sc], len(truth[0]))
    bx, by, bv = kev.recipe(r, s)
    figb, _, _ = kev.session_figures(bx, by, bv, None, truth, tol, rp)
    bx, by, bv = kev.recipe(r, s, 0.0)
    figo, pairs, _ = kev.session_figures(bx, by, bv, None, truth, tol, rp)
    figb["ap"] = figo["ap"]
    figb["ranked"] = (pairs, [float(v) for v in bv], len(truth[0]))
    for f in (s, r, o):
        os.unlink(f)
    return (mode, preset, seed), {"knotmap": fig, "recipe": figb}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--seed-start", type=int, default=100)
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--process-args", default="", help="extra `knotmap process` options "
                    "(diagnosis only: the figures of record use the defaults)")
    a = ap.parse_args()
    cells = [(m, p) for m in a.modes.split(",") for p in a.presets.split(",")]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(a.jobs) as ex:
        futs = [ex.submit(one, a, m, p, s, tmp) for m, p in cells
                for s in range(a.seed_start, a.seed_start + a.seeds)]
        for f in cf.as_completed(futs):
            key, out = f.result()
            rows.setdefault(key[:2], []).append(out)
    print("| mode | preset | method | precision | recall | F1 | F1 worst | AP | best F1 "
          "| RMS mm (x row pitch) | size within 30% |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for m, p in cells:
        for method in ("knotmap", "recipe"):
            s = kev.summarise([r[method] for r in rows[(m, p)]])
            print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s |" % (
                m, p, method, kev.fmt(s["precision"]), kev.fmt(s["recall"]),
                kev.fmt(s["f1"]), kev.fmt(s["f1_min"]), kev.fmt(s["ap"]),
                kev.fmt(s["best_f1"]), kev.fmt(s["rms"], "%.2f"),
                kev.fmt(s["rms_pitch"], "%.2f"),
                kev.fmt(s["size_30"], "%.2f") if method == "knotmap" else "n/a"))
    print("\n%d seeds per cell from %d, %g s each; bench/sim_independent.py"
          % (a.seeds, a.seed_start, a.duration))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
