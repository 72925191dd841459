"""A run that cannot be stopped between blocks (issue 16): a second
SIGINT/SIGTERM, or --deadline, ends `knotmap process` at once whatever it
is doing, with its temporaries removed.  The stuck input is a FIFO whose
writer never writes: reading it blocks for ever, inside the reader, whatever
knotmap's own checks are.  Also: --resume and a result whose `complete` is not 1,
and the mode of files written by synth."""
import os
import signal
import stat
import subprocess
import time

import h5py
import pytest

from km_reliability import BIN, SANITIZED, is_temp_name, result_state, write_session


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    return write_session(str(tmp_path_factory.mktemp("big") / "big.h5"), 3000, seed=3)


@pytest.fixture
def fifo(tmp_path):
    """A FIFO whose writer (this test, holding it open) never writes: reading it waits
    for ever.  (One nobody writes is refused at once since session 41.)"""
    path = str(tmp_path / "stuck.h5")
    os.mkfifo(path)
    fd = os.open(path, os.O_RDWR)  # a silent writer; O_RDWR does not wait for a reader
    yield path
    os.close(fd)


def temps(folder):
    return [n for n in os.listdir(folder) if is_temp_name(n)]


def wait_until(pred, proc, limit=120.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit and proc.poll() is None:
        if pred():
            return True
        time.sleep(0.005)
    return pred()


def opening_the_fifo(pid):
    """Is a thread of process pid blocked on the FIFO (Linux: its wchan is the
    kernel's pipe_read, or anon_pipe_read, reading the silent writer's pipe;
    wait_for_partner, opening one, before session 41)?  Without /proc, True after 0.5 s of
    waiting, as the tests did before (on a loaded machine that raced: the
    signal came before the thread reached open())."""
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        time.sleep(0.5)
        return True
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/wchan" % (pid, t)) as f:
                w = f.read().strip()
                if w.endswith("pipe_read") or w == "wait_for_partner":
                    return True
        except OSError:
            pass
    return False


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_second_signal_ends_a_run_stuck_opening_an_input(knotmap_bin, fifo, tmp_path, sig, code):
    out = str(tmp_path / "r.h5")
    p = subprocess.Popen([knotmap_bin, "process", "-q", fifo, "-o", out], stderr=subprocess.PIPE,
                         text=True)
    # The run is stuck in open() of the FIFO: wait until it is, then signal twice.
    assert wait_until(lambda: opening_the_fifo(p.pid), p), "never opened the FIFO"
    p.send_signal(sig)
    time.sleep(0.2)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == code, err
    assert "interrupted again" in err
    assert not os.path.exists(out)
    assert temps(str(tmp_path)) == []


def test_second_signal_removes_the_temporaries_in_flight(knotmap_bin, big, fifo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.Popen([knotmap_bin, "process", "-q", "-j", "2", "--block-frames", "16", big,
                          fifo, "-o", str(out) + "/"], stderr=subprocess.PIPE, text=True)
    assert wait_until(lambda: temps(str(out)) != [], p), "no temporary appeared"
    assert wait_until(lambda: opening_the_fifo(p.pid), p), "never opened the FIFO"
    # The first signal cancels between blocks: the big session stops and
    # removes its temporary, the FIFO stays stuck (until the grace of 2 s
    # after the first signal ends the run: on a loaded machine that may come
    # first, with the same outcome).
    p.send_signal(signal.SIGTERM)
    assert wait_until(lambda: temps(str(out)) == [], p)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert "interrupted again" in err or "grace" in err
    assert temps(str(out)) == []
    assert os.listdir(str(out)) == [] or result_state(str(out / "big.knotmap.h5")) == "complete"


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_two_quick_signals_end_a_stuck_run(knotmap_bin, big, fifo, tmp_path, sig, code):
    """Two signals sent back to back usually reach the process as one (the
    kernel keeps one pending signal, not a count): a run stuck on an input
    must end all the same, with its temporaries removed.  Before the grace
    of a first signal (signals.c) this run never ended."""
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.Popen([knotmap_bin, "process", "-q", "-j", "2", "--block-frames", "16", big,
                          fifo, "-o", str(out) + "/"], stderr=subprocess.PIPE, text=True)
    assert wait_until(lambda: temps(str(out)) != [], p), "no temporary appeared"
    # Both inputs in work: the big one writing, the FIFO stuck in open() (on a loaded
    # machine the second worker may not be there yet: then no run is stuck).
    assert wait_until(lambda: opening_the_fifo(p.pid), p), "never opened the FIFO"
    os.kill(p.pid, sig)
    os.kill(p.pid, sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == code, err
    assert "interrupted again" in err or "grace" in err, err
    assert temps(str(out)) == []
    assert os.listdir(str(out)) == [] or result_state(str(out / "big.knotmap.h5")) == "complete"


SHIM = os.environ.get("KM_FAILWRITE") or os.path.join(os.path.dirname(BIN), "tests",
                                                       "libkm_failwrite.so")


@pytest.mark.skipif(not os.path.exists(SHIM) or SANITIZED, reason="failwrite shim not built")
@pytest.mark.parametrize("how", ["second-signal", "deadline"])
def test_a_run_stuck_in_its_commit_leaves_no_temporary(knotmap_bin, big, tmp_path, how):
    """The fsync of the commit never returns (failwrite.c, KM_FAIL_OP=hang):
    the first signal cannot help; the second one, or the deadline, removes
    the registered temporary (km_remove_temporaries) and ends the run."""
    out = tmp_path / "out"
    out.mkdir()
    mark = str(tmp_path / "hanging")
    env = dict(os.environ, LD_PRELOAD=SHIM, KM_FAIL_DIR=str(out), KM_FAIL_OP="hang",
               KM_FAIL_MARK=mark)
    extra = ["--deadline", "3"] if how == "deadline" else []
    p = subprocess.Popen([knotmap_bin, "process", "-q", *extra, big, "-o", str(out / "r.h5")],
                         stderr=subprocess.PIPE, text=True, env=env)
    if how == "second-signal":
        assert wait_until(lambda: os.path.exists(mark), p), "the commit never started"
        assert temps(str(out)) != []
        p.send_signal(signal.SIGINT)
        time.sleep(0.3)
        assert p.poll() is None  # the first signal cannot end a hung fsync
        p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == (130 if how == "second-signal" else 75), err
    assert os.listdir(str(out)) == []


def test_deadline_ends_a_stuck_input(knotmap_bin, fifo, tmp_path):
    out = str(tmp_path / "r.h5")
    p = subprocess.run([knotmap_bin, "process", "-q", "--deadline", "0.5", fifo, "-o", out],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 75, p.stderr
    assert "stuck.h5: deadline of 0.5 s exceeded" in p.stderr
    assert not os.path.exists(out)
    assert temps(str(tmp_path)) == []


def test_deadline_with_a_temporary_in_flight(knotmap_bin, big, fifo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.run([knotmap_bin, "process", "-q", "-j", "2", "--deadline", "1", big, fifo,
                        "-o", str(out) + "/"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 75, p.stderr
    assert "s exceeded" in p.stderr and ("stuck.h5: deadline" in p.stderr or "big.h5: deadline" in p.stderr)
    assert temps(str(out)) == []
    for name in os.listdir(str(out)):
        assert result_state(str(out / name)) == "complete"


def test_deadline_is_checked(knotmap_bin, tmp_path):
    for bad in ("0", "-1", "x"):
        p = subprocess.run([knotmap_bin, "process", "--deadline", bad, "in.h5"],
                           capture_output=True, text=True, cwd=str(tmp_path))
        assert p.returncode == 64, (bad, p.stderr)


def test_resume_refuses_a_result_that_is_not_complete(knotmap_bin, big, tmp_path):
    out = str(tmp_path / "r.h5")
    assert subprocess.run([knotmap_bin, "process", "-q", big, "-o", out]).returncode == 0
    with h5py.File(out, "r+") as f:
        f.attrs["complete"] = 0
    before = open(out, "rb").read()
    p = subprocess.run([knotmap_bin, "process", "-q", "--resume", big, "-o", out],
                       capture_output=True, text=True)
    assert p.returncode == 73, p.stderr
    assert "r.h5: exists but is not a complete knotmap result" in p.stderr
    assert open(out, "rb").read() == before
    p = subprocess.run([knotmap_bin, "process", "-q", "--resume", "--replace-incomplete", big,
                        "-o", out], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert result_state(out) == "complete"
    # and a complete one is skipped
    before = open(out, "rb").read()
    p = subprocess.run([knotmap_bin, "process", "--resume", big, "-o", out],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "skipped" in p.stdout, p.stderr
    assert open(out, "rb").read() == before


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_synth_session_mode_follows_the_umask(knotmap_bin, tmp_path, mask):
    out = str(tmp_path / "s.h5")
    p = subprocess.run(["bash", "-c", "umask %o && exec \"$@\"" % mask, "bash", knotmap_bin,
                        "synth", "--duration", "1", "-o", out], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~mask


def test_synth_interrupted_leaves_nothing(knotmap_bin, tmp_path):
    out = str(tmp_path / "s.h5")
    p = subprocess.Popen([knotmap_bin, "synth", "--duration", "600", "-o", out],
                         stderr=subprocess.PIPE, text=True)
    assert wait_until(lambda: temps(str(tmp_path)) != [], p), "no temporary appeared"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert os.listdir(str(tmp_path)) == []
