#!/usr/bin/python3
"""Knot detection quality: knotmap candidates against a baseline recipe, on both synthetic models.

For every model (1, 2), mode (roller, mat), preset (easy, moderate, hard) and seed:

  knotmap synth --model M --mode MODE --preset P --seed S --duration D -o S.h5
  knotmap process S.h5 -o R.h5                       default operating point
  knotmap process S.h5 OPEN_ARGS -o O.h5             every candidate threshold opened
  knotmap eval R.h5 --truth S.h5 --json              precision, recall, F1, RMS error

Seeds: by default the HELD-BACK set 1000..1000+N-1, never used for tuning; tune on
--seed-start 1 (docs/ALGORITHMS.md 10).

Per cell (model, mode, preset) it reports, means over seeds:
- precision, recall, F1 at the default operating point (`knotmap eval`: one-to-one
  matching, nearest pairs first, within one taxel pitch unless --tolerance);
- the threshold-free ranking measures of the opened run, candidates ranked by `score`:
  AP (average precision: sum over ranks of precision x recall gained, per session) and
  best F1 over one score cut shared by all sessions of the cell;
- localisation RMS over all matched pairs (mm, and as a share of the row pitch);
- size error: median of |size_mm / true footprint sigma - 1| over matched pairs, and the
  share of them within 30% (n/a when the result has no `size_mm` column).

Baseline row "recipe" (issue 11): the mean body map over contact (roller: /bodymap/mean
of R.h5, which holds the contact rows of the frames not lifted, on cells covered by at
least two passes; mat: per taxel the mean of S.h5's frames above the body map's contact
threshold), NaN filled with its median, difference of Gaussians
(scipy.ndimage.gaussian_filter, sigma 3 mm minus sigma 20 mm, in cells of the body map's
pitches), skimage.feature.peak_local_max (min_distance 2, exclude_border False) above 6
robust sigmas (1.4826 MAD of the DoG map over the cells with data) for its operating point, ranked by the DoG
value; its AP and best F1 rank every local maximum above 0 (the threshold opened, as for
knotmap). Positions x = x0 + col * x_pitch, y = y0 + row * y_pitch (body coordinates),
scored by the same matching.

Prints Markdown tables; --write-readme puts them into bench/README.md (section "Knot
detection quality"); --json FILE keeps every per-session figure.

Usage: /usr/bin/python3 bench/eval.py [--bin build/knotmap] [--seeds 20] [--seed-start 1000]
           [--models 1,2] [--modes roller,mat] [--presets easy,moderate,hard]
           [--duration 20] [--jobs 2] [--process-args "..."] [--json FILE] [--write-readme]
           [--snr-bins 3,5] [--snr-cuts 3,5]
--snr-bins adds eval_independent.py's tables by each knot's z in knotmap's own map
(map_z: issue 11's "where the knots stand above the sensor's noise"; over the pass-to-pass
spread, "map", and over the map's own spread around the knot, "map-space"): recall per z
bin and precision / recall / F1 with the knots of z >= each cut as must-find.
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
from scipy import ndimage
from skimage.feature import peak_local_max

REPO = Path(__file__).resolve().parents[1]
# Every candidate threshold opened (the ranking is then the score's alone), and the
# peaks one taxel wide (a knot narrower than a column or a hot taxel, which one map
# cannot tell apart; dropped at the defaults) listed at 0.05 of their significance,
# below the multi-cell peaks (docs/ALGORITHMS.md 10 step 4, One-taxel peaks).
OPEN_ARGS = ("--cand-min-snr 0 --cand-min-prominence 0 --cand-min-persistence 0 "
             "--cand-min-pressure-share 0 --cand-max-candidates -1")


def run(binary, *args):
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s %s: exit %d\n%s" % (binary, " ".join(map(str, args)),
                                                   r.returncode, r.stderr))
    return r.stdout


def pairs_within(cx, cy, tx, ty, tol):
    """All (distance, candidate, truth) pairs within tol, nearest first."""
    out = []
    for i in range(len(cx)):
        for j in range(len(tx)):
            d = math.hypot(cx[i] - tx[j], cy[i] - ty[j])
            if d <= tol:
                out.append((d, i, j))
    out.sort()
    return out


def match(pairs, k):
    """One-to-one matching among the best k candidates, nearest pairs first (as
    km_eval_points): list of (candidate, truth, distance)."""
    used_c, used_t, m = set(), set(), []
    for d, i, j in pairs:
        if i >= k or i in used_c or j in used_t:
            continue
        used_c.add(i)
        used_t.add(j)
        m.append((i, j, d))
    return m


def average_precision(pairs, n_cand, n_truth):
    if n_truth == 0:
        return float("nan")
    ap, prev = 0.0, 0
    for k in range(1, n_cand + 1):
        nm = len(match(pairs, k))
        if nm > prev:
            ap += (nm - prev) / n_truth * nm / k
        prev = nm
    return ap


def read_candidates(path):
    with h5py.File(path) as f:
        c = f["candidates"]
        cols = {k: c[k][:] for k in c}
    order = np.argsort(-cols["score"], kind="stable") if len(cols.get("score", [])) else []
    return {k: v[order] for k, v in cols.items()} if len(order) else cols


def contact_mean_map(result, session):
    """The mean body map over contact only, NaN where never in contact.  Roller: the body
    map's mean (it holds only the contact rows of frames not lifted), cells covered by at
    least two passes (knotmap's own min_coverage: a cell touched once, at the ends of the
    travel, is a partial pass).  Mat: per taxel, the mean over the frames in which it reads
    above the body map's contact threshold (/params; averaging the frames in which the load is elsewhere would
    only dilute the map with unloaded noise)."""
    with h5py.File(result) as f:
        a = f["bodymap"].attrs
        geo = (a["x0_mm"], a["y0_mm"], a["x_pitch_mm"], a["y_pitch_mm"])
        mode = str(f["session"].attrs["mode"])
        m = f["bodymap/mean"][:].astype(np.float64)
        cov = f["bodymap/coverage"][:]
        contact = float(f["params"].attrs["bodymap_contact_threshold"])
    if mode == "roller":
        return np.where(cov >= 2, m, np.nan), geo
    with h5py.File(session) as f:
        fr = f["frames"]
        s = np.zeros(fr.shape[1:])
        n = np.zeros(fr.shape[1:])
        for i in range(0, fr.shape[0], 256):
            b = fr[i:i + 256].astype(np.float64)
            on = b > contact
            s += np.where(on, b, 0.0).sum(axis=0)
            n += on.sum(axis=0)
    return np.where(n > 0, s / np.maximum(n, 1), np.nan), geo


def recipe(result, session, n_sigmas=6.0):
    """The scipy/scikit-image recipe on the contact mean body map: positions and DoG
    values of the peaks above n_sigmas robust sigmas (0: every local maximum above 0)."""
    m, (x0, y0, xp, yp) = contact_mean_map(result, session)
    if m.size == 0 or not np.isfinite(m).any():
        return np.zeros(0), np.zeros(0), np.zeros(0)
    had = np.isfinite(m)
    m = np.where(had, m, np.nanmedian(m))
    dog = (ndimage.gaussian_filter(m, (3.0 / yp, 3.0 / xp), mode="nearest")
           - ndimage.gaussian_filter(m, (20.0 / yp, 20.0 / xp), mode="nearest"))
    # Over the cells with data: the filled ones are flat and would shrink the MAD.
    sigma = 1.4826 * np.median(np.abs(dog[had] - np.median(dog[had])))
    pk = peak_local_max(dog, min_distance=2, threshold_abs=max(n_sigmas * sigma, 1e-12),
                        exclude_border=False)
    if len(pk) == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    v = dog[pk[:, 0], pk[:, 1]]
    o = np.argsort(-v, kind="stable")
    pk, v = pk[o], v[o]
    return x0 + pk[:, 1] * xp, y0 + pk[:, 0] * yp, v


def map_z(result, tx, ty, half=4, noise="spread"):
    """Per knot at (tx, ty) mm: how far it stands above the noise as knotmap could see it
    (issue 11's "above the sensor's noise"), z = A / s at the body map cell nearest the
    knot, A the candidate map there (/bodymap/excess: the mean over passes of each pass's
    largest local excess), s over the cells within +-half cells:
    - noise "spread": the median of the pass-to-pass spread (/bodymap/spread, the sd of
      the pass maxima; robust to one cell's few passes and to the knot's own lean-to-lean
      change).  Per pass, not over the mean's standard error: a mat's passes (30-75 on
      the hard mats) are not independent draws.  What it leaves out is the fixed pattern
      (the taxels' gain and offset errors), the same in every pass;
    - noise "space": the spread of A itself across those cells, the knot's own 3 x 3
      left out (1.4826 x their median absolute deviation): the fixed pattern, the body's
      relief and the noise together, what a peak has to stand above in one map.
    0 for a knot off the map, in cells never covered, or with no excess (NaN)."""
    with h5py.File(result) as f:
        g = f["bodymap"]
        ex, sp, cov = g["excess"][:], g["spread"][:], g["coverage"][:]
        y, x = g["y_mm"][:], g["x_mm"][:]
    out = np.zeros(len(tx))
    if len(y) == 0 or len(x) == 0:
        return out
    py = abs(y[1] - y[0]) if len(y) > 1 else 1.0
    px = abs(x[1] - x[0]) if len(x) > 1 else 1.0
    for j, (kx, ky) in enumerate(zip(tx, ty)):
        iy, ix = int(np.argmin(np.abs(y - ky))), int(np.argmin(np.abs(x - kx)))
        if abs(y[iy] - ky) > py or abs(x[ix] - kx) > px or cov[iy, ix] < 1:
            continue
        y0, x0 = max(iy - half, 0), max(ix - half, 0)
        if noise == "space":
            w = ex[y0:iy + half + 1, x0:ix + half + 1].astype(float)
            w[max(iy - 1 - y0, 0):iy + 2 - y0, max(ix - 1 - x0, 0):ix + 2 - x0] = np.nan
            w = w[np.isfinite(w)]
            s = 1.4826 * float(np.median(np.abs(w - np.median(w)))) if len(w) else 0.0
        else:
            w = sp[y0:iy + half + 1, x0:ix + half + 1]
            w = w[np.isfinite(w) & (w > 0)]
            s = float(np.median(w)) if len(w) else 0.0
        if s > 0 and np.isfinite(ex[iy, ix]):
            out[j] = float(ex[iy, ix]) / s
    return out


def session_figures(cx, cy, score, size, truth, tol, rp):
    """Figures of one ranked candidate list (default operating point = all of it)."""
    tx, ty, ts = truth
    pairs = pairs_within(cx, cy, tx, ty, tol)
    m = match(pairs, len(cx))
    nm, nc, nt = len(m), len(cx), len(tx)
    fig = {
        "n_candidates": nc, "n_truth": nt, "n_matched": nm,
        "precision": nm / nc if nc else 1.0, "recall": nm / nt if nt else 1.0,
        "f1": 2.0 * nm / (nc + nt) if nc + nt else 1.0,
        "sq_err": [d * d for _, _, d in m],
        "size_rel": ([abs(size[i] / ts[j] - 1.0) for i, j, _ in m]
                     if size is not None else []),
        "ap": average_precision(pairs, nc, nt),
        "row_pitch": rp,
    }
    return fig, pairs, score


def cut_curve(ranked):
    """Best F1 over one score cut shared by the sessions: ranked = [(pairs, score, nt)]."""
    cuts = sorted({float(s) for _, sc, _ in ranked for s in sc}, reverse=True)
    best = 0.0
    tot_t = sum(nt for _, _, nt in ranked)
    for c in cuts:
        nm = nc = 0
        for pairs, sc, _ in ranked:
            k = int(np.sum(np.asarray(sc) >= c))
            nc += k
            nm += len(match(pairs, k))
        if nc + tot_t:
            best = max(best, 2.0 * nm / (nc + tot_t))
    return best


def one_session(a, model, mode, preset, seed, tmp):
    tag = "%s_%s_%s_%d" % (model, mode, preset, seed)
    s, r, o = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5", ".o.h5"))
    run(a.bin, "synth", "--model", model, "--mode", mode, "--preset", preset, "--seed", seed,
        "--duration", a.duration, "-o", s)
    extra = shlex.split(a.process_args)
    run(a.bin, "process", "-q", s, *extra, "-o", r)
    run(a.bin, "process", "-q", s, *extra, *shlex.split(a.open_args), "-o", o)
    ev = json.loads(run(a.bin, "eval", r, "--truth", s, "--json",
                        *(["--tolerance", a.tolerance] if a.tolerance else [])))
    with h5py.File(s) as f:
        k = f["truth/knots"]
        tx, ty = k["x_mm"][:], k["y_mm"][:]
        ts = k["footprint_sigma_mm"][:] if "footprint_sigma_mm" in k else np.full(len(tx), np.nan)
    with h5py.File(r) as f:
        rp = float(f["session"].attrs["row_pitch_mm"])
    tol = ev["tolerance_mm"]
    out = {}
    c = read_candidates(r)
    size = c.get("size_mm")
    fig, _, _ = session_figures(c["x_mm"], c["y_mm"], c["score"], size, (tx, ty, ts), tol, rp)
    fig["eval"] = ev
    co = read_candidates(o)
    figo, pairs, sc = session_figures(co["x_mm"], co["y_mm"], co["score"], None,
                                      (tx, ty, ts), tol, rp)
    fig["ap"] = figo["ap"]
    fig["ranked"] = (pairs, [float(v) for v in sc], len(tx))
    out["knotmap"] = fig
    bx0, by0, bv = recipe(r, s)
    figb, _, _ = session_figures(bx0, by0, bv, None, (tx, ty, ts), tol, rp)
    bx, by, bv = recipe(r, s, 0.0)
    figo, pairs, _ = session_figures(bx, by, bv, None, (tx, ty, ts), tol, rp)
    figb["ap"] = figo["ap"]
    figb["ranked"] = (pairs, [float(v) for v in bv], len(tx))
    out["recipe"] = figb
    if a.snr_bins:  # each knot's z in knotmap's map (map_z), its F1 above a.snr_cuts
        import eval_independent as ei
        z = {n: ei.map_snr(r, (tx, ty), n) for n in ("map", "map-space")}
        ei.add_snr(a, out, {"knotmap": (c["x_mm"], c["y_mm"]), "recipe": (bx0, by0)},
                   (tx, ty), tol, lambda noise: z.get(noise, np.zeros(len(tx))))
    for f in (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5", ".o.h5")):
        os.unlink(f)
    return (model, mode, preset, seed), out


def summarise(rows):
    sq = [e for r in rows for e in r["sq_err"]]
    sz = [e for r in rows for e in r["size_rel"]]
    rp = np.mean([r["row_pitch"] for r in rows])
    rms = math.sqrt(np.mean(sq)) if sq else float("nan")
    return {
        "precision": float(np.mean([r["precision"] for r in rows])),
        "recall": float(np.mean([r["recall"] for r in rows])),
        "f1": float(np.mean([r["f1"] for r in rows])),
        "f1_min": float(np.min([r["f1"] for r in rows])),
        "ap": float(np.nanmean([r["ap"] for r in rows])),
        "best_f1": cut_curve([r["ranked"] for r in rows]),
        "rms": rms,
        "rms_pitch": float(np.mean([math.sqrt(np.mean(r["sq_err"])) / r["row_pitch"]
                                    for r in rows if r["sq_err"]])) if sq else float("nan"),
        "size_med": float(np.median(sz)) if sz else float("nan"),
        "size_30": float(np.mean(np.asarray(sz) <= 0.3)) if sz else float("nan"),
        "row_pitch": float(rp),
    }


def fmt(v, f="%.3f"):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f % v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(REPO / "build" / "knotmap"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--seed-start", type=int, default=1000,
                    help="first seed [1000: the held-back set; tune on 1]")
    ap.add_argument("--models", default="1,2")
    ap.add_argument("--presets", default="easy,moderate,hard")
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--duration", default="20")
    ap.add_argument("--tolerance", default=None, help="mm [one taxel pitch]")
    ap.add_argument("--open-args", default=OPEN_ARGS)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--process-args", default="", help="extra `knotmap process` options "
                    "(tuning only: the figures of record use the defaults)")
    ap.add_argument("--json", default=None, help="write every per-session figure here")
    ap.add_argument("--label", default="", help="title of the tables")
    ap.add_argument("--write-readme", action="store_true")
    ap.add_argument("--snr-bins", type=lambda v: sorted(float(x) for x in v.split(",")),
                    default=None, metavar="3,5",
                    help="recall per bin of each knot's z in knotmap's map (map_z) and the "
                    "F1 with the knots above --snr-cuts as must-find (eval_independent.py)")
    ap.add_argument("--snr-cuts", type=lambda v: sorted(float(x) for x in v.split(",")),
                    default=[3.0, 5.0], metavar="3,5")
    a = ap.parse_args()
    a.snr_noise = "map,map-space"

    jobs = [(m, mo, p, s) for m in a.models.split(",") for mo in a.modes.split(",")
            for p in a.presets.split(",") for s in range(a.seed_start, a.seed_start + a.seeds)]
    got = {}
    with tempfile.TemporaryDirectory(prefix="km_eval_") as tmp:
        with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
            futs = [ex.submit(one_session, a, *j, tmp) for j in jobs]
            for f in cf.as_completed(futs):
                key, out = f.result()
                got[key] = out
                print("model %s %s %s seed %d: knotmap F1 %.3f AP %.3f, recipe F1 %.3f AP %.3f" % (
                    *key, out["knotmap"]["f1"], out["knotmap"]["ap"], out["recipe"]["f1"],
                    out["recipe"]["ap"]), file=sys.stderr)
    head = ("| model | mode | preset | method | precision | recall | F1 | F1 (worst) | AP "
            "| best F1 (one cut) | RMS (mm) | RMS / row pitch | size error (median) "
            "| size within 30% |")
    lines = [head, "|" + "---|" * 14]
    summary = {}
    for m in a.models.split(","):
        for mo in a.modes.split(","):
            for p in a.presets.split(","):
                for method in ("knotmap", "recipe"):
                    rows = [got[m, mo, p, s][method]
                            for s in range(a.seed_start, a.seed_start + a.seeds)]
                    x = summarise(rows)
                    summary["%s/%s/%s/%s" % (m, mo, p, method)] = x
                    lines.append("| %s | %s | %s | %s | %s | %s | **%s** | %s | **%s** | %s | %s | %s | %s | %s |" % (
                        m, mo, p, method, fmt(x["precision"]), fmt(x["recall"]), fmt(x["f1"]),
                        fmt(x["f1_min"]), fmt(x["ap"]), fmt(x["best_f1"]), fmt(x["rms"], "%.2f"),
                        fmt(x["rms_pitch"], "%.2f"), fmt(x["size_med"], "%.2f"),
                        fmt(x["size_30"], "%.2f")))
    table = "\n".join(lines)
    print(table)
    if a.snr_bins:
        import eval_independent as ei
        cells = [("%s %s" % (m, mo), p) for m in a.models.split(",")
                 for mo in a.modes.split(",") for p in a.presets.split(",")]
        ei.print_snr(a, {("%s %s" % (m, mo), p): [got[m, mo, p, s] for s in
                                                   range(a.seed_start, a.seed_start + a.seeds)]
                         for m in a.models.split(",") for mo in a.modes.split(",")
                         for p in a.presets.split(",")}, cells)
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=1, sort_keys=True))
    if a.write_readme:
        cmd = ("/usr/bin/python3 bench/eval.py --seeds %d --seed-start %d --models %s "
               "--modes %s --presets %s --duration %s%s --write-readme") % (
            a.seeds, a.seed_start, a.models, a.modes, a.presets, a.duration,
            " --tolerance %s" % a.tolerance if a.tolerance else "")
        text = ("\n## Knot detection quality%s\n\n"
                "Knot candidates of `knotmap process` (defaults, no equilibration recording) "
                "on %s-second synthetic sessions of both models (`knotmap synth --model 1|2`, "
                "docs/ALGORITHMS.md 6), seeds %d-%d%s, scored by bench/eval.py (its docstring "
                "defines every column; matching within one taxel pitch unless stated). "
                "\"recipe\" is the scipy/scikit-image baseline of issue 11 (DoG of the mean body "
                "map, 3 mm - 20 mm, peaks above 6 robust sigmas).\n\n%s\n\nProduced by:\n\n"
                "```\n%s\n```\n" % (
                    " (%s)" % a.label if a.label else "", a.duration, a.seed_start,
                    a.seed_start + a.seeds - 1,
                    " (held back: never used for tuning)" if a.seed_start >= 1000 else "",
                    table, cmd))
        readme = REPO / "bench" / "README.md"
        old = readme.read_text(encoding="utf-8")
        h = "\n## Knot detection quality%s\n" % (" (%s)" % a.label if a.label else "")
        start = old.find(h)
        if start < 0:
            new = old + text
        else:
            end = old.find("\n## ", start + len(h))
            new = old[:start] + text + (old[end:] if end >= 0 else "")
        readme.write_text(new, encoding="utf-8")
        print("wrote the section to %s" % readme, file=sys.stderr)


if __name__ == "__main__":
    main()
