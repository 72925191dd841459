"""The option parser of every command (src/cli/argparse.c): GNU getopt_long
rules.  Bundled flags, -oFILE, --opt=value, unambiguous abbreviations, --,
one name for one thing across commands (--no-overwrite, with --no-clobber
kept), and -o - refused instead of writing a file named '-'.  Results are
compared through /params, which records every parameter."""

import h5py
import pytest

from km_cli import EXAMPLE, run


def params(path):
    with h5py.File(path, "r") as f:
        return {k: f["params"].attrs[k] for k in f["params"].attrs}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("opts")
    out = d / "r.knotmap.h5"
    r = run("process", EXAMPLE, "-q", "-o", out, "--block-frames", "500")
    assert r.returncode == 0, r.stderr
    return out


def test_bundled_flags_and_glued_values(tmp_path):
    out = tmp_path / "a.h5"
    r = run("process", EXAMPLE, "-qvo%s" % out, "--block-frames=500")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""                      # -q
    assert "%s -> %s" % (EXAMPLE, out) in r.stderr  # -v
    assert params(out)["block_frames"] == 500


def test_abbreviations_set_the_same_parameter(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    assert run("process", EXAMPLE, "-q", "-o", a, "--min-prominence", "3",
               "--cand-min-snr=5").returncode == 0
    r = run("process", EXAMPLE, "-q", "-o", b, "--min-prom=3", "--cand-min-sn", "5")
    assert r.returncode == 0, r.stderr
    pa, pb = params(a), params(b)
    assert pa["peaks_min_prominence"] == pb["peaks_min_prominence"] == 3.0
    assert pa["cand_min_snr"] == pb["cand_min_snr"] == 5.0


def test_ambiguous_abbreviation_names_the_candidates(tmp_path):
    r = run("process", EXAMPLE, "--th", "3", cwd=tmp_path)
    assert r.returncode == 64
    assert "ambiguous" in r.stderr
    for o in ("--threshold-abs", "--threshold-rel", "--threads"):
        assert o in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_double_dash_ends_the_options(tmp_path):
    (tmp_path / "-q").write_bytes(EXAMPLE.read_bytes())
    r = run("process", "-o", "x.h5", "--", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "-q -> x.h5" in r.stdout            # "-q" was the input, not --quiet


def test_no_overwrite_is_one_name_everywhere(result, tmp_path):
    for opt in ("--no-overwrite", "--no-clobber"):
        r = run("process", EXAMPLE, "-q", "-o", result, opt)
        assert r.returncode == 73, (opt, r.stderr)
    png = tmp_path / "m.png"
    assert run("render", result, "-qo", png).returncode == 0
    for opt in ("--no-overwrite", "--no-clobber"):
        assert run("render", result, "-q", "-o", png, opt).returncode == 73
        assert run("report", result, "-q", "-o", tmp_path / "r.html").returncode == 0
        assert run("report", result, "-q", "-o", tmp_path / "r.html", opt).returncode == 73
    s = tmp_path / "s.h5"
    synth = ["synth", "--duration", "1", "--grid", "16x16", "--knots", "1"]
    assert run(*synth, "-o%s" % s).returncode == 0        # -oFILE in synth too
    for opt in ("--no-overwrite", "--no-clobber"):
        assert run(*synth, "-o", s, opt).returncode == 73


@pytest.mark.parametrize("cmd", ["process", "render", "report", "synth"])
def test_output_dash_is_refused(result, tmp_path, cmd):
    operand = {"process": [EXAMPLE], "render": [result], "report": [result], "synth": []}[cmd]
    r = run(cmd, *operand, "-o", "-", cwd=tmp_path)
    assert r.returncode == 64
    assert "-o -" in r.stderr and "standard output" in r.stderr
    assert r.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_help_comes_from_the_table():
    r = run("process", "--help")
    assert r.returncode == 0
    assert "--min-distance R" in r.stdout and "window radius, taxels [2]" in r.stdout
    assert "--plateau all|one" in r.stdout and "[one]" in r.stdout
    r = run("info", "-h")
    assert "--grid RxC" in r.stdout and "--min-distance" not in r.stdout
