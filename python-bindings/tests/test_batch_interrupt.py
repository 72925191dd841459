"""Ctrl-C (KeyboardInterrupt) stops a local batch() at once (session 45, user16):
the sessions in work are killed, their temporaries removed, no queued session
starts, and KeyboardInterrupt is raised; the results finished before stay.
Until then the interrupt reached only the caller's thread: the pool's threads
went on, a session whose process died of the same Ctrl-C was tried again, and
every queued session still ran (4 sessions of 120 s: all 4 results written,
9.6 s after the Ctrl-C), before the KeyboardInterrupt came out.

In a child interpreter (a SIGINT must not reach pytest): SIGINT is sent to that
interpreter only, once the first session's temporary file exists, so the
sessions' own processes are not signalled (batch() must end them itself).

On a Dask cluster (test_ctrl_c_stops_a_dask_batch), batch(client=...) stops at once
too (session 46, user17; session 45's leftover): the sessions in work on the
workers are killed, their temporaries removed, no queued session starts, and
KeyboardInterrupt is raised.  Until then the futures were released, but a
session already running on a worker went on and wrote its result: a Dask
worker never interrupts a running task, so each task now looks at a stop
(a distributed.Event the caller sets) while its session's process runs.

In a child interpreter with its own LocalCluster (a SIGINT must not reach
pytest): SIGINT is sent to that interpreter only, once a session's temporary
file exists, so neither the workers nor the sessions' processes are signalled.
The cluster stays up for 10 s after the interrupt, as a user's cluster would:
nothing may appear in the output folder then."""
import os
import subprocess
import sys
import textwrap
import time

import pytest

import knotmap

CHILD = textwrap.dedent("""
    import glob, os, signal, sys, threading, time
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, sys.argv[1])
    import knotmap
    src, out = sys.argv[2], sys.argv[3]

    def interrupt():
        t0 = time.monotonic()
        while not glob.glob(os.path.join(out, ".*.tmp-*")) and time.monotonic() - t0 < 60:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    t0 = time.monotonic()
    try:
        knotmap.batch(src, out, progress=False, max_workers=1, block_frames=1,
                      save_frames=True)
        print("finished")
    except KeyboardInterrupt:
        print("interrupted %.2f" % (time.monotonic() - t0))
""")


def three_sessions(tmp_path):
    """A folder of three 60 s sessions, the results' folder (not made) and the
    folder holding the package under test."""
    src, out = tmp_path / "sessions", tmp_path / "results"
    src.mkdir()
    for seed in (1, 2, 3):
        knotmap.synth(str(src / ("s%d.h5" % seed)), seed=seed, duration=60, knots=2)
    return src, out, os.path.dirname(os.path.dirname(knotmap.__file__))


def test_ctrl_c_stops_a_batch(tmp_path):
    src, out, pkg = three_sessions(tmp_path)
    p = subprocess.run([sys.executable, "-c", CHILD, pkg, str(src), str(out)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.startswith("interrupted"), (p.stdout, p.stderr[-3000:])
    # the first session was in work: killed, nothing of it left; none other ran,
    # and no session process outlives the batch to write one later
    assert sorted(os.listdir(str(out))) == []
    time.sleep(3)
    assert sorted(os.listdir(str(out))) == []


CHILD_DASK = textwrap.dedent("""
    import glob, os, signal, sys, threading, time
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, sys.argv[1])
    import distributed
    import knotmap

    def interrupt(out):
        t0 = time.monotonic()
        while not glob.glob(os.path.join(out, ".*.tmp-*")) and time.monotonic() - t0 < 120:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    if __name__ == "__main__":
        src, out = sys.argv[2], sys.argv[3]
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        client = distributed.Client(cluster)
        threading.Thread(target=interrupt, args=(out,), daemon=True).start()
        t0 = time.monotonic()
        try:
            knotmap.batch(src, out, client=client, progress=False, block_frames=1,
                          save_frames=True)
            print("finished")
        except KeyboardInterrupt:
            print("interrupted %.2f" % (time.monotonic() - t0))
        print("at once:", sorted(os.listdir(out)))
        time.sleep(10)  # the cluster still up: a session left running would write
        print("10 s later:", sorted(os.listdir(out)))
        client.close()
        cluster.close()
""")


def test_ctrl_c_stops_a_dask_batch(tmp_path):
    pytest.importorskip("distributed")
    src, out, pkg = three_sessions(tmp_path)
    script = tmp_path / "child.py"
    script.write_text(CHILD_DASK)
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    p = subprocess.run([sys.executable, str(script), pkg, str(src), str(out)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = p.stdout.splitlines()
    assert lines[0].startswith("interrupted"), (p.stdout, p.stderr[-3000:])
    # the two sessions in work were killed and their temporaries removed before
    # KeyboardInterrupt came out; none ran on afterwards, the third never started
    assert lines[1:] == ["at once: []", "10 s later: []"], (p.stdout, p.stderr[-3000:])
