"""A SIGINT (or SIGTERM) that is ignored when the command starts stays ignored
(session 45, user16).  A shell without job control starts a background job
with SIGINT ignored (POSIX: `knotmap process a.h5 & knotmap process b.h5 &
wait` in a script), so that a Ctrl-C meant for the foreground does not stop
it.  Until session 45 knotmap's handlers replaced that: a run in work was
cancelled (exit 130, no result), and during the probe the child, set back to
the default action, died of it and the command exited 130 too."""
import os
import shutil
import signal
import subprocess
import time

import h5py
import pytest

from km_cli import BIN, EXAMPLE

SHIM = BIN.parent / "tests" / "libkm_crashhdf5.so"


def ignoring(*sigs):
    def pre():
        for s in sigs:
            signal.signal(s, signal.SIG_IGN)
    return pre


def temps(d):
    return [n for n in os.listdir(str(d)) if ".tmp-" in n]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_ignored_signal_does_not_stop_the_run(tmp_path, sig):
    out = tmp_path / "r.h5"
    p = subprocess.Popen([str(BIN), "process", "-q", str(EXAMPLE), "-o", str(out),
                          "--block-frames", "1", "--save-frames"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=ignoring(sig))
    t0 = time.monotonic()
    while not temps(tmp_path) and p.poll() is None and time.monotonic() - t0 < 60:
        time.sleep(0.001)  # the run is writing: its handlers would be in place
    for _ in range(3):  # a second one would end it at once, were it caught
        if p.poll() is None:
            p.send_signal(sig)
        time.sleep(0.02)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0 and err == "", (p.returncode, err)
    with h5py.File(str(out), "r") as f:
        assert f.attrs["complete"] == 1 and f["frames/conditioned"].shape[0] == 1500
    assert temps(tmp_path) == []


@pytest.mark.skipif(not SHIM.exists() or os.environ.get("KNOTMAP_SANITIZED") == "1",
                    reason="crashhdf5 shim not built (%s) or sanitized binary" % SHIM)
def test_the_probe_child_keeps_ignoring_it(tmp_path):
    """The hang shim of test_probe_interrupt.py: Ctrl-C reaches the command and
    its probe child (one process group); both ignore it and the probe goes on
    until --deadline ends it (75), instead of the child dying of it (130)."""
    shutil.copy(str(EXAMPLE), str(tmp_path / "evil.h5"))
    env = dict(os.environ, LD_PRELOAD=str(SHIM), KM_H5_BREAK="evil.h5", KM_H5_BREAK_HOW="hang")
    p = subprocess.Popen([str(BIN), "process", "--deadline", "2", "evil.h5", "-o", "out/"],
                         cwd=str(tmp_path), env=env, text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=ignoring(signal.SIGINT),
                         start_new_session=True)
    try:
        time.sleep(0.8)
        os.killpg(p.pid, signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 75, (p.returncode, err)
    assert "deadline of 2 s exceeded" in err
    assert sorted(os.listdir(str(tmp_path))) == ["evil.h5"]
