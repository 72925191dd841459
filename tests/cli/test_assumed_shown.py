"""Every assumption reaches every place a person looks: stderr, `info`, the
picture and the report.

Before session 29 the picture and the report described the pitch, rate,
units, mode and radius only: "encoding" (UTF-16 text read by its NUL bytes)
and any name they did not know were dropped as soon as one known name was
there, so a bed recording saved as UTF-16 without a byte order mark said
"taxel pitch 1 mm ..." and nothing about the guessed encoding.
"""
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import h5py
import pytest

from km_cli import PHYSIONET, run_ok as run, says_assumed

SVG = "{http://www.w3.org/2000/svg}"


def svg_assumed(path):
    root = ET.parse(path).getroot()
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    lines = [t for t in texts if t.startswith("Assumed, not in the recording")]
    assert len(lines) == 1, texts
    return lines[0]


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = []

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def report_text(path):
    p = _Text()
    p.feed(path.read_text(encoding="utf-8"))
    return "\n".join(p.text)


@pytest.fixture(scope="module")
def utf16_result(tmp_path_factory):
    """The PhysioNet bed recording saved as UTF-16 LE without a byte order
    mark, processed without geometry."""
    d = tmp_path_factory.mktemp("assumed")
    src = d / "bed_utf16.txt"
    src.write_bytes(PHYSIONET.read_text(encoding="utf-8").encode("utf-16-le"))
    out = d / "bed.knotmap.h5"
    r = run("process", "-q", src, "--grid", "64x32", "-o", out)
    return d, src, out, r.stderr


def test_encoding_is_warned_recorded_drawn_and_reported(utf16_result):
    d, src, out, stderr = utf16_result
    assert "read as UTF-16" in stderr and says_assumed(stderr, "row pitch")
    with h5py.File(out) as f:
        assumed = f["session"].attrs["assumed"]
        assumed = assumed.decode() if isinstance(assumed, bytes) else assumed
    assert assumed.split(",") == ["row_pitch_mm", "col_pitch_mm", "frame_rate_hz", "units",
                                  "mode", "encoding"]
    info = run("info", out).stdout
    assert "read as UTF-16" in info
    svg = d / "bed.svg"
    run("render", out, "-o", svg)
    line = svg_assumed(svg)
    assert "taxel pitch 1 mm" in line and "frame rate 1 Hz" in line
    assert "text encoding UTF-16 (no byte order mark)" in line
    html = d / "bed.html"
    run("report", out, "-o", html)
    text = report_text(html)
    assert "text encoding UTF-16 (no byte order mark)" in text


def test_a_name_this_version_does_not_know_is_shown_as_it_is(utf16_result, tmp_path):
    """A newer writer's name beside known ones: shown by name, not dropped."""
    d, src, out, _ = utf16_result
    edited = tmp_path / "edited.knotmap.h5"
    edited.write_bytes(out.read_bytes())
    with h5py.File(edited, "r+") as f:
        f["session"].attrs["assumed"] = "frame_rate_hz,sensor_gain"
    svg = tmp_path / "edited.svg"
    run("render", edited, "-o", svg)
    line = svg_assumed(svg)
    assert "frame rate 1 Hz" in line and "sensor_gain" in line
    assert "taxel pitch" not in line
    html = tmp_path / "edited.html"
    run("report", edited, "-o", html)
    assert "sensor_gain" in report_text(html)
