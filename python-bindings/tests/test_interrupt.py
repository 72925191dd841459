"""Ctrl-C (SIGINT) during a long call: the work stops soon with
KeyboardInterrupt and leaves no output, as `knotmap process` stops between
blocks on SIGINT (exit 130, no result).

Each case runs in a child interpreter (a SIGINT must not reach pytest).  A
helper thread sends the SIGINT once the call is visibly under way (the
result's temporary file exists in the output folder), so no timing is
assumed; the call processes one frame per block, so it is far from done
when the signal comes.
"""
import os
import subprocess
import sys
import textwrap

import pytest

import knotmap

CHILD = textwrap.dedent("""
    import os, signal, sys, threading, time
    sys.path.insert(0, sys.argv[1])
    import knotmap
    src, out_dir = sys.argv[2], sys.argv[3]
    out = os.path.join(out_dir, "r.knotmap.h5")

    def interrupt_when_started():
        while not os.listdir(out_dir):      # the temporary appears first
            time.sleep(0.001)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    try:
        knotmap.process(src, out, block_frames=1)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", sorted(os.listdir(out_dir)))
    else:
        print("returned", sorted(os.listdir(out_dir)))
""")


@pytest.fixture(scope="module")
def session_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("interrupt") / "s.h5"
    knotmap.synth(path, mode="roller", duration=40, rate=100, grid=(16, 16), seed=5)
    return path


def test_ctrl_c_stops_process_and_leaves_no_result(session_path, tmp_path):
    pythonpath = os.path.dirname(os.path.dirname(knotmap.__file__))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = subprocess.run([sys.executable, "-c", CHILD, pythonpath, str(session_path),
                        str(out_dir)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # stopped inside the C call (cancelled between blocks), not after it wrote
    # the whole result
    assert r.stdout.strip() == "KeyboardInterrupt []", r.stdout + r.stderr
