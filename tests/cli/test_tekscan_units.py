"""Tekscan exports in units other than kPa, mmHg and N/cm2 (docs/FORMAT.md, the
Tekscan keys): PSI, Pa and MPa are converted to kPa as XSENSOR's PSI is, a unit word
knotmap does not know is said (the `units` warning and `assumed` entry) instead of
read silently as raw counts, and SATURATION_PRESSURE is converted by its own unit.
Before, `UNITS PSI` read as raw without a word, and an mmHg export's `1514.73 KPa`
saturation read as 1514.73 mmHg."""

import re

import h5py
import numpy as np
import pytest

from km_cli import TEKSCAN, run, run_ok

PSI = 6.894757293168361


def export(tmp_path, name, units, factor, saturation):
    """The real F-Scan export with its values divided by factor, UNITS and
    SATURATION_PRESSURE replaced."""
    text = TEKSCAN.read_bytes().decode("latin1")
    head, data = text.split("ASCII_DATA @@")
    rows = [",".join(v if v in ("B", "") else repr(int(v) / factor) for v in line.split(","))
            if line[:1].isdigit() or line[:1] == "B" else line for line in data.split("\r\n")]
    head = head.replace("UNITS KPa", "UNITS " + units)
    head = re.sub(r"SATURATION_PRESSURE [^\r]*", "SATURATION_PRESSURE " + saturation, head)
    path = tmp_path / name
    path.write_bytes((head + "ASCII_DATA @@" + "\r\n".join(rows)).encode())
    return path


def info(path):
    r = run_ok("info", path, "--mode", "mat")
    return dict(re.findall(r"^(\w+):\s+(.*)$", r.stdout, re.M)), r.stderr


def conditioned_max(tmp_path, path):
    out = tmp_path / (path.name + ".knotmap.h5")
    run_ok("process", "-q", path, "-o", out, "--mode", "mat")
    with h5py.File(out) as f:
        return f["frames/max"][()], f["session"].attrs["units"]


@pytest.mark.parametrize("units,factor", [("PSI", PSI), ("psi", PSI), ("Pa", 1e-3), ("MPa", 1e3)])
def test_pressure_units_are_converted_to_kpa(tmp_path, units, factor):
    path = export(tmp_path, "walk_%s.asf" % units, units, factor, "%r %s" % (1514.73 / factor, units))
    got, err = info(path)
    assert got["units"] == "kPa" and float(got["saturation"].split()[0]) == pytest.approx(1514.73, rel=1e-5)
    # the only warning: an F-Scan is an insole (session 41)
    assert [l for l in err.splitlines() if "warning" in l and "in-shoe" not in l] == []
    assert "units" not in got["assumed"]
    assert "UNITS = " + units in run_ok("info", path, "--mode", "mat").stdout  # the original kept
    orig = tmp_path / "orig.asf"
    orig.write_bytes(TEKSCAN.read_bytes())
    want, _ = conditioned_max(tmp_path, orig)
    have, have_units = conditioned_max(tmp_path, path)
    assert have_units == "kPa"
    np.testing.assert_allclose(have, want, rtol=1e-5, atol=1e-3, equal_nan=True)


def test_an_unknown_unit_word_is_warned_and_assumed(tmp_path):
    path = export(tmp_path, "walk_kgs.asf", "Kgs", 1.0, "1514.73")
    got, err = info(path)
    assert got["units"] == "raw" and "units" in got["assumed"].split(",")
    assert "warning: no units knotmap knows in the file" in err
    run_ok("info", path, "--mode", "mat", "--units", "kPa")  # the option applies, no conflict


def test_raw_stays_raw_without_a_warning(tmp_path):
    path = export(tmp_path, "walk_raw.asf", "Raw", 1.0, "1514.73")
    got, err = info(path)
    assert got["units"] == "raw" and "units" not in got["assumed"] and "units" not in err


def test_saturation_is_converted_by_its_own_unit(tmp_path):
    path = export(tmp_path, "walk_mmhg.asf", "mmHg", 1.0, "1514.73 KPa")
    got, _ = info(path)
    assert got["units"] == "mmHg"
    assert float(got["saturation"].split()[0]) == pytest.approx(1514.73 / 0.133322387415, rel=1e-5)
    plain = export(tmp_path, "walk_psi_bare.asf", "PSI", 1.0, "219.7")
    assert float(info(plain)[0]["saturation"].split()[0]) == pytest.approx(219.7 * PSI, rel=1e-5)
