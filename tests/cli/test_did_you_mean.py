"""A mistyped command or option names the nearest right one (at most two edits, case
ignored, a swap of neighbours one edit), and a long option written with one dash
('-sigma') is told it needs two; before, '-sigma' said only "unknown option '-s'"."""
import pytest

from km_cli import EXAMPLE, run


@pytest.mark.parametrize("typed, meant", [("proces", "process"), ("PROCESS", "process"),
                                          ("ifno", "info"), ("synt", "synth"),
                                          ("rendr", "render"), ("reprot", "report")])
def test_a_mistyped_command_names_the_nearest(typed, meant):
    r = run(typed, EXAMPLE)
    assert r.returncode == 64
    assert f"'{typed}' is not a command (did you mean '{meant}'?)" in r.stderr, r.stderr


def test_a_word_far_from_every_command_gets_no_guess():
    r = run("frobnicate")
    assert r.returncode == 64 and "did you mean" not in r.stderr
    assert "'frobnicate' is not a command" in r.stderr


@pytest.mark.parametrize("cmd, typed, meant", [
    ("process", "--Sigma", "--sigma"), ("process", "--sigam", "--sigma"),
    ("process", "--treads", "--threads"), ("info", "--grdi", "--grid"),
    ("synth", "--sed", "--seed"), ("render", "--no-ovewrite", "--no-overwrite"),
])
def test_a_mistyped_option_names_the_nearest(tmp_path, cmd, typed, meant):
    args = [typed] if cmd == "render" else [typed, "1"]     # --no-overwrite takes no value
    r = run(cmd, *([] if cmd == "synth" else [EXAMPLE]), *args, "-o", tmp_path / "out.h5")
    assert r.returncode == 64, r.stderr
    assert f"unknown option '{typed}' (did you mean '{meant}'?)" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_long_option_with_one_dash_is_told_to_use_two(tmp_path):
    r = run("process", EXAMPLE, "-sigma", "1", "-o", tmp_path / "out.h5")
    assert r.returncode == 64
    assert "unknown option '-s' in '-sigma' (long options take two dashes: '--sigma')" in r.stderr
    r = run("process", EXAMPLE, "-threads=2", "-o", tmp_path / "out.h5")
    assert "'--threads'" in r.stderr
    r = run("process", EXAMPLE, "-qz", "-o", tmp_path / "out.h5")   # bundled shorts: no guess
    assert r.returncode == 64 and "unknown option '-z'" in r.stderr and "two dashes" not in r.stderr
