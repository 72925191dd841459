"""An input that cannot be opened is refused with the OS's reason (session 42: a
symbolic-link loop and a name too long said only "cannot open"; fails on 80e4cd4).
Exit 66 (no input), as a missing file."""
import pytest

from km_cli import run


@pytest.mark.parametrize("cmd", [("info",), ("process", "-q")])
def test_symlink_loop_says_why(tmp_path, cmd):
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    r = run(*cmd, tmp_path / "a.txt", cwd=tmp_path)
    assert r.returncode == 66, r.stderr
    assert r.stderr == f"knotmap: {tmp_path / 'a.txt'}: Too many levels of symbolic links\n", r.stderr


def test_name_too_long_says_why(tmp_path):
    name = "x" * 300 + ".txt"
    r = run("info", name, cwd=tmp_path)
    assert r.returncode == 66, r.stderr
    assert r.stderr == f"knotmap: {name}: File name too long\n", r.stderr


def test_a_file_where_a_folder_should_be_is_missing(tmp_path):
    (tmp_path / "f").write_text("1 2\n")
    r = run("info", tmp_path / "f" / "x.txt")
    assert r.returncode == 66, r.stderr
    assert r.stderr.endswith(": No such file or directory\n"), r.stderr


def test_result_commands_say_why(tmp_path):
    (tmp_path / "a.h5").symlink_to(tmp_path / "b.h5")
    (tmp_path / "b.h5").symlink_to(tmp_path / "a.h5")
    for cmd in (("render", tmp_path / "a.h5", "-o", tmp_path / "m.png"),
                ("report", tmp_path / "a.h5", "-o", tmp_path / "r.html")):
        r = run(*cmd)
        assert r.returncode == 66, r.stderr
        assert "Too many levels of symbolic links" in r.stderr, r.stderr
