#!/usr/bin/python3
"""A third session simulator, built apart from knotmap's own (src/synth).

knotmap's two synthetic models live in C next to the detector they score.  This one
is written in numpy from the physical description alone (issue 11, "Real use varies
more than any one simulator"), shares no code or parameter with src/synth, and is
never used for tuning: it is a held-out check of the knot finder, reported beside
the two models by bench/eval_independent.py.

What it models, drawn per session from the seed within ranges set by the preset:
- device: roller radius 40-75 mm, 24-48 rows around it, 16-40 columns of 5-10 mm
  (mat: 28-48 x 20-40 taxels of 5-10 mm); the sheet leaks into neighbouring taxels,
  lags by a first-order response of a few ms, quantises to counts, has per-taxel gain
  and offset errors, dead taxels and (hard) a dead row segment; it saturates (hard);
- body: a thigh (a rounded profile, no spine valley) or a back (a valley along the
  middle), narrower or wider than the roller; contact pressure 30-50 kPa (foam);
- knots: nodules whose pressure footprint has a sigma of 3-12 mm, elongated up to 2x
  along the fibres (y), adding 15-70 kPa at the contact line in proportion to how hard
  the user leans; taut bands (ridges along y) and a broad bony prominence as
  distractors that are not knots;
- motion: back and forth over a 150-260 mm stroke at uneven speed, the roller lifted
  at some turns, and pauses of 1.5-3 s pressing on a tender spot (a knot) with more
  lean.
Geometry follows the session format's conventions (docs/FORMAT.md 1.2, ALGORITHMS 6):
roller rows are 2 pi R / rows apart, the row in contact advances with the rotation,
body y = 0 at the first contact line, x = column * column pitch.

    /usr/bin/python3 bench/sim_independent.py OUT.h5 --mode roller --preset hard --seed 3
"""
import argparse
import math

import h5py
import numpy as np

PRESETS = ("moderate", "hard")


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def draw(mode, preset, seed):
    """Every parameter of one session, drawn from the seed."""
    rng = np.random.default_rng([7919, seed, PRESETS.index(preset), mode == "roller"])
    hard = preset == "hard"
    d = {"mode": mode, "preset": preset, "seed": seed, "rate": 100.0}
    if mode == "roller":
        d["radius"] = _u(rng, 40, 75)
        d["rows"] = int(rng.integers(24, 49))
        d["cols"] = int(rng.integers(16, 41))
        d["col_pitch"] = _u(rng, 5, 10)
        d["row_pitch"] = 2 * math.pi * d["radius"] / d["rows"]
    else:
        d["rows"] = int(rng.integers(28, 49))
        d["cols"] = int(rng.integers(20, 41))
        d["row_pitch"] = _u(rng, 5, 10)
        d["col_pitch"] = _u(rng, 5, 10)
    width = d["cols"] * d["col_pitch"]
    d["contact_kpa"] = _u(rng, 30, 50)
    d["band_mm"] = _u(rng, 1.5, 3.0) * min(d["row_pitch"], 10.0)  # contact band width
    d["body"] = "thigh" if rng.random() < 0.5 else "back"
    d["body_width"] = width * _u(rng, 0.7, 1.4)
    d["body_centre"] = width / 2 + _u(rng, -0.1, 0.1) * width
    d["stroke"] = (_u(rng, 150, 260) if mode == "roller"
                   else (d["rows"] - 1) * d["row_pitch"] + d["band_mm"])
    d["speed"] = _u(rng, 60, 160)  # mm/s
    d["noise"] = _u(rng, 1.5, 3.0) if hard else _u(rng, 0.4, 1.2)
    d["gain_sd"] = _u(rng, 0.07, 0.12) if hard else _u(rng, 0.02, 0.05)
    d["offset_sd"] = _u(rng, 0.5, 1.5) if hard else _u(rng, 0.1, 0.5)
    d["leak"] = _u(rng, 0.04, 0.10) if hard else _u(rng, 0.0, 0.05)
    d["lag_ms"] = _u(rng, 2, 8)
    d["count_kpa"] = 0.5 if hard else 0.25
    d["saturation"] = _u(rng, 140, 200) if hard else math.inf
    d["dead"] = 0.02 if hard else 0.005
    d["lift_p"] = 0.3 if hard else 0.1
    d["pauses"] = int(rng.integers(1, 3)) if hard else int(rng.integers(0, 2))
    lo, hi = (15.0, 45.0) if hard else (25.0, 70.0)
    smax = 12.0 if hard else 9.0
    # knots, away from the body's edges and the stroke's ends, 25 mm apart
    n = int(rng.integers(3, 8))
    xs = (max(d["body_centre"] - d["body_width"] / 2, 0) + 12,
          min(d["body_centre"] + d["body_width"] / 2, width) - 12)
    ys = (0.15 * d["stroke"], 0.85 * d["stroke"])
    knots = []
    for _ in range(400):
        if len(knots) == n or xs[1] <= xs[0]:
            break
        x, y = _u(rng, *xs), _u(rng, *ys)
        if d["body"] == "back" and abs(x - d["body_centre"]) < 15:
            continue  # not in the spine valley
        if all(math.hypot(x - k["x"], y - k["y"]) >= 25 for k in knots):
            s = _u(rng, 3.0, smax)
            e = _u(rng, 1.0, 2.0)  # elongation along the fibres
            knots.append({"x": x, "y": y, "sx": s / math.sqrt(e), "sy": s * math.sqrt(e),
                          "s": s, "amp": _u(rng, lo, hi), "nodule": s / _u(rng, 1.2, 2.5)})
    d["knots"] = knots
    d["bands"] = [{"x": _u(rng, *xs), "y0": _u(rng, 0, 0.5) * d["stroke"],
                   "len": _u(rng, 40, 90), "amp": _u(rng, 5, 10), "w": _u(rng, 2, 4)}
                  for _ in range(int(rng.integers(0, 3)))]
    d["bony"] = ([{"x": _u(rng, *xs), "y": _u(rng, *ys), "s": _u(rng, 15, 25),
                   "amp": _u(rng, 8, 18)}] if rng.random() < 0.6 else [])
    d["rng"] = rng
    return d


def motion(d, duration):
    """Contact line y (mm), lean (relative load, 0 = lifted) per frame."""
    rng, n = d["rng"], int(round(duration * d["rate"]))
    dt = 1.0 / d["rate"]
    y, direction, v = np.zeros(n), 1.0, d["speed"]
    lean = np.ones(n)
    pos, t_lift, t_pause, pause_lean = 0.0, 0, 0, 1.0
    f1, f2 = _u(rng, 0.1, 0.4), _u(rng, 0.3, 0.9)
    p1, p2 = _u(rng, 0, 6.28), _u(rng, 0, 6.28)
    pause_at = [k for k in rng.permutation(len(d["knots"]))[:d["pauses"]]]
    pause_times = sorted(_u(rng, 0.2, 0.8) * duration for _ in pause_at)
    for i in range(n):
        t = i * dt
        base = 1.0 + 0.15 * math.sin(2 * math.pi * 0.13 * t + p1)
        if t_lift > 0:
            t_lift -= 1
            y[i], lean[i] = pos, 0.0
            continue
        if t_pause > 0:
            t_pause -= 1
            y[i], lean[i] = pos, pause_lean
            continue
        if pause_times and t >= pause_times[0] and pause_at:
            k = d["knots"][pause_at.pop(0)]
            pause_times.pop(0)
            if abs(k["y"] - pos) < 40:  # near a tender spot: stop and press on it
                t_pause = int(_u(rng, 1.5, 3.0) * d["rate"])
                pause_lean = _u(rng, 1.4, 1.9)
        speed = v * (1 + 0.5 * math.sin(2 * math.pi * f1 * t + p1)
                     + 0.3 * math.sin(2 * math.pi * f2 * t + p2))
        speed = max(speed, 0.15 * v)
        pos += direction * speed * dt
        if pos >= d["stroke"] or pos <= 0.0:
            pos = min(max(pos, 0.0), d["stroke"])
            direction = -direction
            if rng.random() < d["lift_p"]:
                t_lift = int(_u(rng, 0.2, 0.6) * d["rate"])
        y[i], lean[i] = pos, base
    return y, lean


def _body(d, x):
    c, w = d["body_centre"], d["body_width"] / 2
    r = np.clip(1 - ((x - c) / w) ** 2, 0, None)
    prof = np.where(r > 0, 0.55 + 0.45 * np.sqrt(r), 0.0)
    if d["body"] == "back":
        prof = prof * (1 - 0.45 * np.exp(-0.5 * ((x - c) / 9.0) ** 2))
    return prof


def _field(d, bx, by):
    """Pressure added by knots, bands and bony prominences at body points (kPa at lean 1)."""
    f = np.zeros(np.broadcast(bx, by).shape)
    for k in d["knots"]:
        f += k["amp"] * np.exp(-0.5 * (((bx - k["x"]) / k["sx"]) ** 2
                                       + ((by - k["y"]) / k["sy"]) ** 2))
    for b in d["bands"]:
        along = np.clip(np.minimum(by - b["y0"], b["y0"] + b["len"] - by) / 8.0, -3, 0)
        f += b["amp"] * np.exp(-0.5 * ((bx - b["x"]) / b["w"]) ** 2) * np.exp(-0.5 * along ** 2)
    for b in d["bony"]:
        f += b["amp"] * np.exp(-0.5 * (np.hypot(bx - b["x"], by - b["y"]) / b["s"]) ** 2)
    return f


def frames(d, duration):
    rng = d["rng"]
    R, C = d["rows"], d["cols"]
    yc, lean = motion(d, duration)
    x = np.arange(C) * d["col_pitch"]
    body = _body(d, x)[None, :]
    gain = np.clip(1 + d["gain_sd"] * rng.standard_normal((R, C)), 0.5, None)
    offset = d["offset_sd"] * rng.standard_normal((R, C))
    dead = rng.random((R, C)) < d["dead"]
    if d["preset"] == "hard":  # a lost row segment
        r0, c0 = int(rng.integers(0, R)), int(rng.integers(0, C - 4))
        dead[r0, c0:c0 + int(rng.integers(3, 7))] = True
    alpha = 1 - math.exp(-1000.0 / d["rate"] / d["lag_ms"])
    out = np.zeros((len(yc), R, C), np.float32)
    state = np.zeros((R, C))
    half = d["band_mm"] / 2
    rows = np.arange(R)
    for i, (y, ld) in enumerate(zip(yc, lean)):
        if d["mode"] == "roller":
            contact = (y / d["radius"]) / (2 * math.pi) * R % R
            off = (rows - contact + R / 2) % R - R / 2
            u = off * d["row_pitch"]
        else:
            u = rows * d["row_pitch"] - y
        h = np.sqrt(np.clip(1 - (u / half) ** 2, 0, None))[:, None]
        by = (y + u)[:, None]
        p = ld * h * (4 / math.pi * d["contact_kpa"] * body + _field(d, x[None, :], by) *
                      (body > 0))
        # the sheet: leak into the 4 neighbours, then its lag
        if d["leak"] > 0:
            q = np.pad(p, 1, mode="edge")
            p = (1 - d["leak"]) * p + d["leak"] / 4 * (q[:-2, 1:-1] + q[2:, 1:-1]
                                                       + q[1:-1, :-2] + q[1:-1, 2:])
        state += alpha * (p - state)
        v = gain * state + offset + d["noise"] * rng.standard_normal((R, C))
        v = np.round(v / d["count_kpa"]) * d["count_kpa"]
        v = np.clip(v, 0, d["saturation"])
        v[dead] = 0
        out[i] = v
    return out


def write(path, mode, preset, seed, duration=20.0):
    d = draw(mode, preset, seed)
    fr = frames(d, duration)
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = 1
        f.attrs["frame_rate_hz"] = d["rate"]
        f.attrs["row_pitch_mm"] = d["row_pitch"]
        f.attrs["col_pitch_mm"] = d["col_pitch"]
        f.attrs["units"] = "kPa"
        f.attrs["mode"] = mode
        f.attrs["roller_radius_mm"] = d.get("radius", 0.0)
        f.attrs["simulator"] = "bench/sim_independent.py %s %s seed %d" % (mode, preset, seed)
        f.create_dataset("frames", data=fr, chunks=(64, d["rows"], d["cols"]),
                         compression="gzip", compression_opts=1)
        f.create_dataset("time", data=np.arange(len(fr)) / d["rate"])
        k = f.create_group("truth/knots")
        ks = d["knots"]
        k["x_mm"] = np.array([q["x"] for q in ks])
        k["y_mm"] = np.array([q["y"] for q in ks])
        k["sigma_mm"] = np.array([q["nodule"] for q in ks])
        k["amplitude_kpa"] = np.array([q["amp"] for q in ks])
        k["footprint_sigma_mm"] = np.array([math.sqrt(q["sx"] * q["sy"]) for q in ks])
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--mode", choices=("roller", "mat"), default="roller")
    ap.add_argument("--preset", choices=PRESETS, default="moderate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=20.0)
    a = ap.parse_args()
    d = write(a.out, a.mode, a.preset, a.seed, a.duration)
    print("%s: %s %s seed %d: %dx%d taxels, %d knots" % (a.out, a.mode, a.preset, a.seed,
                                                        d["rows"], d["cols"], len(d["knots"])))


if __name__ == "__main__":
    main()
