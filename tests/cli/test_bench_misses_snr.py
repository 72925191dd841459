"""bench/indep_misses.py --by-sigma and bench/gate_misses.py (issue 11, "where the knots
stand above the sensor's noise"): the per-cell recall at total SNR >= 3 and >= 5 and the
gate table of the knots above the cut, on made-up rows (no session is simulated)."""
import sys

from km_cli import REPO

sys.path.insert(0, str(REPO / "bench"))
import gate_misses  # noqa: E402
import indep_misses  # noqa: E402


def knot(mode, preset, snr, cls, sx=3.0):
    return {"mode": mode, "preset": preset, "snr": snr, "class": cls, "sx": sx,
            "col_pitch": 6.0, "map_share": 0.5}


def test_recall_above_the_cuts_per_cell(capsys):
    rows = [knot("roller", "hard", 2.0, "found"), knot("roller", "hard", 4.0, "placed off"),
            knot("roller", "hard", 5.0, "found"), knot("roller", "hard", 12.0, "below a threshold"),
            knot("mat", "moderate", 8.0, "found")]
    indep_misses.by_sigma(rows)
    out = capsys.readouterr().out
    # roller hard: 3 knots at SNR >= 3, one found; 2 at >= 5, one found (the other below
    # a threshold); the knot at SNR 2 counts in neither
    assert "| roller hard | >= 3 | 3 | 1 (0.33) | 1 | 1 | 0 |" in out
    assert "| roller hard | >= 5 | 2 | 1 (0.50) | 1 | 0 | 0 |" in out
    assert "| roller hard | 0-3 | 1 | 1 (1.00) |" in out
    assert "| mat moderate | >= 5 | 1 | 1 (1.00) |" in out


def test_gate_table_of_the_knots_above_the_cut(capsys):
    rows = [{"cell": "third/mat/hard", "gate": g, "snr": s} for g, s in
            (("found", 6.0), ("z < min_snr", 7.0), ("spike", 2.0), ("found", 1.0))]
    gate_misses.gate_table([r for r in rows if r["snr"] >= 5.0], ["third/mat/hard"])
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| third")][0]
    cols = [c.strip() for c in line.strip("|").split("|")]
    named = dict(zip(("cell", "knots", "found") + gate_misses.GATES, cols))
    assert (named["knots"], named["found"], named["z < min_snr"], named["spike"]) == \
        ("2", "1", "1", "0")
