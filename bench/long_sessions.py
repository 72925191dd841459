#!/usr/bin/python3
"""Knots and odometry on long sessions (minutes to an hour), where batch users live.

A user records a whole treatment, many minutes, and the sensor's zero drifts meanwhile
(knotmap's model 1: each taxel's offset N(0, 1 kPa a minute) on moderate, so half an
hour spreads the taxels by 30 kPa). For each duration, simulator and mode it writes one
session, runs `knotmap process` with its defaults and `knotmap eval`, and reports:

  F1, P, R    of the knot candidates (knotmap eval, matched within a row pitch);
  rows        the body map's rows (a roller's travel spread over too many rows is the
              odometry losing track; the stroke is 150-300 mm: 10-60 rows);
  drift       the zero drift knotmap reports (/params/odo_zero_drift, docs/FORMAT.md;
              rollers only);
  taxel drift how far each taxel's unloaded level moved over the session, measured here
              from the frames (both modes): per taxel the 10th percentile of its
              readings over the last minute less that over the first (a taxel is
              pressed a small share of the time, so its low readings are its zero),
              then the 90th percentile of its size over the taxels, session units
              (readings clamp at 0: the half whose offset fell read 0 at both ends,
              so a spread over all taxels, MAD or sd, shows none of it);
  odo         rollers: the odometry's median position error (knotmap.odometry, the
              pipeline's, against the simulator's own contact line, over the frames in
              true contact not flagged lifted, aligned at the first) in each of --windows
              equal windows, mm.

Simulators: m1, m2 (`knotmap synth --model 1/2`) and indep (bench/sim_independent.py).
Heavy: an hour-long session is 360000 frames (1.5-3.3 GB in memory for the odometry
part); run it under `nice -n 10`, one job at a time.

Usage: nice -n 10 /usr/bin/python3 bench/long_sessions.py [--durations 600,1800,3600]
           [--sims m1,m2,indep] [--modes roller,mat] [--preset moderate] [--seed 1]
           [--windows 6] [--bin build/knotmap] [--json FILE]
Needs the Python bindings on PYTHONPATH (build/python) for the odometry columns.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sim_independent  # noqa: E402


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


def write_session(a, sim, mode, duration, path):
    if sim == "indep":
        sim_independent.write(path, mode, a.preset, a.seed, duration)
    else:
        run(a.bin, "synth", "--model", sim[1], "--mode", mode, "--preset", a.preset,
            "--seed", str(a.seed), "--duration", str(duration), "-o", path)


def odometry_windows(a, sim, duration, windows):
    """Median position error (mm) of the odometry per window, rollers."""
    import knotmap
    if sim == "indep":
        d = sim_independent.draw("roller", a.preset, a.seed)
        yt, load = sim_independent.motion(d, duration)
        fr = sim_independent.frames(sim_independent.draw("roller", a.preset, a.seed), duration)
        radius = d["radius"]
    else:
        s, t = knotmap.synth(None, model=int(sim[1]), mode="roller", preset=a.preset,
                             seed=a.seed, duration=duration)
        fr = np.asarray(s.frames, np.float32)
        yt = np.asarray(t["motion"]["y_contact_mm"], np.float64)
        load = np.asarray(t["motion"]["load"], np.float64)
        radius = s.metadata["roller_radius_mm"]
    o = knotmap.odometry(fr, roller_radius_mm=radius)
    del fr
    ye = np.asarray(o["y_mm"], np.float64)
    ok = (np.asarray(load) > 0) & ((np.asarray(o["flags"]) & knotmap.ODO_LIFTED) == 0)
    on = np.flatnonzero(ok)
    err = np.full(len(ye), np.nan)
    if len(on):
        err[on] = (ye[on] - ye[on[0]]) - (yt[on] - yt[on[0]])
    n = len(ye)
    out = []
    for i in range(windows):
        w = err[i * n // windows:(i + 1) * n // windows]
        out.append(float(np.nanmedian(w)) if np.isfinite(w).any() else float("nan"))
    return out


def taxel_drift(path, frames_per_end=6000):
    """90th percentile over the taxels of |zero drift| over the session, session units."""
    with h5py.File(path) as f:
        fr = f["frames"]
        k = min(frames_per_end, fr.shape[0] // 2)
        z0 = np.percentile(np.asarray(fr[:k], np.float64), 10, axis=0)
        z1 = np.percentile(np.asarray(fr[fr.shape[0] - k:], np.float64), 10, axis=0)
    d = (z1 - z0).ravel()
    return float(np.percentile(np.abs(d), 90))


def one(a, sim, mode, duration, tmp):
    s = os.path.join(tmp, "s.h5")
    r = os.path.join(tmp, "r.h5")
    write_session(a, sim, mode, duration, s)
    p = run(a.bin, "process", "-q", s, "-o", r)
    ev = json.loads(run(a.bin, "eval", r, "--truth", s, "--json").stdout)
    with h5py.File(r) as f:
        rows = int(f["bodymap/y_mm"].shape[0])
        drift = float(f["params"].attrs.get("odo_zero_drift", np.nan)) \
            if "params" in f and "odo_zero_drift" in f["params"].attrs else float("nan")
    row = {"sim": sim, "mode": mode, "duration": duration, "f1": ev["f1"],
           "precision": ev["precision"], "recall": ev["recall"], "rows": rows,
           "drift": drift, "warned": "zero drift" in p.stderr, "taxel_drift": taxel_drift(s)}
    os.remove(s)
    os.remove(r)
    row["odo"] = odometry_windows(a, sim, duration, a.windows) if mode == "roller" else []
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--durations", default="600,1800,3600")
    ap.add_argument("--sims", default="m1,m2,indep")
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--preset", default="moderate", choices=sim_independent.PRESETS)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--windows", type=int, default=6)
    ap.add_argument("--bin", default="build/knotmap")
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    print("| sim | mode | duration s | F1 | P | R | body map rows | zero drift | warned | "
          "taxel drift | odometry median error per window (mm) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for duration in (float(x) for x in a.durations.split(",")):
            for sim in a.sims.split(","):
                for mode in a.modes.split(","):
                    r = one(a, sim, mode, duration, tmp)
                    rows.append(r)
                    odo = " ".join("%.1f" % v for v in r["odo"]) or "-"
                    print("| %s | %s | %g | %.3f | %.3f | %.3f | %d | %s | %s | %.1f | %s |"
                          % (sim, mode, duration, r["f1"], r["precision"], r["recall"],
                             r["rows"], "%.1f" % r["drift"] if np.isfinite(r["drift"]) else "-",
                             "yes" if r["warned"] else "no", r["taxel_drift"], odo), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
