#!/usr/bin/python3
"""Which gate of the candidate detection drops each missed knot (issue 11; ALGORITHMS 10.4).

Needs a diagnostic build of knotmap: bench/gate_trace.patch applied to a scratch copy of
the tree (`git ls-files | tar cf - -T - | tar xf - -C /tmp/diag; cd /tmp/diag; patch -p1 <
bench/gate_trace.patch`, build as usual) (it prints one TRACE line to stderr per peak of the amplitude map when KM_TRACE is
set: its located position, raw z, one-taxel, size, the largest-sigma, edge and elongation
verdicts, seen / covering passes; the peaks the peak window merged; the spikes the despiking
replaced). It is not part of knotmap (the library prints nothing).

Per session (TUNING seeds only: models 1-999, the independent and the third simulator
0-99, cells `indep/MODE/PRESET` and `third/MODE/PRESET`) it runs the default build
(--bin) for the default candidates, and the traced build (--trace-bin) with every
threshold opened, then for every knot the default run misses (`knotmap eval`'s one-to-one
matching within one pitch, the larger) takes the traced peak nearest the knot (its located
position) and names the first gate, in make_candidate's order, that it fails at the
DEFAULT thresholds:

  one-taxel         the isolated-cell test called it one taxel (significance discounted);
  z < min_snr       significance under the default min_snr (5; 4 for a footprint fitted at
                    6 mm or more, ALGORITHMS 10.4 Peaks, from main a7b4de2 on: --old-rule
                    applies 5 to every size, for builds before it; a trace that prints
                    `share`, session 21 on, gives the product of the lower thresholds
                    itself, the two-row rule on rollers included), with its z (on a
                    roller, after the footprint rule of 10.4 Noise; `z0` the raw snr);
  min_prominence    fitted amplitude under min_prominence (4);
  relief            a mat peak under the default min_pressure_share of the contact
                    (km_cand_relief; traces from session 40 on print it);
  largest sigma     still growing at the largest sigma searched;
  edge              8 or more of its 5 x 5 neighbours off the map;
  elongated         the elongation test;
  seen/persistence  never seen, or persistence under 0.3;
  max_candidates    passed every gate but ranked after max_candidates (rare);
  matched elsewhere passed every gate within the tolerance but eval matched it to another knot;
  placed off        the nearest traced peak lies between 1 and 2 tolerances;
  merged            only a peak the peak window merged lies within the tolerance;
  spike             only a despiked cell (replaced before the filter) lies within it;
  no peak           nothing within 2 tolerances (map z of the knot cell given: under the
                    noise or off the map).

On the independent and the third simulator every knot also gets its SNR over one frame's
total per-taxel error (eval_independent.knot_snr / sim_third.knot_snr "total", issue 11's
"knots above the sensor's noise"), and the table is printed again for the knots of SNR >=
--snr-cut (5): where the knots that stand above the noise are lost.  Every knot also
gets its z in knotmap's own map (bench/eval.py map_z: the candidate map at the knot over
the local pass-to-pass spread, "mapz" in --list and --json, and over the map's own spread
around it, "mapz_space"), and the table is printed again for the knots of each z >=
--map-z-cut (5).

Usage: /usr/bin/python3 bench/gate_misses.py --bin build/knotmap --trace-bin DIAG/knotmap
           --cells 1/roller/hard,1/mat/hard,indep/roller/hard,third/mat/moderate --seeds 20
           [--indep-seeds 40] [--jobs 2] [--process-args "..."] [--json FILE] [--list]
           [--snr-cut 5] [--map-z-cut 5]
"""
import argparse
import concurrent.futures as cf
import json
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
import eval_independent as ei  # noqa: E402  (knot_snr)
import sim_independent  # noqa: E402
import sim_third  # noqa: E402

MIN_SNR, MIN_PROM, MIN_PERS, MAX_CAND = 5.0, 4.0, 0.3, 100
BROAD_SIGMA_MM, BROAD_SNR_SHARE = 6.0, 0.8
OLD_RULE = False
GATES = ("one-taxel", "z < min_snr", "min_prominence", "relief", "largest sigma", "edge",
         "elongated",
         "seen/persistence", "max_candidates", "matched elsewhere", "placed off", "merged",
         "spike", "no peak")


def trace(binary, *args, env_extra=None):
    env = dict(os.environ, KM_TRACE="1")
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    peaks, merged, spikes = [], [], []
    for line in r.stderr.splitlines():
        if not line.startswith("TRACE "):
            continue
        t = line.split()
        kind, kv = t[1], {t[i]: float(t[i + 1]) for i in range(2, len(t) - 1, 2)}
        {"peak": peaks, "merged": merged, "spike": spikes}[kind].append(kv)
    return peaks, merged, spikes


def first_gate(p):
    if p["one"]:
        return "one-taxel"
    need = MIN_SNR
    if "share" in p:  # the trace's own product of the lower thresholds (broad, two rows)
        need *= p["share"]
    elif not OLD_RULE and p["size"] >= BROAD_SIGMA_MM:
        need *= BROAD_SNR_SHARE
    if not p["rawz"] >= need:
        return "z < min_snr"
    if not p["amp"] >= MIN_PROM:
        return "min_prominence"
    if p.get("relief"):  # a mat's relief under the default share of the contact (trace 40 on)
        return "relief"
    if p["largest"]:
        return "largest sigma"
    if p["edge"]:
        return "edge"
    if p["elong"]:
        return "elongated"
    if p["seen"] < 1 or p["seen"] / max(p["cov"], 1) < MIN_PERS:
        return "seen/persistence"
    return None


def write_rows(rows, listed, path):
    """Every row not found on stdout (listed), every row to the JSON file path (if any)."""
    if listed:
        for r in rows:
            if r.get("gate") != "found":
                print(json.dumps(r))
    if path:
        Path(path).write_text(json.dumps(rows, indent=1))


def remove(*paths):
    """The session's files, when they are there."""
    for f in paths:
        if os.path.exists(f):
            os.unlink(f)


def miss_gate(peaks, merged, spikes, x, y, tol):
    """Where a missed knot at (x, y) is lost: (gate, the traced peak that decides or None,
    the figures of the row).  The most significant traced peak within tol decides by its
    first default gate (None: it passes every gate); else merged, spike, placed off (the
    nearest peak within 2 tol) or no peak."""
    near = sorted(((math.hypot(p["x"] - x, p["y"] - y), p) for p in peaks), key=lambda t: t[0])
    within = [p for d, p in near if d <= tol]
    if within:
        p = max(within, key=lambda q: q["rawz"])
        return first_gate(p), p, {"z": p["rawz"], "size": p["size"], "amp": p["amp"],
                                  "pers": p["seen"] / max(p["cov"], 1), "cov": p["cov"],
                                  "dist": near[0][0], "noise": p["noise"]}
    if any(math.hypot(q["x"] - x, q["y"] - y) <= tol for q in merged):
        return "merged", None, {}
    if any(math.hypot(q["x"] - x, q["y"] - y) <= tol for q in spikes):
        q = min(spikes, key=lambda q: math.hypot(q["x"] - x, q["y"] - y))
        return "spike", None, {"z": q["z"]}
    if near and near[0][0] <= 2 * tol:
        d, p = near[0]
        return "placed off", p, {"z": p["rawz"], "dist": d, "dx": p["x"] - x, "dy": p["y"] - y,
                                 "fails": first_gate(p), "size": p["size"]}
    return "no peak", None, {}


def one(a, cell, seed, tmp):
    model, mode, preset = cell.split("/")
    tag = "%s_%s_%s_%d" % (model, mode, preset, seed)
    s, r = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5"))
    extra = shlex.split(a.process_args)
    snr = None
    if model == "indep":
        snr = ei.knot_snr(sim_independent.write(s, mode, preset, seed, 20.0), "total")
    elif model == "third":
        sim_third.write(s, mode, preset, seed, 20.0, None)
        snr = sim_third.knot_snr(s, "total")
    else:
        kev.run(a.bin, "synth", "--model", model, "--mode", mode, "--preset", preset, "--seed",
                seed, "--duration", 20, "-o", s)
    kev.run(a.bin, "process", "-q", s, *extra, "-o", r)
    ev = json.loads(kev.run(a.bin, "eval", r, "--truth", s, "--json"))
    tol = ev["tolerance_mm"]
    peaks, merged, spikes = trace(a.trace_bin, "process", "-q", s, *extra,
                                  *kev.OPEN_ARGS.split(), "-o", r + ".o")
    with h5py.File(s) as f:
        k = f["truth/knots"]
        tx, ty = k["x_mm"][:], k["y_mm"][:]
        ta = k["amplitude_kpa"][:] if "amplitude_kpa" in k else np.full(len(tx), np.nan)
        ts = k["footprint_sigma_mm"][:] if "footprint_sigma_mm" in k else np.full(len(tx), np.nan)
    c = kev.read_candidates(r)
    got = {j: i for i, j, _ in kev.match(kev.pairs_within(c["x_mm"], c["y_mm"], tx, ty, tol),
                                         len(c["x_mm"]))}
    # the peaks that pass every default gate, and are within the first MAX_CAND by score
    mapz, mapzs = kev.map_z(r, tx, ty), kev.map_z(r, tx, ty, noise="space")
    passing = [p for p in peaks if first_gate(p) is None]
    passing.sort(key=lambda p: -p["rawz"] * p["seen"] / max(p["cov"], 1))
    out = []
    for j in range(len(tx)):
        row = {"cell": cell, "seed": seed, "knot": j, "sigma": float(ts[j]), "kpa": float(ta[j]),
               "tol": tol, "snr": float(snr[j]) if snr is not None else float("nan"),
               "mapz": float(mapz[j]), "mapz_space": float(mapzs[j])}
        if j in got:
            row["gate"] = "found"
            out.append(row)
            continue
        g, p, info = miss_gate(peaks, merged, spikes, tx[j], ty[j], tol)
        if g is None:
            g = "max_candidates" if passing.index(p) >= MAX_CAND else "matched elsewhere"
        row.update(info, gate=g)
        out.append(row)
    remove(s, r, r + ".o")
    return out


def gate_table(rows, cells):
    print("| cell | knots | found | " + " | ".join(GATES) + " |")
    print("|---" * (3 + len(GATES)) + "|")
    for cell in cells:
        rs = [r for r in rows if r["cell"] == cell]
        print("| %s | %d | %d | %s |" % (cell, len(rs), sum(r["gate"] == "found" for r in rs),
                                        " | ".join(str(sum(r["gate"] == g for r in rs)) for g in GATES)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--trace-bin", required=True)
    ap.add_argument("--cells", default="1/roller/hard,1/mat/hard,indep/roller/hard")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--indep-seeds", type=int, default=40,
                    help="seeds of the independent and the third simulator's cells")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--process-args", default="")
    ap.add_argument("--json", default=None)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--snr-cut", type=float, default=5.0,
                    help="the table again for the knots of total SNR >= this (other simulators)")
    ap.add_argument("--map-z-cut", type=float, default=5.0,
                    help="the table again for the knots of map_z >= this (every simulator)")
    ap.add_argument("--old-rule", action="store_true",
                    help="min_snr alone at every size (builds before main a7b4de2)")
    a = ap.parse_args()
    global OLD_RULE
    OLD_RULE = a.old_rule
    jobs = []
    for cell in a.cells.split(","):
        other = cell.split("/")[0] in ("indep", "third")
        n = a.indep_seeds if other else a.seeds
        hi = 100 if other else 1000
        if a.seed_start + n - 1 >= hi:
            ap.error("tuning seeds only")
        jobs += [(cell, s) for s in range(a.seed_start, a.seed_start + n)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(a.jobs) as ex:
        for f in [ex.submit(one, a, c, s, tmp) for c, s in jobs]:
            rows += f.result()
    gate_table(rows, a.cells.split(","))
    strong = [r for r in rows if r["snr"] >= a.snr_cut]
    if strong:
        print("\nKnots of total SNR >= %g only:\n" % a.snr_cut)
        gate_table(strong, [c for c in a.cells.split(",") if any(r["cell"] == c for r in strong)])
    for key, what in (("mapz", "the pass-to-pass spread"), ("mapz_space", "the map's spread")):
        print("\nKnots of z >= %g in knotmap's map over %s (bench/eval.py map_z) only:\n"
              % (a.map_z_cut, what))
        gate_table([r for r in rows if r[key] >= a.map_z_cut], a.cells.split(","))
    zs = [r["z"] for r in rows if r["gate"] == "z < min_snr"]
    if zs:
        print("\nz of the 'z < min_snr' misses: " + ", ".join(
            "%s %d" % (lab, sum(lo <= z < hi for z in zs)) for lab, lo, hi in
            (("<2", -1e9, 2), ("2-3", 2, 3), ("3-4", 3, 4), ("4-4.5", 4, 4.5), ("4.5-5", 4.5, 5))))
    write_rows(rows, a.list, a.json)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
