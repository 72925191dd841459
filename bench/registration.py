#!/usr/bin/python3
"""Registration: where the matched candidates sit against the truth, per simulator and mode.

For every simulator (model 1 and 2: `knotmap synth`; bench/sim_independent.py;
bench/sim_third.py), mode and preset, and seed: the session, `knotmap process` at the
defaults (or --process-args), the candidates matched one-to-one to /truth/knots within
`knotmap eval`'s tolerance (bench/eval.py's match), and per matched pair
dx = candidate x - truth x, dy = candidate y - truth y (mm). Prints per cell the count,
the mean and sd of dx and dy, the mean's standard error, and dy as a share of the row
pitch. For the independent simulator also dy + y0, where y0 is the truth's contact line
of the first frame (that simulator puts y = 0 one frame of motion before its first frame;
knotmap and the other simulators put it on the first frame's contact line).

Tuning seeds by default (eval.py 1-20, the others 1-20 / 0-19): issue 11, session 45.

    /usr/bin/python3 bench/registration.py [--bin build/knotmap] [--seeds 20]
        [--sims m1,m2,indep,third] [--modes roller,mat] [--presets moderate] [--jobs 2]
"""
import argparse
import concurrent.futures as cf
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402  (bench/eval.py)
import sim_independent  # noqa: E402
import sim_third  # noqa: E402

FIRST_SEED = {"m1": 1, "m2": 1, "indep": 1, "third": 0}


def make_session(sim, mode, preset, seed, path, a):
    """Write the session; returns the truth's y of the first frame's contact line (or 0)."""
    if sim in ("m1", "m2"):
        kev.run(a.bin, "synth", "--model", sim[1], "--mode", mode, "--preset", preset,
                "--seed", seed, "--duration", a.duration, "-o", path)
        return 0.0
    if sim == "indep":
        sim_independent.write(path, mode, preset, seed, a.duration)
        d = sim_independent.draw(mode, preset, seed)
        y, _ = sim_independent.motion(d, a.duration)  # the same draw frames() makes first
        return float(y[0]) if mode == "roller" else 0.0
    sim_third.write(path, mode, preset, seed, a.duration)
    return 0.0


def one(a, sim, mode, preset, seed, tmp):
    tag = "%s_%s_%s_%d" % (sim, mode, preset, seed)
    s, r = os.path.join(tmp, tag + ".s.h5"), os.path.join(tmp, tag + ".r.h5")
    y0 = make_session(sim, mode, preset, seed, s, a)
    kev.run(a.bin, "process", "-q", s, *shlex.split(a.process_args), "-o", r)
    tol = json.loads(kev.run(a.bin, "eval", r, "--truth", s, "--json"))["tolerance_mm"]
    with h5py.File(s) as f:
        tx, ty = f["truth/knots/x_mm"][:], f["truth/knots/y_mm"][:]
    with h5py.File(r) as f:
        rp = float(f["session"].attrs["row_pitch_mm"])
    c = kev.read_candidates(r)
    m = kev.match(kev.pairs_within(c["x_mm"], c["y_mm"], tx, ty, tol), len(c["x_mm"]))
    for p in (s, r):
        os.unlink(p)
    return (sim, mode, preset), [(float(c["x_mm"][i] - tx[j]), float(c["y_mm"][i] - ty[j]),
                                  rp, y0, seed, float(ty[j])) for i, j, _ in m]


def stats(v):
    v = np.asarray(v, float)
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    return float(v.mean()), sd, sd / np.sqrt(len(v)) if len(v) > 1 else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-offset", type=int, default=0,
                    help="added to each simulator's first tuning seed")
    ap.add_argument("--sims", default="m1,m2,indep,third")
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--presets", default="moderate")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--process-args", default="")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", help="write every matched pair here")
    a = ap.parse_args()
    cells = [(sm, mo, p) for sm in a.sims.split(",") for mo in a.modes.split(",")
             for p in a.presets.split(",")]
    rows = {c: [] for c in cells}
    with tempfile.TemporaryDirectory(prefix="knotmap-reg-") as tmp, \
            cf.ProcessPoolExecutor(a.jobs) as ex:
        futs = [ex.submit(one, a, *c, FIRST_SEED[c[0]] + a.seed_offset + k, tmp)
                for c in cells for k in range(a.seeds)]
        for fu in cf.as_completed(futs):
            c, pairs = fu.result()
            rows[c].extend(pairs)
    print("| simulator | mode | preset | matched | dx mean (sd, se) mm | dy mean (sd, se) mm "
          "| dy / row pitch | dy + y0 mean (se) mm |")
    print("|---|---|---|---|---|---|---|---|")
    for c in cells:
        v = rows[c]
        dx, dy = [q[0] for q in v], [q[1] for q in v]
        mx, sx, ex_ = stats(dx)
        my, sy, ey = stats(dy)
        mp, _, _ = stats([q[1] / q[2] for q in v])
        mc, _, ec = stats([q[1] + q[3] for q in v])
        print("| %s | %s | %s | %d | %+.2f (%.2f, %.2f) | %+.2f (%.2f, %.2f) | %+.3f | %s |" % (
            *c, len(v), mx, sx, ex_, my, sy, ey, mp,
            "%+.2f (%.2f)" % (mc, ec) if c[0] == "indep" and c[1] == "roller" else "n/a"))
    if a.json:
        with open(a.json, "w") as f:  # per pair: dx, dy, row pitch, y0, seed, truth y
            json.dump({"/".join(c): rows[c] for c in cells}, f)


if __name__ == "__main__":
    main()
