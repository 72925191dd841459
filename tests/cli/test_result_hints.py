"""A file of the wrong kind given to render, report, eval or info says what
to do (session 44): a recording where a result is wanted (`knotmap render
walk.asf`, the step `process` forgotten), another tool's HDF5 where a result
is wanted, and a result given as eval's truth.  Before, only what was
expected was named (`not an HDF5 file (expected a knotmap-result file)`)."""
import h5py
import numpy as np
import pytest

from km_cli import REPO, run, run_ok



@pytest.mark.parametrize("cmd", ["render", "report"])
def test_a_recording_where_a_result_is_wanted(tmp_path, cmd):
    rec = tmp_path / "walk.csv"
    rec.write_text("1 2 3\n4 5 6\n")
    r = run(cmd, rec, "-o", tmp_path / ("x.png" if cmd == "render" else "x.html"))
    assert r.returncode == 65
    assert "%s: not an HDF5 file (expected a knotmap-result file; a recording? `knotmap " \
           "process` makes its result)" % rec in r.stderr, r.stderr


def test_another_tools_hdf5_where_a_result_is_wanted(tmp_path):
    p = tmp_path / "h.h5"
    with h5py.File(p, "w") as f:
        f["frames"] = np.zeros((2, 3, 4), "f4")
    r = run("render", p, "-o", tmp_path / "x.png")
    assert r.returncode == 65 and "knotmap process --format session" in r.stderr, r.stderr


def test_a_result_as_the_truth(tmp_path):
    res = tmp_path / "r.h5"
    run_ok("process", "-q", REPO / "datasets" / "example" / "roller_example.h5", "-o", res)
    r = run("eval", res, "--truth", res)
    assert r.returncode == 65
    assert "(a result: the truth is the session `knotmap synth` wrote)" in r.stderr, r.stderr
