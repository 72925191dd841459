"""`knotmap info` shows the saturation in the units it reads, and says when the
file gives none (session 45, user16): until then a Tekscan export's line read
`saturation:   1514.73` (no units; the file says KPa) and every other file's
`saturation:   inf`, km_session_info's code for "unknown", which a new user
read as a sensor that never saturates."""
import numpy as np

from km_cli import PHYSIONET, TEKSCAN, run_ok


def saturation(*args):
    out = run_ok("info", *args).stdout
    return [ln for ln in out.splitlines() if ln.startswith("saturation:")]


def test_tekscan_saturation_has_its_units():
    assert saturation(TEKSCAN) == ["saturation:   1514.73 kPa"]


def test_no_saturation_is_said(tmp_path):
    np.save(str(tmp_path / "a.npy"), np.ones((3, 4, 5), np.float32))
    for args in ([PHYSIONET, "--grid", "64x32"], [tmp_path / "a.npy"]):
        assert saturation(*args) == ["saturation:   unknown (the file gives none)"]
