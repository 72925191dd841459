#!/usr/bin/python3
"""Is the candidates' significance z calibrated? (issue 11; docs/ALGORITHMS.md 10.4 Noise,
Threshold and the null distribution)

On knot-free sessions of all four simulators (knotmap's models 1 and 2 through
`knotmap.synth(knots=0)`; bench/sim_independent.py and bench/sim_third.py with their knots
taken out after the draw, bands, prominences and bad taxels kept), per mode and preset:

1. The null distribution of z: `knotmap process` with bench/eval.py's OPEN_ARGS (every
   candidate threshold opened); candidates at significance >= t per 100 cm2 of body covered
   by two passes or more (bench/null_rate.py's area), and the candidates of a run at the
   defaults.
2. The noise behind z against the map's true noise. The true noise field of the candidate
   map: the difference of /bodymap/excess between two sessions of the same body and motion
   with the sensor drawn again (gains, offsets, white noise, bad taxels: the independent
   and third simulators, which draw the sensor from its own generator here), over sqrt 2;
   for model 1, the session less the same session with every sensor artefact off
   (noise_kpa, gain_spread, drift, hum, dead and stuck 0: the same motion and body).
   Model 2 draws everything in C, so it has no truth here (its null still counts). Each
   map taken without ridges as step 4 does (the column median within +-4.5 x 15 mm).
   Printed per cell: sigma_hat, the map noise z divides by (/params cand_map_noise);
   sigma, the robust sd of the true noise field; rho_x, rho_y, its correlation between
   horizontal and vertical neighbours; and per footprint sigma searched, c_k = the sd of
   the true noise field through the matched filter (sum K n / sqrt(sum K^2), the snr's
   numerator) over sigma_hat: the sd of z under that noise, 1 when z is calibrated.
   Beside it, est_k: the same figure estimated from one session's map alone (the robust
   sd of the map through that filter, from its lower half: 1.4826 x the median of
   med - f over the cells under the median), the estimator the opt-in rule uses.

Seeds: tuning seeds only (models and independent from 1, third from 0).

Usage: PYTHONPATH=build/python /usr/bin/python3 bench/null_calib.py [--bin build/knotmap]
           [--seeds 6] [--pairs 3] [--sims m1,m2,ind,third] [--jobs 2]
           [--process-args "..."] [--json FILE]
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import sim_independent as si  # noqa: E402
import sim_third as st  # noqa: E402
from eval import OPEN_ARGS  # noqa: E402

ZS = (3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0)
SIGMAS = [3.0 * 1.25 ** k for k in range(8)]  # min_sigma_mm 3 .. max 15, x1.25
SEED0 = {"m1": 1, "m2": 1, "ind": 1, "third": 0}
M1_CLEAN = dict(noise_kpa=0.0, gain_spread=0.0, drift_kpa_per_min=0.0, hum_kpa=0.0,
                dead_fraction=0.0, stuck_fraction=0.0)


def ind_session(path, mode, preset, seed, sensor=None, duration=20.0):
    """sim_independent's session without knots; sensor: None = as drawn, else the
    sensor (gains, offsets, dead taxels, noise) from a generator of its own."""
    d = si.draw(mode, preset, seed)
    d["knots"] = []
    if sensor is not None:
        yc, lean = si.motion(d, duration)
        d["rng"] = np.random.default_rng([7919, seed, 99, sensor])
        keep = si.motion
        si.motion = lambda _d, _t: (yc, lean)
        try:
            fr = si.frames(d, duration)
        finally:
            si.motion = keep
    else:
        fr = si.frames(d, duration)
    with h5py.File(path, "w") as f:
        f.attrs["schema"], f.attrs["schema_version"] = "knotmap-session", 1
        f.attrs["frame_rate_hz"], f.attrs["units"], f.attrs["mode"] = d["rate"], "kPa", mode
        f.attrs["row_pitch_mm"], f.attrs["col_pitch_mm"] = d["row_pitch"], d["col_pitch"]
        f.attrs["roller_radius_mm"] = d.get("radius", 0.0)
        f.create_dataset("frames", data=fr, chunks=(64, d["rows"], d["cols"]))
        f.create_dataset("time", data=np.arange(len(fr)) / d["rate"])


def third_session(path, mode, preset, seed, sensor=None, duration=20.0):
    """sim_third's session without knots (sim_third.simulate with draw_body's knots
    dropped); sensor: None = as drawn, else the sensor from a generator of its own."""
    keep = st.draw_body
    st.draw_body = lambda *a: ([], keep(*a)[1])
    try:
        key = [seed, ["roller", "mat"].index(mode), list(st.PRESETS).index(preset), 34]
        rp, rb, rm, rs = (np.random.default_rng(key + [part]) for part in range(4))
        if sensor is not None:
            rs = np.random.default_rng(key + [3, 1000 + sensor])
        p = st.draw_params(rp, mode, preset, None)
        n = int(round(duration * st.FS_HZ))
        render = st.render_roller if mode == "roller" else st.render_mat
        true_kpa, knots, distract = render(rb, rm, p, n)
        frames, gain = st.sensor(rs, p, true_kpa, distract)
        for dd in distract:
            dd["amp"] = float(dd["rel"] * p["p0"])
        st.write_session(path, frames, p, knots, distract, gain, seed)
    finally:
        st.draw_body = keep


def make(sim, path, mode, preset, seed, variant=None):
    """variant: None (the null session), an int (the sensor drawn again), "clean"."""
    if sim in ("m1", "m2"):
        import knotmap
        extra = M1_CLEAN if variant == "clean" else {}
        knotmap.synth(path, mode=mode, preset=preset, seed=seed, duration=20, knots=0,
                      model=int(sim[1]), **extra)
    elif sim == "ind":
        ind_session(path, mode, preset, seed, variant)
    else:
        third_session(path, mode, preset, seed, variant)


def process(a, s, r, opened):
    args = [a.bin, "process", "-q", s, *shlex.split(a.process_args)]
    if opened:
        args += shlex.split(OPEN_ARGS)
    p = subprocess.run(args + ["-o", r], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError(p.stderr)


def ridge_free(A, rp):
    """A less the median of its column within +-h rows (km_map_remove_ridges)."""
    h = max(1, int(math.floor(4.5 * 15.0 / rp + 0.5)))
    h = min(h, A.shape[0])
    out = np.full_like(A, np.nan)
    for y in range(A.shape[0]):
        w = A[max(0, y - h):y + h + 1]
        with np.errstate(all="ignore"):
            med = np.nanmedian(w, axis=0) if np.isfinite(w).any() else np.nan
        out[y] = A[y] - med
    return out


def filtered(n, rp, cp, s):
    """sum K n / sqrt(sum K^2) over finite cells (NaN under half the energy)."""
    ry, rx = min(16, math.ceil(3 * s / rp)), min(16, math.ceil(3 * s / cp))
    ky = np.exp(-0.5 * (np.arange(-ry, ry + 1) * rp / s) ** 2)
    kx = np.exp(-0.5 * (np.arange(-rx, rx + 1) * cp / s) ** 2)
    K = np.outer(ky, kx)
    fin = np.isfinite(n)
    num = ndimage.convolve(np.where(fin, n, 0.0), K, mode="constant")
    den = ndimage.convolve(fin.astype(float), K * K, mode="constant")
    with np.errstate(all="ignore"):
        f = num / np.sqrt(den)
    f[~fin | (den < 0.5 * (K * K).sum())] = np.nan
    return f


def lower_sd(v):
    v = v[np.isfinite(v)]
    if len(v) < 8:
        return np.nan
    med = np.median(v)
    lo = med - v[v < med]
    return 1.4826 * np.median(lo) if len(lo) else np.nan


def robust_sd(v):
    v = v[np.isfinite(v)]
    return 1.4826 * np.median(np.abs(v - np.median(v))) if len(v) > 8 else np.nan


def read(r):
    with h5py.File(r) as f:
        out = dict(z=f["candidates/significance"][:], size=f["candidates/size_mm"][:],
                   A=f["bodymap/excess"][:].astype(float), cov=f["bodymap/coverage"][:],
                   rp=float(f["bodymap"].attrs["y_pitch_mm"]),
                   cp=float(f["bodymap"].attrs["x_pitch_mm"]),
                   noise=float(f["params"].attrs.get("cand_map_noise", np.nan)))
    return out


def corr(n, axis):
    a = n[:, :-1] if axis == 1 else n[:-1]
    b = n[:, 1:] if axis == 1 else n[1:]
    m = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[m], b[m])[0, 1]) if m.sum() > 8 else np.nan


def one(a, sim, mode, preset, seed, pair, tmp):
    base = os.path.join(tmp, "%s_%s_%s_%d" % (sim, mode, preset, seed))
    s = base + ".h5"
    make(sim, s, mode, preset, seed)
    process(a, s, base + ".o.h5", True)
    process(a, s, base + ".d.h5", False)
    o, d = read(base + ".o.h5"), read(base + ".d.h5")
    area = float(np.sum(o["cov"] >= 2)) * o["rp"] * o["cp"] / 100.0
    res = dict(area=area, z=[float(v) for v in o["z"]], size=[float(v) for v in o["size"]],
               n_default=len(d["z"]), sigma_hat=o["noise"])
    flat = ridge_free(o["A"], o["rp"])
    res["est"] = [lower_sd(filtered(flat, o["rp"], o["cp"], sg)) / o["noise"] for sg in SIGMAS]
    res["est_all"] = [robust_sd(filtered(flat, o["rp"], o["cp"], sg)) / o["noise"]
                      for sg in SIGMAS]
    if pair and sim != "m2":
        if sim == "m1":
            c = base + ".c.h5"
            make(sim, c, mode, preset, seed, "clean")
            process(a, c, c + ".o.h5", True)
            other, scale = read(c + ".o.h5"), 1.0
            one_map = o
        else:
            maps = []
            for v in (1, 2):
                c = base + ".v%d.h5" % v
                make(sim, c, mode, preset, seed, v)
                process(a, c, c + ".o.h5", True)
                maps.append(read(c + ".o.h5"))
            one_map, other, scale = maps[0], maps[1], math.sqrt(2.0)
        if one_map["A"].shape == other["A"].shape:
            n = (ridge_free(one_map["A"], o["rp"]) - ridge_free(other["A"], o["rp"])) / scale
            n[(one_map["cov"] < 2) | (other["cov"] < 2)] = np.nan
            sh = one_map["noise"]
            res["truth"] = dict(sigma=robust_sd(n), sd=float(np.nanstd(n)), rho_x=corr(n, 1),
                                rho_y=corr(n, 0), sigma_hat=sh,
                                c=[robust_sd(filtered(n, o["rp"], o["cp"], sg)) / sh
                                   for sg in SIGMAS])
        else:
            res["truth"] = dict(shape=[list(one_map["A"].shape), list(other["A"].shape)])
    for fn in os.listdir(tmp):
        if fn.startswith(os.path.basename(base) + "."):
            os.unlink(os.path.join(tmp, fn))
    return (sim, mode, preset, seed), res


def fmt(v, f="%.2f"):
    return "-" if v is None or not np.isfinite(v) else f % v


def report(got, a):
    sims = a.sims.split(",")
    print("| sim | mode | preset | area (cm2) | " + " | ".join("z>=%g" % t for t in ZS)
          + " | defaults |")
    print("|---" * (5 + len(ZS)) + "|")
    for sim in sims:
        for mo in ("roller", "mat"):
            for p in ("moderate", "hard"):
                v = [got[k] for k in got if k[:3] == (sim, mo, p)]
                if not v:
                    continue
                area = sum(x["area"] for x in v)
                cnt = [sum(int(np.sum(np.array(x["z"]) >= t)) for x in v) for t in ZS]
                print("| %s | %s | %s | %.0f | %s | %d |" % (
                    sim, mo, p, area, " | ".join(str(c) for c in cnt),
                    sum(x["n_default"] for x in v)))
    print()
    print("per 100 cm2, per simulator (both modes and presets):")
    for sim in sims:
        v = [got[k] for k in got if k[0] == sim]
        if v:
            area = sum(x["area"] for x in v)
            print("| %s | %.0f | %s | %.2f |" % (sim, area, " | ".join(
                "%.2f" % (100 * sum(int(np.sum(np.array(x["z"]) >= t)) for x in v) / area)
                for t in ZS), 100 * sum(x["n_default"] for x in v) / area))
    print()
    print("| sim | mode | preset | seed | sigma_hat | sigma | sd | rho_x | rho_y | c_k at "
          + ", ".join("%.1f" % s for s in SIGMAS) + " mm | est_k (one map) |")
    print("|---" * 11 + "|")
    for k in sorted(got):
        t = got[k].get("truth")
        if not t or "c" not in t:
            continue
        print("| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            *k, fmt(t["sigma_hat"]), fmt(t["sigma"]), fmt(t["sd"]), fmt(t["rho_x"]),
            fmt(t["rho_y"]), " ".join(fmt(c) for c in t["c"]),
            " ".join(fmt(c) for c in got[k]["est"])))
    print()
    print("median c_k / est_k per simulator and mode (k = 3 .. 14.3 mm):")
    for sim in sims:
        for mo in ("roller", "mat"):
            ts = [got[k]["truth"]["c"] for k in got if k[:2] == (sim, mo)
                  and "c" in got[k].get("truth", {})]
            es = [got[k]["est"] for k in got if k[:2] == (sim, mo)]
            if es:
                print("| %s | %s | c %s | est %s |" % (
                    sim, mo, " ".join(fmt(v) for v in np.nanmedian(ts, axis=0))
                    if ts else "-", " ".join(fmt(v) for v in np.nanmedian(es, axis=0))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/knotmap")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--pairs", type=int, default=3, help="seeds with the true-noise pair")
    ap.add_argument("--sims", default="m1,m2,ind,third")
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--presets", default="moderate,hard")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--process-args", default="")
    ap.add_argument("--json")
    a = ap.parse_args()
    jobs = [(sim, mo, p, SEED0[sim] + i, i < a.pairs) for sim in a.sims.split(",")
            for mo in a.modes.split(",") for p in a.presets.split(",") for i in range(a.seeds)]
    got = {}
    with tempfile.TemporaryDirectory(prefix="det23-calib-") as tmp, \
            cf.ProcessPoolExecutor(a.jobs) as ex:
        for f in [ex.submit(one, a, *j, tmp) for j in jobs]:
            k, res = f.result()
            got[k] = res
    report(got, a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"|".join(map(str, k)): v for k, v in got.items()}, f)


if __name__ == "__main__":
    main()
