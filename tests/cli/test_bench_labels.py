"""bench/false_candidates.py's roller labels (session 39): a roller's body cell is pressed
by the sensor rows the true motion put under it, not by every row of its column, so a hot
taxel elsewhere in the column does not name a false candidate; and its --ranking lines
(session 46).  Made-up truth, no session is simulated."""
import sys

import numpy as np

from km_cli import REPO

sys.path.insert(0, str(REPO / "bench"))
import false_candidates as fc  # noqa: E402  (bench/false_candidates.py)

ROWS, COLS, PITCH = 32, 8, 10.0


def truth(turn=0):
    """A roller rolling without slipping from y 0 to 200 mm, row 5 under the contact line
    at y 0, and back; a lift at the far end (load 0) turned it by `turn` rows, so the way
    back puts row + turn where row was."""
    yc = np.linspace(0.0, 200.0, 401)
    crow = 5.0 + yc / PITCH
    lift = np.full(20, 200.0)
    yc, crow = np.concatenate([yc, lift, yc[::-1]]), \
        np.concatenate([crow, np.full(20, crow[-1]), crow[::-1] + turn])
    load = np.concatenate([np.ones(401), np.zeros(20), np.ones(401)])
    return {"motion": {"y_contact_mm": yc, "contact_row": crow, "load": load},
            "row_pitch_mm": PITCH, "col_pitch_mm": PITCH,
            "gain": np.ones((ROWS, COLS)), "offset": np.zeros((ROWS, COLS)),
            "taxel_state": np.zeros((ROWS, COLS), np.int32),
            "distractors": {k: np.zeros(0) for k in
                            ("kind", "x_mm", "y_mm", "angle_rad", "along_lo_mm",
                             "along_hi_mm", "end_sigma_mm", "sigma_mm", "amplitude_kpa")}}


def test_the_rows_under_a_body_cell():
    # body y 50 mm: the contact line there puts row 5 + 5 under it
    assert fc.pressing_rows(truth(), 50.0) == [10]
    # a turn of one row in the lift: the way back presses y 150 mm with row 21
    assert fc.pressing_rows(truth(turn=1), 150.0) == [20, 21]


def label(t, x, y):
    knots = {k: np.zeros(0) for k in ("x_mm", "y_mm", "footprint_sigma_mm")}
    return fc.label(x, y, int(round(y / PITCH)), int(round(x / PITCH)), True, t, knots,
                    np.zeros(0, bool), PITCH, None)


def test_a_hot_taxel_names_only_the_cells_its_row_pressed():
    t = truth()
    t["gain"][10, 3] = 1.6  # the row under y 50 mm, column 3
    assert label(t, 30.0, 50.0) == "hot taxel, gain"
    t["gain"][10, 3], t["gain"][25, 3] = 1.0, 1.6  # same column, a row never over y 50
    assert label(t, 30.0, 50.0) != "hot taxel, gain"  # the column-wide label said it was
    t["offset"][10, 3] = 8.0
    assert label(t, 30.0, 50.0) == "hot taxel, offset"


def test_ranking_names_what_lies_above_a_knot():
    """--ranking (session 46): candidates by score knot 0, a bony prominence, knot 1; knot 2
    not listed.  The lines run down to knot 1 with the prominence between and name knot 2;
    knots first and every one listed give []."""
    z = np.array([9.0, 5.0, 3.0, 1.0])
    cand = {"score": z, "significance": z, "size_mm": np.array([5.0, 9.5, 4.0, 3.0])}
    share = [0.3, 0.09, 0.2, 0.05]
    lines = fc.ranking(cand, {0: 0, 2: 1}, {1: "bony prominence", 3: "other"}, share, 3)
    assert [ln.split()[-2] + " " + ln.split()[-1] for ln in lines[:3]] == \
        ["knot 0", "bony prominence", "knot 1"]
    assert "share 0.090" in lines[1]
    assert lines[3].split() == ["knot", "2", "not", "listed"] and len(lines) == 4
    assert fc.ranking(cand, {0: 0, 1: 1, 2: 2}, {3: "other"}, share, 3) == []
