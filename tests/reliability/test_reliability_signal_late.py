"""A SIGINT that arrives after the result is under its final name (the run is only
printing its summary or freeing memory) stopped nothing: exit 0, the result complete.
Before, the command exited 130 ("interrupted", which docs/CLI.md says means nothing was
written) beside a complete result; a script would have thrown a good result away."""
import os
import signal
import subprocess

import pytest

from km_reliability import result_state, write_session


def test_a_signal_after_the_result_is_written_changes_nothing(knotmap_bin, tmp_path):
    src = write_session(str(tmp_path / "s.h5"), 300)
    caught = 0
    for k in range(20):
        out = str(tmp_path / ("r%d.knotmap.h5" % k))
        proc = subprocess.Popen([knotmap_bin, "process", src, "-o", out],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while not os.path.exists(out) and proc.poll() is None:
            pass
        alive = proc.poll() is None
        if alive:
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        assert result_state(out) == "complete"
        if alive and proc.returncode in (0, 130):
            caught += 1
            assert proc.returncode == 0, err.decode(errors="replace")
        if caught >= 3:
            break
    if caught == 0:
        pytest.skip("every run ended before the signal could be sent")
