"""A folder given where a file goes says what to give instead (session 46, user17):
`knotmap process sessions/` (as Python's knotmap.batch takes a folder) said only
"sessions/: Is a directory"; now the command names the files to give, by command.
Exit 66 (no input) as before; the other inputs of the run go on.  All fail on 2574aa5."""
import shutil

import pytest

from km_cli import EXAMPLE, run


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "sessions"
    d.mkdir()
    shutil.copy(str(EXAMPLE), str(d / "a.h5"))
    return d


@pytest.mark.parametrize("args, says", [
    (["process", "sessions/"], "sessions/: is a folder: give the files in it (knotmap process "
                               "sessions/* -o OUT/ writes one result per input)"),
    (["info", "sessions"], "sessions: is a folder: give the files in it (knotmap info sessions/*)"),
    (["render", "sessions", "-o", "m.png"], "sessions: is a folder: give a result file "
                                            "(knotmap process writes them)"),
    (["report", "sessions//", "-o", "r.html"], "sessions//: is a folder: give a result file "
                                               "(knotmap process writes them)"),
    (["eval", "sessions", "--truth", "sessions/a.h5"], "sessions: is a folder, not a file"),
])
def test_a_folder_says_what_to_give(folder, args, says):
    r = run(*args, cwd=folder.parent)
    assert r.returncode == 66, r.stderr
    assert r.stderr == "knotmap: %s\n" % says, r.stderr


def test_the_other_inputs_go_on(folder):
    r = run("process", "-q", "sessions/a.h5", "sessions", "-o", "out/", cwd=folder.parent)
    assert r.returncode == 66, r.stderr
    assert "knotmap: sessions: is a folder: give the files in it (knotmap process sessions/* " \
           "-o OUT/ writes one result per input)" in r.stderr
    assert (folder.parent / "out" / "a.knotmap.h5").exists()
