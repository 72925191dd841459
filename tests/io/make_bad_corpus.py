#!/usr/bin/python3
"""Make the session_* and audio_* files of the bad-input corpus in tests/data/bad.

Each file is small and wrong in one way; EXPECTED.tsv holds the exit code of
`knotmap info FILE` and a fragment of its message.  Run from anywhere:
/usr/bin/python3 tests/io/make_bad_corpus.py
"""
import os
import struct

import h5py
import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "bad")


def session(name, frames=None, time=None, mask=None, schema="knotmap-session", version=1):
    with h5py.File(os.path.join(HERE, name), "w") as f:
        if schema is not None:
            f.attrs["schema"] = schema
        if version is not None:
            f.attrs["schema_version"] = np.int64(version)
        f.attrs["frame_rate_hz"] = 10.0
        if frames is not None:
            f.create_dataset("frames", data=frames)
        if time is not None:
            f.create_dataset("time", data=time)
        if mask is not None:
            f.create_dataset("mask", data=mask)


def wav(name, channels, samples, comment=None, rate=100):
    """PCM16 WAV with an optional LIST/INFO/ICMT comment (libsndfile's SF_STR_COMMENT)."""
    data = struct.pack("<%dh" % len(samples), *samples)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if comment is not None:
        text = comment.encode() + b"\0"
        if len(text) % 2:
            text += b"\0"
        info = b"INFO" + b"ICMT" + struct.pack("<I", len(text)) + text
        body += b"LIST" + struct.pack("<I", len(info)) + info
    body += b"data" + struct.pack("<I", len(data)) + data
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def main():
    good = np.arange(12 * 4 * 3, dtype=np.float32).reshape(12, 4, 3)
    session("session_rank2.h5", frames=good[0])
    session("session_time_length.h5", frames=good, time=np.arange(10) / 10.0)
    t = np.arange(12) / 10.0
    t[5] = 0.1
    session("session_time_backwards.h5", frames=good, time=t)
    session("session_schema_version2.h5", frames=good, version=2)
    session("session_bad_schema.h5", frames=good, schema="something-else")
    session("session_mask_shape.h5", frames=good, mask=np.ones((3, 3), np.uint8))
    session("session_no_frames.h5", time=t)
    session("session_strings.h5", frames=np.array([[[b"ab", b"cd"]]]))
    with open(os.path.join(HERE, "session_not_hdf5.h5"), "w") as f:
        f.write("this is a text file named like an HDF5 session\n")
    session("session_truncated.h5", frames=good, time=np.arange(12) / 10.0)
    path = os.path.join(HERE, "session_truncated.h5")
    os.truncate(path, os.path.getsize(path) // 2)

    wav("audio_grid_mismatch.wav", 12, list(range(12 * 5)), "knotmap grid=4x4")
    wav("audio_flat_incomplete.wav", 1, list(range(25)), "knotmap grid=4x3")
    wav("audio_bad_comment.wav", 12, list(range(12 * 5)), "knotmap grid=4y3")
    wav("audio_no_grid.wav", 12, list(range(12 * 5)))
    # libsndfile refuses more than 1024 channels, on write and on read.
    wav("audio_2048ch.wav", 2048, [0] * 2048 * 2)


if __name__ == "__main__":
    main()
