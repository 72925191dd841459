"""End to end: a knot narrower than a column on a roller that turns in lifts.

docs/ALGORITHMS.md 10 steps 3-4 (excess_two_rows): model 2 rollers turn freely while
lifted, so after a lift other sensor rows press the same body cells.  A one-column
excess that recurs under a second sensor row is on the body (a knot), one that follows
its taxel is on the sensor (a hot or high-gain taxel).  Model 2, roller, moderate,
tuning seed 10, 20 s: 8 knots, three of them strong (52-92 kPa) with footprints of
3.5-3.9 mm on 8.8 mm columns.  Measured (`knotmap eval`, one taxel pitch): before,
the spike test took those three for hot taxels: 5 of 8 matched, 5 candidates (F1
0.77); with the sensor rows, 8 of 8 with 8 candidates (F1 1.00).
"""
import json

from km_cli import run_ok as run


def test_narrow_knots_under_two_sensor_rows_are_found(tmp_path):
    s, r = tmp_path / "s.h5", tmp_path / "r.h5"
    run("synth", "--model", "2", "--mode", "roller", "--preset", "moderate", "--seed", "10",
        "--duration", "20", "-o", s)
    run("process", "-q", s, "-o", r)
    ev = json.loads(run("eval", r, "--truth", s, "--json").stdout)
    assert ev["n_truth"] == 8
    assert ev["n_matched"] >= 7, ev
    assert ev["precision"] >= 0.85, ev
