"""A new user's first walk through the README, session 48 (user19): messages that made
the walk stop; each case fails on b2c6910's build.

- `knotmap eval walk.knotmap.h5 --truth walk.asf` (the recording the result came from
  given as the truth) said only "not an HDF5 file (expected a knotmap-session file)";
  now it says the truth is a session `knotmap synth` wrote, and that a recording has none.
- `knotmap info report.html` (what `knotmap report` wrote; `render`'s PNG, SVG, PDF
  likewise) said "format not recognised"; now it names what the file is (the files the
  commands write here; tests/cli/test_near_misses.py has every kind from its bytes)."""
import pytest

from km_cli import EXAMPLE, TEKSCAN, run


def test_a_recording_given_as_the_truth_is_told_what_the_truth_is(tmp_path):
    r = run("process", "-q", EXAMPLE, "-o", tmp_path / "r.knotmap.h5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run("eval", tmp_path / "r.knotmap.h5", "--truth", TEKSCAN, cwd=tmp_path)
    assert r.returncode == 65, r.stderr
    assert r.stderr == ("knotmap: %s: not an HDF5 file (expected a knotmap-session file: the "
                        "truth is a session `knotmap synth` wrote, with its knots; a recording "
                        "has none)\n" % TEKSCAN), r.stderr


@pytest.mark.parametrize("made, kind", [
    ("r.html", "an HTML page (knotmap report writes these)"),
    ("map.png", "a PNG picture (knotmap render writes these)"),
    ("map.svg", "an SVG picture (knotmap render writes these)"),
    ("map.pdf", "a PDF document (knotmap render writes these)")])
def test_what_render_and_report_wrote_is_named(tmp_path, made, kind):
    r = run("process", "-q", EXAMPLE, "-o", tmp_path / "r.knotmap.h5", cwd=tmp_path)
    cmd = "report" if made.endswith(".html") else "render"
    assert run(cmd, "-q", "r.knotmap.h5", "-o", made, cwd=tmp_path).returncode == 0
    for command in ("info", "process"):
        r = run(command, made, cwd=tmp_path)
        assert r.returncode == 65
        assert r.stderr.startswith("knotmap: %s: %s, not a recording (knotmap reads the formats "
                                   "--format names: " % (made, kind)), r.stderr
