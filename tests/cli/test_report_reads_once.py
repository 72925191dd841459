"""`knotmap report` reads the result's summary (candidates, /metrics, /params,
the source header) once: the picture it embeds hands over the summary it was
drawn from.  Until session 44 the report read it again after the picture,
/metrics included (a row per frame).  Seen from outside: the command opens
the result as often as `render` does (the probe, the map, the summary), two
opens fewer than before (each HDF5 open opens the file twice)."""
import os
import shutil
import subprocess

import pytest

from km_cli import BIN, REPO, run_ok

pytestmark = [pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace"),
              # LeakSanitizer stops a process run under ptrace (.ci/sanitize)
              pytest.mark.skipif(os.environ.get("KNOTMAP_SANITIZED") == "1",
                                 reason="LeakSanitizer does not run under strace")]


def opens(tmp_path, result, *args):
    """How often `knotmap ARGS` opens `result` in its own process (the probe's
    child not counted: strace without -f)."""
    log = tmp_path / "strace.txt"
    r = subprocess.run(["strace", "-e", "trace=openat", "-o", str(log), str(BIN), *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return sum(1 for line in log.read_text().splitlines()
               if '"%s"' % result in line and "= -1" not in line)


def test_report_reads_the_result_as_often_as_render(tmp_path):
    res = tmp_path / "r.h5"
    run_ok("process", "-q", REPO / "datasets" / "example" / "roller_example.h5", "-o", res)
    n_render = opens(tmp_path, res, "render", "-q", res, "-o", tmp_path / "m.svg")
    n_report = opens(tmp_path, res, "report", "-q", res, "-o", tmp_path / "r.html")
    assert n_render >= 3
    assert n_report == n_render
    html = (tmp_path / "r.html").read_text("utf-8")
    assert "<svg" in html and 'id="candidates"' in html and 'id="metrics"' in html
