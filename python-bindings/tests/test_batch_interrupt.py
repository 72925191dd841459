"""Ctrl-C (KeyboardInterrupt) stops a local batch() at once (session 45, user16):
the sessions in work are killed, their temporaries removed, no queued session
starts, and KeyboardInterrupt is raised; the results finished before stay.
Until then the interrupt reached only the caller's thread: the pool's threads
went on, a session whose process died of the same Ctrl-C was tried again, and
every queued session still ran (4 sessions of 120 s: all 4 results written,
9.6 s after the Ctrl-C), before the KeyboardInterrupt came out.

In a child interpreter (a SIGINT must not reach pytest): SIGINT is sent to that
interpreter only, once the first session's temporary file exists, so the
sessions' own processes are not signalled (batch() must end them itself)."""
import os
import subprocess
import sys
import textwrap
import time

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


def test_ctrl_c_stops_a_batch(tmp_path):
    src, out = tmp_path / "sessions", tmp_path / "results"
    src.mkdir()
    for seed in (1, 2, 3):
        knotmap.synth(str(src / ("s%d.h5" % seed)), seed=seed, duration=60, knots=2)
    pkg = os.path.dirname(os.path.dirname(knotmap.__file__))
    p = subprocess.run([sys.executable, "-c", CHILD, pkg, str(src), str(out)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.startswith("interrupted"), (p.stdout, p.stderr[-3000:])
    # the first session was in work: killed, nothing of it left; none other ran,
    # and no session process outlives the batch to write one later
    assert sorted(os.listdir(str(out))) == []
    time.sleep(3)
    assert sorted(os.listdir(str(out))) == []
