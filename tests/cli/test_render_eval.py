"""knotmap render and knotmap eval, end to end (run with /usr/bin/python3 -m pytest tests/cli).

The PNG is decoded back with PIL and checked against matplotlib's viridis (an
independent reference for the colours); eval is checked on hand-made results
whose precision, recall and F1 are known exactly.
The binary comes from $KNOTMAP_BIN, else build/knotmap in the repository.
"""
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import matplotlib
from PIL import Image

from km_cli import run

VIRIDIS = matplotlib.colormaps["viridis"]


def rgb(t):
    return np.round(np.array(VIRIDIS(t)[:3]) * 255)


def layout(img):
    return {k: v for k, v in (kv.split("=", 1) for kv in img.text["knotmap-layout"].split())}


@pytest.fixture(scope="module")
def roller(tmp_path_factory):
    """A short moderate roller session with its processed result."""
    d = tmp_path_factory.mktemp("roller")
    session, result = d / "s.h5", d / "r.h5"
    r = run("synth", "--preset", "moderate", "--seed", "7", "--duration", "12", "-o", session)
    assert r.returncode == 0, r.stderr
    r = run("process", "-q", session, "-o", result)
    assert r.returncode == 0, r.stderr
    return session, result


def ring_hits(px, cx, cy, radius):
    hits = n = 0
    for k in range(72):
        a = 2 * math.pi * k / 72
        x, y = int(math.floor(cx + radius * math.cos(a))), int(math.floor(cy + radius * math.sin(a)))
        if 0 <= y < px.shape[0] and 0 <= x < px.shape[1]:
            n += 1
            hits += bool((px[y, x] == 255).all())
    return hits, n


def test_render_bodymap_decoded_back(roller, tmp_path):
    _, result = roller
    out = tmp_path / "map.png"
    r = run("render", result, "-o", out)
    assert r.returncode == 0, r.stderr
    assert f"-> {out}" in r.stdout
    img = Image.open(out)
    assert img.mode == "RGB"
    lay = layout(img)
    px = np.asarray(img).astype(int)
    with h5py.File(result) as f:
        bm = f["bodymap/pressure"][:]
        cand = {k: f["candidates"][k][:] for k in ("x_mm", "y_mm")}
        attrs = dict(f["bodymap"].attrs)
    ny, nx = bm.shape
    cw, ch = int(lay["cell_w"]), int(lay["cell_h"])
    mx, my = int(lay["map_x"]), int(lay["map_y"])
    assert lay["map"] == "/bodymap/pressure"
    assert (int(lay["nx"]), int(lay["ny"])) == (nx, ny)
    # True to scale: cell sides in the ratio of the pitches.
    assert abs(cw / ch - attrs["x_pitch_mm"] / attrs["y_pitch_mm"]) < 0.1
    # The whole map fits in the picture, and the picture is not much larger.
    assert img.width >= mx + nx * cw + 40 and img.height >= my + ny * ch
    assert max(nx * cw, ny * ch) <= 480

    vmin, vmax = float(lay["vmin"]), float(lay["vmax"])
    # The robust scale: 0 (pressure is never negative) up to numpy's 99th
    # percentile of the cells with data; the share above it is in the layout.
    finite = bm[np.isfinite(bm)]
    assert np.nanmin(bm) >= 0 and vmin == 0
    assert vmax == pytest.approx(np.percentile(finite, 99), rel=1e-6)
    assert float(lay["clipped_above"]) == pytest.approx((finite > vmax).mean(), abs=1e-6)
    # Every finite cell has the viridis colour of its value (3 levels for the
    # interpolated table, clipped at the ends), except where a ring or a
    # number is drawn.
    marks = [(mx + ((cand["x_mm"][k] - attrs["x0_mm"]) / attrs["x_pitch_mm"] + 0.5) * cw,
              my + ((cand["y_mm"][k] - attrs["y0_mm"]) / attrs["y_pitch_mm"] + 0.5) * ch)
             for k in range(int(lay["n_marked"]))]
    checked = 0
    for iy in range(0, ny, 3):
        for ix in range(0, nx, 3):
            v = bm[iy, ix]
            y, x = my + iy * ch + ch // 2, mx + ix * cw + cw // 2
            if any(math.hypot(x - a, y - b) < 40 + 20 for a, b in marks):
                continue  # a ring (radius <= 40) or its number
            p = px[y, x]
            if not np.isfinite(v):
                assert (p == 150).all()
                continue
            t = min(max((v - vmin) / (vmax - vmin), 0.0), 1.0)
            assert np.abs(p - rgb(t)).max() <= 4, (iy, ix, p)
            checked += 1
    assert checked > nx * ny / 20

    # Colour bar right of the map: top = viridis(1), bottom = viridis(0).
    assert int(lay["bar_x"]) > mx + nx * cw and int(lay["bar_y"]) == my
    bar_x = int(lay["bar_x"]) + int(lay["bar_w"]) // 2
    bar_h = int(lay["bar_h"])
    assert bar_h >= ny * ch
    assert np.abs(px[my, bar_x] - rgb(1.0)).max() <= 1
    assert np.abs(px[my + bar_h - 1, bar_x] - rgb(0.0)).max() <= 1
    assert np.abs(px[my + bar_h // 2, bar_x] - rgb(0.5)).max() <= 4

    # A ring at every marked candidate (default: the best 20).
    n_marked = int(lay["n_marked"])
    assert n_marked == min(20, len(cand["x_mm"])) and n_marked > 0
    with h5py.File(result) as f:
        size = f["candidates/size_mm"][:] if "size_mm" in f["candidates"] else None
    for k in range(n_marked):
        # docs/FORMAT.md 2.2: 2 x size_mm when the result has it, else the
        # smaller cell side, within 6..40 (6..20) px.
        if size is not None:
            radius = min(max(2 * size[k] * cw / attrs["x_pitch_mm"], 6), 40)
        else:
            radius = min(max(min(cw, ch), 6), 20)
        cx = mx + ((cand["x_mm"][k] - attrs["x0_mm"]) / attrs["x_pitch_mm"] + 0.5) * cw
        cy = my + ((cand["y_mm"][k] - attrs["y0_mm"]) / attrs["y_pitch_mm"] + 0.5) * ch
        hits, n = ring_hits(px, cx, cy, radius)
        assert n > 0 and hits >= 0.6 * n, (k, hits, n)


def test_render_max_map_of_a_roller_marks_nothing(roller, tmp_path):
    _, result = roller
    out = tmp_path / "max.png"
    r = run("render", "--map", "max", "--cell-px", "6", result, "-o", out)
    assert r.returncode == 0, r.stderr
    lay = layout(Image.open(out))
    assert lay["map"] == "/frames/max"
    assert lay["n_marked"] == "0"
    assert int(lay["cell_w"]) == 6 or int(lay["cell_h"]) == 6


def test_render_default_output_name_and_errors(roller, tmp_path):
    _, result = roller
    local = tmp_path / "res.h5"
    local.write_bytes(Path(result).read_bytes())
    r = run("render", "-q", local)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert (tmp_path / "res.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Not a PNG: never replaced.
    keep = tmp_path / "keep.png"
    keep.write_text("precious")
    r = run("render", local, "-o", keep)
    assert r.returncode == 73 and "not a PNG" in r.stderr
    # An unknown extension is a usage error, and nothing is written.
    r = run("render", local, "-o", tmp_path / "map.jpg")
    assert r.returncode == 64 and ".png, .svg or .pdf" in r.stderr
    assert not (tmp_path / "map.jpg").exists()
    assert keep.read_text() == "precious"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert run("render", tmp_path / "missing.h5").returncode == 66
    r = run("render", roller[0])  # a session, not a result
    assert r.returncode == 65 and "knotmap-result" in r.stderr
    assert run("render", local, "--map", "nope").returncode == 64
    assert run("render", local, "--vmin", "5", "--vmax", "1").returncode == 64
    assert run("render", "--help").returncode == 0


def hand_made_result(path, xs, ys, pitch=(4.0, 5.0)):
    with h5py.File(path, "w") as f:
        f.attrs["schema"] = "knotmap-result"
        s = f.create_group("session")
        s.attrs["row_pitch_mm"], s.attrs["col_pitch_mm"] = pitch
        c = f.create_group("candidates")
        c["x_mm"] = np.asarray(xs, float)
        c["y_mm"] = np.asarray(ys, float)


def test_eval_exact_on_a_hand_made_result(roller, tmp_path):
    session, _ = roller
    with h5py.File(session) as f:
        tx, ty = f["truth/knots/x_mm"][:], f["truth/knots/y_mm"][:]
    k = len(tx)
    assert k >= 3
    # All knots but the last found, 1 mm off along x (3-4-5 off for knot 0);
    # two false candidates far away; one duplicate of knot 1, 2 mm off.
    xs = list(tx[:-1] + 1.0) + [-500.0, tx[1] + 2.0, -900.0]
    ys = list(ty[:-1]) + [-500.0, ty[1], -900.0]
    xs[0], ys[0] = tx[0] + 3.0, ty[0] + 4.0
    res = tmp_path / "hand.h5"
    hand_made_result(res, xs, ys)
    r = run("eval", res, "--truth", session, "--json")
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)
    assert e["tolerance_mm"] == 5.0  # the larger pitch
    assert e["n_candidates"] == k + 2 and e["n_truth"] == k
    assert e["n_matched"] == k - 1
    assert e["precision"] == pytest.approx((k - 1) / (k + 2), abs=1e-15)
    assert e["recall"] == pytest.approx((k - 1) / k, abs=1e-15)
    assert e["f1"] == pytest.approx(2 * (k - 1) / (2 * k + 2), abs=1e-15)
    assert e["error_max_mm"] == pytest.approx(5.0, abs=1e-12)
    errs = np.array([5.0] + [1.0] * (k - 2))
    assert e["error_mean_mm"] == pytest.approx(errs.mean(), abs=1e-12)
    assert e["error_rms_mm"] == pytest.approx(np.sqrt((errs ** 2).mean()), abs=1e-12)
    # A tighter tolerance drops knot 0; --top keeps only the best candidates.
    e = json.loads(run("eval", res, "--truth", session, "--json", "--tolerance", "2").stdout)
    assert e["n_matched"] == k - 2
    e = json.loads(run("eval", res, "--truth", session, "--json", "--top", "2").stdout)
    assert (e["n_candidates"], e["n_matched"]) == (2, 2)
    # The text form says the same.
    t = run("eval", res, "--truth", session).stdout
    assert f"matched:      {k - 1}\n" in t and "precision:" in t and "rms" in t


def test_eval_on_the_pipeline_result(roller):
    session, result = roller
    e = json.loads(run("eval", result, "--truth", session, "--json").stdout)
    assert e["n_truth"] > 0 and 0.0 <= e["f1"] <= 1.0
    with h5py.File(result) as f:
        assert e["n_candidates"] == len(f["candidates/x_mm"])


def test_eval_errors(roller, tmp_path):
    session, result = roller
    assert run("eval", result).returncode == 64  # --truth missing
    assert run("eval", result, "--truth", session, "--tolerance", "0").returncode == 64
    assert run("eval", result, "--truth", tmp_path / "none.h5").returncode == 66
    r = run("eval", session, "--truth", result)  # swapped
    assert r.returncode == 65 and "knotmap-result" in r.stderr
    bare = tmp_path / "bare.h5"
    with h5py.File(bare, "w") as f:
        f.attrs["schema"] = "knotmap-result"
    r = run("eval", bare, "--truth", session)
    assert r.returncode == 65 and "no /session" in r.stderr
    with h5py.File(bare, "a") as f:
        s = f.create_group("session")
        s.attrs["row_pitch_mm"] = s.attrs["col_pitch_mm"] = 1.0
    r = run("eval", bare, "--truth", session)
    assert r.returncode == 65 and "/candidates" in r.stderr
