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

The opened list leaves out a spike within the peak window of a regular candidate (a weak
peak beside the replaced cell): the independent simulator's hard mats lose knots that way.
--trace-bin DIAG/knotmap (a build with bench/gate_trace.patch, bench/gate_misses.py's
docstring) lists instead every cell the despiking replaced (its `TRACE spike` lines at the
defaults, z = the excess over the ring background in noise sd, at least 5), with the same
labels, ratio (/bodymap/excess over /bodymap/pressure at the cell) and nb_mean, and the
same tables; isolated peaks are then not in it.

Usage: /usr/bin/python3 bench/one_taxel_peaks.py --bin build/knotmap
           [--cells 1/mat/moderate,...,third/mat/hard] [--seeds 20] [--seed-start 1]
           [--jobs 2] [--list] [--trace-bin DIAG/knotmap]
Needs the Python bindings for models 1 and 2's gains (PYTHONPATH=build/python).
"""
import argparse
import concurrent.futures as cf
import math
import os
import shlex
import subprocess
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


def label(d, tx, ty, tol, x, y):
    """knot found / knot missed (no default candidate within tol of it) / false."""
    dk = np.hypot(tx - x, ty - y)
    if not (len(dk) and dk.min() <= tol):
        return "false"
    j = int(np.argmin(dk))
    return "knot found" if near(d.get("x_mm", []), d.get("y_mm", []), tx[j], ty[j],
                                tol) else "knot missed"


def neighbours(ex, yy, xx):
    """The 4 neighbours' mean and largest /bodymap/excess over the cell's."""
    nb = np.array([ex[yy + a, xx + b] for a, b in ((0, 1), (0, -1), (1, 0), (-1, 0))
                   if 0 <= yy + a < ex.shape[0] and 0 <= xx + b < ex.shape[1]])
    nb = nb[np.isfinite(nb)]
    return (nb.mean() / ex[yy, xx], nb.max() / ex[yy, xx]) if len(nb) else (math.nan,) * 2


def defaults_and_truth(tmp, cell, seed):
    """The session written into tmp (its path), its default candidates, the true knots'
    x and y and `knotmap eval`'s tolerance."""
    s, r = os.path.join(tmp, "s.h5"), os.path.join(tmp, "r.h5")
    write_session(cell, seed, s)
    kev.run(A.bin, "process", "-q", s, "-o", r)
    with h5py.File(s) as f:
        k = f["truth/knots"]
        tol = max(float(f.attrs["row_pitch_mm"]), float(f.attrs["col_pitch_mm"]))
        return s, kev.read_candidates(r), k["x_mm"][:], k["y_mm"][:], tol


def traced_session(cell, seed):
    """The despiked cells at z >= 5 of the traced build's default run (--trace-bin)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        s, d, tx, ty, tol = defaults_and_truth(tmp, cell, seed)
        t = os.path.join(tmp, "t.h5")
        p = subprocess.run([A.trace_bin, "process", "-q", s, "-o", t], capture_output=True,
                           text=True, env=dict(os.environ, KM_TRACE="1"), check=True)
        with h5py.File(t) as f:
            ex = f["bodymap/excess"][()].astype(float)
            pr = f["bodymap/pressure"][()].astype(float)
            sp = f["bodymap/spread"][()].astype(float)
        g = gains(cell, seed, s, ex.shape)
        for ln in p.stderr.splitlines():
            w = ln.split()
            if not ln.startswith("TRACE spike") or float(w[11]) < 5.0:
                continue
            y, x, yy, xx, z = float(w[3]), float(w[5]), int(w[7]), int(w[9]), float(w[11])
            nm, nx = neighbours(ex, yy, xx)
            rows.append(dict(cell=cell, seed=seed, kind=label(d, tx, ty, tol, x, y), x=x, y=y,
                             z=z, amp=math.nan, P=pr[yy, xx], ratio=ex[yy, xx] / pr[yy, xx],
                             nb_mean=nm, nb_max=nx, spread=sp[yy, xx] / ex[yy, xx],
                             gain=g[yy, xx] if yy < g.shape[0] and xx < g.shape[1] else math.nan))
    return rows


def one_session(cell, seed):
    """The one-taxel peaks at z >= 5 of the opened run (the module docstring)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        s, d, tx, ty, tol = defaults_and_truth(tmp, cell, seed)
        o = os.path.join(tmp, "o.h5")
        kev.run(A.bin, "process", "-q", s, *shlex.split(kev.OPEN_ARGS), "-o", o)
        c = kev.read_candidates(o)
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
            yy = min(max(int(round(y / py)), 0), ex.shape[0] - 1)
            xx = min(max(int(round(x / px)), 0), ex.shape[1] - 1)
            nm, nx = neighbours(ex, yy, xx)
            rows.append(dict(cell=cell, seed=seed, kind=label(d, tx, ty, tol, x, y), x=x, y=y,
                             z=z, amp=amp, P=pr[yy, xx], ratio=amp / pr[yy, xx], nb_mean=nm,
                             nb_max=nx, spread=sp[yy, xx] / ex[yy, xx],
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
    ap.add_argument("--trace-bin", default=None,
                    help="a gate_trace.patch build: every despiked cell instead")
    A = ap.parse_args()
    cells = A.cells.split(",")
    for c in cells:
        top = 99 if c.split("/")[0] in ("indep", "third") else 999
        if A.seed_start + A.seeds - 1 > top:
            ap.error("%s: seeds over %d are held back (never tuned on)" % (c, top))
    jobs = [(c, s) for c in cells for s in range(A.seed_start, A.seed_start + A.seeds)]
    with cf.ThreadPoolExecutor(A.jobs) as ex:
        run = traced_session if A.trace_bin else one_session
        rows = [r for rs in ex.map(lambda j: run(*j), jobs) for r in rs]
    cols = ("z", "amp", "P", "ratio", "nb_mean", "nb_max", "spread", "gain")
    if A.list:
        print("cell seed kind x y " + " ".join(cols))
        for r in rows:
            print("%s %d %s %.1f %.1f " % (r["cell"], r["seed"], r["kind"].replace(" ", "_"),
                                           r["x"], r["y"])
                  + " ".join("%.3g" % r[k] for k in cols))
    what = "despiked cells" if A.trace_bin else "one-taxel peaks"
    print("\n| cell | %s at z >= 5 | knots (missed) | false | false on gain >= 1.3 |" % what)
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
