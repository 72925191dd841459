#!/usr/bin/python3
"""Where the body's shape and the per-taxel gain pattern cost knots (session 35, issue 11).

Per session of bench/sim_third.py (one condition set, e.g. --conditions body or gain):
knotmap at the defaults and opened (bench/eval.py OPEN_ARGS); per true knot: found at the
defaults, the significance z and amplitude of the nearest opened candidate within the
tolerance, its rank, the body's relative pressure at the knot (sim_third.body_profile),
its distance to the body's flank, the candidate map (/bodymap/excess) at the knot's cell and
the cell's pass-to-pass spread (/bodymap/spread); per false candidate at the defaults the
same body figures and eval_third's kind.

Usage: /usr/bin/python3 bench/shape_misses.py --conditions body --preset hard --seeds 10
"""
import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402
import eval_third as e3  # noqa: E402
import sim_third  # noqa: E402


def cell_value(res, name, x, y):
    with h5py.File(res) as f:
        m = f["bodymap/" + name][:]
        xs, ys = f["bodymap/x_mm"][:], f["bodymap/y_mm"][:]
    return float(m[np.argmin(abs(ys - y)), np.argmin(abs(xs - x))])


def session(a, seed, tmp):
    conds = None if a.conditions == "all" else [c for c in a.conditions.split(",") if c]
    s, r, o = (os.path.join(tmp, "%d%s" % (seed, x)) for x in (".s.h5", ".r.h5", ".o.h5"))
    sim_third.write(s, a.mode, a.preset, seed, a.duration, conds)
    kev.run(a.bin, "process", "-q", s, *a.process_args.split(), "-o", r)
    kev.run(a.bin, "process", "-q", s, *a.process_args.split(), *kev.OPEN_ARGS.split(),
            "-o", o)
    tol = json.loads(kev.run(a.bin, "eval", r, "--truth", s, "--json"))["tolerance_mm"]
    with h5py.File(s) as f:
        k = f["truth/knots"]
        tx, ty = k["x_mm"][:], k["y_mm"][:]
        tsig, tamp = k["footprint_sigma_mm"][:], k["amplitude_kpa"][:]
        g = dict(f["truth"].attrs)
        d = {n: f["truth/distractors"][n][:] for n in f["truth/distractors"]}
        cp, rp, mode = f.attrs["col_pitch_mm"], f.attrs["row_pitch_mm"], f.attrs["mode"]
    p = {"body": g["body"], "cols": int(round(g.get("cols", 0))) if "cols" in g else None}
    c, co = kev.read_candidates(r), kev.read_candidates(o)
    m = kev.match(kev.pairs_within(c["x_mm"], c["y_mm"], tx, ty, tol), len(c["x_mm"]))
    found = {j for _, j, _ in m}
    half = g["body_width_mm"] / 2
    rows = []
    for j in range(len(tx)):
        dist = np.hypot(co["x_mm"] - tx[j], co["y_mm"] - ty[j])
        i = int(np.argmin(dist)) if len(dist) else -1
        ok = i >= 0 and dist[i] <= tol
        edge = half - abs(tx[j] - g["body_centre_mm"])
        rows.append(dict(seed=seed, body=g["body"], found=j in found, sigma=tsig[j],
                         amp=tamp[j], z=co["significance"][i] if ok else np.nan,
                         camp=co["amplitude"][i] if ok else np.nan, rank=i if ok else -1,
                         edge=edge, cp=cp, rp=rp,
                         A=cell_value(r, "excess", tx[j], ty[j]),
                         s=cell_value(r, "spread", tx[j], ty[j])))
    false = []
    for i in set(range(len(c["x_mm"]))) - {i for i, _, _ in m}:
        x, y = c["x_mm"][i], c["y_mm"][i]
        false.append(dict(seed=seed, body=g["body"], x=x, z=c["significance"][i],
                          amp=c["amplitude"][i], edge=half - abs(x - g["body_centre_mm"]),
                          kind=e3._kind(x, y, d, g, cp, rp, mode)))
    for f_ in (s, r, o):
        os.unlink(f_)
    return rows, false


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--mode", default="roller")
    ap.add_argument("--preset", default="hard")
    ap.add_argument("--conditions", default="body")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--process-args", default="")
    a = ap.parse_args()
    allk, allf = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(a.seed_start, a.seed_start + a.seeds):
            k, f = session(a, seed, tmp)
            allk += k
            allf += f
    print("knots: seed body found sigma amp | z camp rank | edge_mm A spread cp rp")
    for k in allk:
        print("%3d %-5s %d %5.1f %5.1f | %5.1f %5.1f %3d | %6.1f %6.1f %5.1f %4.1f %4.1f" % (
            k["seed"], k["body"], k["found"], k["sigma"], k["amp"], k["z"], k["camp"],
            k["rank"], k["edge"], k["A"], k["s"], k["cp"], k["rp"]))
    print("false: seed body z amp edge_mm kind")
    for f in allf:
        print("%3d %-5s %5.1f %5.1f %6.1f %s" % (f["seed"], f["body"], f["z"], f["amp"],
                                                 f["edge"], f["kind"]))
    n = len(allk)
    nf = sum(k["found"] for k in allk)
    print("found %d / %d knots, %d false" % (nf, n, len(allf)))


if __name__ == "__main__":
    main()
