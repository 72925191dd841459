#!/usr/bin/python3
"""Make the second part of the bad-input corpus in tests/data/bad (issue 8).

Rates that are zero, negative or not finite; NaN/Inf where a number must be
finite; binary garbage under every extension; absurd and overflowing
dimensions; HDF5 datasets of the wrong class or rank; audio whose channel
count does not fit the grid its comment states.  The first part is
tests/io/make_bad_corpus.py; the text files of both live in tests/data/bad
as they are.  EXPECTED.tsv holds each file's exit code and message fragment.
Deterministic (fixed seed): /usr/bin/python3 tests/io/make_bad_corpus_more.py
"""
import os
import random
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_bad_corpus import HERE, wav  # noqa: E402

TEKSCAN_HEAD = """DATA_TYPE MOVIE
VERSION Tekscan test 7.0
UNITS mmHg
ROWS {rows}
COLS {cols}
SECONDS_PER_FRAME {spf}
ROW_SPACING 0.5 cm
COL_SPACING 0.5 cm
START_FRAME 1
END_FRAME 2
ASCII_DATA @@

Frame 1
{frame1}
Frame 2
{frame2}
@@
"""

FRAME = "1,2,3,4\n5,6,7,8\n9,10,11,12\n"


def text(name, body):
    with open(os.path.join(HERE, name), "w", newline="") as f:
        f.write(body)


def tekscan(name, rows="3", cols="4", spf="0.032", frame1=FRAME, frame2=FRAME):
    text(name, TEKSCAN_HEAD.format(rows=rows, cols=cols, spf=spf, frame1=frame1,
                                   frame2=frame2))


def xsensor_block(name, times, rows="3", cols="4"):
    out = []
    for k, t in enumerate(times, 1):
        out += ['"Frame:","%d"' % k, '"Time:","%s"' % t, '"Sensor:","Left"',
                '"Rows:","%s"' % rows, '"Columns:","%s"' % cols,
                '"Sensel Width (cm):","1,27"', FRAME.rstrip("\n")]
    text(name, "\n".join(out) + "\n")


def session(name, attrs=None, frames=None, **datasets):
    """A version-1 session with frames [3, 4, 3] unless given, rate 10 unless overridden."""
    with h5py.File(os.path.join(HERE, name), "w") as f:
        f.attrs["schema"] = "knotmap-session"
        f.attrs["schema_version"] = np.int64(1)
        f.attrs["frame_rate_hz"] = 10.0
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
        if frames is None:
            frames = np.arange(36, dtype=np.float32).reshape(3, 4, 3)
        if callable(frames):
            frames(f)
        else:
            f.create_dataset("frames", data=frames)
        for k, v in datasets.items():
            f.create_dataset(k, data=v)


def garbage(name, n, seed):
    rng = random.Random(seed)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(n)))


def main():
    # Rates: not a number, negative, not finite.
    tekscan("tekscan_spf_hex.asf", spf="0x20")  # 0 reads as no rate (session 46)
    tekscan("tekscan_spf_negative.asf", spf="-0.032")
    tekscan("tekscan_spf_nan.asf", spf="nan")
    tekscan("tekscan_spf_inf.asf", spf="inf")
    xsensor_block("xsensor_times_equal.csv", ["10:00:00.000"] * 3)
    wav("audio_rate_zero.wav", 12, list(range(12 * 5)), "knotmap grid=4x3 rate=0")
    wav("audio_rate_negative.wav", 12, list(range(12 * 5)), "knotmap grid=4x3 rate=-5")
    wav("audio_rate_nan.wav", 12, list(range(12 * 5)), "knotmap grid=4x3 rate=nan")
    wav("audio_pitch_inf.wav", 12, list(range(12 * 5)), "knotmap grid=4x3 pitch=inf")
    session("session_rate_zero.h5", {"frame_rate_hz": 0.0})
    session("session_rate_negative.h5", {"frame_rate_hz": -10.0})
    session("session_rate_nan.h5", {"frame_rate_hz": np.nan})
    session("session_rate_string.h5", {"frame_rate_hz": "fast"})
    session("session_pitch_inf.h5", {"row_pitch_mm": np.inf})

    # NaN and Inf where a finite number is required (frame values may be nan/inf:
    # the readers accept them by design and later stages treat them as invalid).
    t = np.arange(3) / 10.0
    t[1] = np.nan
    session("session_time_nan.h5", time=t)
    session("session_time_inf.h5", time=np.array([0.0, 0.1, np.inf]))

    # Binary garbage under every extension (auto decides by content first).
    garbage("garbage.asf", 4096, 1)
    garbage("garbage.txt", 4096, 2)
    garbage("garbage.csv", 4096, 3)
    garbage("garbage.wav", 4096, 4)
    garbage("garbage.h5", 4096, 5)
    garbage("garbage.bin", 4096, 6)
    # A valid signature in front of garbage.
    with open(os.path.join(HERE, "garbage_riff.wav"), "wb") as f:
        rng = random.Random(7)
        f.write(b"RIFF\x00\x10\x00\x00WAVE" + bytes(rng.randrange(256) for _ in range(4084)))
    with open(os.path.join(HERE, "garbage_hdf5_signature.h5"), "wb") as f:
        rng = random.Random(8)
        f.write(b"\x89HDF\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(4088)))

    # Absurd and overflowing dimensions.
    tekscan("tekscan_grid_65536.asf", rows="65536", cols="65536")
    tekscan("tekscan_rows_overflow.asf", rows="99999999999999999999")
    xsensor_block("xsensor_rows_1e9.csv", ["10:00:00.000", "10:00:00.010"], rows="1000000000")
    xsensor_block("xsensor_rows_overflow.csv", ["10:00:00.000", "10:00:00.010"],
                  rows="99999999999999999999")
    wav("audio_grid_huge.wav", 1, list(range(12)), "knotmap grid=65536x65536")
    wav("audio_grid_overflow.wav", 1, list(range(12)), "knotmap grid=99999999999999999999x2")
    # A declared shape of 2^40 taxels per frame in a file of a few KiB: never written.
    session("session_huge_shape.h5", frames=lambda f: f.create_dataset(
        "frames", shape=(1000, 1 << 20, 1 << 20), dtype="f4", chunks=(1, 64, 64)))

    # HDF5 datasets of the wrong class or rank.
    comp = np.zeros((3, 4, 3), dtype=[("a", "f4"), ("b", "i4")])
    session("session_frames_compound.h5", frames=comp)
    session("session_mask_float.h5", mask=np.ones((4, 3), np.float32))
    session("session_time_rank2.h5", time=np.zeros((3, 1)))
    session("session_frames_group.h5", frames=lambda f: f.create_group("frames"))
    session("session_rank4.h5", frames=np.zeros((2, 3, 4, 3), np.float32))

    # Audio whose channel count does not fit the grid its comment states.
    wav("audio_channels_more.wav", 20, list(range(20 * 5)), "knotmap grid=4x4")
    wav("audio_channels_2_grid_4x3.wav", 2, list(range(2 * 12)), "knotmap grid=4x3")


if __name__ == "__main__":
    main()
