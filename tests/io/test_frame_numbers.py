"""A frame number a Tekscan or XSENSOR export writes too large to hold is refused as too
large, naming its line: it is an integer, and "not an integer" (the message before session
46) sent the user looking for a typing error.  Run:
    KNOTMAP_BIN=build/knotmap /usr/bin/python3 -m pytest tests/io/test_frame_numbers.py
"""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("KNOTMAP_BIN", REPO / "build" / "knotmap"))
HUGE = "99999999999999999999"


def refusal(path):
    r = subprocess.run([str(BIN), "info", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 65, r.stderr
    return r.stderr.strip().splitlines()[-1]


def tekscan(tmp_path, head, first):
    p = tmp_path / "t.asf"
    p.write_text("DATA_TYPE MOVIE\nROWS 2\nCOLS 2\n" + head + "ASCII_DATA @@\n\nFrame " + first
                 + "\n1,2\n3,4\n@@\n")
    return p


@pytest.mark.parametrize("head, first, line, said", [
    ("START_FRAME %s\n" % HUGE, "1", 4, "START_FRAME '%s' is too large for a frame number" % HUGE),
    ("", HUGE, 6, "frame number '%s' is too large" % HUGE),
    ("START_FRAME 1x\n", "1", 4, "START_FRAME '1x' is not an integer"),
    ("", "1.5", 6, "frame number '1.5' is not an integer"),
])
def test_tekscan_frame_numbers(tmp_path, head, first, line, said):
    msg = refusal(tekscan(tmp_path, head, first))
    assert "line %d: %s" % (line, said) in msg, msg


@pytest.mark.parametrize("frame, said", [
    ("1e16", "frame number '1e16' is too large"),
    ("2.5", "frame number '2.5' is not an integer"),
])
def test_xsensor_frame_numbers(tmp_path, frame, said):
    p = tmp_path / "x.csv"
    p.write_text('"Software:","XSENSOR Pro V8"\n"Frame:","%s"\n"Rows:","2"\n"Columns:","2"\n'
                 '"Units:","mmHg"\n"1","2"\n"3","4"\n' % frame)
    msg = refusal(p)
    assert "line 2: " + said in msg, msg
