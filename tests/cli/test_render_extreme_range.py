"""render and report end on any colour range the options allow: `--vmax -1e20` (below
the automatic vmin 0) left a range of width 0 (-1e20 - 1 == -1e20) and the colour bar's
tick loop never advanced (the command hung); a given --vmin above the automatic vmax was
silently replaced.  Now the given end is kept, the other moves by 1 (or 1e-6 of the value
beyond 1e6), and every tick loop stops when a step no longer moves it."""
import pytest

from km_cli import EXAMPLE, run


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "ex.knotmap.h5"
    r = run("process", EXAMPLE, "-o", out, "-q")
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("opts", [["--vmax", "-1e20"], ["--vmax", "-1e300"],
                                  ["--vmin", "1e20"], ["--vmin", "1e300"],
                                  ["--vmin", "-1e300"], ["--vmax", "1e300"],
                                  ["--vmin", "1e15", "--vmax", "1.0000000001e15"]])
@pytest.mark.parametrize("ext", ["png", "svg"])
def test_extreme_colour_ranges_end(tmp_path, result, opts, ext):
    out = tmp_path / f"m.{ext}"
    r = run("render", result, *opts, "-o", out, timeout=60)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0


def test_a_given_vmin_above_the_data_is_kept(tmp_path, result):
    out = tmp_path / "m.svg"
    r = run("render", result, "--vmin", "1000", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "1000..1001" in r.stdout, r.stdout   # was 98.05..99.05: the given vmin dropped
