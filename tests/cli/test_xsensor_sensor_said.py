"""An XSENSOR export of two sensors (two insoles, two mats) read without
--sensor gives the first; until session 39 nothing said so (the header's
`knotmap_xsensor` note only).  Now it is an assumption like the others: a
warning naming --sensor, `sensor` in the 'assumed:' line and the result's
/session attribute `assumed`, the picture's legend; --sensor 0 or 1 says it and
silences it; a one-sensor file says nothing."""
import h5py
import pytest

from km_cli import REPO, run_ok

GOOD = REPO / "tests" / "data" / "good"
TWO = ["xsensor_block_2sensors.csv", "xsensor_wide_2sensors.csv"]


def said(stderr):
    return [l for l in stderr.splitlines() if ": warning: several sensors in the file" in l]


def assumed(stdout):
    return stdout.split("assumed:")[1].splitlines()[0].strip().split(",")


@pytest.mark.parametrize("name", TWO)
def test_the_first_of_two_is_said(tmp_path, name):
    r = run_ok("info", GOOD / name)
    assert len(said(r.stderr)) == 1 and "--sensor N" in said(r.stderr)[0], r.stderr
    assert "sensor" in assumed(r.stdout)
    out, svg = tmp_path / "r.h5", tmp_path / "r.svg"
    r = run_ok("process", GOOD / name, "-o", out, "-q")
    assert len(said(r.stderr)) == 1, r.stderr
    with h5py.File(out) as f:
        assert "sensor" in f["session"].attrs["assumed"].split(",")
    run_ok("render", out, "-o", svg)
    assert "the first of several sensors (XSENSOR)" in svg.read_text("utf-8")


@pytest.mark.parametrize("name", TWO)
@pytest.mark.parametrize("sensor", ["0", "1"])
def test_a_sensor_given_is_not_assumed(name, sensor):
    r = run_ok("info", GOOD / name, "--sensor", sensor)
    assert not said(r.stderr) and "sensor" not in assumed(r.stdout), r.stderr
    assert f"sensor={sensor} sensors=2" in r.stdout


def test_one_sensor_says_nothing():
    r = run_ok("info", GOOD / "xsensor_block_semicolon_crlf.csv")
    assert not said(r.stderr) and "sensor" not in assumed(r.stdout)
