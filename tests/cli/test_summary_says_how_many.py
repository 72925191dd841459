"""process's summary lists the best five candidates: when the result has more it
says so (session 45, user16; until then `7 knot candidates (best by score):`
came before five rows, and a new user looked for the other two)."""
from km_cli import EXAMPLE, run_ok


def head(out, *args):
    lines = run_ok("process", *args, "-o", out).stdout.splitlines()
    i = next(i for i, ln in enumerate(lines) if " knot candidates" in ln)
    rows = [ln for ln in lines[i + 2:] if ln.startswith("    ")]
    return lines[i].split("; ", 1)[1], len(rows)


def test_more_than_listed_says_the_best_few(tmp_path):
    s = tmp_path / "s.h5"
    run_ok("synth", "--seed", "7", "--duration", "30", "-o", s)   # six knots, all found
    line, n = head(tmp_path / "r.h5", s)
    assert n == 5
    assert line == "6 knot candidates (the best 5 by score; all: knotmap info or render the " \
                   "result):", line


def test_all_listed_says_by_score(tmp_path):
    line, n = head(tmp_path / "r.h5", EXAMPLE)
    assert (line, n) == ("3 knot candidates (by score):", 3)
