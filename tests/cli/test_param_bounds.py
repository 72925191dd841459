"""Every number of the parameter table has a range with a reason (src/pipeline/param_table.c):
a value beyond it is a usage error naming the option (exit 64), not a stage's limit in the
middle of the run (was exit 65 for --sigma 1e30: 'kernel radius above 1048576')."""

import pytest

from km_cli import EXAMPLE, run

BOUNDED = [("sigma", "[0, 65536] taxels"), ("dog-sigma", "[0, 65536] taxels"),
           ("resample-hz", "[0, 100000] Hz")]


@pytest.mark.parametrize("opt, bound", BOUNDED)
@pytest.mark.parametrize("value", ["1e30", "1e300", "65537x1", "inf", "nan", "-1"])
def test_out_of_range_is_a_usage_error_naming_the_option(tmp_path, opt, bound, value):
    if "x" in value and opt != "sigma":
        value = "1e6"
    out = tmp_path / "out.h5"
    r = run("process", EXAMPLE, "-o", out, f"--{opt}", value)
    assert r.returncode == 64, r.stderr
    assert f"--{opt}: '{value}'" in r.stderr, r.stderr
    if value in ("1e30", "1e300", "1e6"):
        assert bound in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("opt", ["offset", "gain", "noise-threshold", "curve-a", "curve-b",
                                 "hot-ratio", "corrupt-ratio", "lowpass-hz", "highpass-hz",
                                 "notch-hz", "notch-q", "threshold-abs", "threshold-rel",
                                 "min-prominence", "contact-threshold", "track-gate-mm",
                                 "cand-min-snr", "cand-knot-sigma-mm", "cand-drift-sigmas",
                                 "equil-max-gain", "offset-sigmas", "rate", "pitch",
                                 "roller-radius", "odometry-lift-threshold"])
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e301"])
def test_no_float_option_takes_inf_nan_or_beyond_the_table(tmp_path, opt, value):
    r = run("process", EXAMPLE, "-o", tmp_path / "out.h5", f"--{opt}", value)
    assert r.returncode == 64, (opt, value, r.stderr)
    assert f"--{opt}" in r.stderr
    assert list(tmp_path.iterdir()) == []
