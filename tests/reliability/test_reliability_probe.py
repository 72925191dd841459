"""The probe (src/cli/probe.c): every command that reads files opens each HDF5 or
audio input first in a short-lived child process, so a file on which libhdf5 or
libsndfile itself crashes or loops (tests/fuzz/libhdf5/, tests/fuzz/libsndfile/)
is refused with exit 65 (75 under --deadline) and a one-line message, instead of
killing the command.

Whether libhdf5 crashes on a crafted file depends on its heap layout, so the
crash and the hang come from an LD_PRELOAD shim (crashhdf5.c, built as
build/tests/libkm_crashhdf5.so) that makes libhdf5's opening of one file raise
SIGSEGV or never return (H5Fopen, or open() in the probe child where the command
links HDF5 statically); every other file opens normally."""
import os
import subprocess

import pytest

from km_reliability import BIN, SANITIZED, result_state, write_session

SHIM = os.path.join(os.path.dirname(BIN), "tests", "libkm_crashhdf5.so")
pytestmark = pytest.mark.skipif(not os.path.exists(SHIM) or SANITIZED,
                                reason="crashhdf5 shim not built (%s) or sanitized binary" % SHIM)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    d = tmp_path_factory.mktemp("probe")
    return (write_session(str(d / "good.h5"), 40, rows=8, cols=8, seed=1),
            write_session(str(d / "evil.h5"), 40, rows=8, cols=8, seed=2))


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    """A small audio session (synth) under two names: the shim breaks evil.wav."""
    d = tmp_path_factory.mktemp("audio")
    good, evil = str(d / "good.wav"), str(d / "evil.wav")
    assert subprocess.run([BIN, "synth", "--mode", "mat", "--grid", "16x16", "--knots", "1",
                           "--duration", "1", "-o", good], capture_output=True).returncode == 0
    with open(good, "rb") as a, open(evil, "wb") as b:
        b.write(a.read())
    return good, evil


def run(args, how="segv", cwd=None, name="evil.h5"):
    env = dict(os.environ, LD_PRELOAD=SHIM, KM_H5_BREAK=name, KM_H5_BREAK_HOW=how)
    return subprocess.run([BIN] + args, capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("kind", ["hdf5", "audio"])
def test_process_refuses_a_file_that_crashes_its_parser(knotmap_bin, request, tmp_path, kind):
    """libhdf5 for a session, libsndfile for an audio input: without the probe
    the command opened the file itself, and the crash took the command (and
    the other inputs) down."""
    good, evil = request.getfixturevalue("sessions" if kind == "hdf5" else "audio")
    what = "the file's HDF5 structure" if kind == "hdf5" else "the audio file (libsndfile)"
    out = tmp_path / "out"
    p = run(["process", "-q", good, evil, "-o", str(out) + "/"], name=os.path.basename(evil))
    assert p.returncode == 65, p.stderr
    assert p.stderr == ("knotmap: %s: reading %s crashed (Segmentation fault): a damaged or "
                        "hostile file; refused\n" % (evil, what))
    # the other input is processed; nothing of the refused one, no temporary
    assert sorted(os.listdir(str(out))) == ["good.knotmap.h5"]
    assert result_state(str(out / "good.knotmap.h5")) == "complete"


def test_info_refuses_a_file_that_crashes_libhdf5(knotmap_bin, sessions, tmp_path):
    good, evil = sessions
    p = run(["info", evil, good], cwd=str(tmp_path))
    assert p.returncode == 65, p.stderr
    assert p.stderr.startswith("knotmap: %s: reading the file's HDF5 structure crashed" % evil), p.stderr
    assert p.stderr.count("\n") == 1
    assert "file:         %s" % good in p.stdout
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("cmd", ["process", "info"])
def test_deadline_ends_a_file_that_hangs_libhdf5(knotmap_bin, sessions, tmp_path, cmd):
    _, evil = sessions
    args = [cmd, "--deadline", "0.5", evil] + (["-o", str(tmp_path / "r.h5")] if cmd == "process" else [])
    p = run(args, how="hang", cwd=str(tmp_path))
    assert p.returncode == 75, p.stderr
    assert p.stderr.startswith("knotmap: %s: deadline of 0.5 s exceeded" % evil), p.stderr
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("cmd", ["info", "render", "report", "eval"])
def test_deadline_value_is_checked(knotmap_bin, tmp_path, cmd):
    for bad in ("0", "-1", "x", "1e10"):
        p = subprocess.run([BIN, cmd, "--deadline", bad, "in.h5"], capture_output=True,
                           text=True, cwd=str(tmp_path))
        assert p.returncode == 64, (bad, p.stderr)
        assert "--deadline" in p.stderr


@pytest.mark.parametrize("cmd", ["render", "report", "eval"])
def test_result_readers_deadline_ends_a_result_that_hangs_libhdf5(knotmap_bin, sessions,
                                                                  tmp_path, cmd):
    """render, report and eval take --deadline too: a result on which libhdf5
    loops ends the command at once with 75, nothing written."""
    good, _ = sessions
    evil = str(tmp_path / "evil.h5")
    assert subprocess.run([BIN, "process", "-q", good, "-o", evil]).returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    args = [cmd, "--deadline", "0.5", evil] + (["--truth", good] if cmd == "eval"
                                               else ["-o", str(out / "x")])
    p = run(args, how="hang", cwd=str(out))
    assert p.returncode == 75, p.stderr
    assert p.stderr.startswith("knotmap: %s: deadline of 0.5 s exceeded" % evil), p.stderr
    assert p.stdout == "" and os.listdir(str(out)) == []


@pytest.mark.parametrize("cmd", ["render", "report", "eval"])
def test_result_readers_under_a_deadline_work_as_without(knotmap_bin, sessions, tmp_path, cmd):
    good, _ = sessions
    if cmd == "eval":  # a session with true knots
        good = str(tmp_path / "s.h5")
        assert subprocess.run([BIN, "synth", "--duration", "3", "-o", good]).returncode == 0
    res = str(tmp_path / "r.h5")
    assert subprocess.run([BIN, "process", "-q", good, "-o", res]).returncode == 0
    outs = []
    for extra in ([], ["--deadline", "60"]):
        out = tmp_path / ("out%d" % len(outs))
        out.mkdir()
        args = [cmd, res, *extra] + (["--truth", good] if cmd == "eval"
                                     else ["-o", str(out / ("x.png" if cmd == "render"
                                                              else "x.html"))])
        p = subprocess.run([BIN] + args, capture_output=True, text=True, cwd=str(out))
        assert p.returncode == 0, p.stderr
        outs.append((p.stdout.replace(str(out), "OUT"), sorted(os.listdir(str(out)))))
    assert outs[0] == outs[1]


@pytest.mark.parametrize("opt", ["--equilibrate", "--gain-map"])
def test_process_refuses_a_gain_source_that_crashes_libhdf5(knotmap_bin, sessions, tmp_path, opt):
    """The equilibration recording (or gain map) is read by every job in the command's own
    process: a crafted one (tests/fuzz/libhdf5/: invalid reads under H5Aexists, found with
    valgrind on `process S --equilibrate FILE`) took the command down until session 41.
    Probed now as the inputs are: exit 65, named, nothing written."""
    good, _ = sessions
    evil = str(tmp_path / "evil.h5")
    with open(good, "rb") as a, open(evil, "wb") as b:
        b.write(a.read())
    out = tmp_path / "out"
    out.mkdir()
    p = run(["process", "-q", good, opt, evil, "-o", str(out / "r.h5")], cwd=str(out))
    assert p.returncode == 65, p.stderr
    assert p.stderr == ("knotmap: %s: reading the file's HDF5 structure crashed (Segmentation "
                        "fault): a damaged or hostile file; refused\n" % evil)
    assert os.listdir(str(out)) == []


@pytest.mark.parametrize("cmd", ["render", "report", "eval"])
def test_result_readers_refuse_a_result_that_crashes_libhdf5(knotmap_bin, sessions, tmp_path, cmd):
    good, _ = sessions
    evil = str(tmp_path / "evil.h5")  # a real result, under a name the shim breaks
    assert subprocess.run([BIN, "process", "-q", good, "-o", evil]).returncode == 0
    out = tmp_path / "out"
    out.mkdir()
    args = [cmd, evil] + (["--truth", good] if cmd == "eval" else ["-o", str(out / "x")])
    p = run(args, cwd=str(out))
    assert p.returncode == 65, p.stderr
    assert p.stderr.startswith("knotmap: %s: reading the file's HDF5 structure crashed" % evil)
    assert p.stdout == "" and os.listdir(str(out)) == []


# ---- audio inputs: libsndfile is probed as libhdf5 is ---------------------

HANG_WAV = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz",
                        "libsndfile", "hang-sf_open-wav-INFO-subchunk.wav")


def test_audio_given_by_format_is_probed(knotmap_bin, audio, tmp_path):
    """An audio file under a name that says nothing (--format audio) is
    probed too: what decides is the reader that will parse it."""
    _, evil = audio
    plain = str(tmp_path / "evil.dat")
    with open(evil, "rb") as a, open(plain, "wb") as b:
        b.write(a.read())
    p = run(["info", "--format", "audio", plain], cwd=str(tmp_path), name="evil.dat")
    assert p.returncode == 65, p.stderr
    assert "reading the audio file (libsndfile) crashed" in p.stderr


def test_a_wav_on_which_libsndfile_never_returns_is_refused(knotmap_bin, audio, tmp_path):
    """tests/fuzz/libsndfile/: libsndfile 1.2.0's sf_open loops for ever on
    this file.  The command no longer hangs: the probe gives up after 60 s
    (exit 65) and the other input is still read.  (Should a later libsndfile
    refuse the file at once, the command says so: exit 65 just the same.)"""
    good, _ = audio
    p = subprocess.run([BIN, "info", HANG_WAV, good], capture_output=True, text=True,
                       timeout=150, cwd=str(tmp_path))
    assert p.returncode == 65, p.stderr
    assert p.stderr.startswith("knotmap: %s: " % HANG_WAV), p.stderr
    assert p.stderr.count("\n") == 1
    assert "file:         %s" % good in p.stdout
    assert os.listdir(str(tmp_path)) == []
