"""Ctrl-C (KeyboardInterrupt) stops a batch(client=...) on a Dask cluster at once
(session 46, user17; session 45's leftover): the sessions in work on the
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

import pytest

import knotmap

pytest.importorskip("distributed")

CHILD = textwrap.dedent("""
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
    src, out = tmp_path / "sessions", tmp_path / "results"
    src.mkdir()
    for seed in (1, 2, 3):
        knotmap.synth(str(src / ("s%d.h5" % seed)), seed=seed, duration=60, knots=2)
    pkg = os.path.dirname(os.path.dirname(knotmap.__file__))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
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
