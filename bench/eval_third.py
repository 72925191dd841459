#!/usr/bin/python3
"""Knot detection on sessions of the third simulator (bench/sim_third.py, session 34).

The same figures as bench/eval_independent.py (its functions and bench/eval.py's), on
sessions that sim_third.py draws from issue 11's list of real use:

  /usr/bin/python3 bench/sim_third.py S.h5 --mode MODE --preset P --seed N
  knotmap process S.h5 -o R.h5                 (defaults)
  knotmap process S.h5 OPEN_ARGS -o O.h5       (every candidate threshold opened)

per mode and preset: precision, recall, F1 at the defaults, AP of the opened run ranked
by score, best F1 over one score cut, localisation RMS, size within 30% of the
footprint sigma, and the scipy/scikit-image recipe as the baseline row.  --snr-bins adds
eval_independent.py's SNR tables, with the SNR of sim_third.knot_snr (the knot's excess
at the nearest taxel centre over the white, total or detector's spread noise) and the
knot's z in knotmap's own map ("map" over the pass-to-pass spread, "map-space" over the
map's own spread around it, bench/eval.py map_z); --snr-noise picks the tables.

Presets (sim_third.py's docstring has every range):
- easy: broad (nodule FWHM 6-12 mm at 10-20 mm), strong (stiffness 0.8-1.2) round knots,
  steady strokes, fine rows (5.2-8.6 mm), a quiet 12-bit sensor, no distractors;
- moderate: nodules 2-12 mm at 5-18 mm (footprints from under one taxel to about 2 cm),
  stiffness 0.6-1.2, aspect up to 1.8; speed +-40%, lifts, a pause; every device;
  noise 0.5-1.5 kPa, gain 5%, 10 bits, crosstalk, lag; a band, a prominence, a bad taxel;
- hard: nodules at 5-25 mm, stiffness 0.4-1.0, aspect up to 2.5, speed +-60%, more
  lifts and pauses, noise 1-3 kPa, gain 8%, 8 bits, more crosstalk, 3 bad taxels, a lost
  row segment half the time, two bands (a knot on each half the time).

Seeds: 0-19 to develop and diagnose; the figures of record use seeds 100-119.

--false-kinds says what the false candidates at the defaults lie on (a band, a prominence,
a bad taxel, the body's flank, the spine valley's side, or other).

--geometry (diagnosis, session 39): per candidate at the defaults, knot or what the false
one lies on, how far its peak goes on along a line: along = the smaller of the candidate
map's means (/bodymap/excess, A) on the two sides of the direction (every 15 degrees)
where that smaller one is largest, across = the larger of the two sides' means across
that direction, both over the peak's height (the largest cell of A in its 3 x 3), each
side the mean of 5 bilinear samples from 0.75 to 1.25 of d = max(2.5 x the fitted
sigma, 2 cells by the pitches along the direction); a side off the data counts the other
alone.  A round footprint reads along 0.04, a band long against d about 1.  Also (session
48) how much of its height the peak keeps 10-20 mm along y in its own column
(keep_along_y): on /bodymap/pressure above the level 35-60 mm away (a bony prominence
15-30 mm wide keeps more of its relief there than a knot), and on /bodymap/excess.
Printed: every candidate's row, per (along >= A, across <= B) cut the false candidates
and the knots it would take, and the keeps' percentiles by what the candidates lie on.

--ranking (diagnosis, session 41): per cell the AP of each session, knotmap's opened
ranking and the recipe's, their paired mean difference and its standard error, and for
each session where knotmap's AP is under 1 its ranking down to the last knot matched (every
candidate above it, knot or false, with its score, significance, persistence, amplitude and
size) and the knots never a candidate.

--sweep (diagnosis): per mode, the preset's sessions with every condition plain
(sim_third.PLAIN), then with one condition at a time switched on, then all; F1 and AP
per variant and what each costs against the plain sessions.  --conditions runs the
ordinary tables with only the named conditions on.

Usage: /usr/bin/python3 bench/eval_third.py [--seeds 20] [--seed-start 100]
           [--presets easy,moderate,hard] [--snr-bins 2,3,5,10,20] [--false-kinds] [--geometry]
           [--ranking]
       /usr/bin/python3 bench/eval_third.py --sweep --presets hard --seed-start 0 --seeds 10
"""
import argparse
import os
import sys
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402  (bench/eval.py)
import eval_independent as ei  # noqa: E402
import sim_third  # noqa: E402


def one(a, mode, preset, seed, tmp, conditions=None):
    tag = "%s_%s_%d_%s" % (mode, preset, seed, "-".join(conditions or ["all"]) or "none")
    s, r, o = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5", ".o.h5"))
    sim_third.write(s, mode, preset, seed, a.duration, conditions)
    figs, xy, truth, tol = ei.score_session(a, s, r, o)
    if a.false_kinds:
        figs["knotmap"]["false"] = false_kinds(s, *xy["knotmap"], truth, tol)
    if a.geometry:
        figs["knotmap"]["geometry"] = [(seed,) + g for g in geometry(s, r, truth, tol)]
    if a.ranking:
        figs["knotmap"]["ranking"] = (seed, ranking(o, truth, tol))
    if a.snr_bins:
        spread = ei.median_spread(r)
        ei.add_snr(a, figs, xy, truth, tol,
                   lambda noise: ei.map_snr(r, truth, noise) if noise.startswith("map")
                   else sim_third.knot_snr(s, noise, spread))
    for f in (s, r, o):
        os.unlink(f)
    return (mode, preset, seed), figs


RANK_COLS = ("score", "significance", "persistence", "amplitude", "size_mm")


def ranking(o, truth, tol):
    """The opened run's ranking, when it puts a false candidate before a knot or never
    lists one: each candidate down to the last knot matched (knot or false, position,
    RANK_COLS) and each knot no candidate matched.  [] when every knot ranks first."""
    c = kev.read_candidates(o)
    n = len(c["x_mm"]) if "x_mm" in c else 0
    m = kev.match(kev.pairs_within(c.get("x_mm", []), c.get("y_mm", []), truth[0], truth[1],
                                   tol), n)
    knot_of = {i: j for i, j, _ in m}
    last = max(knot_of, default=-1)
    if last + 1 == len(truth[0]) and len(m) == len(truth[0]):
        return []
    out = ["%3d %-7s x %6.1f y %6.1f  %s" % (
        i, "knot %d" % knot_of[i] if i in knot_of else "false", c["x_mm"][i], c["y_mm"][i],
        " ".join("%s %.3g" % (k, c[k][i]) for k in RANK_COLS if k in c)) for i in range(last + 1)]
    out += ["    knot %d never a candidate: x %6.1f y %6.1f, footprint sigma %.1f mm"
            % (j, truth[0][j], truth[1][j], truth[2][j])
            for j in range(len(truth[0])) if j not in knot_of.values()]
    return out


def print_ranking(rows, cells):
    """Per cell: AP per session of knotmap's opened ranking and the recipe's, paired;
    then the sessions where knotmap's is under 1 (ranking())."""
    for m, p in cells:
        km = np.array([r["knotmap"]["ap"] for r in rows[(m, p)]])
        rc = np.array([r["recipe"]["ap"] for r in rows[(m, p)]])
        d = km - rc
        print("\n%s %s, %d sessions: AP knotmap %.4f, recipe %.4f, paired difference %+.4f "
              "(se %.4f); under 1 in %d sessions (knotmap), %d (recipe)"
              % (m, p, len(d), km.mean(), rc.mean(), d.mean(),
                 d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan,
                 int(np.sum(km < 1.0 - 1e-9)), int(np.sum(rc < 1.0 - 1e-9))))
        for r in sorted(rows[(m, p)], key=lambda r: r["knotmap"]["ranking"][0]):
            seed, lines = r["knotmap"]["ranking"]
            if lines:
                print("  seed %d: AP knotmap %.3f, recipe %.3f" % (seed, r["knotmap"]["ap"],
                                                                 r["recipe"]["ap"]))
                print("\n".join("    " + ln for ln in lines))


FALSE_KINDS = ("band", "prominence", "bad taxel", "body edge", "spine", "other")


def false_kinds(s, cx, cy, truth, tol):
    """What each candidate matched to no knot lies on: a taut band (within 2 sigmas
    across and its length along), a bony prominence (within its sigma), a bad taxel's
    column (and row, on a mat), the body's flank (within 20 mm of a thigh's or hip's
    edge, or outside it), the spine valley's side (back, within 25 mm), else other."""
    m = kev.match(kev.pairs_within(cx, cy, truth[0], truth[1], tol), len(cx))
    matched = {i for i, _, _ in m}
    with h5py.File(s) as f:
        d = {n: f["truth/distractors"][n][:] for n in f["truth/distractors"]}
        g = dict(f["truth"].attrs)
        cp, rp, mode = f.attrs["col_pitch_mm"], f.attrs["row_pitch_mm"], f.attrs["mode"]
    out = dict.fromkeys(FALSE_KINDS, 0)
    for i in set(range(len(cx))) - matched:
        out[_kind(cx[i], cy[i], d, g, cp, rp, mode)] += 1
    return out


def _kind(x, y, d, g, cp, rp, mode):
    for k, dx, dy, sa, sl in zip(d["kind"], d["x_mm"], d["y_mm"], d["sigma_across_mm"],
                                 d["sigma_along_mm"]):
        if k == 0 and abs(x - dx) <= 2 * sa + cp and abs(y - dy) <= 2 * sl:
            return "band"
        if k == 1 and np.hypot(x - dx, y - dy) <= sa:
            return "prominence"
        if k == 2 and abs(x - dx) <= cp / 2 and (mode == "roller" or abs(y - dy) <= rp):
            return "bad taxel"
    off = abs(x - g["body_centre_mm"])
    if np.isfinite(g["body_width_mm"]) and off >= g["body_width_mm"] / 2 - 20:
        return "body edge"
    if g["body"] == "back" and off <= 25:
        return "spine"
    return "other"


def _bilinear(a, y, x):
    """a at fractional cell (y, x) over its finite cells; NaN off the map or without any."""
    ny, nx = a.shape
    if not (0 <= y <= ny - 1 and 0 <= x <= nx - 1):
        return np.nan
    y0, x0 = int(y), int(x)
    y1, x1, fy, fx = min(y0 + 1, ny - 1), min(x0 + 1, nx - 1), y - y0, x - x0
    v = np.array([a[y0, x0], a[y0, x1], a[y1, x0], a[y1, x1]], float)
    w = np.array([(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx])
    ok = np.isfinite(v) & (w > 0)
    return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else np.nan


def _sides(a, y, x, uy, ux, d, py, px):
    """Mean of a over 5 samples from 0.75 d to 1.25 d (mm) on each side of direction
    (uy, ux) from cell (y, x): the two means (NaN without data)."""
    out = []
    for sg in (1, -1):
        v = [_bilinear(a, y + sg * t * uy / py, x + sg * t * ux / px)
             for t in np.linspace(0.75 * d, 1.25 * d, 5)]
        v = [e for e in v if np.isfinite(e)]
        out.append(np.mean(v) if v else np.nan)
    return out


def band_shares(a, py, px, y, x, sigma_mm, sigmas=2.5, cells=2.0):
    """(along, across) over the peak's height for a peak at fractional cell (y, x) of
    the map a (pitches py, px mm) fitted at sigma_mm (module docstring, --geometry)."""
    iy, ix = int(round(y)), int(round(x))
    peak = np.nanmax(a[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2])
    best, across = -np.inf, np.nan
    for th in np.deg2rad(np.arange(0, 180, 15)):
        uy, ux = np.cos(th), np.sin(th)
        d = max(sigmas * sigma_mm, cells * np.hypot(py * uy, px * ux))
        al = _sides(a, y, x, uy, ux, d, py, px)
        if not np.isfinite(al).any() or np.nanmin(al) <= best:
            continue
        best = np.nanmin(al)
        d = max(sigmas * sigma_mm, cells * np.hypot(py * ux, px * uy))
        ac = _sides(a, y, x, -ux, uy, d, py, px)
        across = np.nanmax(ac) if np.isfinite(ac).any() else np.nan
    return best / peak, across / peak


def keep_along_y(a, py, y, x, near=(10.0, 20.0), far=(35.0, 60.0), level=True):
    """The share of its height a peak at cell (y, x) of the map a (row pitch py mm) keeps
    near[0]-near[1] mm along y, in its own column: the mean of those cells over the
    peak's, each less the mean of the cells far[0]-far[1] mm away when level (the
    contact pressure's level: /bodymap/pressure), as is otherwise (the excess map).
    Along y the body map has no body profile (that runs along x), so a knot of
    footprint sigma s keeps about exp(-t^2 / (2 s^2)) at t mm (0.03-0.2 for s 5-8 mm
    at 15 mm), a bony prominence of 15-30 mm 0.6-0.9, a band along y about 1
    (--geometry, session 48).  NaN without cells."""
    iy, ix = int(round(y)), int(round(x))

    def mean_at(lo, hi):
        v = [a[iy + j, ix] for j in range(-a.shape[0], a.shape[0] + 1)
             if j != 0 and 0 <= iy + j < a.shape[0] and lo <= abs(j) * py < hi
             and np.isfinite(a[iy + j, ix])]
        return float(np.mean(v)) if v else np.nan
    if not (0 <= iy < a.shape[0] and 0 <= ix < a.shape[1]):
        return np.nan
    base = mean_at(*far) if level else 0.0
    return (mean_at(*near) - base) / (a[iy, ix] - base)


def geometry(s, r, truth, tol):
    """Per default candidate of result r: (kind, z, size, persistence, along, across,
    keep along y of /bodymap/pressure, of /bodymap/excess: keep_along_y)."""
    c = kev.read_candidates(r)
    m = kev.match(kev.pairs_within(c["x_mm"], c["y_mm"], truth[0], truth[1], tol),
                  len(c["x_mm"]))
    matched = {i for i, _, _ in m}
    with h5py.File(s) as f:
        d = {n: f["truth/distractors"][n][:] for n in f["truth/distractors"]}
        g = dict(f["truth"].attrs)
        cp, rp, mode = f.attrs["col_pitch_mm"], f.attrs["row_pitch_mm"], f.attrs["mode"]
    with h5py.File(r) as f:
        b = f["bodymap"]
        at, a, pr = dict(b.attrs), b["excess"][:], b["pressure"][:]
    out = []
    for i, (x, y) in enumerate(zip(c["x_mm"], c["y_mm"])):
        kind = "knot" if i in matched else _kind(x, y, d, g, cp, rp, mode)
        cy, cx = (y - at["y0_mm"]) / at["y_pitch_mm"], (x - at["x0_mm"]) / at["x_pitch_mm"]
        al, ac = band_shares(a, at["y_pitch_mm"], at["x_pitch_mm"], cy, cx, c["size_mm"][i])
        out.append((kind, float(c["significance"][i]), float(c["size_mm"][i]),
                    float(c["persistence"][i]), al, ac,
                    keep_along_y(pr, at["y_pitch_mm"], cy, cx),
                    keep_along_y(a, at["y_pitch_mm"], cy, cx, level=False)))
    return out


def print_geometry(rows, cells):
    print("\nEvery candidate at the defaults (--geometry): along / across over the peak's height\n")
    print("| mode | preset | seed | kind | z | size mm | persistence | along | across "
          "| keep y pressure | keep y excess |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for m, p in cells:
        for g in sorted((g for r in rows[(m, p)] for g in r["knotmap"]["geometry"]),
                        key=lambda g: (g[1] == "knot", -g[5])):
            print("| %s | %s | %d | %s | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f |"
                  % ((m, p) + g))
    print("\nKeep along y (10-20 mm, keep_along_y) by what the candidate lies on, cells "
          "pooled: 10th / 25th / 50th / 75th / 90th percentile\n")
    print("| kind | candidates | /bodymap/pressure | /bodymap/excess |")
    print("|---|---|---|---|")
    gs = [g for m, p in cells for r in rows[(m, p)] for g in r["knotmap"]["geometry"]]
    for kind in ("knot",) + FALSE_KINDS:
        v = np.array([g[7:9] for g in gs if g[1] == kind], float).reshape(-1, 2)
        if len(v):
            print("| %s | %d | %s |" % (kind, len(v), " | ".join(
                " / ".join("%.2f" % q for q in np.nanpercentile(v[:, j], [10, 25, 50, 75, 90]))
                for j in (0, 1))))
    print("\nWhat a cut along >= A and across <= B would take (false candidates / knots):\n")
    cuts = [(al, ac) for al in (0.3, 0.4, 0.5) for ac in (0.2, 0.3)]
    print("| mode | preset | " + " | ".join("A %.1f B %.1f" % c for c in cuts) + " |")
    print("|---|---|" + "---|" * len(cuts))
    for m, p in cells:
        gs = [g for r in rows[(m, p)] for g in r["knotmap"]["geometry"]]
        print("| %s | %s | %s |" % (m, p, " | ".join(
            "%d / %d" % (sum(g[1] != "knot" and g[5] >= al and g[6] <= ac for g in gs),
                         sum(g[1] == "knot" and g[5] >= al and g[6] <= ac for g in gs))
            for al, ac in cuts)))


def sweep(a, modes, preset):
    """F1 / AP per variant: all plain, one condition on at a time, all on."""
    variants = [("none", [])] + [(c, [c]) for c in sim_third.CONDITIONS] + [("all", None)]
    cells = [(m, preset) for m in modes]
    res = {}
    for name, conds in variants:
        rows = ei.collect(a, cells, one, conds)
        res[name] = {m: kev.summarise([r["knotmap"] for r in rows[(m, preset)]])
                     for m in modes}
        res[name]["recipe"] = {m: kev.summarise([r["recipe"] for r in rows[(m, preset)]])
                               for m in modes}
        print("  %s done" % name, file=sys.stderr, flush=True)
    head = " | ".join("%s F1 | %s AP | %s P / R | %s F1 cost | %s recipe AP" % ((m,) * 5)
                      for m in modes)
    print("| condition on | " + head + " |")
    print("|---|" + "---|" * (5 * len(modes)))
    base = res["none"]
    order = sorted(res, key=lambda n: -sum(base[m]["f1"] - res[n][m]["f1"] for m in modes)
                   if n not in ("none", "all") else (-9 if n == "none" else 9))
    for name in order:
        cols = []
        for m in modes:
            s = res[name][m]
            cols.append("%s | %s | %s / %s | %s | %s" % (
                kev.fmt(s["f1"]), kev.fmt(s["ap"]), kev.fmt(s["precision"], "%.2f"),
                kev.fmt(s["recall"], "%.2f"), kev.fmt(base[m]["f1"] - s["f1"], "%+.3f"),
                kev.fmt(res[name]["recipe"][m]["ap"])))
        print("| %s | %s |" % (name, " | ".join(cols)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ei.add_common_args(ap)
    ap.set_defaults(seeds=20, presets="easy,moderate,hard")
    ap.add_argument("--conditions", default=None,
                    help="only these conditions on (comma-separated; '' none): "
                    + ",".join(sim_third.CONDITIONS))
    ap.add_argument("--false-kinds", action="store_true",
                    help="say what knotmap's false candidates at the defaults lie on")
    ap.add_argument("--geometry", action="store_true",
                    help="every default candidate's line along / across (module docstring)")
    ap.add_argument("--ranking", action="store_true",
                    help="AP per session, knotmap's and the recipe's, paired; where "
                    "knotmap's ranking puts a false candidate first or lists no knot")
    ap.add_argument("--sweep", action="store_true",
                    help="one condition at a time (module docstring)")
    a = ap.parse_args()
    ei.check_cells(ap, a, sim_third.PRESETS)
    modes, presets = a.modes.split(","), a.presets.split(",")
    conds = None if a.conditions is None else [c for c in a.conditions.split(",") if c]
    if conds and set(conds) - set(sim_third.CONDITIONS):
        ap.error("unknown condition(s): " + ",".join(set(conds) - set(sim_third.CONDITIONS)))
    if a.sweep:
        for p in presets:
            print("\n%s preset, %d seeds from %d, %g s each:\n" % (p, a.seeds, a.seed_start,
                                                                  a.duration))
            sweep(a, modes, p)
        return
    cells = [(m, p) for m in modes for p in presets]
    rows = ei.collect(a, cells, one, conds)
    ei.print_summary(rows, cells)
    print("\n%d seeds per cell from %d, %g s each; bench/sim_third.py%s"
          % (a.seeds, a.seed_start, a.duration,
             "" if conds is None else " (conditions on: %s)" % (",".join(conds) or "none")))
    ei.print_snr(a, rows, cells)
    if a.false_kinds:
        print("\nknotmap's false candidates at the defaults (summed over seeds) lie on:\n")
        print("| mode | preset | " + " | ".join(FALSE_KINDS) + " |")
        print("|---|---|" + "---|" * len(FALSE_KINDS))
        for m, p in cells:
            tot = [sum(r["knotmap"]["false"][k] for r in rows[(m, p)]) for k in FALSE_KINDS]
            print("| %s | %s | %s |" % (m, p, " | ".join(map(str, tot))))
    if a.geometry:
        print_geometry(rows, cells)
    if a.ranking:
        print_ranking(rows, cells)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
