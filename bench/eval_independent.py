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

--snr-bins adds tables for issue 11's condition (checkers expect F1 >= 0.9 "where the
knots stand above the sensor's noise").  A knot's SNR is its peak excess as the sensor
can see it over a per-taxel noise sd, all in kPa as the simulator draws them:

  SNR = amp * exp(-dx^2 / 2 sx^2 - dy^2 / 2 sy^2) / sd

amp the knot's added pressure at its centre at lean 1 (15-45 kPa hard, 25-70 moderate),
dx (dy) the distance from its centre to the nearest column (row) and sx (sy) its sigma
across (along): a mat's rows stay at fixed body y, and a roller rolling without slip
presses the body with each row at fixed points a row pitch apart as well.  Two noise sds, one table set each:
- white: the sd of the noise drawn afresh for every taxel of every frame (1.5-3 kPa
  hard, 0.4-1.2 moderate), what a datasheet calls the sensor's noise;
- total: the per-taxel error of one frame under the background pressure P at the
  knot's column (contact pressure x body profile, band centre): sqrt(white^2 + offset
  sd^2 + (gain sd x P)^2 + count^2 / 12), i.e. with the fixed pattern of gain and offset
  errors that a single map shows;
- spread: the detector's own noise, the median over the body map's cells of the
  pass-to-pass spread of the candidate map (R.h5 /bodymap/spread, docs/FORMAT.md:
  the sd of a cell's pass maxima of the local excess), one figure per session;
- map: not the simulator's amplitude but the knot as knotmap could see it, z = A / s at
  the body map cell nearest the knot (bench/eval.py map_z): A the candidate map there
  (/bodymap/excess), s the local median pass-to-pass spread (/bodymap/spread);
- map-space: the same A over the spread of A itself around the knot (map_z "space":
  the fixed pattern of gains and offsets and the body's relief included).
Lean, the contact band's profile, leak, lag, dead taxels and distractors are left out;
amp / white alone is >= 5 for every knot of both presets (the taxel grid's sampling is
what makes knots weaker).  The tables: recall per SNR bin (knots found / knots, pooled
over seeds) and, per cut T, precision, recall and F1 (means over sessions) with the
knots of SNR >= T as "must find": the one-to-one matching is against every knot; a
missed weaker knot is not a miss, a candidate matched to one is neither a true nor a
false positive (snr_figures).

Usage: /usr/bin/python3 bench/eval_independent.py [--bin build/knotmap] [--seeds 6]
           [--seed-start 100] [--modes roller,mat] [--presets moderate,hard] [--jobs 2]
           [--process-args "..."] [--snr-bins 2,3,5,10,20] [--snr-cuts 3,5]
           [--snr-noise white,total,spread,map,map-space]
--snr-noise prints the tables of the named noises only (all by default).
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402  (bench/eval.py)
import sim_independent  # noqa: E402


SNR_NOISE = ("white", "total", "spread", "map", "map-space")


def knot_snr(d, noise="white", spread=None):
    """Per knot of a session drawn by sim_independent.draw: the peak excess at the
    nearest taxel centre (lean 1) over the per-taxel noise sd, "white" or "total", or
    over spread (the result's median pass-to-pass spread) for "spread" (module
    docstring)."""
    out = []
    for k in d["knots"]:
        sd = spread if noise == "spread" else d["noise"]
        if noise == "total":
            xc = round(k["x"] / d["col_pitch"]) * d["col_pitch"]
            bg = 4 / math.pi * d["contact_kpa"] * float(sim_independent._body(d, np.array(xc)))
            sd = math.sqrt(sd ** 2 + d["offset_sd"] ** 2 + (d["gain_sd"] * bg) ** 2
                           + d["count_kpa"] ** 2 / 12)
        dx = k["x"] - round(k["x"] / d["col_pitch"]) * d["col_pitch"]
        dy = k["y"] - round(k["y"] / d["row_pitch"]) * d["row_pitch"]
        att = math.exp(-0.5 * (dx / k["sx"]) ** 2 - 0.5 * (dy / k["sy"]) ** 2)
        out.append(k["amp"] * att / sd)
    return np.asarray(out, float)


def map_snr(result, truth, noise):
    """The knots' z in knotmap's map for the SNR noise "map" or "map-space"
    (bench/eval.py map_z over the pass-to-pass spread, or over the map's own spread)."""
    return kev.map_z(result, truth[0], truth[1],
                     noise="space" if noise == "map-space" else "spread")


def snr_figures(cx, cy, tx, ty, snr, tol, cuts):
    """Weak knots as "don't care".  One-to-one matching of the candidates (cx, cy)
    against every knot (tx, ty), nearest pairs first within tol (as `knotmap eval`);
    then per cut T in cuts, with the knots of snr >= T as must-find: tp = candidates
    matched to a must-find knot, fp = unmatched candidates (a candidate matched to a
    weaker knot counts as neither), fn = must-find knots unmatched.  Returns
    ({T: {"tp", "fp", "fn", "precision", "recall", "f1"}}, found) with found[j] True
    when knot j is matched.  Empty denominators give 1.0, as session_figures does."""
    m = kev.match(kev.pairs_within(cx, cy, tx, ty, tol), len(cx))
    found = np.zeros(len(tx), bool)
    for _, j, _ in m:
        found[j] = True
    snr = np.asarray(snr, float)
    out = {}
    for t in cuts:
        must = snr >= t
        tp = int(np.sum(found & must))
        fn = int(np.sum(must)) - tp
        fp = len(cx) - len(m)
        out[t] = {"tp": tp, "fp": fp, "fn": fn,
                  "precision": tp / (tp + fp) if tp + fp else 1.0,
                  "recall": tp / (tp + fn) if tp + fn else 1.0,
                  "f1": 2.0 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0}
    return out, found


def snr_tables(rows, cells, bins, cuts, noise):
    """Markdown: recall per SNR bin and the F1 with must-find cuts, per cell and method,
    SNR over the noise sd named by noise (SNR_NOISE)."""
    edges = [-math.inf] + list(bins) + [math.inf]
    names = (["< %g" % bins[0]] + ["%g-%g" % (lo, hi) for lo, hi in zip(bins, bins[1:])]
             + [">= %g" % bins[-1]])
    lines = ["| mode | preset | method | " + " | ".join("recall SNR %s" % n for n in names)
             + " |", "|---|---|---|" + "---|" * len(names)]
    lines2 = ["| mode | preset | method | F1 all knots | " + " | ".join(
        "P / R / **F1** SNR >= %g" % t for t in cuts) + " | knots weaker than %g |" % cuts[0],
        "|---|---|---|---|" + "---|" * (len(cuts) + 1)]
    for m, p in cells:
        for method in ("knotmap", "recipe"):
            rs = [r[method] for r in rows[(m, p)]]
            snr = np.concatenate([r["snr"][noise] for r in rs])
            found = np.concatenate([r["found"] for r in rs])
            cols = []
            for lo, hi in zip(edges, edges[1:]):
                sel = (snr >= lo) & (snr < hi)
                n = int(sel.sum())
                cols.append("%s (%d/%d)" % (kev.fmt(found[sel].mean() if n else float("nan"),
                                                    "%.2f"), int(found[sel].sum()), n))
            lines.append("| %s | %s | %s | %s |" % (m, p, method, " | ".join(cols)))
            fc = []
            for t in cuts:
                fc.append("%s / %s / **%s**" % tuple(
                    kev.fmt(float(np.mean([r["snr_cut"][noise][t][k] for r in rs])))
                    for k in ("precision", "recall", "f1")))
            lines2.append("| %s | %s | %s | %s | %s | %d of %d |" % (
                m, p, method, kev.fmt(float(np.mean([r["f1"] for r in rs]))), " | ".join(fc),
                int(np.sum(snr < cuts[0])), len(snr)))
    return "\n".join(lines) + "\n\n" + "\n".join(lines2)


def score_session(a, s, r, o):
    """Run knotmap on the session s at the defaults (-> r) and opened (-> o), and the
    recipe; the figures of both methods against s's /truth/knots within `knotmap
    eval`'s tolerance: ({"knotmap": fig, "recipe": fig}, {method: (x, y)}, truth, tol)."""
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
    recipe_xy = (bx, by)
    bx, by, bv = kev.recipe(r, s, 0.0)
    figo, pairs, _ = kev.session_figures(bx, by, bv, None, truth, tol, rp)
    figb["ap"] = figo["ap"]
    figb["ranked"] = (pairs, [float(v) for v in bv], len(truth[0]))
    figs = {"knotmap": fig, "recipe": figb}
    return figs, {"knotmap": (c["x_mm"], c["y_mm"]), "recipe": recipe_xy}, truth, tol


def add_snr(a, figs, xy, truth, tol, snr_of):
    """Per method, the knots' SNR (snr_of(noise) for each of SNR_NOISE) and the
    figures with the knots above each of a.snr_cuts as must-find (snr_figures)."""
    for method, fg in figs.items():
        fg["snr"], fg["snr_cut"] = {}, {}
        for noise in SNR_NOISE:
            fg["snr"][noise] = snr_of(noise)
            fg["snr_cut"][noise], fg["found"] = snr_figures(
                *xy[method], truth[0], truth[1], fg["snr"][noise], tol, a.snr_cuts)


def median_spread(result):
    """The median over the body map's cells of /bodymap/spread (NaN when none)."""
    with h5py.File(result) as f:
        sp = f["bodymap/spread"][:]
    return float(np.median(sp[np.isfinite(sp)])) if np.isfinite(sp).any() else np.nan


def one(a, mode, preset, seed, tmp):
    tag = "%s_%s_%d" % (mode, preset, seed)
    s, r, o = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5", ".o.h5"))
    sim_independent.write(s, mode, preset, seed, a.duration)
    figs, xy, truth, tol = score_session(a, s, r, o)
    if a.snr_bins:
        d = sim_independent.draw(mode, preset, seed)
        assert np.allclose([q["x"] for q in d["knots"]], truth[0])  # same draw as written
        spread = median_spread(r)
        add_snr(a, figs, xy, truth, tol, lambda noise: map_snr(r, truth, noise)
                if noise.startswith("map") else knot_snr(d, noise, spread))
    for f in (s, r, o):
        os.unlink(f)
    return (mode, preset, seed), figs


def print_summary(rows, cells):
    """The figures table: per cell and method (kev.summarise of the sessions' rows)."""
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


def print_snr(a, rows, cells):
    for noise in a.snr_noise.split(",") if a.snr_bins else ():
        what = {"map": "The knot's z in knotmap's map (A / pass-to-pass spread)",
                "map-space": "The knot's z in knotmap's map (A / the map's spread around "
                "it)"}.get(noise, "Knot SNR over the %s per-taxel noise sd" % noise)
        print("\n%s (docstring): recall per SNR bin "
              "(found/knots, pooled over seeds); precision, recall and F1 with the knots "
              "above each cut as must-find (means over sessions):\n" % what)
        print(snr_tables(rows, cells, a.snr_bins, a.snr_cuts, noise))


def _floats(s):
    return sorted(float(v) for v in s.split(","))


def add_common_args(ap):
    """The options every driver of this kind takes (this one and bench/eval_third.py)."""
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--seed-start", type=int, default=100)
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--process-args", default="", help="extra `knotmap process` options "
                    "(diagnosis only: the figures of record use the defaults)")
    ap.add_argument("--snr-bins", type=_floats, default=None, metavar="2,3,5,10,20",
                    help="add recall per knot SNR bin and F1 over knots above --snr-cuts "
                    "(module docstring)")
    ap.add_argument("--snr-cuts", type=_floats, default=[3.0, 5.0], metavar="3,5")
    ap.add_argument("--snr-noise", default=",".join(SNR_NOISE),
                    help="the SNR tables printed: any of " + ",".join(SNR_NOISE))


def sim_independent_presets():
    """The presets bench/sim_independent.py draws (its PRESETS, read where it is defined)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sim_independent
    return sim_independent.PRESETS


def check_cells(ap, a, presets_known):
    """Refuse (argparse's usage error, exit 2) a mode or preset the simulator does not have,
    before any session is drawn."""
    for what, given, known in (("mode", a.modes, ("roller", "mat")),
                               ("preset", a.presets, tuple(presets_known))):
        bad = [v for v in given.split(",") if v not in known]
        if bad:
            ap.error("unknown %s(s) %s: this simulator has %s"
                     % (what, ",".join(bad), ",".join(known)))
    bad = [v for v in a.snr_noise.split(",") if v not in SNR_NOISE]
    if bad:
        ap.error("unknown --snr-noise %s: one of %s" % (",".join(bad), ",".join(SNR_NOISE)))


def collect(a, cells, one_fn, *extra):
    """one_fn(a, mode, preset, seed, tmp, *extra) over the cells' seeds on a.jobs
    processes: {(mode, preset): [figures of each session]}."""
    rows = {}
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(a.jobs) as ex:
        futs = [ex.submit(one_fn, a, m, p, s, tmp, *extra) for m, p in cells
                for s in range(a.seed_start, a.seed_start + a.seeds)]
        for f in cf.as_completed(futs):
            key, out = f.result()
            rows.setdefault(key[:2], []).append(out)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    a = ap.parse_args()
    check_cells(ap, a, sim_independent_presets())
    cells = [(m, p) for m in a.modes.split(",") for p in a.presets.split(",")]
    rows = collect(a, cells, one)
    print_summary(rows, cells)
    print("\n%d seeds per cell from %d, %g s each; bench/sim_independent.py"
          % (a.seeds, a.seed_start, a.duration))
    print_snr(a, rows, cells)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
