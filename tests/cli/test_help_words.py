"""What the helps promise is what the commands do (session 44, a new user's
reading): `info` and `eval` write nothing, so their --deadline does not speak
of temporaries removed (until session 44 it did, copied from the commands
that write); the top-level help lists exit status 69 (a library missing, an
unsupported data type: README's "stops with exit status 69") and 71 (out of
memory), which docs/CLI.md's table has and it did not."""
import pytest

from km_cli import run_ok


@pytest.mark.parametrize("cmd", ["info", "eval"])
def test_read_only_deadline_promises_no_removal(cmd):
    text = run_ok(cmd, "--help").stdout
    line = text[text.index("--deadline"):].split("[off]")[0]
    assert "temporar" not in line and "75" in line


@pytest.mark.parametrize("cmd", ["process", "render", "report"])
def test_writing_commands_say_it(cmd):
    text = run_ok(cmd, "--help").stdout
    assert "temporaries" in text[text.index("--deadline"):].split("[off]")[0]


def test_top_level_lists_every_exit_status():
    text = " ".join(run_ok("--help").stdout.split())
    for code in ("64 usage", "65 bad input", "66 input missing", "69 not possible",
                 "71 out of memory", "73 output", "74 I/O", "75 deadline", "130/143"):
        assert code in text, code


@pytest.mark.parametrize("cmd", ["render", "report", "synth"])
def test_writing_commands_list_their_exit_statuses(cmd):
    """render and report honour SIGINT/SIGTERM (130/143) and the memory budget
    (65), and synth had no exit status line at all (until session 44)."""
    text = " ".join(run_ok(cmd, "--help").stdout.split())
    tail = text[text.index("Exit status:"):]
    for code in ("0 ok", "64 usage", "73 ", "74 I/O", "130/143 interrupted"):
        assert code in tail, (code, tail)
    if cmd != "synth":
        assert "--max-memory" in tail


@pytest.mark.parametrize("cmd, lib", [("process", "libsndfile"), ("synth", "libsndfile"),
                                      ("render", "cairo"), ("report", "cairo"),
                                      ("info", "libsndfile")])
def test_commands_that_load_a_library_list_69(cmd, lib):
    """Each exits 69 when the library it loads on demand is missing (an audio
    input or export, any picture or report: docs/CLI.md); their helps did not
    say so until session 44, info's (an audio input, test_lazy_libraries.py)
    until session 45."""
    text = " ".join(run_ok(cmd, "--help").stdout.split())
    tail = text[text.index("Exit status:"):]
    assert "69 %s cannot be loaded" % lib in tail, tail
