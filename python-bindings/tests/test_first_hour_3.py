"""A new user's first hour with the package, session 48 (user19); each case fails on
b2c6910's build:

- knotmap.batch() with its progress bar said nothing of a session that failed: the bar
  ran full and the folder held fewer results.  Now, as `knotmap process A B C -o DIR/`,
  each failure's message and the tally line (km_batch_tally: the command's words, from
  one place) end the batch on stderr; progress=False stays silent.
- A Session of no frames was false (`if session:` took it for a missing one): a Session
  is a mapping of four keys, and is true as such a mapping is, whatever len() says.
- An "in use" failure (HDF5's file lock, another program writing) was an OSError with
  errno None, while the README promises errno: C now records the errno a failure names
  (EWOULDBLOCK, as flock() and h5py say: a BlockingIOError), and Python takes it."""
import errno
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import knotmap
from knotmap import _batch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "sessions"
    d.mkdir()
    knotmap.synth(str(d / "a_mat.h5"), mode="mat", duration=2, rate=50, grid=(12, 12), knots=1,
                  seed=3)
    (d / "b_notes.txt").write_text("notes about the sessions\n")
    (d / "c_empty.csv").write_bytes(b"")
    return d


def test_a_batch_with_its_bar_says_what_failed(folder, tmp_path, capfd):
    out = tmp_path / "results"
    summary = knotmap.batch(str(folder), str(out), max_workers=1, progress=True)
    assert [r["status"] for r in summary] == ["ok", "KM_ERR_FORMAT", "KM_ERR_FORMAT"]
    err = capfd.readouterr().err
    lines = [l for l in err.splitlines() if l.startswith("knotmap: ")]
    assert lines == [
        "knotmap: %s" % summary[1]["detail"],
        "knotmap: %s/c_empty.csv: empty file (0 bytes): nothing recorded in it" % folder,
        "knotmap: 1 of 3 inputs processed (results in %s); 2 failed, said above: "
        "%s/b_notes.txt, %s/c_empty.csv" % (out, folder, folder)], err
    assert summary[1]["detail"].startswith("%s/b_notes.txt: " % folder)


def test_a_quiet_batch_and_a_full_one_say_nothing(folder, tmp_path, capfd):
    knotmap.batch(str(folder), str(tmp_path / "r1"), max_workers=1, progress=False)
    assert "knotmap: " not in capfd.readouterr().err
    os.unlink(str(folder / "b_notes.txt"))
    os.unlink(str(folder / "c_empty.csv"))
    knotmap.batch(str(folder), str(tmp_path / "r2"), max_workers=1, progress=True)
    assert "knotmap: " not in capfd.readouterr().err


def test_the_tally_words_are_the_commands(tmp_path):
    """The same outcomes give the same line as tests/cli/test_batch_tally.py's: one
    source (km_batch_tally), skipped results and "and N more" included."""
    recs = [_batch._record("/r/a.knotmap.h5", "o", "skipped", _batch._NOT_AN_INPUT),
            _batch._record("/m/a.h5", "o", "ok"),
            _batch._record("/m/done.h5", "o", "skipped", _batch._DONE)]
    recs += [_batch._record("/m/z%d.csv" % k, "o", "KM_ERR_FORMAT", "/m/z%d.csv: empty" % k)
             for k in range(9)]
    f = io.StringIO()
    _batch._say_failures(recs, "/o2", file=f)
    lines = f.getvalue().splitlines()
    assert lines[:9] == ["knotmap: /m/z%d.csv: empty" % k for k in range(9)]
    assert lines[9] == ("knotmap: 2 of 12 inputs processed (results in /o2); 9 failed, said "
                        "above: %s and 1 more; 1 skipped (a knotmap result, not a session)"
                        % ", ".join("/m/z%d.csv" % k for k in range(8))), lines[9]


def test_a_crash_is_said_with_its_input(tmp_path):
    f = io.StringIO()
    _batch._say_failures([_batch._record("/m/x.h5", "o", "crashed",
                                         "its process died (killed by SIGSEGV)")], "/o", file=f)
    assert f.getvalue() == "knotmap: /m/x.h5: its process died (killed by SIGSEGV)\n"


def test_a_session_of_no_frames_is_true():
    s = knotmap.read_session(EXAMPLE)
    empty = knotmap.Session(s.frames[:0], s.time[:0], s.mask, dict(s.metadata, n_frames=0))
    assert len(empty) == 0 and list(empty) == ["frames", "time", "mask", "metadata"]
    assert bool(empty) is True and bool(s) is True
    assert (empty or None) is empty


HOLD = "import h5py, sys\nf = h5py.File(sys.argv[1], 'a')\nprint('held', flush=True)\nsys.stdin.read()\n"


def test_in_use_carries_its_errno(tmp_path):
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "r.knotmap.h5"
    knotmap.process(EXAMPLE, str(p))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(p)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for call in (lambda: knotmap.is_complete(p), lambda: knotmap.read_result(str(p)),
                     lambda: knotmap.process(EXAMPLE, str(p))):
            with pytest.raises(knotmap.Error, match="in use: another program has it open") as e:
                call()
            assert isinstance(e.value, BlockingIOError), type(e.value).__mro__
            assert e.value.errno == errno.EWOULDBLOCK, e.value.errno
            assert e.value.strerror == os.strerror(errno.EWOULDBLOCK)
            assert e.value.filename == str(p) or e.value.filename == p
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    del h5py


def test_errno_is_kept_only_when_it_is_the_failures(tmp_path):
    """Controls (pass on b2c6910 too): a missing file is ENOENT; a malformed one has no
    errno whatever errno the OS left."""
    with pytest.raises(FileNotFoundError) as e:
        knotmap.read_session(str(tmp_path / "nope.h5"))
    assert e.value.errno == errno.ENOENT
    (tmp_path / "bad.txt").write_text("1 2 3\n1 x 3\n")
    with pytest.raises(ValueError) as e:
        knotmap.read_session(str(tmp_path / "bad.txt"))
    assert not isinstance(e.value, OSError)


def test_a_sessions_frames_given_for_a_frame_say_to_pass_one():
    """find_peaks(s.frames) (the whole [T, R, C] stack) said only "frame must be 2-D,
    got shape (1500, 32, 16)"; now it says to pass one frame.  Fails on b2c6910."""
    s = knotmap.read_session(EXAMPLE)
    with pytest.raises(ValueError) as e:
        knotmap.find_peaks(s.frames)
    assert str(e.value) == ("frame must be 2-D, got shape (1500, 32, 16) (a session's frames "
                            "are [T, R, C]: pass one, frames[t]) (KM_ERR_INVALID)"), str(e.value)
    with pytest.raises(ValueError, match=r"^frame must be 2-D, got shape \(16,\) \(KM_ERR"):
        knotmap.find_peaks(s.frames[0, 0])
