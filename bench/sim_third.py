#!/usr/bin/python3
"""A third simulator of roller and mat sessions (session 34, issue 11).

Written from the issue's description of real use and docs/FORMAT.md 1.2 only,
without reading knotmap's detector or its other two simulators: another tissue,
motion and sensor model to check knotmap's knot candidates against.

Tissue (body mm; x across, along the roller axis / mat columns; y along the body):
- a body part: a thigh (a round limb narrower than the roller: pressure falls to 0
  at its flanks, no spine valley), a hip (wider, a broad bony prominence, the
  trochanter) or a back (wider than the sensor, a spine valley down the middle);
  a slow relief along y (muscle bellies);
- knots: a nodule of FWHM 2-12 mm under 5-25 mm of tissue; the depth blurs it
  (footprint sigma^2 = nodule sigma^2 + (0.35 depth)^2), the nodule is elongated
  along the fibres (aspect 1-2.5, fibres within +-25 deg of y); a stiffer spot
  presses back in proportion to the lean (a relative excess over the contact);
- distractors: taut bands (3-4 mm across, 40-100 mm along the fibres; in the hard
  preset a knot may sit on one, as trigger points do) and broad bony prominences.
Motion:
- roller: strokes back and forth over 150-300 mm at an uneven speed, lifting at the
  ends (the roller may turn in the air and is set down about a
  millimetre away), pausing for
  2-6 s on a tender spot (a knot) leaning up to 1.9 times harder; a lean that
  varies by stroke;
- mat: a body part pressed onto the mat and eased off again (presses of 1.2-3 s at a
  lean of 0.75-1.25, 0.3-1 s off, each press a pass), shifting off for a moment,
  pressing a tender spot for 2-6 s at 1.3-1.9 times the lean; a sway of about a
  millimetre.
Device: rollers of 40-75 mm radius, 24-48 rows, 5-10 mm column pitch; a contact band
of Hertzian pressure (foam: half-width 12-25 mm, 30-50 kPa; rigid: 6-12 mm,
50-90 kPa); mats of 24-48 x 20-40 taxels at 5-10 mm. Each taxel averages the
pressure over 70% of its pitch (3 x 3 samples). The sensor: first-order lag of
2-8 ms, crosstalk into the 4 neighbours, a gain error per taxel and per
device/day, offsets, white and row-common noise, quantisation to counts of an
8-12 bit converter with saturation, dead, stuck and hot taxels, a lost row segment.

Presets (what each draws; every range uniform unless said):
- easy: nodule FWHM 6-12 mm at 10-20 mm depth, aspect 1-1.3, stiffness 0.8-1.2;
  steady speed, no lifts or pauses; noise 0.3-0.6 kPa, gain sd 2%, 12 bits,
  no crosstalk, lag or bad taxels, no distractors; thigh or back; rollers of
  40-55 mm radius with 40-48 rows (row pitch 5.2-8.6 mm).
- moderate: FWHM 2-12 mm at 5-18 mm, aspect 1-1.8, stiffness 0.6-1.2; speed +-40%,
  lifts at 30% of the ends, pauses (1 a session at most); noise 0.5-1.5 kPa,
  gain sd 5%, offsets 0.5 kPa, 10 bits, crosstalk 1-4%, lag 2-8 ms, one bad taxel,
  one taut band and one bony prominence; thigh, hip or back; the whole device
  range (row pitch 5.2-19.6 mm).
- hard: FWHM 2-12 mm at 5-25 mm, aspect 1-2.5, stiffness 0.4-1.0; speed +-60%,
  lifts at 60% of the ends, up to 2 pauses; noise 1-3 kPa, gain sd 8%, offsets
  1.5 kPa, 8 bits, crosstalk 3-8%, lag 2-8 ms, 2-4 bad taxels, a lost row segment
  (half the time), two bands (a knot on each half the time) and a prominence.
Knot amplitude (truth `amplitude_kpa`) = stiffness x nodule sigma / footprint
sigma x the contact pressure P0 x the body's relative pressure there, at lean 1.

`conditions` switches the real-use conditions one by one (CONDITIONS); a condition
switched off takes the plain value in PLAIN (round 5 mm footprints, steady speed, a
wide flat body, a 50 mm roller with 32 rows at 6 mm, a perfect sensor at 0.5 kPa).

Output: a knotmap session HDF5 (docs/FORMAT.md 1.2), frames in kPa, and the truth in
the group `/truth` (`knotmap process` ignores it; `knotmap eval --truth` reads
`knots`'s x_mm and y_mm, docs/FORMAT.md 1.2): `knots` (x_mm, y_mm in knotmap's body
coordinates: mat x = col * col pitch, y = row * row pitch; roller y = 0 at the
first frame's contact line, rows rising with y; sigma_mm (nodule), footprint_sigma_mm
(geometric mean of across and along), sigma_across_mm, sigma_along_mm, angle_deg,
depth_mm, amplitude_kpa, relative (the excess over the contact), on_band) and
`distractors` (kind 0 band, 1 prominence, 2 bad taxel, y_mm NaN on a roller; x_mm,
y_mm, sigma_across_mm, sigma_along_mm, amplitude_kpa); attributes
noise_kpa, gain_sd, offset_sd, quant_kpa, p0_kpa, xtalk, lag_ms, body, preset, seed,
conditions, row_offset_mm (roller: the body y of the rows are m x row pitch + it until
the roller turns in the air), body_centre_mm, body_width_mm (inf: wider than the sensor); `gain` [R, C] the taxels' gains.

Usage: /usr/bin/python3 bench/sim_third.py OUT.h5 --mode roller --preset hard --seed 3
"""
import argparse

import h5py
import numpy as np
from scipy.signal import lfilter

CONDITIONS = ("footprint", "elongation", "speed", "lifts", "pauses", "body",
              "device", "pressure", "lag", "crosstalk", "quant", "lost_row",
              "noise", "gain", "bad_taxels", "distractors")
PRESETS = {
    "easy": dict(fwhm=(6, 12), depth=(10, 20), aspect=(1, 1.3), stiff=(0.8, 1.2),
                 speed_var=0.0, p_lift=0.0, pauses=0, noise=(0.3, 0.6), gain_sd=0.02,
                 offset_sd=0.0, bits=12, xtalk=(0, 0), lag_ms=(0, 0), n_bad=0,
                 lost_row=0.0, bands=0, band_knot=0.0, prominences=0,
                 bodies=("thigh", "back"), radius=(40, 55), rows=(40, 48)),
    "moderate": dict(fwhm=(2, 12), depth=(5, 18), aspect=(1, 1.8), stiff=(0.6, 1.2),
                     speed_var=0.4, p_lift=0.3, pauses=1, noise=(0.5, 1.5),
                     gain_sd=0.05, offset_sd=0.5, bits=10, xtalk=(0.01, 0.04),
                     lag_ms=(2, 8), n_bad=1, lost_row=0.0, bands=1, band_knot=0.0,
                     prominences=1, bodies=("thigh", "hip", "back"),
                     radius=(40, 75), rows=(24, 48)),
    "hard": dict(fwhm=(2, 12), depth=(5, 25), aspect=(1, 2.5), stiff=(0.4, 1.0),
                 speed_var=0.6, p_lift=0.6, pauses=2, noise=(1.0, 3.0), gain_sd=0.08,
                 offset_sd=1.5, bits=8, xtalk=(0.03, 0.08), lag_ms=(2, 8), n_bad=3,
                 lost_row=0.5, bands=2, band_knot=0.5, prominences=1,
                 bodies=("thigh", "hip", "back"), radius=(40, 75), rows=(24, 48)),
}
PLAIN = dict(fwhm=None, aspect=(1, 1), speed_var=0.0, p_lift=0.0, pauses=0,
             body="flat", radius=50.0, rows=32, cols=32, pitch=6.0, p0=40.0, band_half=16.0,
             lag_ms=(0, 0), xtalk=(0, 0), bits=None, lost_row=0.0, noise=(0.5, 0.5),
             gain_sd=0.0, offset_sd=0.0, n_bad=0, bands=0, prominences=0)
FS_HZ = 100.0
DEPTH_BLUR = 0.35      # footprint sigma added per mm of tissue over the nodule
TAXEL_FILL = 0.7       # sensing width of a taxel over its pitch


def draw_params(rng, mode, preset, conditions):
    """Every session parameter, drawn from the preset; a condition off takes PLAIN."""
    pr = PRESETS[preset]
    on = set(CONDITIONS if conditions is None else conditions)

    def pick(cond, key):
        return pr[key] if cond in on else PLAIN[key]
    p = dict(mode=mode, preset=preset, conditions=sorted(on))
    p["fwhm"] = pr["fwhm"] if "footprint" in on else None
    p["depth"] = pr["depth"]
    p["aspect"] = pick("elongation", "aspect")
    p["stiff"] = pr["stiff"]
    p["speed_var"] = pick("speed", "speed_var")
    p["p_lift"] = pick("lifts", "p_lift")
    p["pauses"] = pick("pauses", "pauses")
    body = str(rng.choice(pr["bodies"]))
    p["body"] = body if "body" in on else "flat"
    dev = dict(radius=rng.uniform(*pr["radius"]), rows=int(rng.integers(pr["rows"][0], 49)),
               cols=int(rng.integers(20, 41)), pitch=rng.uniform(5, 10))
    p.update(dev if "device" in on else {k: PLAIN[k] for k in dev})
    rigid = rng.random() < 0.4 and mode == "roller"
    p0 = rng.uniform(50, 90) if rigid else rng.uniform(30, 50)
    half = rng.uniform(6, 12) if rigid else rng.uniform(12, 25)
    p["rigid"] = bool(rigid and "pressure" in on)
    p["p0"] = p0 if "pressure" in on else PLAIN["p0"]
    p["band_half"] = half if "pressure" in on else PLAIN["band_half"]
    p["lag_ms"] = rng.uniform(*pick("lag", "lag_ms"))
    p["xtalk"] = rng.uniform(*pick("crosstalk", "xtalk"))
    p["bits"] = pick("quant", "bits")
    p["lost_row"] = rng.random() < pick("lost_row", "lost_row")
    p["noise"] = rng.uniform(*pick("noise", "noise"))
    p["gain_sd"] = pick("gain", "gain_sd")
    p["offset_sd"] = pick("gain", "offset_sd")
    p["day_gain"] = rng.uniform(0.85, 1.15) if "gain" in on else 1.0
    p["n_bad"] = pick("bad_taxels", "n_bad")
    p["bands"] = pick("distractors", "bands")
    p["band_knot"] = pr["band_knot"] if "distractors" in on else 0.0
    p["prominences"] = pick("distractors", "prominences")
    return p


def body_profile(p, x):
    """Relative contact pressure across the body (0 off it), and the body's centre."""
    width_mm = p["cols"] * p["pitch"]
    xc = 0.5 * (p["cols"] - 1) * p["pitch"] + p["_xshift"]
    if p["body"] == "thigh":
        half = 0.5 * p["_bodyw"]
        return np.sqrt(np.clip(1 - ((x - xc) / half) ** 2, 0, None)) ** 0.7, xc
    if p["body"] == "hip":
        half = 0.5 * p["_bodyw"]
        return np.clip(1 - ((x - xc) / half) ** 4, 0, None) ** 0.5, xc
    if p["body"] == "back":
        valley = p["_valley"] * np.exp(-0.5 * ((x - xc) / p["_valley_w"]) ** 2)
        return 1 - valley, xc
    return np.ones_like(x) * (width_mm > 0), xc


def gauss2(x, y, f):
    """An elongated Gaussian of unit height: f holds x, y, sa (across), sl (along), ang."""
    c, s = np.cos(f["ang"]), np.sin(f["ang"])
    dx, dy = x - f["x"], y - f["y"]
    along = dx * s + dy * c
    across = dx * c - dy * s
    return np.exp(-0.5 * ((across / f["sa"]) ** 2 + (along / f["sl"]) ** 2))


def draw_body(rng, p, y_lo, y_hi):
    """Body features in simulation mm: knots and distractors (relative excesses)."""
    width = p["cols"] * p["pitch"]
    p["_xshift"] = rng.uniform(-0.05, 0.05) * width
    p["_bodyw"] = rng.uniform(100, 160) if p["body"] == "thigh" else rng.uniform(170, 260)
    p["_valley"], p["_valley_w"] = rng.uniform(0.35, 0.6), rng.uniform(8, 15)
    p["_relief"] = (rng.uniform(0.05, 0.12), rng.uniform(60, 140), rng.uniform(0, 6.3))
    _, xc = body_profile(p, np.zeros(1))
    half = min(0.5 * p["_bodyw"], 0.5 * width) if p["body"] in ("thigh", "hip") \
        else 0.5 * width
    x_lo, x_hi = max(xc - half + 15, 2 * p["pitch"]), min(xc + half - 15,
                                                        width - 2 * p["pitch"])
    fibre = rng.uniform(-25, 25) * np.pi / 180
    placed, knots, distract = [], [], []

    def free_spot(min_d, tries=200):
        for _ in range(tries):
            x, y = rng.uniform(x_lo, x_hi), rng.uniform(y_lo, y_hi)
            if p["body"] == "back" and abs(x - xc) < 20:
                continue
            if all(np.hypot(x - a, y - b) >= min_d for a, b in placed):
                placed.append((x, y))
                return x, y
        return None
    for _ in range(p["bands"]):
        spot = free_spot(40)
        if spot:
            distract.append(dict(kind=0, x=spot[0], y=spot[1], sa=rng.uniform(3, 4),
                                 sl=rng.uniform(40, 100) / 2.355, ang=fibre,
                                 rel=rng.uniform(0.15, 0.35)))
    for _ in range(p["prominences"]):
        spot = free_spot(50)
        if spot:
            s = rng.uniform(15, 30)
            distract.append(dict(kind=1, x=spot[0], y=spot[1], sa=s, sl=s, ang=0.0,
                                 rel=rng.uniform(0.25, 0.5)))
    n_knots = int(rng.integers(2, 6))
    for k in range(n_knots):
        bands = [d for d in distract if d["kind"] == 0]
        on_band = k < len(bands) and rng.random() < p["band_knot"]
        spot = (bands[k]["x"], bands[k]["y"]) if on_band else free_spot(30)
        if spot is not None:
            knots.append(draw_knot(rng, p, spot, fibre, on_band))
    return knots, distract


def draw_knot(rng, p, spot, fibre, on_band):
    """A nodule under tissue: its footprint (across, along the fibres) and excess."""
    aspect, stiff = rng.uniform(*p["aspect"]), rng.uniform(*p["stiff"])
    if p["fwhm"] is None:                       # PLAIN: a round 5 mm footprint
        sn, depth, sa, sl, atten = 5.0, 0.0, 5.0, 5.0 * aspect, 0.6
    else:
        sn, depth = rng.uniform(*p["fwhm"]) / 2.355, rng.uniform(*p["depth"])
        sa = np.hypot(sn, DEPTH_BLUR * depth)
        sl = np.hypot(sn * aspect, DEPTH_BLUR * depth)
        atten = min(1.0, sn * np.sqrt(aspect) / np.sqrt(sa * sl))
    return dict(x=spot[0], y=spot[1], sa=sa, sl=sl, ang=fibre + rng.uniform(-0.15, 0.15),
                rel=stiff * atten, sn=sn, depth=depth, on_band=float(on_band))


def tissue(p, knots, distract, x, y):
    """Relative pressure of the body at points (x, y): profile x relief x (1 + excesses)."""
    prof, _ = body_profile(p, x)
    a, lam, ph = p["_relief"]
    s = prof * (1 + a * np.sin(2 * np.pi * y / lam + ph))
    exc = np.zeros_like(x)
    for f in list(knots) + [d for d in distract if d["kind"] in (0, 1)]:
        exc += f["rel"] * gauss2(x, y, f)
    return s * (1 + exc)


def smooth_noise(rng, n, corr_frames):
    w = rng.standard_normal(n + 4 * corr_frames)
    k = np.exp(-0.5 * (np.arange(-2 * corr_frames, 2 * corr_frames + 1) / corr_frames) ** 2)
    v = np.convolve(w, k / np.sqrt((k ** 2).sum()), mode="valid")
    return v[:n]


def roller_motion(rng, p, n, stroke, tender_y):
    """Contact line y (sim mm), lean, roller angle (rad) per frame."""
    dt, v0 = 1 / FS_HZ, rng.uniform(60, 150)
    mod = np.clip(1 + p["speed_var"] * smooth_noise(rng, n, 40), 0.2, None)
    y, d, phi, lean_t = 0.0, 1, 0.0, rng.uniform(0.75, 1.25)
    state, timer, pauses_left, paused_here = "move", 0.0, p["pauses"], False
    ys, leans, phis, lean = np.zeros(n), np.zeros(n), np.zeros(n), lean_t
    for i in range(n):
        target = lean_t
        if state == "move":
            step = d * v0 * mod[i] * dt
            if pauses_left and not paused_here and tender_y is not None and \
                    (y - tender_y) * (y + step - tender_y) <= 0:
                state, timer, paused_here = "pause", rng.uniform(2, 6), True
                pauses_left -= 1
                p_lean = rng.uniform(1.3, 1.9)
            y += step
            phi += step / p["radius"]
            if y >= stroke or y <= 0:
                y = min(max(y, 0.0), stroke)
                paused_here = False
                if rng.random() < p["p_lift"]:
                    state, timer = "lift", rng.uniform(0.2, 0.6)
                else:
                    d, lean_t = -d, rng.uniform(0.75, 1.25)
        elif state == "pause":
            target = p_lean
            timer -= dt
            if timer <= 0:
                state = "move"
        else:
            target = 0.0
            timer -= dt
            phi += rng.normal(0, 0.05)           # the roller turns freely in the air
            if timer <= 0:
                state, d, lean_t = "move", -d, rng.uniform(0.75, 1.25)
                y = min(max(y + rng.normal(0, 1), 0.0), stroke)
        lean += (target - lean) * (1 - np.exp(-dt / 0.06))
        ys[i], leans[i], phis[i] = y, lean, phi
    return ys, leans, phis


def render_roller(rng, rm, p, n):
    rp = 2 * np.pi * p["radius"] / p["rows"]
    p["row_pitch"] = rp
    stroke = rng.uniform(150, 300)
    knots, distract = draw_body(rng, p, 0.1 * stroke, 0.9 * stroke)
    tender = knots[int(rm.integers(len(knots)))]["y"] if knots else None
    ys, lean, phi = roller_motion(rm, p, n, stroke, tender)
    c0 = rm.uniform(0, p["rows"])
    p["row_offset"] = -(c0 % 1) * rp        # body y of the rows at the start: m rp + this
    crow = (phi * p["rows"] / (2 * np.pi) + c0) % p["rows"]
    sub = (np.arange(3) - 1) / 3 * TAXEL_FILL
    cols = np.arange(p["cols"])
    frames = np.zeros((n, p["rows"], p["cols"]))
    a = p["band_half"]
    reach = int(np.ceil((a + rp) / rp))
    rows = np.round(crow).astype(int)[:, None] + np.arange(-reach, reach + 1)
    u0 = (rows - crow[:, None]) * rp                  # arc offset of each row's centre
    acc = np.zeros(rows.shape + (p["cols"],))
    for sy in sub:
        u = (u0 + sy * rp)[:, :, None]
        band = np.sqrt(np.clip(1 - (u / a) ** 2, 0, None))
        for sx in sub:
            x = (cols + sx) * p["pitch"] + 0 * u
            acc += band * tissue(p, knots, distract, x, ys[:, None, None] + u + 0 * x)
    frames[np.arange(n)[:, None], rows % p["rows"]] = \
        p["p0"] * lean[:, None, None] * acc / 9
    y0 = ys[0]
    for f in knots + distract:
        f["y"] -= y0
    return frames, knots, distract


def render_mat(rng, rm, p, n):
    p["row_pitch"] = p["pitch"]
    rows = p["rows"]
    knots, distract = draw_body(rng, p, 0.15 * rows * p["pitch"], 0.85 * rows * p["pitch"])
    lean = np.clip(mat_lean(rm, p, n), 0, None)
    sway = 0.7 * np.stack([smooth_noise(rm, n, 100), smooth_noise(rm, n, 100)], 1)
    sub = (np.arange(3) - 1) / 3 * TAXEL_FILL
    yy, xx = np.meshgrid(np.arange(rows), np.arange(p["cols"]), indexing="ij")
    base = np.zeros((rows, p["cols"]))
    gx = np.zeros_like(base)
    gy = np.zeros_like(base)
    h = 0.25
    for sy in sub:
        for sx in sub:
            x, y = (xx + sx) * p["pitch"], (yy + sy) * p["pitch"]
            base += tissue(p, knots, distract, x, y) / 9
            gx += (tissue(p, knots, distract, x + h, y) - tissue(p, knots, distract, x - h, y)) / (18 * h)
            gy += (tissue(p, knots, distract, x, y + h) - tissue(p, knots, distract, x, y - h)) / (18 * h)
    frames = p["p0"] * lean[:, None, None] * (base[None] - sway[:, 0, None, None] * gx[None]
                                              - sway[:, 1, None, None] * gy[None])
    return np.clip(frames, 0, None), knots, distract


def mat_lean(rng, p, n):
    """Pressing on a mat: presses of uneven length and lean, easing off between them
    (each press a pass over the body's cells), one held on a tender spot for seconds."""
    lean, i, pauses = np.zeros(n), 0, p["pauses"]
    while i < n:
        uneven = p["speed_var"] > 0
        on = rng.uniform(1.2, 3.0) if uneven else 2.0
        level = rng.uniform(0.75, 1.25) if uneven else 1.0
        if pauses and rng.random() < 0.3:
            on, level, pauses = rng.uniform(2, 6), rng.uniform(1.3, 1.9), pauses - 1
        off = rng.uniform(0.3, 1.0) if uneven else 0.6
        if p["p_lift"] > 0 and rng.random() < p["p_lift"] / 2:
            off += rng.uniform(0.5, 1.5)       # shifting off the mat for a moment
        a, b = i + int(on * FS_HZ), i + int((on + off) * FS_HZ)
        lean[i:a] = level
        i = b
    k = np.exp(-1 / (0.08 * FS_HZ))           # easing on and off over about 80 ms
    return lfilter([1 - k], [1, -k], lean)


def sensor(rng, p, true_kpa, distract):
    """What the sheet reports: lag, crosstalk, gains, offsets, noise, counts, bad taxels."""
    n, rows, cols = true_kpa.shape
    x = true_kpa
    if p["lag_ms"] > 0:
        al = 1 - np.exp(-1000 / FS_HZ / p["lag_ms"])
        x = lfilter([al], [1, al - 1], x, axis=0)
    if p["xtalk"] > 0:
        nb = np.zeros_like(x)
        nb[:, :, 1:] += x[:, :, :-1]
        nb[:, :, :-1] += x[:, :, 1:]
        if p["mode"] == "roller":
            nb += np.roll(x, 1, axis=1) + np.roll(x, -1, axis=1)
        else:
            nb[:, 1:] += x[:, :-1]
            nb[:, :-1] += x[:, 1:]
        x = x + p["xtalk"] * nb
    gain = p["day_gain"] * np.exp(rng.normal(0, p["gain_sd"], (rows, cols))) \
        if p["gain_sd"] > 0 else np.full((rows, cols), p["day_gain"])
    offset = rng.normal(0, p["offset_sd"], (rows, cols)) if p["offset_sd"] > 0 else 0.0
    full = 2.5 * p["p0"] * 1.9
    hot = bad_taxels(rng, p, gain, distract, rows, cols)
    x = x * gain + offset + rng.normal(0, p["noise"], x.shape) \
        + rng.normal(0, 0.3 * p["noise"], (n, rows, 1))
    x = np.clip(x, 0, full)
    if p["bits"]:
        q = full / (2 ** p["bits"] - 1)
        x = np.round(x / q) * q
    else:
        q = 0.0
    for kind, r, c, v in hot:
        if kind == "dead":
            x[:, r, c] = 0
        elif kind == "stuck":
            x[:, r, c] = v
    if p["lost_row"]:
        r = int(rng.integers(rows))
        c0 = int(rng.integers(0, cols // 2))
        start = int(rng.integers(0, n // 2))
        x[start:, r, c0:c0 + int(rng.integers(cols // 4, cols // 2 + 1))] = 0
        p["_lost"] = (r, c0, start)
    p["quant_kpa"] = q
    p["saturation"] = full
    return x.astype(np.float32), gain


def bad_taxels(rng, p, gain, distract, rows, cols):
    out = []
    for _ in range(p["n_bad"]):
        kind = str(rng.choice(["dead", "stuck", "hot"]))
        r, c = int(rng.integers(rows)), int(rng.integers(cols))
        v = rng.uniform(0.3, 0.8) * p["p0"]
        if kind == "hot":
            gain[r, c] *= rng.uniform(2, 3)
        out.append((kind, r, c, v))
        y = r * p["pitch"] if p["mode"] == "mat" else np.nan   # a roller's row has no y
        distract.append(dict(kind=2, x=c * p["pitch"], y=y, sa=0.0, sl=0.0, ang=0.0,
                             rel=v / p["p0"] if kind == "stuck" else 0.0))
    return out


def simulate(seed, mode="roller", preset="moderate", conditions=None, duration_s=20.0):
    """One session: (frames float32 kPa [T, R, C], params, knots, distractors)."""
    # one generator per part, so that switching a condition leaves the others' draws
    key = [seed, ["roller", "mat"].index(mode), list(PRESETS).index(preset), 34]
    rp, rb, rm, rs = (np.random.default_rng(key + [part]) for part in range(4))
    p = draw_params(rp, mode, preset, conditions)
    n = int(round(duration_s * FS_HZ))
    render = render_roller if mode == "roller" else render_mat
    true_kpa, knots, distract = render(rb, rm, p, n)
    for k in knots:
        xk, yk = np.array([k["x"]]), np.array([k["y"]])
        prof, _ = body_profile(p, xk)
        k["amp"] = float(k["rel"] * p["p0"] * prof[0])
    frames, gain = sensor(rs, p, true_kpa, distract)
    for d in distract:
        d["amp"] = float(d["rel"] * p["p0"])
    return frames, p, knots, distract, gain


def write_session(path, frames, p, knots, distract, gain, seed):
    with h5py.File(path, "w") as f:
        n, rows, cols = frames.shape
        f.create_dataset("frames", data=frames, chunks=(min(n, 250), rows, cols),
                         compression="gzip", shuffle=True)
        f.create_dataset("time", data=np.arange(n) / FS_HZ)
        a = f.attrs
        a["schema"], a["schema_version"] = "knotmap-session", 1
        a["frame_rate_hz"], a["units"], a["mode"] = FS_HZ, "kPa", p["mode"]
        a["row_pitch_mm"], a["col_pitch_mm"] = p["row_pitch"], p["pitch"]
        if p["mode"] == "roller":
            a["roller_radius_mm"] = p["radius"]
        a["saturation"] = p["saturation"]
        g = f.create_group("truth")
        for key in ("noise", "gain_sd", "offset_sd", "p0", "quant_kpa", "xtalk", "lag_ms"):
            g.attrs[key + ("_kpa" if key in ("noise", "p0") else "")] = float(p[key])
        g.attrs["body"], g.attrs["preset"], g.attrs["seed"] = p["body"], p["preset"], seed
        g.attrs["conditions"] = ",".join(p["conditions"])
        g.attrs["row_offset_mm"] = p.get("row_offset", 0.0)
        _, xc = body_profile(p, np.zeros(1))
        g.attrs["body_centre_mm"] = xc
        g.attrs["body_width_mm"] = p["_bodyw"] if p["body"] in ("thigh", "hip") else np.inf
        g.create_dataset("gain", data=gain.astype(np.float32))
        kt = g.create_group("knots")
        cols_k = dict(x_mm="x", y_mm="y", sigma_mm="sn", sigma_across_mm="sa",
                      sigma_along_mm="sl", depth_mm="depth", amplitude_kpa="amp",
                      on_band="on_band", relative="rel")
        for name, key in cols_k.items():
            kt.create_dataset(name, data=np.array([k[key] for k in knots], float))
        kt.create_dataset("footprint_sigma_mm", data=np.array(
            [np.sqrt(k["sa"] * k["sl"]) for k in knots], float))
        kt.create_dataset("angle_deg", data=np.array([np.degrees(k["ang"]) for k in knots]))
        dt = g.create_group("distractors")
        for name, key in dict(kind="kind", x_mm="x", y_mm="y", sigma_across_mm="sa",
                              sigma_along_mm="sl", amplitude_kpa="amp").items():
            dt.create_dataset(name, data=np.array([d[key] for d in distract], float))


def write(path, mode, preset, seed, duration_s=20.0, conditions=None):
    """Simulate one session and write it to path (docs/FORMAT.md 1.2 + /truth)."""
    frames, p, knots, distract, gain = simulate(seed, mode, preset, conditions, duration_s)
    write_session(path, frames, p, knots, distract, gain, seed)


def knot_snr(path, noise="white", spread=None):
    """Per knot of a written session: its excess at the nearest taxel centre (lean 1,
    band centre) over a per-taxel noise sd: "white" (the noise drawn per frame),
    "total" (with the offset, gain and count errors under the knot's background
    pressure) or "spread" (the given figure, e.g. the result's /bodymap/spread)."""
    with h5py.File(path) as f:
        g, k = f["truth"], f["truth/knots"]
        t = {n: k[n][:] for n in k}
        cp, rp = f.attrs["col_pitch_mm"], f.attrs["row_pitch_mm"]
        a = dict(g.attrs)
    x, y = t["x_mm"], t["y_mm"] - a["row_offset_mm"]
    dx, dy = x - np.round(x / cp) * cp, y - np.round(y / rp) * rp
    ang = np.radians(t["angle_deg"])
    along = dx * np.sin(ang) + dy * np.cos(ang)
    across = dx * np.cos(ang) - dy * np.sin(ang)
    att = np.exp(-0.5 * ((across / t["sigma_across_mm"]) ** 2
                         + (along / t["sigma_along_mm"]) ** 2))
    sd = np.full(len(x), a["noise_kpa"] if noise != "spread" else spread, float)
    if noise == "total":
        bg = t["amplitude_kpa"] / np.maximum(t["relative"], 1e-9)
        sd = np.sqrt(sd ** 2 + a["offset_sd"] ** 2 + (a["gain_sd"] * bg) ** 2
                     + a["quant_kpa"] ** 2 / 12)
    return t["amplitude_kpa"] * att / sd


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--mode", choices=("roller", "mat"), default="roller")
    ap.add_argument("--preset", choices=tuple(PRESETS), default="moderate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--conditions", default=None,
                    help="comma-separated conditions switched on (default: all); "
                         "'' for none; names: " + ",".join(CONDITIONS))
    a = ap.parse_args()
    conds = None if a.conditions is None else [c for c in a.conditions.split(",") if c]
    bad = [c for c in conds or () if c not in CONDITIONS]
    if bad:
        ap.error("unknown condition(s): " + ",".join(bad))
    write(a.out, a.mode, a.preset, a.seed, a.duration, conds)


if __name__ == "__main__":
    main()
