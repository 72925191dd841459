"""Frames saved in a struct nested deeper than knotmap opens (3 levels: rec.meta.fs)
are refused with a message that says so and what to do, in both levels of
MAT-file; until session 44 it listed the structs (s, s.s, s.s.s, s.s.s.s) and
said only that no `frames` was found, as if the file held none."""
import numpy as np
import scipy.io as sio

from km_cli import refused, run_ok
from test_matlab_v73 import mat73, recording


def nested(depth):
    d = {"frames": recording("f4"), "fs": 50.0}
    for _ in range(depth):
        d = {"s": d}
    return d


def test_level5(tmp_path):
    p = tmp_path / "deep.mat"
    sio.savemat(p, nested(4))
    refused(tmp_path, p, 65, "s.s.s.s [1 x 1 struct]",
            "structs are opened 3 levels deep, so the fields of s.s.s.s are not read")
    ok = tmp_path / "ok.mat"                        # three levels: read
    sio.savemat(ok, nested(2))
    assert "frames:" in run_ok("info", ok).stdout


def test_v73(tmp_path):
    p = tmp_path / "deep73.mat"
    mat73(p, nested(4))
    refused(tmp_path, p, 65, "structs are opened 3 levels deep, so the fields of s.s.s.s")
