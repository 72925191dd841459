#!/usr/bin/python3
"""What the candidate map's noise is made of on hard sessions (issue 11; docs/ALGORITHMS.md 7.3).

Hard preset, 20 s, TUNING seeds (default 1-6), per simulator (model 1, model 2, the
independent bench/sim_independent.py) and mode:

1. Ablation. The session as drawn, then again with one sensor artefact removed (the same
   seed: the same knots, motion and noise draws). Model 1: its km_synth_params fields;
   independent: its drawn parameters; model 2 draws everything inside the C model, so
   only its gain is removed, by dividing the frames by the true per-taxel gain
   (km_synth_truth.gain; model 2 applies the gain after the crosstalk and before offsets
   and noise, so that division undoes it up to the noise it scales). Per variant, means
   over seeds: F1 at the defaults (`knotmap eval`), the candidate map's noise as
   docs/ALGORITHMS.md 10 step 4 measures it (1.4826 MAD of the horizontal cell
   differences of /bodymap/excess, over sqrt 2), and the median significance of the true
   knots (the nearest candidate within the eval tolerance of a run with every threshold
   opened; 0 when there is none).
2. Identifiability of the gain on rollers: per body cell pressed in >= 20 contact
   frames, how many different taxel rows pressed it, from the TRUE motion (the deposit
   rule of 7.2 with the true contact row: rows round(c) + d, |d| <= 1). A cell pressed
   by one taxel row all session cannot tell that taxel's gain from the body under it.
3. Misregistration: RMS of the odometry's y (knotmap.odometry) minus the true contact
   line's y over contact frames, both taken from the first contact frame, in mm and as a
   share of the row pitch.

Usage: /usr/bin/python3 bench/map_noise.py [--bin build/knotmap] [--seeds 6]
           [--seed-start 1] [--jobs 2] [--json FILE]
Needs the Python bindings on PYTHONPATH (build/python).
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import sim_independent as si  # noqa: E402

OPEN_ARGS = ["--cand-min-snr", "0", "--cand-min-prominence", "0",
             "--cand-min-persistence", "0", "--cand-max-candidates", "-1"]
ABLATE = {
    "m1": {"as drawn": {}, "no gain spread": {"gain_spread": 0.0},
           "no white noise": {"noise_kpa": 0.0},
           "no drift, hum": {"drift_kpa_per_min": 0.0, "hum_kpa": 0.0},
           "no dead, stuck": {"dead_fraction": 0.0, "stuck_fraction": 0.0}},
    "ind": {"as drawn": {}, "no gain spread": {"gain_sd": 0.0},
            "no white noise": {"noise": 0.0},
            "no offsets": {"offset_sd": 0.0}, "no crosstalk": {"leak": 0.0},
            "no dead": {"dead": 0.0}},
    "m2": {"as drawn": {}, "no gain spread": {"divide_gain": True}},
}
SIMS = {"m1": "model 1", "m2": "model 2", "ind": "independent"}


def run(binary, *args):
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return r.stdout


def write_session(path, frames, meta, knots):
    """A knotmap session HDF5 (the layout sim_independent.write uses)."""
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        for k in ("frame_rate_hz", "row_pitch_mm", "col_pitch_mm", "roller_radius_mm"):
            f.attrs[k] = float(meta[k] or 0.0)
        f.attrs["units"] = "kPa"
        f.attrs["mode"] = meta["mode"]
        f.create_dataset("frames", data=frames.astype(np.float32),
                         chunks=(64,) + frames.shape[1:], compression="gzip",
                         compression_opts=1)
        f.create_dataset("time", data=np.arange(len(frames)) / meta["frame_rate_hz"])
        g = f.create_group("truth/knots")
        for k in ("x_mm", "y_mm", "amplitude_kpa"):
            g[k] = np.asarray(knots[k], np.float64)


def make(sim, mode, seed, path, ov):
    """Write the session; return (true motion: y [T], contact row [T] or None, in contact
    [T] bool, rows)."""
    if sim == "ind":
        orig_draw, orig_motion = si.draw, si.motion
        got = {}

        def draw(m, p, s):
            d = orig_draw(m, p, s)
            d.update(ov)
            got["d"] = d
            return d

        def motion(d, duration):
            y, lean = orig_motion(d, duration)
            got["y"], got["lean"] = y, lean
            return y, lean

        si.draw, si.motion = draw, motion
        try:
            si.write(path, mode, "hard", seed, 20.0)
        finally:
            si.draw, si.motion = orig_draw, orig_motion
        d = got["d"]
        c = (got["y"] / d["radius"]) / (2 * math.pi) * d["rows"] % d["rows"] \
            if mode == "roller" else None
        return got["y"], c, got["lean"] > 0, d["rows"]
    import knotmap
    ov = dict(ov)
    divide = ov.pop("divide_gain", False)
    s, t = knotmap.synth(None, model=int(sim[1]), mode=mode, preset="hard", seed=seed,
                         duration=20, **ov)
    fr = np.array(s.frames, np.float32)
    if divide:
        g = np.asarray(t["gain"], np.float32)
        fr = np.where(g > 0, fr / np.where(g > 0, g, 1), fr)
    write_session(path, fr, s.metadata, t["knots"])
    m = t["motion"]
    return (np.asarray(m["y_contact_mm"]), np.asarray(m["contact_row"]),
            np.asarray(m["load"]) > 0, s.metadata["rows"])


def map_noise(a):
    d = np.diff(a, axis=1).ravel()
    d = d[np.isfinite(d)]
    return 1.4826 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2) if len(d) else \
        float("nan")


def knot_z(o, s, tol):
    with h5py.File(s) as f:
        tx, ty = f["truth/knots/x_mm"][:], f["truth/knots/y_mm"][:]
    with h5py.File(o) as f:
        c = {k: f["candidates"][k][:] for k in ("x_mm", "y_mm", "significance")}
        noise = map_noise(f["bodymap/excess"][:])
    z = []
    for x, y in zip(tx, ty):
        dist = np.hypot(c["x_mm"] - x, c["y_mm"] - y)
        i = int(np.argmin(dist)) if len(dist) else -1
        z.append(float(c["significance"][i]) if i >= 0 and dist[i] <= tol else 0.0)
    return z, noise


def rows_per_cell(c, y, on, rows, pitch):
    """Distinct taxel rows per body cell pressed in >= 20 frames (true motion)."""
    seen = {}
    for k in np.flatnonzero(on):
        rc = math.floor(c[k] + 0.5)
        for dd in (-1, 0, 1):
            ru = rc + dd
            cell = math.floor((y[k] + (ru - c[k]) * pitch) / pitch + 0.5)
            e = seen.setdefault(cell, [0, set()])
            e[0] += 1
            e[1].add(ru % rows)
    n = [len(v[1]) for v in seen.values() if v[0] >= 20]
    return float(np.mean(np.asarray(n) == 1)) if n else float("nan"), max(n) if n else 0


def odometry_rms(path, y_true, on):
    import knotmap
    s = knotmap.read_session(path)
    o = knotmap.odometry(s)
    ok = on & ((o["flags"] & knotmap.ODO_LIFTED) == 0)
    k = np.flatnonzero(ok)
    if len(k) == 0:
        return float("nan"), float(s.metadata["row_pitch_mm"])
    e = (o["y_mm"][k] - o["y_mm"][k[0]]) - (y_true[k] - y_true[k[0]])
    return float(np.sqrt(np.mean(e * e))), float(s.metadata["row_pitch_mm"])


def one(a, sim, mode, seed, name, ov, tmp):
    tag = "%s_%s_%d_%s" % (sim, mode, seed, name.replace(" ", "_").replace(",", ""))
    s, r, o = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5", ".o.h5"))
    y, c, on, rows = make(sim, mode, seed, s, ov)
    run(a.bin, "process", "-q", s, "-o", r)
    run(a.bin, "process", "-q", s, *OPEN_ARGS, "-o", o)
    ev = json.loads(run(a.bin, "eval", r, "--truth", s, "--json"))
    z, noise = knot_z(o, s, ev["tolerance_mm"])
    out = {"f1": ev["f1"], "noise": noise, "z": z}
    if name == "as drawn" and mode == "roller":
        out["odo_rms"], pitch = odometry_rms(s, y, on)
        out["odo_rms_pitch"] = out["odo_rms"] / pitch
        out["one_row"], out["max_rows"] = rows_per_cell(c, y, on, rows, pitch)
    for f in (s, r, o):
        os.unlink(f)
    return (sim, mode, name), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(REPO / "build" / "knotmap"))
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args()
    jobs = [(sim, mode, seed, name, ov) for sim in ABLATE for mode in ("roller", "mat")
            for seed in range(a.seed_start, a.seed_start + a.seeds)
            for name, ov in ABLATE[sim].items()]
    res = {}
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(a.jobs) as ex:
        futs = [ex.submit(one, a, *j, tmp) for j in jobs]
        for f in futs:
            key, out = f.result()
            res.setdefault(key, []).append(out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"|".join(k): v for k, v in res.items()}, f)
    print("| simulator | mode | variant | F1 | map noise | median knot z |")
    print("|---|---|---|---|---|---|")
    for (sim, mode, name), v in res.items():
        print("| %s | %s | %s | %.3f | %.2f | %.1f |" % (
            SIMS[sim], mode, name, np.mean([x["f1"] for x in v]),
            np.mean([x["noise"] for x in v]), np.median([z for x in v for z in x["z"]])))
    print()
    print("| simulator | roller cells pressed by one taxel row | most rows on a cell | "
          "odometry RMS mm (x row pitch) |")
    print("|---|---|---|---|")
    for (sim, mode, name), v in res.items():
        if name == "as drawn" and mode == "roller":
            print("| %s | %.3f | %d | %.2f (%.2f) |" % (
                SIMS[sim], np.nanmean([x["one_row"] for x in v]),
                max(x["max_rows"] for x in v), np.nanmean([x["odo_rms"] for x in v]),
                np.nanmean([x["odo_rms_pitch"] for x in v])))
    print("\n%d seeds per cell from %d, hard, 20 s" % (a.seeds, a.seed_start))


if __name__ == "__main__":
    main()
