"""Memory bounded by the block size, not the session length (issue 8,
item 5): the peak RSS of `knotmap process` on a session 10x longer grows by
less than 10%.

Each run's peak RSS comes from os.wait4() on that child alone (ru_maxrss,
KiB on Linux), so the runs do not see each other.  The figures are printed
(pytest -s) and recorded in bench/HISTORY.md, section "Reliability":

    KNOTMAP_BIN=build/knotmap /usr/bin/python3 -m pytest -s tests/reliability/test_reliability_memory.py
"""
import os
import subprocess

import pytest

from km_reliability import SANITIZED, result_state, write_session

SHORT = 2000          # frames of 32x32: 8 MB of float32 frames
LONG = 10 * SHORT     # 80 MB: a reader or writer that keeps the session shows


def peak_rss_kib(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err.decode(errors="replace")
    return usage.ru_maxrss


@pytest.mark.skipif(SANITIZED, reason="ASan's shadow memory and quarantine make RSS meaningless")
def test_peak_rss_independent_of_session_length(knotmap_bin, tmp_path):
    short = write_session(str(tmp_path / "short.h5"), SHORT, seed=1)
    long_ = write_session(str(tmp_path / "long.h5"), LONG, seed=1)
    rss = {}
    for name, path in (("short", short), ("long", long_)):
        out = str(tmp_path / (name + ".knotmap.h5"))
        # Best of two: the first run also faults in the shared libraries.
        rss[name] = min(peak_rss_kib([knotmap_bin, "process", "-q", path, "-o", out]) for _ in range(2))
        assert result_state(out) == "complete"
    growth = rss["long"] / rss["short"] - 1.0
    print("\npeak RSS: %d frames %.1f MiB, %d frames %.1f MiB, growth %+.1f%%"
          % (SHORT, rss["short"] / 1024, LONG, rss["long"] / 1024, 100 * growth))
    assert growth < 0.10, "peak RSS grew %.1f%% for a 10x longer session (%d -> %d KiB)" % (
        100 * growth, rss["short"], rss["long"])
