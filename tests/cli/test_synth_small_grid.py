"""synth on a grid too small for its knots says what to ask instead, and what it
says works (session 45, user16).  Until then `synth --equilibration --grid
12x10` (a new user's small sensor) failed with "cannot place 6 knots 30.0 mm
apart in the body region" without a word on what to change; `--knots 0` failed
the same way on a grid of 5 columns or fewer ("the grid is too small to place
knots", though no knot was asked for), and a grid of 4 or 5 rows failed with
"contact_rows out of range", a field no option sets."""
import re

import pytest

from km_cli import run

EQUIL = "(an equilibration recording places the session's knots to draw the same sensor: " \
        "give it the session's --knots)"


def synth(tmp_path, *args):
    out = tmp_path / "s.h5"
    if out.exists():
        out.unlink()
    p = run("synth", "--duration", "1", *args, "-o", out)
    assert (p.returncode == 0) == out.exists(), p.stderr
    return p


@pytest.mark.parametrize("equil", [[], ["--equilibration"]])
def test_no_room_beside_the_spine_says_how_many_columns(tmp_path, equil):
    p = synth(tmp_path, "--grid", "12x10", *equil)
    assert p.returncode == 64
    assert p.stderr.startswith(
        "knotmap: synth: cannot place 6 knots 30.0 mm apart on a 12x10 grid: no room for one "
        "(x 10..35 mm without the spine's middle): a grid of at least 12 columns at this pitch, "
        "or --knots 0"), p.stderr
    assert (EQUIL in p.stderr) == bool(equil)
    # what it says works: 12 columns, or no knot
    assert synth(tmp_path, "--grid", "12x12", *equil).returncode == 0
    assert synth(tmp_path, "--grid", "12x10", "--knots", "0", *equil).returncode == 0
    assert synth(tmp_path, "--grid", "12x11", *equil).returncode == 64


def test_knots_0_needs_no_room(tmp_path):
    """No knot asked for: no region needed (the same sensor: no draw is made)."""
    assert synth(tmp_path, "--grid", "6x5", "--knots", "0").returncode == 0


@pytest.mark.parametrize("seed", ["1", "2"])
def test_some_fit_says_how_many(tmp_path, seed):
    p = synth(tmp_path, "--mode", "mat", "--grid", "12x20", "--seed", seed)
    assert p.returncode == 64
    m = re.search(r"on a 12x20 grid: (\d+) placed in 100000 random tries: ask for (\d+) "
                  r"\(--knots (\d+)\) or a larger grid \(--grid RxC\)$", p.stderr.strip())
    assert m and m.group(1) == m.group(2) == m.group(3) and 0 < int(m.group(1)) < 6, p.stderr
    assert synth(tmp_path, "--mode", "mat", "--grid", "12x20", "--seed", seed,
                 "--knots", m.group(1)).returncode == 0


@pytest.mark.parametrize("grid", ["4x4", "5x20"])
def test_too_few_rows_names_the_grid(tmp_path, grid):
    p = synth(tmp_path, "--mode", "mat", "--grid", grid, "--knots", "0")
    assert p.returncode == 64
    assert p.stderr == ("knotmap: synth: a grid of %s rows is too small: at least 6 rows for the "
                        "contact band of 3 rows (--grid RxC)\n" % grid.split("x")[0]), p.stderr
    assert synth(tmp_path, "--mode", "mat", "--grid", "6x4", "--knots", "0").returncode == 0
