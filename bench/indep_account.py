#!/usr/bin/python3
"""Every miss and every false candidate of the independent simulator by cause (issue 11).

For each session of bench/sim_independent.py (TUNING seeds only, 0-99) it runs the default
build (--bin) for the default candidates and the traced build (--trace-bin, bench/
gate_trace.patch applied; see bench/gate_misses.py) with every threshold opened, then:

- each knot the defaults miss gets bench/gate_misses.py's first failing gate, with the
  significance it needed (`need`: min_snr times the trace's product of the lower
  thresholds) and z / need (how far under), its true amplitude, footprint sigma, SNR over
  the white noise and over one frame's total per-taxel error (eval_independent.knot_snr)
  and over the candidate map's own noise (`map snr`: the amplitude the nearest body cell
  holds, the knot's peak times its sampling at the nearest taxel centre, over
  /params/cand_map_noise), and what lies near it from the simulator's truth: the nearest
  other knot, a taut band, the bony prominence, the body's edge or the back's valley,
  a dead taxel under its footprint, the gain of the taxel under it;
- each false candidate (a default candidate no knot matched) gets the first of these that
  holds: knot placed off (a knot unmatched within 2 tolerances), second peak (a matched
  knot within max(3 footprint sigmas, 2 tolerances)), taut band end / along (within
  max(2 band widths, tolerance) of its axis; an end within 16 mm, the band's 2 end sigmas,
  of either end), bony prominence (within 2 of its sigmas), dead taxel (a dead taxel,
  or the lost row segment, within one cell), body edge (within 1.5 column pitches of the
  body's edge or the grid's side, or 10 mm of the stroke's ends), back's valley (within
  20 mm of a back's middle), high-gain taxel (the taxel under it, or one beside it, at a
  gain 2 gain sd over 1), other. The taxel under a body point: on a mat its own; on this
  simulator's roller the one whose row lay on the contact line there (the roller rolls
  without slipping and never turns in the air: one taxel per body cell). The class is
  the first that holds, so a candidate on a high-gain taxel beside a dead one, or on a
  bony prominence, is counted there: the false table also counts, whatever their class,
  the false candidates whose own taxel stands at a gain of 2 gain sd over 1 or more
  (`gain_under` in --list and --json);
- every knot gets its z in knotmap's own map over the map's spread around it (bench/
  eval.py map_z "space", `mapz_space`), and the misses are tabled again for the knots
  of that z >= --map-z-cut (5, issue 11's "where the knots stand above the sensor's
  noise"), with precision, recall and F1 pooled over the sessions with those knots as
  must-find (a candidate matched to a weaker knot neither true nor false:
  eval_independent.py's rule, whose figures are means over sessions).

Usage: /usr/bin/python3 bench/indep_account.py --bin build/knotmap --trace-bin DIAG/knotmap
           [--modes roller,mat] [--preset hard] [--seeds 40] [--seed-start 1] [--jobs 2]
           [--process-args "..."] [--json FILE] [--list] [--map-z-cut 5]
"""
import argparse
import concurrent.futures as cf
import json
import math
import os
import shlex
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval as kev  # noqa: E402
import eval_independent as ei  # noqa: E402
import gate_misses as gm  # noqa: E402
import sim_independent as si  # noqa: E402

DUR = 20.0


def sensor_truth(mode, preset, seed):
    """The session's draw and the sensor's gain, offset and dead taxels, drawn as
    sim_independent.frames draws them (same generator, same order)."""
    d = si.draw(mode, preset, seed)
    si.motion(d, DUR)
    rng, R, C = d["rng"], d["rows"], d["cols"]
    gain = np.clip(1 + d["gain_sd"] * rng.standard_normal((R, C)), 0.5, None)
    rng.standard_normal((R, C))  # the offsets
    dead = rng.random((R, C)) < d["dead"]
    if preset == "hard":
        r0, c0 = int(rng.integers(0, R)), int(rng.integers(0, C - 4))
        dead[r0, c0:c0 + int(rng.integers(3, 7))] = True
    return si.draw(mode, preset, seed), gain, dead


def taxel_at(d, x, y):
    """(row, col) of the taxel that presses body point (x, y)."""
    c = int(round(x / d["col_pitch"]))
    if d["mode"] == "roller":
        r = int(round((y / d["radius"]) / (2 * math.pi) * d["rows"])) % d["rows"]
    else:
        r = int(round(y / d["row_pitch"]))
    return r, c


def gain_under(d, gain, x, y):
    """The gain of the taxel that presses body point (x, y) (taxel_at; a point past the
    last column takes the last)."""
    r, c = taxel_at(d, x, y)
    r = r % d["rows"] if d["mode"] == "roller" else min(max(r, 0), d["rows"] - 1)
    return float(gain[r, min(max(c, 0), d["cols"] - 1)])


def near_taxels(d, arr, x, y, reach=1):
    r, c = taxel_at(d, x, y)
    out = []
    for dr in range(-reach, reach + 1):
        for dc in range(-reach, reach + 1):
            rr, cc = r + dr, c + dc
            if d["mode"] == "roller":
                rr %= d["rows"]
            if 0 <= rr < d["rows"] and 0 <= cc < d["cols"]:
                out.append(arr[rr, cc])
    return out


def surroundings(d, dead, x, y, sigma, skip=None):
    """What lies near body point (x, y) from the truth (misses' context)."""
    ks = d["knots"]
    other = [math.hypot(k["x"] - x, k["y"] - y) for i, k in enumerate(ks) if i != skip]
    f = {"near_knot_mm": min(other) if other else math.inf}
    f["same_column_knot"] = any(abs(k["x"] - x) < 1.5 * d["col_pitch"] and abs(k["y"] - y) < 67.5
                                for i, k in enumerate(ks) if i != skip)
    f["same_row_knot"] = any(abs(k["y"] - y) < 10 and abs(k["x"] - x) < 60
                             for i, k in enumerate(ks) if i != skip)
    f["band"] = any(abs(b["x"] - x) < max(2 * b["w"], sigma) + d["col_pitch"]
                    and b["y0"] - 16 <= y <= b["y0"] + b["len"] + 16 for b in d["bands"])
    f["bony"] = any(math.hypot(b["x"] - x, b["y"] - y) < 2 * b["s"] for b in d["bony"])
    edge = d["body_centre"] - d["body_width"] / 2, d["body_centre"] + d["body_width"] / 2
    f["edge_mm"] = min(abs(x - edge[0]), abs(x - edge[1]))
    f["valley"] = d["body"] == "back" and abs(x - d["body_centre"]) < 20
    f["dead_under"] = int(sum(near_taxels(d, dead, x, y, 1)))
    return f


def _less_median(F, ok, w):
    """F less the median of the cells ok within +-w along each row (NaN off ok)."""
    out = np.full_like(F, np.nan)
    for y, x in zip(*np.nonzero(ok)):
        s = slice(max(0, x - w), x + w + 1)
        out[y, x] = F[y, x] - np.median(F[y, s][ok[y, s]])
    return out


def _medians(F, ok, w, h):
    """F less its row median (+-w columns), then less its column median (+-h rows), over
    the cells ok (docs/ALGORITHMS.md 10 steps 1 and 4, Ridges, on the map's grid)."""
    return _less_median(_less_median(F, ok, w).T, ok.T, h).T


def expected_z(d, result, noise):
    """Per knot, the z its noise-free footprint alone would reach on the map (the
    'expected z'): every knot of the truth sampled at the body map's cell centres,
    the row and column medians taken as knotmap takes them, the matched filter at the
    knot's own footprint sigma (round: the geometric mean of its two) at the cells
    within one cell of it, over the session's map noise."""
    with h5py.File(result) as f:
        A = f["bodymap/excess"][:]
        xs, ys = f["bodymap/x_mm"][:], f["bodymap/y_mm"][:]
    cp, rp = float(xs[1] - xs[0]), float(ys[1] - ys[0])
    X, Y = np.meshgrid(xs, ys)
    F = np.zeros_like(X)
    for k in d["knots"]:
        F += k["amp"] * np.exp(-0.5 * (((X - k["x"]) / k["sx"]) ** 2 + ((Y - k["y"]) / k["sy"]) ** 2))
    ok = np.isfinite(A)
    Ep = _medians(F, ok, max(1, int(round(2 * 15 / cp))), max(1, int(round(4.5 * 15 / rp))))
    out = []
    for k in d["knots"]:
        s = math.sqrt(k["sx"] * k["sy"])
        ry, rx = min(16, math.ceil(3 * s / rp)), min(16, math.ceil(3 * s / cp))
        iy, ix = int(np.argmin(abs(ys - k["y"]))), int(np.argmin(abs(xs - k["x"])))
        best = -math.inf
        for cy in range(iy - 1, iy + 2):
            for cx in range(ix - 1, ix + 2):
                if not (0 <= cy < len(ys) and 0 <= cx < len(xs)):
                    continue
                num = den = 0.0
                for y in range(max(0, cy - ry), min(len(ys), cy + ry + 1)):
                    for x in range(max(0, cx - rx), min(len(xs), cx + rx + 1)):
                        if np.isfinite(Ep[y, x]):
                            kk = math.exp(-0.5 * (((y - cy) * rp / s) ** 2 + ((x - cx) * cp / s) ** 2))
                            num += kk * Ep[y, x]
                            den += kk * kk
                if den > 0:
                    best = max(best, num / math.sqrt(den) / noise)
        out.append(best)
    return out


def false_class(d, gain, dead, x, y, tol, matched, unmatched, ks):
    for j in unmatched:
        if math.hypot(ks[j]["x"] - x, ks[j]["y"] - y) <= 2 * tol:
            return "knot placed off"
    for j in matched:
        if math.hypot(ks[j]["x"] - x, ks[j]["y"] - y) <= max(3 * ks[j]["s"], 2 * tol):
            return "second peak"
    for b in d["bands"]:
        if abs(b["x"] - x) <= max(2 * b["w"], tol) and b["y0"] - 16 <= y <= b["y0"] + b["len"] + 16:
            return ("taut band, end" if min(abs(y - b["y0"]), abs(y - b["y0"] - b["len"])) <= 16
                    else "taut band, along")
    for b in d["bony"]:
        if math.hypot(b["x"] - x, b["y"] - y) <= 2 * b["s"]:
            return "bony prominence"
    if sum(near_taxels(d, dead, x, y, 1)):
        return "dead taxel"
    edge = d["body_centre"] - d["body_width"] / 2, d["body_centre"] + d["body_width"] / 2
    width = d["cols"] * d["col_pitch"]
    if (min(abs(x - edge[0]), abs(x - edge[1]), x, width - d["col_pitch"] - x)
            <= 1.5 * d["col_pitch"] or y < 10 or y > d["stroke"] - 10):
        return "body edge"
    if d["body"] == "back" and abs(x - d["body_centre"]) < 20:
        return "back's valley"
    if max(near_taxels(d, gain, x, y, 1)) >= 1 + 2 * d["gain_sd"]:
        return "high-gain taxel"
    return "other"


def one(a, mode, preset, seed, tmp):
    tag = "%s_%s_%d" % (mode, preset, seed)
    s, r = (os.path.join(tmp, tag + x) for x in (".s.h5", ".r.h5"))
    extra = shlex.split(a.process_args)
    dw = si.write(s, mode, preset, seed, DUR)
    snr_t, snr_w = ei.knot_snr(dw, "total"), ei.knot_snr(dw, "white")
    d, gain, dead = sensor_truth(mode, preset, seed)
    kev.run(a.bin, "process", "-q", s, *extra, "-o", r)
    ev = json.loads(kev.run(a.bin, "eval", r, "--truth", s, "--json"))
    tol = ev["tolerance_mm"]
    with h5py.File(r) as f:
        pr = f["params"]
        noise = float(pr.attrs.get("cand_map_noise", np.nan)) if "cand_map_noise" in pr.attrs \
            else float(np.asarray(pr["cand_map_noise"])) if "cand_map_noise" in pr else np.nan
    peaks, merged, spikes = gm.trace(a.trace_bin, "process", "-q", s, *extra,
                                     *kev.OPEN_ARGS.split(), "-o", r + ".o")
    zexp = expected_z(d, r, noise)
    ks = d["knots"]
    tx, ty = np.array([k["x"] for k in ks]), np.array([k["y"] for k in ks])
    c = kev.read_candidates(r)
    cx, cy = c["x_mm"], c["y_mm"]
    m = kev.match(kev.pairs_within(cx, cy, tx, ty, tol), len(cx))
    got = {j: i for i, j, _ in m}
    mapz = kev.map_z(r, tx, ty, noise="space")
    out = []
    for j, k in enumerate(ks):
        dx = k["x"] - round(k["x"] / d["col_pitch"]) * d["col_pitch"]
        att = math.exp(-0.5 * (dx / k["sx"]) ** 2)
        row = {"kind": "knot", "mode": mode, "preset": preset, "seed": seed, "knot": j,
               "kpa": k["amp"], "sigma": math.sqrt(k["sx"] * k["sy"]), "sx": k["sx"],
               "sy": k["sy"], "snr_total": float(snr_t[j]), "snr_white": float(snr_w[j]),
               "map_noise": noise, "map_snr": k["amp"] * att / noise, "tol": tol,
               "z_expected": zexp[j], "mapz_space": float(mapz[j]),
               "gain_under": gain_under(d, gain, k["x"], k["y"])}
        row.update(surroundings(d, dead, k["x"], k["y"], row["sigma"], skip=j))
        if j in got:
            row["gate"] = "found"
            i = got[j]
            row.update({"z": float(c["significance"][i]), "size": float(c["size_mm"][i]),
                        "amp": float(c["amplitude"][i])})
            p = min(peaks, key=lambda q: math.hypot(q["x"] - cx[i], q["y"] - cy[i]))
            if math.hypot(p["x"] - cx[i], p["y"] - cy[i]) < 0.5:
                row.update({"noise": p["noise"], "z0": p["z0"], "press": p.get("press")})
            out.append(row)
            continue
        g, p, info = gm.miss_gate(peaks, merged, spikes, k["x"], k["y"], tol)
        row.update(info, gate=g or "matched elsewhere")
        if g not in ("placed off", "merged", "spike", "no peak"):
            need = gm.MIN_SNR * p.get("share", 1.0)
            row.update({"z0": p["z0"], "need": need, "z_over_need": p["rawz"] / need,
                        "seen": p["seen"], "press": p.get("press")})
        out.append(row)
    matched = set(got)
    unmatched = [j for j in range(len(ks)) if j not in matched]
    used = {i for i, _, _ in m}
    for i in range(len(cx)):
        if i in used:
            continue
        x, y = float(cx[i]), float(cy[i])
        p = min(peaks, key=lambda q: math.hypot(q["x"] - x, q["y"] - y)) if peaks else {}
        row = {"kind": "false", "mode": mode, "preset": preset, "seed": seed, "x": x, "y": y,
               "class": false_class(d, gain, dead, x, y, tol, matched, unmatched, ks),
               "z": float(c["significance"][i]), "size": float(c["size_mm"][i]),
               "amp": float(c["amplitude"][i]), "pers": float(c["persistence"][i]),
               "need": gm.MIN_SNR * p.get("share", 1.0), "press": p.get("press"),
               "map_noise": noise, "gain_under": gain_under(d, gain, x, y),
               "gain_sd": d["gain_sd"]}
        row["z_over_need"] = row["z"] / row["need"]
        row["share_of_press"] = row["amp"] / row["press"] if row["press"] else float("nan")
        out.append(row)
    gm.remove(s, r, r + ".o")
    return out


GATES = ("z < min_snr", "one-taxel", "min_prominence", "relief", "largest sigma", "edge",
         "elongated", "seen/persistence", "matched elsewhere", "placed off", "merged",
         "spike", "no peak")
CLASSES = ("knot placed off", "second peak", "taut band, end", "taut band, along",
           "bony prominence", "dead taxel", "body edge", "back's valley", "high-gain taxel",
           "other")


def on_high_gain(r, sds=2.0):
    """A false candidate whose own taxel's gain stands sds gain sd or more over 1."""
    return r["gain_under"] >= 1 + sds * r["gain_sd"]


def figures_above(rows, cut):
    """Pooled over the rows' sessions, with the knots of map-space z >= cut as must-find
    (eval_independent.snr_figures' rule, pooled rather than per session): a candidate
    matched to a weaker knot is neither true nor false. (knots, found, false, P, R, F1)."""
    ks = [r for r in rows if r["kind"] == "knot" and r["mapz_space"] >= cut]
    tp = sum(r["gate"] == "found" for r in ks)
    fp = sum(r["kind"] == "false" for r in rows)
    p = tp / (tp + fp) if tp + fp else float("nan")
    rc = tp / len(ks) if ks else float("nan")
    return len(ks), tp, fp, p, rc, 2 * p * rc / (p + rc) if p + rc else float("nan")


def tables(rows, cells, cut=5.0):
    def of(cell, kind):
        return [r for r in rows if r["kind"] == kind and (r["mode"], r["preset"]) == cell]

    def gate_row(cell, rs):
        return "| %s %s | %d | %d | %s |" % (cell[0], cell[1], len(rs),
                                            sum(r["gate"] == "found" for r in rs),
                                            " | ".join(str(sum(r["gate"] == g for r in rs))
                                                       for g in GATES))

    print("| cell | knots | found | " + " | ".join(GATES) + " |")
    print("|---" * (3 + len(GATES)) + "|")
    for cell in cells:
        print(gate_row(cell, of(cell, "knot")))
    print("\n| cell | false | " + " | ".join(CLASSES) + " | of all: on a taxel >= 2 gain sd |")
    print("|---" * (3 + len(CLASSES)) + "|")
    for cell in cells:
        rs = of(cell, "false")
        print("| %s %s | %d | %s | %d |" % (cell[0], cell[1], len(rs),
                                           " | ".join(str(sum(r["class"] == g for r in rs))
                                                      for g in CLASSES),
                                           sum(on_high_gain(r) for r in rs)))
    print("\nKnots of z >= %g in knotmap's map over its own spread (bench/eval.py map_z "
          "\"space\") only; P / R / F1 pooled, with them as must-find:\n" % cut)
    print("| cell | knots | found | " + " | ".join(GATES) + " | false | P / R / F1 |")
    print("|---" * (5 + len(GATES)) + "|")
    for cell in cells:
        _, _, fp, p, rc, f1 = figures_above(of(cell, "knot") + of(cell, "false"), cut)
        print(gate_row(cell, [r for r in of(cell, "knot") if r["mapz_space"] >= cut])[:-2]
              + " | %d | %.3f / %.3f / %.3f |" % (fp, p, rc, f1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(kev.REPO / "build" / "knotmap"))
    ap.add_argument("--trace-bin", required=True)
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--preset", default="hard")
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--seed-start", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--process-args", default="")
    ap.add_argument("--json", default=None)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--map-z-cut", type=float, default=5.0,
                    help="the tables again for the knots of this map-space z and over")
    a = ap.parse_args()
    if a.seed_start + a.seeds - 1 >= 100:
        ap.error("tuning seeds only (0-99)")
    cells = [(mo, a.preset) for mo in a.modes.split(",")]
    jobs = [(mo, pr, s) for mo, pr in cells for s in range(a.seed_start, a.seed_start + a.seeds)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="det25-acc-") as tmp, \
            cf.ProcessPoolExecutor(a.jobs) as ex:
        for f in [ex.submit(one, a, mo, pr, s, tmp) for mo, pr, s in jobs]:
            rows += f.result()
    tables(rows, cells, a.map_z_cut)
    gm.write_rows(rows, a.list, a.json)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
