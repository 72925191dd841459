#!/usr/bin/python3
"""The mats' one-taxel peaks: knots or hot taxels? (issue 11; docs/ALGORITHMS.md 10.4 Spikes,
Isolated cells, One-taxel peaks; bench/HISTORY.md "Session 48 (det28)").

A spike the despiking replaced and a peak the isolated-cell test calls one taxel are listed
with the discounted significance b (1 - exp(-W z / b)) (b = 1.35, W = `one_taxel_weight`
0.05), never a candidate at the defaults.  Per session (TUNING seeds only: models 1-999,
the independent and the third simulator 0-99) this runs `knotmap process` with every
threshold opened (bench/eval.py OPEN_ARGS) and the defaults, takes each opened candidate
whose significance is under b, its raw z (the discount inverted) at least 5, persistence at
least 0.3, amplitude at least 4 and raw z at most 1.5 x amplitude / the map's noise (a
one-taxel peak's z is its excess over the noise; a weak regular peak's is not), and
prints what it lies on: `knot` (within `knotmap eval`'s tolerance of a true knot; `missed`
when no default candidate matched that knot) or `false`, with

  z       the raw significance (noise sd over the ring background);
  amp, P  the candidate's amplitude and /bodymap/pressure at its cell;
  ratio   amp / P: a knot's share of the contact, a high-gain taxel's (g - 1) / g;
  nb_mean, nb_max  the 4 neighbours' /bodymap/excess over the cell's (its leakage);
  spread  /bodymap/spread over /bodymap/excess at the cell (pass to pass);
  gain    the simulator's true gain of the taxel under it (models 1 and 2 through the
          Python bindings' knotmap.synth, an offset taxel shown as 100 + gain; the third
          simulator's /truth/gain over its median; the independent simulator has none).

Then, per cut (nb_mean at least N and ratio at most R), the missed knots it would give
back and the false peaks it would let through: an upper bound on any rule that tells a
one-taxel knot from a hot taxel by these features.

Usage: /usr/bin/python3 bench/one_taxel_peaks.py --bin build/knotmap
           [--cells 1/mat/moderate,...,third/mat/hard] [--seeds 20] [--seed-start 1]
           [--jobs 2] [--list]
Needs the Python bindings for models 1 and 2's gains (PYTHONPATH=build/python).
"""
import argparse
import concurrent.futures as cf
import math
import os
import shlex
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402
import sim_independent  # noqa: E402
import sim_third  # noqa: E402

B, W = 0.9 * 5 * 0.3, 0.05
CELLS = ",".join("%s/mat/%s" % (s, p) for s in ("1", "2", "indep", "third")
                 for p in ("moderate", "hard"))
CUTS = ((0.12, 1.0), (0.15, 1.0), (0.15, 0.33), (0.15, 0.25), (0.18, 0.33), (0.2, 0.2))


def raw_z(sig):
    return -B / W * math.log1p(-sig / B) if sig < B else math.inf


def write_session(cell, seed, path):
    sim, mode, preset = cell.split("/")
    if sim == "third":
        sim_third.write(path, mode, preset, seed, 20.0)
    elif sim == "indep":
        sim_independent.write(path, mode, preset, seed, 20.0)
    else:
        kev.run(A.bin, "synth", "--model", sim, "--mode", mode, "--preset", preset, "--seed",
                seed, "--duration", 20, "-o", path)


def gains(cell, seed, path, shape):
    sim, mode, preset = cell.split("/")
    if sim == "third":
        with h5py.File(path) as f:
            g = f["truth/gain"][()]
        return g / np.median(g)
    if sim in ("1", "2"):
        try:
            import knotmap
            _, t = knotmap.synth(None, model=int(sim), mode=mode, preset=preset, seed=seed,
                                 duration=20.0)
            return np.asarray(t["gain"], float) + 100.0 * (np.asarray(t["offset"]) > 0)
        except ImportError:
            pass
    return np.full(shape, np.nan)


def near(cx, cy, tx, ty, tol):
    return len(cx) > 0 and bool((np.hypot(np.asarray(cx) - tx, np.asarray(cy) - ty) <= tol).any())


def one_session(cell, seed):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        s, r, o = (os.path.join(tmp, x) for x in ("s.h5", "r.h5", "o.h5"))
        write_session(cell, seed, s)
        kev.run(A.bin, "process", "-q", s, "-o", r)
        kev.run(A.bin, "process", "-q", s, *shlex.split(kev.OPEN_ARGS), "-o", o)
        with h5py.File(s) as f:
            k = f["truth/knots"]
            tx, ty = k["x_mm"][:], k["y_mm"][:]
            tol = max(float(f.attrs["row_pitch_mm"]), float(f.attrs["col_pitch_mm"]))
        d, c = kev.read_candidates(r), kev.read_candidates(o)
        with h5py.File(o) as f:
            ex = f["bodymap/excess"][()].astype(float)
            pr = f["bodymap/pressure"][()].astype(float)
            sp = f["bodymap/spread"][()].astype(float)
            py, px = f["bodymap"].attrs["y_pitch_mm"], f["bodymap"].attrs["x_pitch_mm"]
            noise = float(f["params"].attrs["cand_map_noise"])
        g = gains(cell, seed, s, ex.shape)
        for i in range(len(c.get("x_mm", []))):
            z, amp = raw_z(c["significance"][i]), float(c["amplitude"][i])
            if not (5.0 <= z <= 1.5 * amp / noise) or c["persistence"][i] < 0.3 or amp < 4.0:
                continue
            x, y = float(c["x_mm"][i]), float(c["y_mm"][i])
            dk = np.hypot(tx - x, ty - y)
            kind = "false"
            if len(dk) and dk.min() <= tol:
                j = int(np.argmin(dk))
                kind = "knot found" if near(d.get("x_mm", []), d.get("y_mm", []), tx[j], ty[j],
                                            tol) else "knot missed"
            yy = min(max(int(round(y / py)), 0), ex.shape[0] - 1)
            xx = min(max(int(round(x / px)), 0), ex.shape[1] - 1)
            nb = np.array([ex[yy + a, xx + b] for a, b in ((0, 1), (0, -1), (1, 0), (-1, 0))
                           if 0 <= yy + a < ex.shape[0] and 0 <= xx + b < ex.shape[1]])
            nb = nb[np.isfinite(nb)]
            rows.append(dict(cell=cell, seed=seed, kind=kind, x=x, y=y, z=z, amp=amp,
                             P=pr[yy, xx], ratio=amp / pr[yy, xx],
                             nb_mean=nb.mean() / ex[yy, xx] if len(nb) else math.nan,
                             nb_max=nb.max() / ex[yy, xx] if len(nb) else math.nan,
                             spread=sp[yy, xx] / ex[yy, xx],
                             gain=g[yy, xx] if yy < g.shape[0] and xx < g.shape[1] else math.nan))
    return rows


def main():
    global A
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/knotmap")
    ap.add_argument("--cells", default=CELLS)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--list", action="store_true", help="print every one-taxel peak")
    A = ap.parse_args()
    cells = A.cells.split(",")
    for c in cells:
        top = 99 if c.split("/")[0] in ("indep", "third") else 999
        if A.seed_start + A.seeds - 1 > top:
            ap.error("%s: seeds over %d are held back (never tuned on)" % (c, top))
    jobs = [(c, s) for c in cells for s in range(A.seed_start, A.seed_start + A.seeds)]
    with cf.ThreadPoolExecutor(A.jobs) as ex:
        rows = [r for rs in ex.map(lambda j: one_session(*j), jobs) for r in rs]
    cols = ("z", "amp", "P", "ratio", "nb_mean", "nb_max", "spread", "gain")
    if A.list:
        print("cell seed kind x y " + " ".join(cols))
        for r in rows:
            print("%s %d %s %.1f %.1f " % (r["cell"], r["seed"], r["kind"].replace(" ", "_"),
                                           r["x"], r["y"])
                  + " ".join("%.3g" % r[k] for k in cols))
    print("\n| cell | one-taxel peaks at z >= 5 | knots (missed) | false | false on gain >= 1.3 |")
    print("|---|---|---|---|---|")
    for c in cells:
        rc = [r for r in rows if r["cell"] == c]
        fa = [r for r in rc if r["kind"] == "false"]
        print("| %s | %d | %d (%d) | %d | %d |" % (
            c, len(rc), sum(r["kind"] != "false" for r in rc),
            sum(r["kind"] == "knot missed" for r in rc), len(fa),
            sum(r["gain"] >= 1.3 for r in fa)))
    print("\n| cut: nb_mean >= N, ratio <= R | missed knots given back | false let through |")
    print("|---|---|---|")
    for n, rmax in CUTS:
        ok = [r for r in rows if r["nb_mean"] >= n and r["ratio"] <= rmax]
        print("| N %.2f, R %.2f | %d | %d |" % (n, rmax, sum(r["kind"] == "knot missed" for r in ok),
                                              sum(r["kind"] == "false" for r in ok)))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
