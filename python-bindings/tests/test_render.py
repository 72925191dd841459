"""knotmap.render and knotmap.report: bytes in memory, files on disk, the
same picture both ways, errors as the built-in exception classes."""
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import knotmap

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "datasets" / "example" / "roller_example.h5"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("render") / "example.knotmap.h5"
    knotmap.process(str(EXAMPLE), str(out))
    return out


def test_render_bytes_in_each_format(result):
    png = knotmap.render(result)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(png))
    info = {}
    svg = knotmap.render(result, format="svg", info=info)
    assert svg.startswith(b"<?xml") and info["width"] == img.width
    assert info["format"] == knotmap.IMAGE_FORMATS["svg"]
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg[svg.index(b"<svg"):]).iter(
        "{http://www.w3.org/2000/svg}text")]
    assert "along the body (mm)" in texts and "1" in texts
    assert knotmap.render(result, format="PDF")[:5] == b"%PDF-"
    # The layout the PNG carries is the info returned.
    lay = dict(kv.split("=", 1) for kv in img.text["knotmap-layout"].split())
    assert int(lay["map_x"]) == info["map_x"] and float(lay["vmax"]) == info["vmax"]


def test_render_file_equals_bytes(result, tmp_path):
    out = tmp_path / "m.png"
    info = knotmap.render(result, out, percentile=100)
    assert isinstance(info, dict) and info["clipped_above"] == 0
    a = np.asarray(Image.open(out))
    b = np.asarray(Image.open(io.BytesIO(knotmap.render(result, percentile=100))))
    assert a.shape == b.shape and (a == b).all()
    # The automatic scale is numpy's 99th percentile of the cells with data.
    import h5py
    with h5py.File(result) as f:
        bm = f["bodymap/pressure"][:]
    info = knotmap.render(result, tmp_path / "p.svg")
    assert info["vmax"] == pytest.approx(np.percentile(bm[np.isfinite(bm)], 99), rel=1e-6)


def test_report_str_and_file(result, tmp_path):
    html = knotmap.report(result)
    assert html.startswith("<!DOCTYPE html>") and "Knot candidates" in html
    path = knotmap.report(result, tmp_path / "r.html")
    assert path == str(tmp_path / "r.html")
    written = Path(path).read_text(encoding="utf-8")
    # Identical but for nothing: the report depends only on the result.
    assert written == html


def status(exc_info):
    return exc_info.value.status_name


def test_errors(result, tmp_path):
    with pytest.raises(knotmap.Error) as e:
        knotmap.render(tmp_path / "none.h5", format="png")
    assert status(e) == "KM_ERR_NOT_FOUND"
    with pytest.raises(knotmap.Error) as e:
        knotmap.render(result, tmp_path / "m.jpg")
    assert status(e) == "KM_ERR_INVALID" and ".png, .svg or .pdf" in str(e.value)
    assert not (tmp_path / "m.jpg").exists()
    with pytest.raises(ValueError):
        knotmap.render(result, format="gif")
    with pytest.raises(knotmap.Error) as e:
        knotmap.render(result, percentile=20)
    assert status(e) == "KM_ERR_INVALID"
    with pytest.raises(knotmap.Error) as e:
        knotmap.report(tmp_path / "none.h5")
    assert status(e) == "KM_ERR_NOT_FOUND"
    keep = tmp_path / "keep.html"
    keep.write_text("precious")
    with pytest.raises(knotmap.Error) as e:
        knotmap.report(result, keep)
    assert status(e) == "KM_ERR_CREATE" and keep.read_text() == "precious"
    # A report under a picture's name (session 38: before, HTML was written as r.pdf,
    # which no PDF viewer opens).
    for name in ("r.pdf", "r.PNG", "r.svg"):
        with pytest.raises(ValueError) as e:
            knotmap.report(result, tmp_path / name)
        assert status(e) == "KM_ERR_INVALID" and "name it .html" in str(e.value)
        assert name in str(e.value) and not (tmp_path / name).exists()


def test_memory_budget(result):
    """max_memory= is `--max-memory` of render and report (session 43): a picture the
    budget cannot hold is refused before the map is read, with the CLI's words; the
    signature's default is the C library's 1 GiB."""
    import inspect
    assert inspect.signature(knotmap.render).parameters["max_memory"].default == 1 << 30
    assert inspect.signature(knotmap.report).parameters["max_memory"].default == 1 << 30
    for fn, kw in ((knotmap.render, {"cell_px": 64}), (knotmap.report, {})):
        # the example's 34 x 16 map at 64 px a cell: about 36 MB of PNG; as SVG, 14 KB
        limit = (1 << 20) if fn is knotmap.report else (8 << 20)
        if fn is knotmap.report:
            assert fn(result, max_memory=limit).startswith("<!DOCTYPE html>")
            continue
        with pytest.raises(knotmap.Error) as e:
            fn(result, max_memory=limit, **kw)
        assert "beyond the memory budget of 8 MiB" in str(e.value)
        assert "max_memory=" in str(e.value)
        assert fn(result, max_memory=1 << 30, **kw)[:4] == b"\x89PNG"
