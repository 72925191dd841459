"""cairo and libsndfile are loaded on first use, not at start-up (src/core/dynlib.h).

Checked here: the command does not depend on them (ELF DT_NEEDED, read by
`readelf -d`); a command that needs none of them runs where they cannot be
loaded; one that needs them fails with exit status 69 (EX_UNAVAILABLE), an
error naming the library and the file, and no output. "Cannot be loaded" is
made with LD_LIBRARY_PATH pointing at a folder whose libcairo.so.2 and
libsndfile.so.1 are empty files (the loader searches it first and rejects
them).
"""
import os
import shutil
import subprocess

import pytest

from km_cli import BIN, run

LIBS = ("libcairo.so.2", "libsndfile.so.1")


@pytest.fixture(scope="module")
def broken_env(tmp_path_factory):
    d = tmp_path_factory.mktemp("nolibs")
    for name in LIBS:
        (d / name).write_bytes(b"")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = str(d) + (":" + env["LD_LIBRARY_PATH"]
                                       if env.get("LD_LIBRARY_PATH") else "")
    return env


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("lazy")
    session, res = d / "s.h5", d / "r.h5"
    assert run("synth", "--duration", "2", "-o", session).returncode == 0
    r = run("process", "-q", session, "-o", res)
    assert r.returncode == 0, r.stderr
    return session, res


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
def test_not_needed_at_start_up():
    out = subprocess.run(["readelf", "-d", str(BIN)], capture_output=True, text=True,
                         check=True).stdout
    needed = [line for line in out.splitlines() if "(NEEDED)" in line]
    assert needed, out
    for name in LIBS:
        assert not any(name in line for line in needed), needed


def test_commands_without_them_still_run(broken_env, result, tmp_path):
    session, _ = result
    r = run("process", "-q", session, "-o", tmp_path / "r2.h5", env=broken_env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r2.h5").exists()


def test_audio_without_libsndfile(broken_env, tmp_path):
    out = tmp_path / "s.wav"
    r = run("synth", "--duration", "1", "-o", out, env=broken_env)
    assert r.returncode == 69, r.stderr
    assert "libsndfile.so.1" in r.stderr and "s.wav" in r.stderr, r.stderr
    assert "apt-get install libsndfile1" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_reading_audio_without_libsndfile(broken_env, tmp_path):
    wav = tmp_path / "s.wav"
    assert run("synth", "--duration", "1", "-o", wav).returncode == 0
    r = run("info", wav, env=broken_env)
    assert r.returncode == 69, r.stderr
    assert "libsndfile.so.1" in r.stderr and "s.wav" in r.stderr, r.stderr


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_render_without_cairo(broken_env, result, tmp_path, ext):
    _, res = result
    out = tmp_path / f"map.{ext}"
    r = run("render", res, "-o", out, env=broken_env)
    assert r.returncode == 69, r.stderr
    assert "libcairo.so.2" in r.stderr and "apt-get install libcairo2" in r.stderr, r.stderr
    assert not out.exists()


def test_with_them_the_same_as_linked(result, tmp_path):
    """Loaded, they work: a PNG and a WAV come out (their content is checked
    by test_render_eval.py and the audio tests)."""
    _, res = result
    assert run("render", res, "-o", tmp_path / "m.png").returncode == 0
    assert (tmp_path / "m.png").stat().st_size > 1000
    assert run("synth", "--duration", "1", "-o", tmp_path / "s.wav").returncode == 0
    assert (tmp_path / "s.wav").stat().st_size > 1000
