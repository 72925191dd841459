#!/usr/bin/python3
"""What the matched filter's fit and the significance take from a knot the map holds
(issue 11; docs/ALGORITHMS.md 10 step 4).  TUNING seeds only (under 100).

Per true knot of `knotmap synth --model M` sessions (models 1 and 2, roller and mat,
moderate and hard, 20 s), from `knotmap process` at the defaults (R) and opened
(bench/eval.py's OPEN_ARGS, O), found = matched by R (`knotmap eval`'s one-to-one rule):

  peak     the largest cell of the ridge-free map A' (/bodymap/excess less its column
           median within +-h rows, h as ALGORITHMS 10 step 4 Ridges) within +-1 cell of
           the knot's nearest cell: what the map holds of it;
  ring     the median of A' over the cells 2.5 footprint sigmas or more from the knot
           (within +-3 rows, +-6 columns, as bench/map_loss.py); net = peak - ring;
  an_peak  the analytic map: the true amplitude times a round Gaussian of the true
           footprint sigma (truth footprint_sigma_mm; model 2's is the geometric mean of
           its two axes) sampled at the cell centres, its largest cell within +-1 cell
           (the sampling alone: no sensing area, gain, row median or noise);
  an_fit   the filter's least-squares amplitude (sum K G / sum K^2, K its kernel at the
           fitted size, centred on that cell) of that analytic map;
  fit, size, z   the nearest opened candidate's amplitude, fitted sigma and significance
           (O matched one to one; fit 0 when none);
  lsq      the filter's least-squares amplitude at the fitted size recomputed here on A'
           at the candidate's cell (checks that `fit` is that estimator: lsq / fit 1.000);
  snr kept the share of the optimal snr (the sampled footprint's own energy) that the
           best kernel of the scale search keeps on the analytic map, centred on the
           cell and with 1/3-cell shifts;
  z chain  the filter's snr over the map's global noise (fit sqrt(sum K^2) / noise), the
           fit over /bodymap/pressure (the share tests), the pressure and surround
           discounts (src/pipeline/cand_relief.c), and what is left of z after them (the
           local noise, a roller's noise off the footprint, a one-taxel peak's discount).

Printed per cell, found and missed at the defaults: the medians of those readings; the
misses by the filter's snr and how many are one-taxel peaks (and of those, beside a cell
without data); --what-if SHIFT adds, over the opened candidates under their threshold,
how many knots and false ones would cross it with the kernel also centred +-SHIFT cells
off (a sub-cell fit) and with z over the global noise instead of the local one.  --list
prints every miss.  bench/HISTORY.md "Session 40 (det14)".

Usage: /usr/bin/python3 bench/fit_loss.py [--bin build/knotmap] [--cache DIR]
           [--seeds 0-19] [--jobs 2] [--models 1,2] [--modes roller,mat]
           [--presets moderate,hard] [--process-args "..."] [--what-if 0.333] [--list]
           [--json FILE]
Needs h5py (/usr/bin/python3).
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402  (bench/eval.py)
import param_sweep as ps  # noqa: E402

MIN_SIGMA, MAX_SIGMA, STEP = 3.0, 15.0, 1.25  # ALGORITHMS 10 step 4, the defaults
RIDGE_SIGMAS = 4.5


def ridge_free(A, rp):
    h = max(1, int(round(RIDGE_SIGMAS * MAX_SIGMA / rp)))
    h = min(h, A.shape[0])
    out = np.full_like(A, np.nan)
    for y in range(A.shape[0]):
        w = A[max(0, y - h):y + h + 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column without data
            med = np.nanmedian(w, axis=0)
        out[y] = A[y] - med
    return out


def kernel(sy, sx):
    ry, rx = min(16, math.ceil(3 * sy)), min(16, math.ceil(3 * sx))
    ky = np.exp(-0.5 * (np.arange(-ry, ry + 1) / sy) ** 2)
    kx = np.exp(-0.5 * (np.arange(-rx, rx + 1) / sx) ** 2)
    return np.outer(ky, kx), ry, rx


def lsq(M, r, c, s, rp, cp, energy=False):
    """The filter's least-squares amplitude of map M at (r, c), footprint sigma s mm
    (energy: also sqrt(sum K^2) over the finite cells)."""
    K, ry, rx = kernel(s / rp, s / cp)
    num = den = 0.0
    full = float((K * K).sum())
    for j in range(-ry, ry + 1):
        for k in range(-rx, rx + 1):
            y, x = r + j, c + k
            if 0 <= y < M.shape[0] and 0 <= x < M.shape[1] and np.isfinite(M[y, x]):
                w = K[j + ry, k + rx]
                num += w * M[y, x]
                den += w * w
    a = num / den if den >= 0.5 * full else math.nan
    return (a, math.sqrt(den)) if energy else a


def global_noise(D):
    d = (D[:, 1:] - D[:, :-1]).ravel()
    d = d[np.isfinite(d)]
    return 1.482602218505602 * float(np.median(np.abs(d - np.median(d)))) / math.sqrt(2.0)


def surround(A, r, c, rp, cp):
    """Median of A over the ring 10-25 mm around (r, c) (cand_relief.c's surround)."""
    hy, hx = math.ceil(25.0 / rp), math.ceil(25.0 / cp)
    v = [A[j, i] for j in range(max(0, r - hy), min(A.shape[0], r + hy + 1))
         for i in range(max(0, c - hx), min(A.shape[1], c + hx + 1))
         if 10.0 <= math.hypot((j - r) * rp, (i - c) * cp) <= 25.0 and np.isfinite(A[j, i])]
    return float(np.median(v)) if v else math.nan


def ring_median(M, rr, cc, fs, rp, cp):
    """Median of M over the cells 2.5 footprint sigmas or more from (rr, cc), within
    +-3 rows and +-6 columns (bench/map_loss.py's ring)."""
    v = [M[rr + u, cc + v] for u in range(-3, 4) for v in range(-6, 7)
         if max(abs(u) * rp, abs(v) * cp) >= 2.5 * fs
         and 0 <= rr + u < M.shape[0] and 0 <= cc + v < M.shape[1]
         and np.isfinite(M[rr + u, cc + v])]
    return float(np.median(v)) if v else math.nan


def gauss(y0, x0, rp, cp, y, x, fs, r, c):
    return math.exp(-(((y0 + r * rp) - y) ** 2 + ((x0 + c * cp) - x) ** 2) / (2 * fs * fs))


def shifted_snr(M, r, c, s, rp, cp, oy, ox):
    """The filter's response over sqrt(sum K^2) (snr x noise) at (r, c) with its kernel
    centred (oy, ox) cells off the cell."""
    sy, sx = s / rp, s / cp
    ry, rx = min(16, math.ceil(3 * sy)), min(16, math.ceil(3 * sx))
    ky = np.exp(-0.5 * ((np.arange(-ry, ry + 1) - oy) / sy) ** 2)
    kx = np.exp(-0.5 * ((np.arange(-rx, rx + 1) - ox) / sx) ** 2)
    y0, x0 = max(0, r - ry), max(0, c - rx)
    W = M[y0:r + ry + 1, x0:c + rx + 1]
    K = np.outer(ky, kx)[y0 - (r - ry):y0 - (r - ry) + W.shape[0],
                         x0 - (c - rx):x0 - (c - rx) + W.shape[1]]
    f = np.isfinite(W)
    den = float((K[f] ** 2).sum())
    return float((K[f] * W[f]).sum()) / math.sqrt(den) if den > 0 else math.nan


def read(a, m, mo, p, s, tmp):
    """Truth, the opened run's maps and geometry, both candidate lists, the tolerance."""
    import h5py
    f, r, o, tol = ps.default_and_opened(a, m, mo, p, s, tmp)
    with h5py.File(f) as h:
        tk = {k: h["truth/knots"][k][:] for k in h["truth/knots"]}
    with h5py.File(o) as h:
        A = np.asarray(h["bodymap/excess"][()], np.float64)
        P = np.asarray(h["bodymap/pressure"][()], np.float64)
        at = h["bodymap"].attrs
        geo = (float(at["y0_mm"]), float(at["x0_mm"]), float(at["y_pitch_mm"]),
               float(at["x_pitch_mm"]))
    c, co = kev.read_candidates(r), kev.read_candidates(o)
    os.unlink(r)
    os.unlink(o)
    return tk, A, P, geo, c, co, tol


def cand_cell(co, i, geo, shape):
    y0, x0, rp, cp = geo
    pr = int(round((float(co["y_mm"][i]) - y0) / rp))
    pc = int(round((float(co["x_mm"][i]) - x0) / cp))
    return min(max(pr, 0), shape[0] - 1), min(max(pc, 0), shape[1] - 1)


def z_chain(rec, co, i, A, D, P, geo, gn):
    """The significance's chain at opened candidate i: the filter's snr over the global
    noise, the two share discounts (cand_relief.c), what is left (local noise, a roller's
    noise off the footprint, a one-taxel peak's discount)."""
    y0, x0, rp, cp = geo
    pr, pc = cand_cell(co, i, geo, D.shape)
    rec["lsq"], en = lsq(D, pr, pc, rec["size"], rp, cp, energy=True)
    pk = P[pr, pc]
    rec["share"] = rec["fit"] / pk if pk > 0 else math.nan
    rec["z_filter"] = rec["fit"] * en / gn
    rec["d_press"] = min(1.0, max(0.0, rec["fit"] / (0.08 * pk))) if pk > 0 else 1.0
    sur = surround(A, pr, pc, rp, cp)
    rec["d_surr"] = (min(1.0, max(0.0, (A[pr, pc] - sur) / (0.1 * pk)))
                     if pk > 0 and np.isfinite(sur) else 1.0)
    rec["hole"] = any(0 <= pr + u < D.shape[0] and 0 <= pc + v < D.shape[1]
                      and not np.isfinite(D[pr + u, pc + v])
                      for u, v in ((0, -1), (0, 1), (-1, 0), (1, 0)))


def knot_row(j, tk, A, D, geo, co, oi):
    """One knot's readings (module docstring); None when off the map."""
    y0, x0, rp, cp = geo
    ny, nx = D.shape
    x, y = float(tk["x_mm"][j]), float(tk["y_mm"][j])
    amp, fs = float(tk["amplitude_kpa"][j]), float(tk["footprint_sigma_mm"][j])
    rr, cc = int(round((y - y0) / rp)), int(round((x - x0) / cp))
    if not (0 <= rr < ny and 0 <= cc < nx):
        return None
    near = [(rr + u, cc + v) for u in (-1, 0, 1) for v in (-1, 0, 1)
            if 0 <= rr + u < ny and 0 <= cc + v < nx]
    fin = [q for q in near if np.isfinite(D[q])]
    peak = max(D[q] for q in fin) if fin else math.nan
    ar, ac = max(near, key=lambda q: gauss(y0, x0, rp, cp, y, x, fs, *q))
    u = np.arange(-16, 17)
    G = amp * np.outer(np.exp(-((y0 + (ar + u) * rp - y) ** 2) / (2 * fs * fs)),
                       np.exp(-((x0 + (ac + u) * cp - x) ** 2) / (2 * fs * fs)))
    i = oi.get(j, -1)
    size = float(co["size_mm"][i]) if i >= 0 else math.nan
    ring = ring_median(D, rr, cc, fs, rp, cp)
    return dict(x=x, y=y, amp=amp, fs=fs, rp=rp, cp=cp, peak=peak, ring=ring,
                net=peak - ring, net_a=A[rr, cc] - ring_median(A, rr, cc, fs, rp, cp),
                an_peak=float(G[16, 16]),
                an_fit=lsq(G, 16, 16, max(size if i >= 0 else fs, MIN_SIGMA), rp, cp),
                oy=(y - y0) / rp - ar, ox=(x - x0) / cp - ac, opened=i >= 0,
                fit=float(co["amplitude"][i]) if i >= 0 else 0.0, size=size,
                z=float(co["significance"][i]) if i >= 0 else 0.0,
                pers=float(co["persistence"][i]) if i >= 0 else math.nan)


def what_if_rows(a, mo, co, dset, A, D, P, geo, gn, mt, found):
    """--what-if: per opened candidate the defaults did not list (persistence >= 0.3,
    amplitude >= 4, on a mat at least 0.12 of the pressure, not a one-taxel peak: z at
    least 0.1 of the filter's snr), the default threshold it faces (`need`: 5; 4 when
    fitted at 6 mm or more, or on a roller seen in every pass at 0.16 of the pressure or
    more; a second sensor row's 0.8 is not known here) and two other significances:
    `zs`, z times the best snr over the kernel centred on the cell and +-shift cells off
    along each axis (9 places) over the centred one's; `zg`, the filter's snr over the
    map's global noise times the two share discounts (no local noise)."""
    y0, x0, rp, cp = geo
    out = []
    for i in range(len(co["x_mm"])):
        if (round(float(co["x_mm"][i]), 3), round(float(co["y_mm"][i]), 3)) in dset:
            continue
        rec = dict(z=float(co["significance"][i]), size=float(co["size_mm"][i]),
                   fit=float(co["amplitude"][i]), pers=float(co["persistence"][i]))
        pr, pc = cand_cell(co, i, geo, D.shape)
        pk = P[pr, pc]
        if rec["pers"] < 0.3 or rec["fit"] < 4 or (mo == "mat" and pk > 0
                                                    and rec["fit"] < 0.12 * pk):
            continue
        z_chain(rec, co, i, A, D, P, geo, gn)
        if rec["z"] < 0.1 * rec["z_filter"]:
            continue
        base = shifted_snr(D, pr, pc, rec["size"], rp, cp, 0.0, 0.0)
        best = max(shifted_snr(D, pr, pc, rec["size"], rp, cp, u * a.what_if, v * a.what_if)
                   for u in (-1, 0, 1) for v in (-1, 0, 1))
        need = 4.0 if rec["size"] >= 6.0 else 5.0
        if mo == "roller" and rec["pers"] >= 0.999 and rec["fit"] >= 0.16 * pk > 0:
            need = 4.0
        j = mt.get(i, -1)
        out.append(dict(z=rec["z"], zs=rec["z"] * (best / base if base > 0 else 1.0),
                        zg=rec["z_filter"] * rec["d_press"] * rec["d_surr"], need=need,
                        knot=j >= 0 and j not in found, false=j < 0))
    return out


def one(a, m, mo, p, s, tmp):
    tk, A, P, geo, c, co, tol = read(a, m, mo, p, s, tmp)
    tx, ty = tk["x_mm"], tk["y_mm"]
    found = {j for _, j, _ in kev.match(kev.pairs_within(c["x_mm"], c["y_mm"], tx, ty, tol),
                                        len(c["x_mm"]))}
    mt = {i: j for i, j, _ in kev.match(kev.pairs_within(co["x_mm"], co["y_mm"], tx, ty, tol),
                                        len(co["x_mm"]))}
    oi = {j: i for i, j in mt.items()}
    D = ridge_free(A, geo[2])
    gn = global_noise(D)
    out = []
    for j in range(len(tx)):
        rec = knot_row(j, tk, A, D, geo, co, oi)
        if rec is None:
            continue
        rec.update(m=m, mo=mo, p=p, seed=s, found=j in found)
        if rec["opened"]:
            z_chain(rec, co, oi[j], A, D, P, geo, gn)
        out.append(rec)
    wi = []
    if a.what_if > 0:
        dset = set(zip(np.round(c["x_mm"], 3), np.round(c["y_mm"], 3)))
        wi = [dict(r, cell=(m, mo, p))
              for r in what_if_rows(a, mo, co, dset, A, D, P, geo, gn, mt, found)]
    return out, wi


def sampling_cos(r, shift):
    """The share of the optimal snr (the sampled footprint's own energy) that the
    filter's best kernel keeps on the analytic map of knot r: centred on the cell, and
    with the kernel also centred +-shift cells off along each axis."""
    sig = [MIN_SIGMA * STEP ** k for k in range(int(math.log(MAX_SIGMA / MIN_SIGMA, STEP)) + 1)]
    u = np.arange(-16, 17)

    def g(oy, ox, s):
        return np.outer(np.exp(-0.5 * ((u - oy) * r["rp"] / s) ** 2),
                        np.exp(-0.5 * ((u - ox) * r["cp"] / s) ** 2))
    G = g(r["oy"], r["ox"], r["fs"])
    n = math.sqrt(float((G * G).sum()))
    best = [0.0, 0.0]
    for s in sig:
        for oy in (-shift, 0.0, shift):
            for ox in (-shift, 0.0, shift):
                K = g(oy, ox, s)
                c = float((K * G).sum()) / math.sqrt(float((K * K).sum())) / n
                best[1] = max(best[1], c)
                if oy == 0.0 and ox == 0.0:
                    best[0] = max(best[0], c)
    return best


def med(v):
    v = [x for x in v if np.isfinite(x)]
    return float(np.median(v)) if v else math.nan


def report(rows):
    print("| cell | found/missed | n | net/truth | an_peak/truth | fit/net | an_fit/an_peak | "
          "fit/net / (an_fit/an_peak) | size/fs | size = min | z | opened | "
          "snr kept centred | with 1/3-cell shifts |")
    print("|---" * 14 + "|")
    cells = sorted({(r["m"], r["mo"], r["p"]) for r in rows})
    for cell in cells:
        for fnd in (True, False):
            sel = [r for r in rows if (r["m"], r["mo"], r["p"]) == cell and r["found"] == fnd]
            if not sel:
                continue
            op = [r for r in sel if r["opened"] and r["net"] > 0]
            cs = [sampling_cos(r, 1.0 / 3.0) for r in sel]
            print("| %s %s %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | "
                  "%.1f | %d | %.3f | %.3f |" % (
                      *cell, "found" if fnd else "missed", len(sel),
                      med([r["net"] / r["amp"] for r in sel]),
                      med([r["an_peak"] / r["amp"] for r in sel]),
                      med([r["fit"] / r["net"] for r in op]),
                      med([r["an_fit"] / r["an_peak"] for r in op]),
                      med([(r["fit"] / r["net"]) / (r["an_fit"] / r["an_peak"]) for r in op]),
                      med([r["size"] / r["fs"] for r in op]),
                      np.mean([r["size"] < MIN_SIGMA * 1.01 for r in op]) if op else math.nan,
                      med([r["z"] for r in op]), len(op), med([c[0] for c in cs]),
                      med([c[1] for c in cs])))


def report_z(rows):
    print("\n| cell | found/missed | z (median) | filter snr / global noise | share of pressure | "
          "pressure discount | surround discount | discounted (< 1) | local noise and rest |")
    print("|---" * 9 + "|")
    cells = sorted({(r["m"], r["mo"], r["p"]) for r in rows})
    for cell in cells:
        for fnd in (True, False):
            op = [r for r in rows if (r["m"], r["mo"], r["p"]) == cell and r["found"] == fnd
                  and r["opened"] and r["fit"] > 0]
            if not op:
                continue
            rest = [r["z"] / (r["z_filter"] * r["d_press"] * r["d_surr"]) for r in op
                    if r["d_press"] * r["d_surr"] > 0]
            print("| %s %s %s | %s | %.1f | %.1f | %.3f | %.2f | %.2f | %.2f | %.2f |" % (
                *cell, "found" if fnd else "missed", med([r["z"] for r in op]),
                med([r["z_filter"] for r in op]), med([r["share"] for r in op]),
                med([r["d_press"] for r in op]), med([r["d_surr"] for r in op]),
                np.mean([r["d_press"] * r["d_surr"] < 0.999 for r in op]), med(rest)))


def report_misses(rows):
    print("\n| cell | missed | no opened candidate | filter snr / global noise < 4 | 4-5 | >= 5 | "
          "one-taxel (z < 0.1 of the filter's) | of those beside a cell without data |")
    print("|---" * 8 + "|")
    for cell in sorted({(r["m"], r["mo"], r["p"]) for r in rows}):
        s = [r for r in rows if (r["m"], r["mo"], r["p"]) == cell and not r["found"]]
        if not s:
            continue
        op = [r for r in s if r["opened"]]
        one = [r for r in op if r["z"] < 0.1 * r["z_filter"]]
        print("| %s %s %s | %d | %d | %d | %d | %d | %d | %d |" % (
            *cell, len(s), len(s) - len(op), sum(r["z_filter"] < 4 for r in op),
            sum(4 <= r["z_filter"] < 5 for r in op), sum(r["z_filter"] >= 5 for r in op),
            len(one), sum(r["hole"] for r in one)))


def report_what_if(rows, shift):
    print("\n| cell | opened, under their threshold | crossing it with the kernel also +-%.3g "
          "cell off: knots / false | median z gain, knots / false | crossing it over the "
          "global noise: knots / false |" % shift)
    print("|---" * 5 + "|")
    for cell in sorted({r["cell"] for r in rows}):
        s = [r for r in rows if r["cell"] == cell]
        gs = [r for r in s if r["z"] < r["need"] <= r["zs"]]
        gg = [r for r in s if r["z"] < r["need"] <= r["zg"]]
        print("| %s %s %s | %d | %d / %d | %.3f / %.3f | %d / %d |" % (
            *cell, sum(r["z"] < r["need"] for r in s), sum(r["knot"] for r in gs),
            sum(r["false"] for r in gs), med([r["zs"] / r["z"] for r in s if r["knot"]]),
            med([r["zs"] / r["z"] for r in s if r["false"]]), sum(r["knot"] for r in gg),
            sum(r["false"] for r in gg)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/knotmap")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "knotmap_sweep"))
    ap.add_argument("--seeds", default="0-19")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--models", default="1,2")
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--process-args", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--json", default=None, help="write every knot's row here")
    ap.add_argument("--what-if", type=float, default=0.0, metavar="SHIFT",
                    help="also: what the opened candidates under their threshold would "
                         "cross with the kernel also SHIFT cells off, and over the global "
                         "noise (0: not measured)")
    a = ap.parse_args()
    lo, hi = (int(v) for v in a.seeds.split("-"))
    if hi >= 100:
        raise SystemExit("fit_loss.py: seeds from 100 are held back")
    os.makedirs(a.cache, exist_ok=True)
    jobs = [(m, mo, p, s) for m in a.models.split(",") for mo in a.modes.split(",")
            for p in a.presets.split(",") for s in range(lo, hi + 1)]
    rows, shifted = [], []
    with tempfile.TemporaryDirectory() as tmp, cf.ProcessPoolExecutor(a.jobs) as ex:
        for o, sh in ex.map(one, [a] * len(jobs), *zip(*jobs), [tmp] * len(jobs)):
            rows.extend(o)
            shifted.extend(sh)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh)
    report(rows)
    report_z(rows)
    report_misses(rows)
    if a.what_if > 0:
        report_what_if(shifted, a.what_if)
    if a.list:
        keys = ("amp", "fs", "peak", "ring", "net", "an_peak", "an_fit", "fit", "lsq", "size",
                "z", "z_filter", "pers", "share")
        print("\nmisses: model mode preset seed | " + " ".join(keys))
        for r in (r for r in rows if not r["found"]):
            print("%s %s %s %2d | " % (r["m"], r["mo"], r["p"], r["seed"]) +
                  " ".join("%.2f" % r.get(k, math.nan) for k in keys))


if __name__ == "__main__":
    main()
