"""What a person sees: pictures and reports rendered by headless Chromium.

The bundled roller example and a PhysioNet mat recording without geometry are
processed, drawn (PNG, SVG) and reported (HTML); Chromium renders them to
screenshots (no network: every fetch is off, the files are local and
self-contained), which must not be blank; the text a reader sees is taken
from the SVG's <text> elements and the HTML (title, axis labels, legend,
every candidate number, every section).  Chromium is Debian's `chromium`:
.ci/dev installs it and sets KM_REQUIRE_CHROMIUM=1, so CI never skips; on a
developer machine without it these tests skip with the reason.
"""
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from km_cli import REPO, BIN, EXAMPLE, run_ok as run

MAT = REPO / "datasets" / "real" / "physionet_pmd" / "experiment-i" / "S1" / "1.txt"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SVG = "{http://www.w3.org/2000/svg}"


def need_chromium():
    if CHROMIUM is None:
        if os.environ.get("KM_REQUIRE_CHROMIUM"):
            pytest.fail("KM_REQUIRE_CHROMIUM is set but chromium is not installed")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")


def chromium(url, out, size=(900, 1200), pdf=False):
    """Render `url` headless with a fresh profile and no network activity."""
    need_chromium()
    with tempfile.TemporaryDirectory(prefix="km_chromium_") as profile:
        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                f"--print-to-pdf={out}" if pdf else f"--screenshot={out}", url]
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and Path(out).exists(), r.stderr[-2000:]


def assert_not_blank(png, min_ink=0.05):
    px = np.asarray(Image.open(png).convert("RGB")).astype(float)
    ink = (px.min(axis=2) < 235).mean()       # share of non-white pixels
    colours = len(np.unique(px.reshape(-1, 3)[::7], axis=0))
    assert px.std() > 20 and ink > min_ink and colours > 50, (px.std(), ink, colours)
    return px


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("seen")
    roller, mat = d / "example.knotmap.h5", d / "bed.knotmap.h5"
    run("process", "-q", EXAMPLE, "-o", roller)
    run("process", "-q", MAT, "--grid", "64x32", "-o", mat)
    return d, roller, mat


def svg_texts(path):
    root = ET.parse(path).getroot()
    return ["".join(t.itertext()) for t in root.iter(SVG + "text")]


def n_candidates(result, limit=20):
    with h5py.File(result) as f:
        return min(limit, len(f["candidates/x_mm"])) if "candidates" in f else 0


def test_png_picture_seen_by_chromium(results):
    d, roller, _ = results
    png = d / "map.png"
    run("render", roller, "-o", png)
    img = Image.open(png)
    shot = d / "png_shot.png"
    chromium(png.as_uri(), shot, size=(img.width, img.height))
    px = assert_not_blank(shot)
    # The picture shown is the picture: viridis yellow (#fde725) of the hot
    # spots and the mid-range teal are on screen.
    for colour in ((0xfd, 0xe7, 0x25), (0x21, 0x91, 0x8c)):
        near = np.abs(px - np.array(colour)).max(axis=2) <= 12
        assert near.sum() > 20, colour


def test_svg_text_is_what_a_reader_needs(results):
    d, roller, mat = results
    svg = d / "map.svg"
    run("render", roller, "-o", svg)
    texts = svg_texts(svg)
    joined = "\n".join(texts)
    assert "roller_example.h5" in texts[0] and "body map" in texts[0]      # the title
    assert "15 s" in joined and "roller (radius 50 mm)" in joined
    for label in ("along the body (mm)", "across the body, along the roller (mm)",
                  "highest pressure (kPa)"):
        assert label in texts, label
    assert any(t.startswith("Start: y = 0 mm") for t in texts)
    assert any(t.startswith("First stroke: toward") for t in texts)
    assert any(t.startswith("grey: not reached by the roller") for t in texts)
    assert any(t.startswith("ring: knot candidate") for t in texts)
    n = n_candidates(roller)
    assert n >= 3
    for k in range(1, n + 1):
        assert texts.count(str(k)) >= 2, k  # on the map and in the list
    assert sum(t.startswith("at x ") for t in texts) == n
    # Tick labels in mm on both axes.
    assert "0" in texts and "100" in texts and "150" in texts
    # (Chromium draws this same SVG inside the report: see below.)

    # A mat recording without geometry: what was assumed is said.
    svg = d / "bed.svg"
    run("render", mat, "-o", svg)
    texts = svg_texts(svg)
    assumed = [t for t in texts if t.startswith("Assumed, not in the recording")]
    assert assumed and "taxel pitch 1 mm" in assumed[0] and "frame rate 1 Hz" in assumed[0]
    assert "y (mm), row 0 at the top" in texts and "x (mm), column 0 at the left" in texts
    assert any("row 0 at the top, column 0 at the left" in t for t in texts)


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.ids, self.tags, self.urls = [], set(), [], []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for k in ("src", "href"):
            if a.get(k):
                self.urls.append(a[k])
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.text.append(data.strip())


def test_report_sections_candidates_and_no_network(results):
    d, roller, mat = results
    html = d / "report.html"
    r = run("report", roller, "-o", html)
    assert f"-> {html}" in r.stdout
    doc = html.read_text(encoding="utf-8")
    p = _Text()
    p.feed(doc)
    text = "\n".join(p.text)
    for sid, heading in (("map", "Body map"), ("candidates", "Knot candidates"),
                         ("passes", "Passes over each candidate"),
                         ("metrics", "Pressure over time"), ("parameters", "Parameters"),
                         ("assumed", "What was assumed")):
        assert sid in p.ids and heading in p.text, sid
    for plot in ("Peak pressure", "Contact area", "Force", "Centre of pressure on the sensor"):
        assert plot in p.text, plot
    with h5py.File(roller) as f:
        n = len(f["candidates/x_mm"])
        xs = f["candidates/x_mm"][:]
    for k in range(1, n + 1):
        assert f"cand-{k}" in p.ids, k
    assert re.search(r"seen in \d+ of \d+", text)
    # The table's x column is the result's, to the digits shown.
    assert f"{xs[0]:.3g}".rstrip("0").rstrip(".") in p.text
    assert "cell_px" not in text and "Nothing: the geometry" in text
    # Self-contained: no script, no external stylesheet, every link internal.
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    assert all(u.startswith(("#", "data:")) for u in p.urls), p.urls
    assert not re.search(r"url\((?!['\"]?data:)", doc) and "@import" not in doc
    assert '<meta name="viewport"' in doc and "@media print" in doc
    # Chromium: a phone-sized screenshot and a printout.
    shot = d / "report_phone.png"
    chromium(html.as_uri(), shot, size=(390, 2400))
    assert_not_blank(shot, min_ink=0.03)
    pdf = d / "report.pdf"
    chromium(html.as_uri(), pdf, pdf=True)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 2

    # The mat without geometry: assumed values up front and in their section.
    html = d / "bed.html"
    run("report", mat, "-o", html)
    p = _Text()
    p.feed(html.read_text(encoding="utf-8"))
    text = "\n".join(p.text)
    assert "Not in the recording, assumed: taxel pitch 1 mm, frame rate 1 Hz" in text
    assert "Not available: force needs pressure in kPa" in text


def test_report_and_render_errors(results, tmp_path):
    d, roller, _ = results
    keep = tmp_path / "keep.html"
    keep.write_text("precious")
    r = subprocess.run([str(BIN), "report", str(roller), "-o", str(keep)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 73 and "is not an HTML report knotmap wrote" in r.stderr
    assert keep.read_text() == "precious"
    r = subprocess.run([str(BIN), "report", str(tmp_path / "none.h5")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 66
    r = subprocess.run([str(BIN), "report", str(EXAMPLE)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 65 and "knotmap-result" in r.stderr
    assert not [q for q in tmp_path.iterdir() if ".tmp-" in q.name]
    r = subprocess.run([str(BIN), "report", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "self-contained" in r.stdout
