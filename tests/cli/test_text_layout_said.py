"""A text matrix without a grid whose sides are within 4:1 is read as one frame
(docs/FORMAT.md 1.4): 50 frames of 8 x 6 taxels written one per line become one
50 x 48 frame.  That reading is an assumption and is said like the others: one
warning on stderr with the frame's shape, `text_layout` in the 'assumed:' line and
the result's /session attribute `assumed`, and in the picture.  Before session 39
nothing said it (the 50 x 48 frame came without a word)."""
import h5py
import numpy as np
import pytest

from km_cli import REPO, run, run_ok

AIR = REPO / "datasets" / "real" / "physionet_pmd" / "experiment-ii" / "S1" / "Air_Mat" / \
    "Matrix_Air_B1.txt"


def lines_of_frames(tmp_path):
    p = tmp_path / "frames.txt"
    rng = np.random.default_rng(9)
    np.savetxt(p, rng.integers(0, 100, size=(50, 48)), fmt="%d")  # 50 frames of 8 x 6
    return p


def layout_warnings(stderr):
    return [l for l in stderr.splitlines() if ": warning: " in l and "no grid given" in l]


def test_one_frame_by_guess_is_said_with_its_shape(tmp_path):
    p = lines_of_frames(tmp_path)
    r = run_ok("info", p)
    assert "grid:         50 x 48 taxels" in r.stdout and "frames:       1\n" in r.stdout
    assert r.stdout.split("assumed:")[1].splitlines()[0].strip().split(",")[-1] == "text_layout"
    said = layout_warnings(r.stderr)
    assert len(said) == 1, r.stderr
    assert "one 50 x 48 frame" in said[0] and "--grid RxC" in said[0], said
    out = tmp_path / "r.h5"
    r = run_ok("process", p, "-o", out, "--quiet")
    assert len(layout_warnings(r.stderr)) == 1, r.stderr
    with h5py.File(out) as f:
        assert "text_layout" in f["session"].attrs["assumed"].split(",")


@pytest.mark.parametrize("opts", [("--grid", "8x6"), ("--text-layout", "matrix"),
                                  ("--grid", "50x48")])
def test_a_layout_given_is_not_assumed(tmp_path, opts):
    p = lines_of_frames(tmp_path)
    r = run_ok("info", p, *opts)
    assert "text_layout" not in r.stdout and not layout_warnings(r.stderr), r.stderr
    assert ("frames:       50\n" in r.stdout) == (opts[1] == "8x6")


def test_the_air_mat_says_it_in_its_own_line(tmp_path):
    # The real single-frame matrix: its own line beside the one that says pitch, rate,
    # units and mode together (since session 40; 6 lines before, one per assumption).
    r = run_ok("info", AIR)
    warnings = [l for l in r.stderr.splitlines() if ": warning: " in l]
    assert len(warnings) == 2 and len(layout_warnings(r.stderr)) == 1, r.stderr
    assert "one 64 x 27 frame" in layout_warnings(r.stderr)[0]


def test_the_picture_shows_it(tmp_path):
    p = lines_of_frames(tmp_path)
    out, svg = tmp_path / "r.h5", tmp_path / "r.svg"
    run_ok("process", p, "-o", out, "--quiet")
    run_ok("render", out, "-o", svg)
    assert "one 50 \u00d7 48 frame (a text matrix without a grid)" in svg.read_text("utf-8")
