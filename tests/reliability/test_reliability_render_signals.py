"""`render` and `report` under a signal while they open their input and while
they write their output (session 47; `process` has its own in
test_reliability_signals.py): one SIGTERM ends them within the grace of 2 s,
exit 143, with their temporary removed and a picture or report already at the
output's name left as it was.

The write is held in its commit by the failwrite shim (KM_FAIL_OP=hang: the
fsync never returns, as on a hung NFS server), so the signal lands during the
write whatever the machine's load; the open is held by a FIFO that no one
writes.  Not under the sanitizers (the shim and ASan both wrap libc)."""
import os
import signal
import subprocess
import time

import pytest

from km_reliability import BIN, SANITIZED, is_temp_name

SHIM = os.environ.get("KM_FAILWRITE") or os.path.join(os.path.dirname(BIN), "tests", "libkm_failwrite.so")
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "datasets", "example", "roller_example.h5")


@pytest.fixture(scope="module")
def result(knotmap_bin, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("res") / "r.knotmap.h5")
    subprocess.run([knotmap_bin, "process", "-q", EXAMPLE, "-o", out], check=True, timeout=300)
    return out


def term_when(ready, p):
    """SIGTERM to p once ready() holds (asserted), then its stderr; p killed
    if it is still running when the test fails."""
    try:
        ready()
        p.send_signal(signal.SIGTERM)
        return p.communicate(timeout=60)[1]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def wait_for(path, p, limit=60.0):
    end = time.monotonic() + limit
    while time.monotonic() < end and p.poll() is None:
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not os.path.exists(SHIM) or SANITIZED, reason="failwrite shim not built, or sanitized")
@pytest.mark.parametrize("cmd, name", [("render", "m.png"), ("render", "m.pdf"), ("report", "r.html")])
def test_a_signal_during_the_write(knotmap_bin, result, tmp_path, cmd, name):
    out = tmp_path / "out"
    out.mkdir()
    final = out / name
    old = (b'<!DOCTYPE html>\n<html><head><meta name="generator" content="knotmap 0.1.0">'
           b"</head><body>an older report</body></html>") if cmd == "report" else None
    if old is not None:
        final.write_bytes(old)      # a report of knotmap's own: replaceable, kept if the write fails
    mark = str(tmp_path / "in-commit")
    env = dict(os.environ, LD_PRELOAD=SHIM, KM_FAIL_DIR=str(out), KM_FAIL_OP="hang", KM_FAIL_MARK=mark)
    p = subprocess.Popen([knotmap_bin, cmd, "-q", result, "-o", str(final)], stderr=subprocess.PIPE, text=True,
                         env=env, start_new_session=True)

    def in_commit():
        assert wait_for(mark, p), "the commit never started: " + (p.stderr.read() if p.poll() is not None else "")
        assert [n for n in os.listdir(out) if is_temp_name(n)] != []   # the temporary being written
    err = term_when(in_commit, p)
    assert p.returncode == 143, err
    assert "stopped at once, temporary files removed" in err, err
    left = sorted(os.listdir(out))
    assert left == ([name] if old is not None else []), left
    if old is not None:
        assert final.read_bytes() == old


@pytest.mark.parametrize("cmd", ["render", "report"])
def test_a_fifo_no_one_writes_is_refused_at_once(knotmap_bin, tmp_path, cmd):
    """A result's path that is a FIFO no one writes: refused at once (66, "a
    pipe, not a file", as info and process do), nothing written.  Before
    session 47 (lead) render and report waited in the open for ever."""
    fifo = tmp_path / "r.knotmap.h5"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run([knotmap_bin, cmd, str(fifo), "-o", str(out / ("m.png" if cmd == "render" else "r.html"))],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 66 and "a pipe, not a file" in r.stderr, (r.returncode, r.stderr)
    assert os.listdir(out) == []


@pytest.mark.parametrize("cmd", ["render", "report"])
def test_a_signal_during_the_open(knotmap_bin, tmp_path, cmd):
    """The input a FIFO that a writer holds open and never writes (a stuck
    network mount): the command waits for its first bytes; SIGTERM ends it
    (143), nothing written."""
    fifo = tmp_path / "r.knotmap.h5"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer that never writes
    out = tmp_path / "out"
    out.mkdir()
    args = [knotmap_bin, cmd, str(fifo), "-o", str(out / ("m.png" if cmd == "render" else "r.html"))]
    try:
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)

        def stuck():
            time.sleep(0.5)
            assert p.poll() is None, p.stderr.read()                       # stuck in the open
        err = term_when(stuck, p)
    finally:
        os.close(writer)
    assert p.returncode == 143, (p.returncode, err)
    assert os.listdir(out) == []
