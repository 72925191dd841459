#!/usr/bin/python3
"""What lies under knotmap's false knot candidates (issue 11; docs/ALGORITHMS.md 11.3, 10).

For every model, mode, preset and seed (TUNING seeds by default: 1..N):

  knotmap synth --model M --mode MODE --preset P --seed S --duration D -o S.h5
  knotmap process S.h5 [--process-args] -o R.h5          the defaults unless told

then each candidate of R.h5 is matched to the true knots as `knotmap eval` does (one to
one, best score first, within the larger taxel pitch), and each unmatched (false)
candidate is labelled with the first of these that holds, from the simulator's truth
(knotmap.synth without a path draws the same session: km_synth_truth's knots, per-taxel
state, gain and offset) and the session's own frames:

  hot taxel, offset    a taxel with a fixed offset (truth offset > 0; model 2's hot
                       taxels with an offset of 5-20 kPa) within 0.75 cell of the
                       candidate on each axis (its own taxel, or it sits beside it)
  hot taxel, gain      the same for a taxel with a gain >= 1.3 (model 2's high-gain
                       hot taxels)
  knot placed off      a true knot that no candidate matched within 2 tolerances
  second peak          a matched true knot within 3 footprint sigmas (at least 2
                       tolerances)
  taut band, end       the simulator's taut band (truth distractors, kind 1) within
                       max(2 band sigmas, tolerance) of its axis and 2 end sigmas of
                       either end of its extent (model 2: 8 mm, model 1: 10 mm)
  taut band, along     the same, between its ends
  bony prominence      within 2 sigmas of a bony prominence's centre (kind 2, model 2)
  dead/stuck beside    a dead or stuck taxel (truth state) within one cell
  contact edge         within 2 cells of a taxel off the contact (its 95th percentile
                       over the session under a quarter of the median taxel's) or
                       of the grid's border
  gain tail            the taxel under it has a gain 2 robust sd above the median
  other                nothing above: noise, or relief the simulator does not list
                       (a back's spine valley and its rigid roller's stiff ends, a
                       thigh's curvature)

Cells: on a mat the candidate's taxel is (round(y / row pitch), round(x / col pitch)).
A roller's body cell is pressed by taxels of one column but of any row: there the taxel
classes look at the sensor rows that pressed the candidate's body row, from the
simulator's true motion (the rows that lay under it in the frames whose contact line was
within half a row pitch of it, load on: one row, or two or three after the roller turned
in the air), within +-0.75 column (hot) or +-1 (dead/stuck), and the edge class only at
the border columns.  Until session 39 they looked at the whole column, and 1.5% hot
taxels in 24-48 rows put one in a third of the columns: model 2 roller hard's
"offset" false candidates (5 of 12, seeds 0-9) were mostly gain taxels, or none
(bench/HISTORY.md "Session 39 (det12)").

Prints per cell the count per class, the z range, and the true candidates; --list
prints every false candidate.

--features: per class (and for the true candidates), the median and 10th-90th
percentiles of what a rejection test could use, each measured on the result's own maps
(/bodymap; no truth), each named after the distractor it stands for:

  edge (sigmas)     distance to the contact's edge (a cell without data, a cell pressed
                    under half the candidate cell's /bodymap/pressure, or the map's
                    border) over the fitted footprint sigma (size_mm)
  dead (cells)      distance to the nearest cell without data inside the map (a dead or
                    stuck taxel's cell on a mat), in cell diagonals
  coverage          passes over the cell over the median cell's (the turns of a sweep)
  side/peak         the excess 3 fitted sigmas away (at least a cell) over the excess at
                    the candidate, the largest of 16 directions, both on /bodymap/excess
                    less its column median (the ridge removal) filtered at the fitted
                    sigma: a band's end or a plateau stays high on one side, a knot falls
                    on all (the "summit" test of bench/HISTORY.md "Session 18 (mat2)")
  line/peak         the same map 3 fitted sigmas away on both sides of the candidate,
                    the smaller of the two, the largest over 8 axes: a band through the
                    candidate stays high on both sides along its axis, a band's end or a
                    knot's neighbour on one only
  long line/peak    the same at 10, 20 and 30 mm on both sides (the smallest of the
                    six), the largest over 16 axes: a band runs 40-110 mm
  A / spread        the cell's excess over its pass-to-pass sd (a knot recurs in every
                    pass)
  persistence, size_mm, z   the candidate's own columns

--ratios: the sensor's time series instead of the candidates (mats only): per taxel of
the classes high-gain (truth gain >= 1.3), knot centre (the taxel nearest a true knot)
and healthy (a 2% sample of the rest), none with a dead, stuck or offset taxel in its
row neighbourhood, over the frames where its left and right neighbours read over 15 kPa:
the median ratio to their mean, the spread over the frames of the log of that ratio, and
its slope against the log of their load.  A high-gain taxel keeps its ratio whatever
loads it; so does a knot when the body never moves over the sheet, as on model 2's mats
(bench/HISTORY.md "Session 19 (mat2)").

--ranking (session 46): the run is the opened one (bench/eval.py's OPEN_ARGS after
--process-args), and for each session whose ranking puts a false candidate before a knot or
never lists one: every candidate down to the last knot matched (knot, or the class of what
lies under the false one, as above), its score, significance, size and fitted amplitude over
/bodymap/pressure at its cell, then the knots not listed.  Which false candidate costs which
knot its rank (average precision), by class (bench/HISTORY.md "Session 46 (det26)").

--true-gains hot|all: an oracle, not a method: the simulator's true gains divided out
(`--gain-map` with 1 / gain; hot: only the taxels of gain >= 1.3, the others 1), to
measure what the gain pattern costs (bench/HISTORY.md "Session 17 (mat2)").

Usage: /usr/bin/python3 bench/false_candidates.py [--bin build/knotmap] [--models 2]
           [--modes mat] [--presets moderate,hard] [--seeds 10] [--seed-start 1]
           [--duration 20] [--process-args "..."] [--true-gains hot|all] [--jobs 2]
           [--list] [--features] [--ratios] [--ranking]
Needs the Python bindings: PYTHONPATH, else the build/python beside --bin's build folder
(the script says so before any session runs if neither has them).
"""
import argparse
import concurrent.futures as cf
import json
import os
import shlex
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval import OPEN_ARGS  # noqa: E402  (bench/eval.py's opened run, for --misses)

CLASSES = ("hot taxel, offset", "hot taxel, gain", "knot placed off", "second peak",
           "taut band, end", "taut band, along", "bony prominence",
           "dead/stuck beside", "contact edge", "gain tail", "other")


def run(binary, *args):
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return r.stdout


def pressing_rows(truth, cy):
    """The sensor rows of a roller that pressed body y = cy: in the frames with load
    whose contact line lies within half a row pitch of cy, the row under cy (the
    contact row plus the offset in rows), each counted once."""
    mo = truth["motion"]
    yc, crow = np.asarray(mo["y_contact_mm"]), np.asarray(mo["contact_row"])
    rp, rows = truth["row_pitch_mm"], truth["gain"].shape[0]
    fr = (np.asarray(mo["load"]) > 0) & (np.abs(cy - yc) < 0.5 * rp)
    return sorted(set((np.round(crow[fr] + (cy - yc[fr]) / rp).astype(int) % rows).tolist()))


def near(mask, r, c, d, roller, rows_on=None):
    """Any of mask within d cells of (r, c); on a roller the columns within d of c in
    the sensor rows rows_on (pressing_rows)."""
    rows, cols = mask.shape
    c0, c1 = max(0, c - d), min(cols, c + d + 1)
    if roller:
        return bool(mask[rows_on, c0:c1].any()) if rows_on else False
    r0, r1 = max(0, r - d), min(rows, r + d + 1)
    return bool(mask[r0:r1, c0:c1].any())


def under(mask, fr, fc, roller, rows_on=None):
    """Any of mask on a taxel within 0.75 cell of the fractional cell (fr, fc) on each
    axis: the candidate's own taxel, or the one it sits beside (a roller: within 0.75
    column in the sensor rows rows_on that pressed it, pressing_rows)."""
    rr, cc = np.nonzero(mask)
    ok = np.abs(cc - fc) <= 0.75
    if roller:
        ok &= np.isin(rr, rows_on or [])
    else:
        ok &= np.abs(rr - fr) <= 0.75
    return bool(ok.any())


def relief(cx, cy, dis, tol):
    """(class, detail) of the simulator's band or prominence under (cx, cy), or None:
    a band within max(2 sigma, tol) of its axis, inside its extent widened by 2 end
    sigmas ("end" within 2 end sigmas of either end, else "along"); a prominence within 2
    sigmas of its centre.  The nearest (in its own sigmas) wins."""
    best = None
    for i in range(len(dis["kind"])):
        dx, dy = cx - dis["x_mm"][i], cy - dis["y_mm"][i]
        sg, a = dis["sigma_mm"][i], dis["angle_rad"][i]
        if dis["kind"][i] == 2:
            q = np.hypot(dx, dy) / sg
            if q <= 2.0 and (best is None or q < best[0]):
                best = (q, "bony prominence", "prominence sigma %.0f mm, %.1f kPa, at %.1f "
                        "sigmas" % (sg, dis["amplitude_kpa"][i], q))
            continue
        along = dx * np.sin(a) + dy * np.cos(a)
        across = dx * np.cos(a) - dy * np.sin(a)
        lo, hi, e = dis["along_lo_mm"][i], dis["along_hi_mm"][i], dis["end_sigma_mm"][i]
        q = abs(across) / sg
        if abs(across) > max(2.0 * sg, tol) or not lo - 2 * e <= along <= hi + 2 * e:
            continue
        to_end = min(abs(along - lo), abs(along - hi))
        if best is None or q < best[0]:
            best = (q, "taut band, end" if to_end <= 2 * e else "taut band, along",
                    "band sigma %.1f mm, %.1f kPa, %.0f mm long, %.1f mm from an end, "
                    "%.1f mm off its axis" % (sg, dis["amplitude_kpa"][i], hi - lo, to_end,
                                              abs(across)))
    return None if best is None else best[1:]


def label(cx, cy, r, c, roller, truth, knots, matched, tol, off_body):
    st, gain, off = truth["taxel_state"], truth["gain"], truth["offset"]
    fr, fc = cy / truth["row_pitch_mm"], cx / truth["col_pitch_mm"]
    on = pressing_rows(truth, cy) if roller else None
    if under(off > 0, fr, fc, roller, on):
        return "hot taxel, offset"
    if under(gain >= 1.3, fr, fc, roller, on):
        return "hot taxel, gain"
    d = np.hypot(knots["x_mm"] - cx, knots["y_mm"] - cy)
    if np.any((d <= 2 * tol) & ~matched):
        return "knot placed off"
    if np.any(matched & (d <= np.maximum(2 * tol, 3 * knots["footprint_sigma_mm"]))):
        return "second peak"
    rel = relief(cx, cy, truth["distractors"], tol)
    if rel is not None:
        return rel[0]
    if near(st != 0, r, c, 1, roller, on):
        return "dead/stuck beside"
    rows, cols = st.shape
    if c <= 1 or c >= cols - 2 or (not roller and (r <= 1 or r >= rows - 2)) or \
            (not roller and near(off_body, r, c, 2, roller)):
        return "contact edge"
    g = gain[st == 0]
    med = np.median(g)
    gt = (gain[on, c].max() if on else np.nan) if roller else gain[min(max(r, 0), rows - 1), c]
    if gt >= med + 2 * 1.4826 * np.median(np.abs(g - med)):
        return "gain tail"
    return "other"


FEATURES = ("edge (sigmas)", "dead (cells)", "dome", "amp / pressure", "coverage", "side/peak",
            "line/peak", "long line/peak", "A / spread",
            "persistence", "size_mm", "z")
RIDGE_MM = 4.5 * 15.0  # the ridge removal's half-window at the defaults (ALGORITHMS 10.4)


def filtered(a, sigma_mm, rp, cp):
    """a (NaN = no data) filtered by a Gaussian of sigma_mm, normalised over the finite
    cells (NaN where they carry under half of the kernel's weight)."""
    fin = np.isfinite(a)
    sig = (sigma_mm / rp, sigma_mm / cp)
    num = ndimage.gaussian_filter(np.where(fin, a, 0.0), sig, mode="constant", truncate=3.0)
    den = ndimage.gaussian_filter(fin.astype(float), sig, mode="constant", truncate=3.0)
    return np.where(den > 0.5, num / np.maximum(den, 1e-12), np.nan)


def features(maps, rp, cp, y0, cx, cy, size, cand, i):
    """The --features of candidate i (see the module's docstring)."""
    A, cov, P, sp = maps[:4]
    ny, nx = A.shape
    fr, fc = (cy - y0) / rp, cx / cp
    r, c = min(max(int(round(fr)), 0), ny - 1), min(max(int(round(fc)), 0), nx - 1)
    yy, xx = np.mgrid[0:ny, 0:nx]
    dmm = np.hypot((yy - fr) * rp, (xx - fc) * cp)
    nodata = ~np.isfinite(A) | (cov < 2)
    border = min((fr + 1) * rp, (ny - fr) * rp, (fc + 1) * cp, (nx - fc) * cp)
    low = nodata | (P < 0.5 * P[r, c])
    edge = min(float(dmm[low].min()) if low.any() else np.inf, border)
    dead = float(dmm[nodata].min()) / np.hypot(rp, cp) if nodata.any() else np.inf
    good = ~nodata
    h = max(1, int(round(RIDGE_MM / rp)))
    ridge_free = np.array(A, np.float64)
    with warnings.catch_warnings():  # columns without data stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        for y in range(ny):
            ridge_free[y] = A[y] - np.nanmedian(A[max(0, y - h):y + h + 1], axis=0)
    F = filtered(ridge_free, size, rp, cp)
    at = lambda y, x: ndimage.map_coordinates(F, [[y], [x]], order=1, cval=np.nan)[0]
    top, side = at(fr, fc), -np.inf
    dy, dx = max(3.0 * size / rp, 1.0), max(3.0 * size / cp, 1.0)
    for k in range(16):
        t = 2.0 * np.pi * k / 16
        v = at(fr + dy * np.sin(t), fc + dx * np.cos(t))
        if np.isfinite(v):
            side = max(side, v)
    line = {}
    ly, lx, best = max(3.0 * size / rp, 1.0), max(3.0 * size / cp, 1.0), -np.inf
    for k in range(8):
        t = np.pi * k / 8
        v = min(at(fr + ly * np.sin(t), fc + lx * np.cos(t)),
                at(fr - ly * np.sin(t), fc - lx * np.cos(t)))
        if np.isfinite(v):
            best = max(best, v)
    line["short"] = best
    best = -np.inf
    for k in range(16):
        t = np.pi * k / 16
        v = min(at(fr + sg * d * np.sin(t) / rp, fc + sg * d * np.cos(t) / cp)
                for d in (10.0, 20.0, 30.0) for sg in (1, -1))
        if np.isfinite(v):
            best = max(best, v)
    line["long"] = best
    dome = np.nan
    Pm = maps[4]
    r1 = max(3.0 * size, 1.5 * max(rp, cp))
    ring1 = (dmm >= r1 - 0.5 * max(rp, cp)) & (dmm <= r1 + 0.5 * max(rp, cp)) & np.isfinite(Pm)
    ring2 = (dmm >= 2 * r1 - 0.5 * max(rp, cp)) & (dmm <= 2 * r1 + 0.5 * max(rp, cp)) & \
        np.isfinite(Pm)
    if ring1.sum() >= 4 and ring2.sum() >= 4 and A[r, c] > 0:
        dome = float((np.median(Pm[ring1]) - np.median(Pm[ring2])) / A[r, c])
    return {"edge (sigmas)": edge / size, "dead (cells)": dead, "dome": dome,
            "amp / pressure": float(cand["amplitude"][i] / P[r, c]) if P[r, c] > 0 else np.nan,
            "coverage": float(cov[r, c] / np.median(cov[good])) if good.any() else np.nan,
            "side/peak": float(side / top) if top > 0 and np.isfinite(side) else np.nan,
            "line/peak": float(line["short"] / top) if top > 0 and np.isfinite(line["short"])
            else np.nan,
            "long line/peak": float(line["long"] / top) if top > 0 and np.isfinite(line["long"])
            else np.nan,
            "A / spread": float(A[r, c] / sp[r, c]) if sp[r, c] > 0 else np.nan,
            "persistence": float(cand["persistence"][i]), "size_mm": size,
            "z": float(cand["significance"][i])}


def one_session(a, model, mode, preset, seed, tmp):
    import knotmap
    s = os.path.join(tmp, "s%d_%s_%s_%d.h5" % (model, mode, preset, seed))
    res = os.path.join(tmp, "r%d_%s_%s_%d.h5" % (model, mode, preset, seed))
    run(a.bin, "synth", "--model", model, "--mode", mode, "--preset", preset, "--seed", seed,
        "--duration", a.duration, "-o", s)
    ses, truth = knotmap.synth(None, model=model, mode=mode, preset=preset, seed=seed,
                               duration=a.duration)
    extra = []
    if a.true_gains:
        g = np.asarray(truth["gain"], np.float64)
        gm = os.path.join(tmp, "g%d_%s_%s_%d.txt" % (model, mode, preset, seed))
        np.savetxt(gm, 1.0 / g if a.true_gains == "all" else np.where(g >= 1.3, 1.0 / g, 1.0))
        extra = ["--gain-map", gm]
    run(a.bin, "process", "-q", s, *shlex.split(a.process_args), *extra, "-o", res)
    if extra:
        os.remove(extra[1])
    with h5py.File(s, "r") as f:
        knots = {k: np.asarray(f["truth/knots"][k][()], np.float64)
                 for k in ("x_mm", "y_mm", "footprint_sigma_mm", "sigma_mm", "amplitude_kpa")}
    with h5py.File(res, "r") as f:
        cand = ({k: f["candidates"][k][()] for k in
                 ("x_mm", "y_mm", "significance", "size_mm", "persistence", "amplitude",
                  "score")}
                if "candidates" in f else None)
        maps = tuple(np.asarray(f["bodymap"][k][()], np.float64)
                     for k in ("excess", "coverage", "pressure", "spread", "mean"))
        y0 = float(f["bodymap/y_mm"][0])
    opened = None
    if a.misses:
        run(a.bin, "process", "-q", s, *shlex.split(a.process_args), *shlex.split(OPEN_ARGS),
            "-o", res)
        with h5py.File(res, "r") as f:
            opened = ({k: f["candidates"][k][()] for k in
                       ("x_mm", "y_mm", "significance", "size_mm", "persistence")}
                      if "candidates" in f else None)
    os.remove(s)
    os.remove(res)
    rp, cp = truth["row_pitch_mm"], truth["col_pitch_mm"]
    tol = max(rp, cp)
    n = 0 if cand is None else len(cand["x_mm"])
    cxy = np.zeros((n, 2)) if n == 0 else np.column_stack([cand["x_mm"], cand["y_mm"]])
    txy = np.column_stack([knots["x_mm"], knots["y_mm"]])
    m = knotmap.eval_points(cxy, txy, tol)["truth_match"]
    matched = m >= 0
    used = set(int(i) for i in m if i >= 0)
    p95 = np.percentile(np.asarray(ses.frames, np.float32), 95, axis=0)
    off_body = p95 < 0.25 * np.median(p95)
    roller = mode == "roller"
    out, feats, labels = [], [], {}
    for i in range(n):
        cx, cy = float(cand["x_mm"][i]), float(cand["y_mm"][i])
        fe = (features(maps, rp, cp, y0, cx, cy, float(cand["size_mm"][i]), cand, i)
              if a.features else None)
        if i in used:
            feats.append(("true knot", fe))
            continue
        r, c = int(round(cy / rp)), int(round(cx / cp))
        c = min(max(c, 0), truth["gain"].shape[1] - 1)
        lab = label(cx, cy, r, c, roller, truth, knots, matched, tol, off_body)
        labels[i] = lab
        rel = relief(cx, cy, truth["distractors"], tol)
        out.append({"label": lab, "z": float(cand["significance"][i]), "x": cx, "y": cy,
                    "seed": seed, "size": float(cand["size_mm"][i]),
                    "detail": rel[1] if rel is not None and lab == rel[0] else ""})
        feats.append((lab, fe))
    missed = ([miss(knots, i, truth, maps, y0, opened, tol, seed) for i in np.nonzero(m < 0)[0]]
              if a.misses else [])
    rank = []
    if a.ranking and n:
        P, k_of = maps[2], {int(i): j for j, i in enumerate(m) if i >= 0}
        cell = [(min(max(int(round((cy - y0) / rp)), 0), P.shape[0] - 1),
                 min(max(int(round(cx / cp)), 0), P.shape[1] - 1))
                for cx, cy in zip(cand["x_mm"], cand["y_mm"])]
        share = [cand["amplitude"][i] / P[rc] if P[rc] > 0 else np.nan
                 for i, rc in enumerate(cell)]
        rank = ranking(cand, k_of, labels, share, len(m))
    return {"cell": (model, mode, preset), "seed": seed, "false": out, "n_true": len(used), "features": feats,
            "missed": missed, "ranking": rank,
            "z_true": [float(cand["significance"][i]) for i in used]}


def ranking(cand, knot_of, labels, share, n_truth):
    """--ranking: the lines of one session's ranked candidates (cand, by score as the result
    lists them) down to the last knot matched (knot_of: candidate -> knot; labels: candidate
    -> class of a false one; share: fitted amplitude over the contact pressure), then the
    knots not listed; [] when the knots come first and every one is listed."""
    last = max(knot_of, default=-1)
    if len(knot_of) == n_truth and last + 1 == n_truth:
        return []
    out = ["%3d %6.2f z %6.2f size %5.2f share %.3f  %s" % (
        i, cand["score"][i], cand["significance"][i], cand["size_mm"][i], share[i],
        "knot %d" % knot_of[i] if i in knot_of else labels.get(i, "false"))
        for i in range(last + 1)]
    return out + ["    knot %d not listed" % j for j in range(n_truth)
                  if j not in knot_of.values()]


def miss(knots, i, truth, maps, y0, opened, tol, seed):
    """--misses: what a missed knot i is (truth) and where the opened run ranked it."""
    A, sp = maps[0], maps[3]
    rp, cp = truth["row_pitch_mm"], truth["col_pitch_mm"]
    x, y = knots["x_mm"][i], knots["y_mm"][i]
    r = min(max(int(round((y - y0) / rp)), 0), A.shape[0] - 1)
    c = min(max(int(round(x / cp)), 0), A.shape[1] - 1)
    spread = float(np.nanmedian(sp))
    out = {"seed": seed, "x": x, "y": y, "fp": knots["footprint_sigma_mm"][i],
           "diam": knots["sigma_mm"][i] * 2.3548200450309493, "amp": knots["amplitude_kpa"][i],
           "snr": knots["amplitude_kpa"][i] / spread if spread > 0 else np.nan,
           "map": float(A[r, c]) / knots["amplitude_kpa"][i], "oz": np.nan, "osize": np.nan,
           "opers": np.nan, "pitch": (rp, cp)}
    if opened is not None and len(opened["x_mm"]):
        d = np.hypot(opened["x_mm"] - x, opened["y_mm"] - y)
        j = int(np.argmin(d))
        if d[j] <= tol:
            out.update(oz=float(opened["significance"][j]), osize=float(opened["size_mm"][j]),
                       opers=float(opened["persistence"][j]))
    return out


def print_misses(res, cells):
    """--misses: every missed knot, and how many the opened run listed within a pitch."""
    for cell in cells:
        ms = [m for r in res if r["cell"] == cell for m in r["missed"]]
        if not ms:
            continue
        listed = sum(np.isfinite(m["oz"]) for m in ms)
        print("\n%d %s %s: %d knots missed, %d of them listed by the opened run within "
              "a pitch\n" % (*cell, len(ms), listed))
        print("| seed | x, y (mm) | pitch row x col (mm) | footprint sigma (mm) | nodule "
              "(mm) | amplitude (kPa) | amplitude / median spread | map A / amplitude | "
              "opened z | opened size (mm) | opened persistence |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for m in ms:
            print("| %d | %.0f, %.0f | %.1f x %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.1f | "
                  "%.1f | %.2f |" % (m["seed"], m["x"], m["y"], *m["pitch"], m["fp"], m["diam"],
                                     m["amp"], m["snr"], m["map"], m["oz"], m["osize"],
                                     m["opers"]))


def ratios(a, model, preset, seed):
    """--ratios of one mat session: {class: [(ratio, sd of log ratio, slope), ...]}."""
    import knotmap
    ses, truth = knotmap.synth(None, model=model, mode="mat", preset=preset, seed=seed,
                               duration=a.duration)
    F = np.asarray(ses.frames, np.float64)
    g, st, off = truth["gain"], truth["taxel_state"], truth["offset"]
    rp, cp = truth["row_pitch_mm"], truth["col_pitch_mm"]
    kn = truth["knots"]
    centre = {(int(round(y / rp)), int(round(x / cp))) for x, y in zip(kn["x_mm"], kn["y_mm"])}
    rng = np.random.default_rng(seed)
    out = {"high-gain": [], "knot centre": [], "healthy": []}
    for r in range(F.shape[1]):
        for c in range(1, F.shape[2] - 1):
            if (st[r, c - 1:c + 2] != 0).any() or (off[r, c - 1:c + 2] > 0).any():
                continue
            cl = ("high-gain" if g[r, c] >= 1.3 else "knot centre" if (r, c) in centre
                  else "healthy")
            if cl == "healthy" and rng.random() > 0.02:
                continue
            nb, v = 0.5 * (F[:, r, c - 1] + F[:, r, c + 1]), F[:, r, c]
            ok = (nb > 15.0) & (v > 0.0)
            if ok.sum() < 50:
                continue
            lr = np.log(v[ok] / nb[ok])
            out[cl].append((float(np.exp(np.median(lr))), float(lr.std()),
                            float(np.polyfit(np.log(nb[ok]), lr, 1)[0])))
    return out


def print_ratios(a):
    for m in a.models.split(","):
        for p in a.presets.split(","):
            tot = {}
            for s in range(a.seed_start, a.seed_start + a.seeds):
                for k, v in ratios(a, int(m), p, s).items():
                    tot.setdefault(k, []).extend(v)
            print("\n%s mat %s, seeds %d-%d: median (10th-90th percentile)\n" % (
                m, p, a.seed_start, a.seed_start + a.seeds - 1))
            print("| taxel | n | ratio to the row neighbours | sd of log ratio over frames "
                  "| slope against log load |")
            print("|---|---|---|---|---|")
            for k, v in tot.items():
                v = np.array(v, np.float64).reshape(-1, 3)
                cols = ["%.3f (%.3f-%.3f)" % (np.median(v[:, i]), *np.percentile(v[:, i], [10, 90]))
                        if len(v) else "" for i in range(3)]
                print("| %s | %d | %s |" % (k, len(v), " | ".join(cols)))


def print_features(res, cells):
    """Per cell and class: median (10th-90th percentile) of each feature."""
    for cell in cells:
        print("\n%d %s %s: median (10th-90th percentile)\n" % cell)
        print("| class | n | " + " | ".join(FEATURES) + " |")
        print("|---|---|" + "---|" * len(FEATURES))
        for cl in ("true knot",) + CLASSES:
            rows = [fe for r in res if r["cell"] == cell for lab, fe in r["features"]
                    if lab == cl]
            if not rows:
                continue
            cols = []
            for name in FEATURES:
                v = np.array([fe[name] for fe in rows], np.float64)
                v = v[np.isfinite(v)]
                cols.append("%.2f (%.2f-%.2f)" % (np.median(v), *np.percentile(v, [10, 90]))
                            if len(v) else "")
            print("| %s | %d | %s |" % (cl, len(rows), " | ".join(cols)))


def find_bindings(ap, binary):
    """Import knotmap from PYTHONPATH, else from the python folder of --bin's build (where
    CMake puts the module); a usage error before any work if neither has it."""
    try:
        import knotmap  # noqa: F401
        return
    except ImportError:
        pass
    sys.path.insert(0, str(binary.parent / "python"))
    try:
        import knotmap  # noqa: F401,F811
    except ImportError as e:
        ap.error("the Python bindings are not importable (%s): build them (cmake --build "
                 "build) or put their folder on PYTHONPATH" % e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/knotmap")
    ap.add_argument("--models", default="2")
    ap.add_argument("--modes", default="mat")
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--process-args", default="")
    ap.add_argument("--true-gains", choices=("hot", "all"), default=None,
                    help="oracle: divide out the true gains (hot: only gain >= 1.3)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--list", action="store_true", help="print every false candidate")
    ap.add_argument("--misses", action="store_true",
                    help="every missed knot: its truth and the opened run's candidate there "
                    "(see the docstring)")
    ap.add_argument("--features", action="store_true",
                    help="per class, what a rejection test could use (see the docstring)")
    ap.add_argument("--dump", metavar="JSON",
                    help="with --features: every candidate's class and features, one JSON "
                    "list (cell, seed, class, features) for a rule to be tried on")
    ap.add_argument("--ranking", action="store_true",
                    help="the opened run; each session's ranking down to its last knot, "
                    "when a false candidate comes first or a knot is not listed")
    ap.add_argument("--ratios", action="store_true",
                    help="mats: a taxel's ratio to its row neighbours over time, per class "
                    "(see the docstring); no candidates")
    a = ap.parse_args()
    a.bin = Path(a.bin).resolve()
    find_bindings(ap, a.bin)
    if a.ranking:
        a.process_args = (a.process_args + " " + OPEN_ARGS).strip()
    if a.ratios:
        print_ratios(a)
        return 0
    jobs = [(int(m), mo, p, s) for m in a.models.split(",") for mo in a.modes.split(",")
            for p in a.presets.split(",") for s in range(a.seed_start, a.seed_start + a.seeds)]
    with tempfile.TemporaryDirectory() as tmp, cf.ThreadPoolExecutor(a.jobs) as ex:
        res = list(ex.map(lambda j: one_session(a, *j, tmp), jobs))
    cells = sorted({r["cell"] for r in res}, key=lambda c: (c[0], c[1] != "roller", c[2]))
    print("False candidates (seeds %d-%d, %g s, `knotmap process %s`%s)\n" % (
        a.seed_start, a.seed_start + a.seeds - 1, a.duration, a.process_args or "defaults",
        ", true gains divided out: " + a.true_gains if a.true_gains else ""))
    print("| under the false candidate | " + " | ".join("%d %s %s" % c for c in cells) +
          " | z (range) |")
    print("|---|" + "---|" * (len(cells) + 1))
    every = [f for r in res for f in r["false"]]
    for cl in CLASSES:
        counts = [sum(f["label"] == cl for r in res if r["cell"] == c for f in r["false"])
                  for c in cells]
        zs = [f["z"] for f in every if f["label"] == cl]
        zr = "%.1f-%.1f" % (min(zs), max(zs)) if zs else ""
        print("| %s | %s | %s |" % (cl, " | ".join(map(str, counts)), zr))
    tot = [sum(len(r["false"]) for r in res if r["cell"] == c) for c in cells]
    tru = [sum(r["n_true"] for r in res if r["cell"] == c) for c in cells]
    print("| **false, total** | %s | |" % " | ".join(map(str, tot)))
    print("| true candidates | %s | |" % " | ".join(map(str, tru)))
    if a.features:
        print_features(res, cells)
    if a.features and a.dump:
        with open(a.dump, "w") as f:
            json.dump([{"cell": list(r["cell"]), "seed": r["seed"], "class": lab, **fe}
                       for r in res for lab, fe in r["features"]], f)
    if a.misses:
        print_misses(res, cells)
    if a.ranking:
        for r in res:
            if r["ranking"]:
                print("\n%d %s %s seed %d (rank, score, then the knot or what lies under the "
                      "false candidate):" % (*r["cell"], r["seed"]))
                print("\n".join(r["ranking"]))
    if a.list:
        for r in res:
            for f in r["false"]:
                print("%d %s %s seed %d: x %.1f y %.1f z %.1f size %.1f mm  %s  %s" % (
                    *r["cell"], f["seed"], f["x"], f["y"], f["z"], f["size"], f["label"],
                    f["detail"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
