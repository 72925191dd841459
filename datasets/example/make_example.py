#!/usr/bin/python3
"""Generate datasets/example/roller_example.h5, the bundled example session.

A knotmap session HDF5 v1 file (docs/FORMAT.md 1.2), roller mode, with its
ground truth in /truth/knots.  Deterministic: fixed seed, so re-running this
script gives the same numbers (the bytes may differ with the h5py version).

Physics (DESIGN.md section 6):

* The sensor sheet (32 rows x 16 cols) is wrapped around a foam roller of
  radius Rr = 50 mm.  Rows run around the circumference, so the row pitch is
  2*pi*Rr/32 = 9.817 mm; columns run along the roller's axis at 10 mm.
* The roller rolls without slipping back and forth along the body (+y is
  forward): the contact line moves as y_c(t) = L/2 * (1 - cos(2*pi*t/P)),
  L = 300 mm of travel, P = 5 s per back-and-forth, so 15 s hold three
  passes over every body point.  The roller turns by theta = y_c/Rr, and the
  row in contact is row0 + theta/(2*pi)*rows (mod rows), row0 = 8:
  rolling forward makes the contact row index increase.  y = 0 is the
  contact line of the first frame.
* A taxel row at circular offset d rows from the contact row (fractional,
  wrapped to [-16, 16)) touches the body at y = y_c + d * row_pitch and
  presses with the contact profile w(d) = exp(-d^2 / (2 * 0.9^2)), i.e. a
  band of about three rows (30 mm), zero beyond |d| > 3.
* Contact pressure is 40 kPa at the band centre, modulated by the load the
  user puts on the roller (+-5 kPa, 0.3 Hz) and by the body's shape across
  the roller (the limb covers x in about [15, 145] mm with soft edges).
* Knots are compact pressure excesses fixed on the body: a Gaussian
  amp * exp(-r^2 / (2 sigma^2)) in body coordinates (x, y), pressed only
  where the roller presses, i.e. multiplied by w(d) and the load factor.
* Sensor noise: Gaussian, sigma 0.3 kPa, then clipped at 0 (a pressure
  sensor reads no negative pressure); values are quantised to 1/16 kPa
  (a 16-counts-per-kPa ADC), which also lets shuffle+deflate compress them.
* One dead taxel (row 20, col 3) reads 0 and is marked invalid in /mask.
"""
import math
import os
import sys

import h5py
import numpy as np

ROWS, COLS = 32, 16
RADIUS_MM = 50.0
ROW_PITCH = 2 * math.pi * RADIUS_MM / ROWS
COL_PITCH = 10.0
RATE_HZ = 100.0
DURATION_S = 15.0
TRAVEL_MM = 300.0
PERIOD_S = 5.0
ROW0 = 8.0
BAND_SIGMA_ROWS = 0.9
CONTACT_KPA = 40.0
NOISE_KPA = 0.3
QUANTUM = 1.0 / 16.0
DEAD = (20, 3)
SEED = 20240601

# x_mm, y_mm, sigma_mm, amplitude_kpa
KNOTS = np.array([
    [50.0, 80.0, 6.0, 45.0],
    [110.0, 180.0, 5.0, 30.0],
    [80.0, 250.0, 7.0, 55.0],
])


def frames_and_times():
    rng = np.random.default_rng(SEED)
    n = int(round(DURATION_S * RATE_HZ))
    t = np.arange(n) / RATE_HZ
    y_c = TRAVEL_MM / 2 * (1 - np.cos(2 * np.pi * t / PERIOD_S))
    contact_row = ROW0 + (y_c / RADIUS_MM) / (2 * np.pi) * ROWS
    load = 1.0 + 0.125 * np.sin(2 * np.pi * 0.3 * t)

    rows = np.arange(ROWS)[None, :, None]
    x = (np.arange(COLS) * COL_PITCH)[None, None, :]
    d = (rows - contact_row[:, None, None] + ROWS / 2) % ROWS - ROWS / 2
    w = np.exp(-d ** 2 / (2 * BAND_SIGMA_ROWS ** 2)) * (np.abs(d) <= 3)
    limb = 1 / (1 + np.exp(-(x - 15) / 4)) / (1 + np.exp((x - 145) / 4))
    y = y_c[:, None, None] + d * ROW_PITCH

    p = CONTACT_KPA * w * limb
    for kx, ky, ks, ka in KNOTS:
        p = p + ka * w * np.exp(-((x - kx) ** 2 + (y - ky) ** 2) / (2 * ks ** 2))
    p = p * load[:, None, None]
    p = p + rng.normal(0.0, NOISE_KPA, p.shape)
    p = np.clip(p, 0.0, None)
    p = np.round(p / QUANTUM) * QUANTUM
    p[:, DEAD[0], DEAD[1]] = 0.0
    return p.astype(np.float32), t


def write(path):
    frames, t = frames_and_times()
    mask = np.ones((ROWS, COLS), np.uint8)
    mask[DEAD] = 0
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = np.int64(1)
        f.attrs["frame_rate_hz"] = RATE_HZ
        f.attrs["row_pitch_mm"] = ROW_PITCH
        f.attrs["col_pitch_mm"] = COL_PITCH
        f.attrs["units"] = "kPa"
        f.attrs["mode"] = "roller"
        f.attrs["roller_radius_mm"] = RADIUS_MM
        f.attrs["generator"] = "datasets/example/make_example.py seed %d" % SEED
        f.create_dataset("frames", data=frames, chunks=(128, ROWS, COLS),
                         maxshape=(None, ROWS, COLS), shuffle=True, compression="gzip",
                         compression_opts=6)
        f.create_dataset("time", data=t, chunks=(4096,), maxshape=(None,), shuffle=True,
                         compression="gzip", compression_opts=6).attrs["units"] = "s"
        f.create_dataset("mask", data=mask)
        g = f.create_group("truth/knots")
        for i, (name, units) in enumerate([("x_mm", "mm"), ("y_mm", "mm"),
                                           ("sigma_mm", "mm"), ("amplitude_kpa", "kPa")]):
            g.create_dataset(name, data=KNOTS[:, i]).attrs["units"] = units
    os.replace(tmp, path)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "roller_example.h5")
    write(out)
    print(out, os.path.getsize(out), "bytes")
