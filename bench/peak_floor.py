#!/usr/bin/python3
"""The peaks' floor (docs/ALGORITHMS.md 3.7): false peaks on frames where nothing presses.

For every model (1, 2), mode (roller, mat), preset and seed it writes a synthetic session,
runs `knotmap process --floor-sigmas 0` (the floor off; stuck and hot taxels left out of
the peaks, the default) and reads the warm-up's noise (/params/noise) and /peaks.  The
simulator's truth says which frames have no load (the roller lifted, km_synth_motion
load 0); every peak in such a frame is false.  Frames within --settle frames of a loaded
one are left out of the quiet ones: model 2's sensor still holds part of the load there
(a lag, real pressure on the sheet).

Per cell it prints, for each floor K (peaks must exceed K x noise), the false peaks per
quiet frame, and in loaded frames the share of the peaks within 2 rows of the true
contact row ("in contact", the roller's rows wrapped) and of the others that the floor
removes (they stand under K x noise; out of contact they are noise in the rows the load
does not reach, which threshold_rel lets through when the frame's maximum is small).
The baseline column ("old") is the run with neither change (`--keep-suspect-taxels
--floor-sigmas 0`): its false peaks per quiet frame.

--process-args "..." adds options to both runs (a filter: `--sigma 1`, `--lowpass-hz 5`).
--noise-gain G tries a floor of K x noise x G (G: the filters' scale of white noise, the
square root of the sum of their squared weights: 1 / (2 sqrt(pi) S) = 0.282 for `--sigma 1`);
the column "K=8 as is" is then the floor knotmap uses, 8 x noise (docs/ALGORITHMS.md 3.7
says why the filters are not counted).

Usage: /usr/bin/python3 bench/peak_floor.py [--bin build/knotmap] [--seeds 10]
           [--seed-start 0] [--models 1,2] [--presets easy,moderate,hard]
           [--duration 20] [--settle 10] [--ks 4,5,6,7,8,10,12] [--process-args "..."]
           [--noise-gain G]
Needs the Python package on PYTHONPATH (build/python) for the simulator's truth.
"""
import argparse
import os
import shlex
import subprocess
import tempfile

import h5py
import numpy as np

import knotmap


def run(binary, session, out, *args):
    subprocess.run([binary, "process", session, "-o", out, "-q", *args], check=True,
                   stderr=subprocess.DEVNULL)
    with h5py.File(out, "r") as f:
        return (float(f["params"].attrs["noise"]), f["peaks/frame"][:], f["peaks/value"][:],
                f["peaks/row"][:])


def quiet_frames(load, settle):
    """Frames with no load for at least `settle` frames (and the frame itself)."""
    quiet = np.zeros(len(load), bool)
    since = settle
    for i, v in enumerate(load):
        since = since + 1 if v == 0 else 0
        quiet[i] = v == 0 and since > settle
    return quiet


def one(a, tmp, model, mode, preset, seed, ks):
    kw = dict(mode=mode, preset=preset, seed=seed, duration=a.duration, model=model)
    session = os.path.join(tmp, "s.h5")
    knotmap.synth(session, **kw)
    sess, truth = knotmap.synth(None, **kw)
    load = np.asarray(truth["motion"]["load"])
    quiet = quiet_frames(load, a.settle)
    loaded = load > 0
    extra = shlex.split(a.process_args)
    noise, frame, value, row = run(a.bin, session, os.path.join(tmp, "r.h5"), "--floor-sigmas",
                                   "0", *extra)
    _, frame0, _, _ = run(a.bin, session, os.path.join(tmp, "o.h5"), "--floor-sigmas", "0",
                          "--keep-suspect-taxels", *extra)
    q, ld = quiet[frame], loaded[frame]
    d = np.abs(row - np.asarray(truth["motion"]["contact_row"])[frame])
    if mode == "roller":
        d = np.minimum(d, sess.frames.shape[1] - d)
    inc = ld & (d <= 2)
    out = ld & ~inc
    floors = [k * noise * a.noise_gain for k in ks] + [8 * noise] * (a.noise_gain != 1.0)
    return dict(nq=int(quiet.sum()), noise=noise, old=int(quiet[frame0].sum()),
                false=np.array([np.sum(q & (value > t)) for t in floors]),
                rm_in=np.array([np.sum(inc & (value <= t)) for t in floors]),
                rm_out=np.array([np.sum(out & (value <= t)) for t in floors]),
                n_in=int(inc.sum()), n_out=int(out.sum()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/knotmap")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-start", type=int, default=0)
    ap.add_argument("--models", default="1,2")
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--presets", default="easy,moderate,hard")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--settle", type=int, default=10)
    ap.add_argument("--ks", default="5,6,7,8,10")
    ap.add_argument("--process-args", default="")
    ap.add_argument("--noise-gain", type=float, default=1.0)
    a = ap.parse_args()
    ks = [float(k) for k in a.ks.split(",")]
    print(f"seeds {a.seed_start}..{a.seed_start + a.seeds - 1}, {a.duration:g} s; quiet = no "
          f"load for more than {a.settle} frames")
    print("K: false peaks per quiet frame; in loaded frames % of the peaks in contact and out "
          "of contact removed")
    print("| cell | quiet frames | noise (min-max) | old | "
          + " | ".join(f"K={k:g}" for k in ks) + " |" + " K=8 as is |" * (a.noise_gain != 1.0))
    print("|---" * (4 + len(ks) + (a.noise_gain != 1.0)) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.models.split(","):
            for mode in a.modes.split(","):
                for preset in a.presets.split(","):
                    rs = [one(a, tmp, int(model), mode, preset, s, ks)
                          for s in range(a.seed_start, a.seed_start + a.seeds)]
                    nq = sum(r["nq"] for r in rs)
                    ni = max(1, sum(r["n_in"] for r in rs))
                    no = max(1, sum(r["n_out"] for r in rs))
                    fa = sum(r["false"] for r in rs)
                    ri = sum(r["rm_in"] for r in rs)
                    ro = sum(r["rm_out"] for r in rs)
                    ns = [r["noise"] for r in rs]
                    old = sum(r["old"] for r in rs)
                    cells = " | ".join(
                        f"{fa[i] / max(nq, 1):.3f}; {100 * ri[i] / ni:.1f}%, {100 * ro[i] / no:.0f}%"
                        for i in range(len(ks) + (a.noise_gain != 1.0)))
                    print(f"| m{model} {mode} {preset} | {nq} | {min(ns):.2f}-{max(ns):.2f} | "
                          f"{old / max(nq, 1):.1f} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
