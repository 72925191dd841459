"""The opt-in detection options (session 44): the three kept are listed under their own
heading in `knotmap process --help` and docs/CLI.md ("Experimental detection options"),
and the four removed (docs/ALGORITHMS.md 10, Tried and removed) are refused as any
unknown option (exit 64), so a script that still passes one learns it at once."""
import re

import pytest

from km_cli import EXAMPLE, REPO, run, run_ok

KEPT = ("cand-flat-field", "cand-background-slope", "cand-broad-taxel")
REMOVED = ("cand-background-mask", "cand-background-bumps", "cand-scale-peaks",
           "cand-scale-noise")


def _options(text):
    return re.findall(r"^\s+--([a-z0-9-]+)", text, re.M)


def test_help_groups_the_experimental_options():
    out = run_ok("process", "--help").stdout
    head, sep, rest = out.partition("\nExperimental detection options, off by default")
    assert sep, out
    section = rest.split("\n\n")[0]
    assert "gained on some measured" in sep + section and "lost on others" in section
    assert tuple(_options(section)) == KEPT
    assert not set(KEPT) & set(_options(head))


def test_cli_md_groups_the_experimental_options():
    md = (REPO / "docs" / "CLI.md").read_text()
    start = md.index("\nExperimental detection options")
    table = md[start:md.index("\n### ", start)]
    assert "off by default" in table
    assert tuple(re.findall(r"^\| `--([a-z0-9-]+) ", table, re.M)) == KEPT


@pytest.mark.parametrize("option", REMOVED)
def test_a_removed_option_is_refused(option, tmp_path):
    r = run("process", EXAMPLE, "-o", tmp_path / "r.h5", "--" + option, "1")
    assert r.returncode == 64, r.stderr
    assert "unknown option '--%s'" % option in r.stderr
    assert not (tmp_path / "r.h5").exists()
