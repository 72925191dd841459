#!/usr/bin/python3
"""Tuning-seed sweep of `knotmap process` option sets, sessions generated once.

For each option set given (one argument each, "" = the defaults) and each of the 12 cells
(knotmap's models 1 and 2 and bench/sim_independent.py, roller and mat, moderate and hard),
over the tuning seeds S0..S1-1 (default 1-20, never the held-back 1000+ / 100+): knotmap
process at the defaults and opened (bench/eval.py's OPEN_ARGS), both with the option set,
and per cell the mean F1 (defaults), mean AP (opened), false candidates and missed knots
pooled.  Sessions are kept in --cache (20 s each) so that a sweep of N sets costs N x 480
`process` runs and no synthesis after the first.  Figures equal bench/eval.py's per-seed
means (session 27's tuning baseline 0.8688 / 0.9017 on seeds 1-20 at main f3c1f26).

A set may begin with environment assignments (NAME=VALUE ...), passed to `process` only:
scratch builds compare detector variants behind an environment switch that way.  Per cell
also the size error (median |size_mm / true footprint sigma - 1| over the default
candidates matched, as bench/eval.py) and the share of those within 30%.

Usage: /usr/bin/python3 bench/param_sweep.py [--bin build/knotmap] [--cache DIR]
           [--seeds 1-20] [--jobs 2] [--cells 2/mat/hard,...] "" "--cand-background-sigmas 3"
           "KM_X=1" ...
--cells keeps the sweep to the cells named (model/mode/preset, model 1, 2 or i); the mean
F1 / AP printed is then over those cells only.  --third adds the four cells of
bench/sim_third.py (model t), whose tuning seeds start at 0: its cells take the seeds A-1 to
B-1 (seeds 1-20: its 0-19), also cached; the mean of the 12 is printed, and that of the 16.
--json FILE writes every set's per-seed F1 and AP per cell (paired differences).
"""
import argparse
import concurrent.futures as cf
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import re

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402  (bench/eval.py)
import sim_independent  # noqa: E402
import sim_third  # noqa: E402

CELLS = [(m, mo, p) for m in ("1", "2", "i") for mo in ("roller", "mat")
         for p in ("moderate", "hard")]


def session(a, m, mo, p, s):
    f = os.path.join(a.cache, "%s_%s_%s_%d.h5" % (m, mo, p, s))
    if not os.path.exists(f):
        if m == "t":
            sim_third.write(f, mo, p, s, 20.0)
        elif m == "i":
            sim_independent.write(f, mo, p, s, 20.0)
        else:
            kev.run(a.bin, "synth", "--model", m, "--mode", mo, "--preset", p, "--seed", s,
                    "--duration", 20, "-o", f)
    return f


def split_set(extra):
    """(environment assignments, process options) of one option set."""
    w = shlex.split(extra)
    env = {}
    while w and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w[0]):
        k, v = w.pop(0).split("=", 1)
        env[k] = v
    return env, w


def process(a, env, *args):
    r = subprocess.run([str(a.bin), "process", *map(str, args)], capture_output=True,
                       text=True, env={**os.environ, **env})
    if r.returncode != 0:
        raise RuntimeError("process %s: exit %d\n%s" % (" ".join(map(str, args)),
                                                        r.returncode, r.stderr))


def default_and_opened(a, m, mo, p, s, tmp):
    """The session (cached), its results at the defaults (r) and opened (o, bench/eval.py's
    OPEN_ARGS), both with a.process_args, in tmp; and `knotmap eval`'s tolerance."""
    f = session(a, m, mo, p, s)
    r = os.path.join(tmp, "%s_%s_%s_%d.r.h5" % (m, mo, p, s))
    o = r[:-5] + ".o.h5"
    env, opts = split_set(a.process_args)
    process(a, env, "-q", f, *opts, "-o", r)
    process(a, env, "-q", f, *opts, *shlex.split(kev.OPEN_ARGS), "-o", o)
    tol = json.loads(kev.run(a.bin, "eval", r, "--truth", f, "--json"))["tolerance_mm"]
    return f, r, o, tol


def one(a, m, mo, p, s, extra, tmp):
    f = session(a, m, mo, p, s)
    r = os.path.join(tmp, "%s_%s_%s_%d.r.h5" % (m, mo, p, s))
    o = r[:-5] + ".o.h5"
    env, opts = split_set(extra)
    process(a, env, "-q", f, *opts, "-o", r)
    process(a, env, "-q", f, *opts, *shlex.split(kev.OPEN_ARGS), "-o", o)
    tol = json.loads(kev.run(a.bin, "eval", r, "--truth", f, "--json"))["tolerance_mm"]
    with h5py.File(f) as h:
        k = h["truth/knots"]
        t = (k["x_mm"][:], k["y_mm"][:], k["footprint_sigma_mm"][:])
    c, co = kev.read_candidates(r), kev.read_candidates(o)
    fig, _, _ = kev.session_figures(c["x_mm"], c["y_mm"], c["score"], c.get("size_mm"), t, tol,
                                    1.0)
    figo, _, _ = kev.session_figures(co["x_mm"], co["y_mm"], co["score"], None, t, tol, 1.0)
    os.unlink(r)
    os.unlink(o)
    return ((m, mo, p), fig["f1"], figo["ap"], fig["n_candidates"] - fig["n_matched"],
            fig["n_truth"] - fig["n_matched"], fig["size_rel"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "knotmap_sweep"))
    ap.add_argument("--seeds", default="1-20", help="tuning seeds, A-B")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cells", default="",
                    help="only these cells, e.g. 2/mat/hard,i/roller/moderate [all 12]")
    ap.add_argument("--third", action="store_true", help="also bench/sim_third.py's 4 cells")
    ap.add_argument("--json", help="per-seed F1 and AP of every set and cell")
    ap.add_argument("sets", nargs="*", default=[""])
    a = ap.parse_args()
    third = [("t", mo, p) for mo in ("roller", "mat") for p in ("moderate", "hard")]
    cells = [c for c in CELLS + (third if a.third else [])
             if not a.cells or "/".join(c) in a.cells.split(",")]
    if not cells:
        sys.exit("param_sweep.py: --cells %r names none of %s" % (
            a.cells, ", ".join("/".join(c) for c in CELLS)))
    lo, hi = (int(v) for v in a.seeds.split("-"))
    if hi >= 100:
        sys.exit("param_sweep.py: seeds from 100 (independent) and 1000 (models) are held back")
    os.makedirs(a.cache, exist_ok=True)
    per_seed = {}
    for extra in a.sets:
        with tempfile.TemporaryDirectory() as tmp, cf.ThreadPoolExecutor(a.jobs) as ex:
            res = list(ex.map(lambda j: one(a, *j, extra, tmp),
                              [(*c, s - (c[0] == "t")) for c in cells
                               for s in range(lo, hi + 1)]))
        cell = {}
        for c, f1, apv, fp, fn, sz in res:
            cell.setdefault(c, []).append((f1, apv, fp, fn, sz))
        per_seed[extra] = {"/".join(c): [[v[0], v[1]] for v in l] for c, l in cell.items()}
        fig = {}
        for c, l in cell.items():
            sz = np.asarray([e for v in l for e in v[4]])
            fig[c] = (np.mean([v[0] for v in l]), np.nanmean([v[1] for v in l]),
                      sum(v[2] for v in l), sum(v[3] for v in l),
                      np.median(sz) if len(sz) else np.nan,
                      np.mean(sz <= 0.3) if len(sz) else np.nan)
        twelve = [v for c, v in fig.items() if c[0] != "t"]
        print("== %r  mean F1 %.4f  mean AP %.4f  size error (median of cells) %.3f" % (
            extra, np.mean([v[0] for v in twelve]), np.mean([v[1] for v in twelve]),
            np.nanmedian([v[4] for v in fig.values()])))
        if len(twelve) < len(fig):
            print("   with the third simulator's cells: mean F1 %.4f  mean AP %.4f" % (
                np.mean([v[0] for v in fig.values()]), np.mean([v[1] for v in fig.values()])))
        for c in cells:
            print("  %-22s F1 %.3f  AP %.3f  false %3d  missed %3d  size err %.3f  <=30%% %.2f"
                  % ("/".join(c), *fig[c]))
        sys.stdout.flush()
        if a.json:
            with open(a.json, "w") as f:
                json.dump(per_seed, f)


if __name__ == "__main__":
    main()
