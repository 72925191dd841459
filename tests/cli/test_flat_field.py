"""End to end: the session's flat field on rollers (docs/ALGORITHMS.md 7.5).

`knotmap process --cand-flat-field 1` estimates per-taxel gains where a roller
turned in the air (model 2 rollers turn freely while lifted) and records how
many taxels it corrected in /params `cand_flat_field_taxels`; off by default;
an equilibration recording takes precedence (no estimate), and a roller that
never turns in the air (model 1 freezes its phase in a lift) gets none.  Run
with /usr/bin/python3 -m pytest tests/cli/test_flat_field.py; the binary comes
from $KNOTMAP_BIN, else build/knotmap.
"""

import h5py
import numpy as np
import pytest

from km_cli import run_ok as run


def _params(path):
    with h5py.File(path) as f:
        return dict(f["params"].attrs)


@pytest.fixture(scope="module")
def model2(tmp_path_factory):
    d = tmp_path_factory.mktemp("flat")
    s, e = d / "s.h5", d / "eq.h5"
    args = ("--model", 2, "--mode", "roller", "--preset", "hard", "--seed", 1)
    run("synth", *args, "--duration", 20, "-o", s)
    run("synth", *args, "--equilibration", "-o", e)
    return d, s, e


def test_a_roller_that_turned_in_the_air_is_corrected(model2):
    d, s, _ = model2
    r_on = run("process", s, "--cand-flat-field", 1, "-o", d / "on.h5")
    r_off = run("process", "-q", s, "-o", d / "off.h5")
    on, off = _params(d / "on.h5"), _params(d / "off.h5")
    assert on["cand_flat_field"] == 1 and off["cand_flat_field"] == 0
    # seed 1 turned in the air: about half of its 30 x 27 taxels get a gain
    assert 200 < on["cand_flat_field_taxels"] < 810
    # said on stderr as recorded, and nothing said when off
    n = on["cand_flat_field_taxels"]
    assert f"flat field: gains of {n} taxels estimated" in r_on.stderr
    assert "flat field" not in r_off.stderr
    assert off["cand_flat_field_taxels"] == 0
    with h5py.File(d / "on.h5") as f, h5py.File(d / "off.h5") as g:
        a, b = f["bodymap/excess"][()], g["bodymap/excess"][()]
        assert np.array_equal(f["bodymap/coverage"][()], g["bodymap/coverage"][()])
    # the map changes where gains were divided out, and only by a few kPa
    diff = np.abs(a - b)[np.isfinite(a) & np.isfinite(b)]
    assert (diff > 0).mean() > 0.2 and np.median(diff) < 3.0


def test_equilibration_takes_precedence(model2):
    d, s, e = model2
    r = run("process", "-q", s, "--cand-flat-field", 1, "--equilibrate", e, "-o", d / "eq_r.h5")
    p = _params(d / "eq_r.h5")
    assert p["gain_map_given"] == 1
    assert p["cand_flat_field_taxels"] == 0
    assert "flat field requested but not applied" in r.stderr


def test_no_turn_in_the_air_no_estimate(tmp_path):
    s, r = tmp_path / "m1.h5", tmp_path / "r.h5"
    run("synth", "--mode", "roller", "--preset", "hard", "--seed", 1, "--duration", 12,
        "-o", s)
    out = run("process", "-q", s, "--cand-flat-field", 1, "-o", r)
    p = _params(r)
    assert p["cand_flat_field"] == 1 and p["cand_flat_field_taxels"] == 0
    assert "flat field requested but not applied" in out.stderr


def test_quiet_drops_the_note_and_keeps_the_warnings(model2):
    """-q: no summary, progress, notes or tally; warnings and errors stay (docs/CLI.md).
    Fails on 91e8af7's build, where the note came with -q too (session 49, user20)."""
    d, s, _ = model2
    loud = run("process", s, "--cand-flat-field", 1, "-o", d / "loud.h5")
    quiet = run("process", "-q", s, "--cand-flat-field", 1, "-o", d / "quiet.h5")
    assert loud.returncode == quiet.returncode == 0, (loud.stderr, quiet.stderr)
    n = _params(d / "quiet.h5")["cand_flat_field_taxels"]
    assert n > 0 and n == _params(d / "loud.h5")["cand_flat_field_taxels"]   # recorded either way
    note = "knotmap: %s: note: flat field: gains of %d taxels estimated" % (s, n)
    assert note in loud.stderr and note not in quiet.stderr, quiet.stderr
    warnings = [l for l in loud.stderr.splitlines() if ": warning: " in l]
    assert warnings != [] and quiet.stderr.splitlines() == warnings, (loud.stderr, quiet.stderr)
    assert quiet.stdout == "" and loud.stdout != ""
