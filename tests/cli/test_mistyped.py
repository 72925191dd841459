"""A new user's typing mistakes, each answered with what was meant (session 47, user18).
The two kinds fail on 88fc8a2's build (3 cases; the three one-edit controls pass there too):

- a mistyped abbreviation (`--treshold 3`: GNU-style prefixes are accepted, and
  `--threshold` alone is ambiguous) said only "unknown option '--treshold'"; now the
  options it is one edit from the start of are named;
- a shell pattern that matched nothing (`knotmap process sessions/*.ASF`, passed on as
  it is) said "No such file or directory"; now it says no file matches the pattern, as
  Python's batch() does."""
import pytest

from km_cli import EXAMPLE, run


@pytest.mark.parametrize("cmd, typed, meant", [
    ("process", "--treshold", "(did you mean '--threshold-abs' or '--threshold-rel'?)"),
    ("process", "--sigmma", "(did you mean '--sigma'?)"),          # control: one edit
    ("info", "--formt", "(did you mean '--format'?)"),
    ("process", "--cand-min-snrr", "(did you mean '--cand-min-snr'?)"),
])
def test_mistyped_option_names_what_was_meant(tmp_path, cmd, typed, meant):
    r = run(cmd, EXAMPLE, typed, "3", cwd=tmp_path)
    assert r.returncode == 64, r.stderr
    assert r.stderr == "knotmap: %s: unknown option '%s' %s\nTry 'knotmap %s --help'.\n" % (
        cmd, typed, meant, cmd), r.stderr


@pytest.mark.parametrize("cmd", ["process", "info"])
def test_pattern_that_matched_nothing(tmp_path, cmd):
    (tmp_path / "sessions").mkdir()
    r = run(cmd, "sessions/*.ASF", cwd=tmp_path)
    assert r.returncode == 66, r.stderr
    assert r.stderr.splitlines()[0] == (
        "knotmap: sessions/*.ASF: no file matches this pattern (the shell passes a pattern that "
        "matches nothing as it is): check the folder and the names' case (*.asf, *.ASF)"), r.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "sessions"]
