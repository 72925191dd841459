"""`knotmap info RESULT` summarises a result (session, what was assumed, parameters
that differ from the defaults, table sizes, best candidates) instead of refusing it."""

import shutil

import h5py
import pytest

from km_cli import EXAMPLE, PHYSIONET, run


def field(out, key):
    for line in out.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no %r line in:\n%s" % (key, out))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("info")
    plain, tuned, bed = d / "plain.h5", d / "tuned.h5", d / "bed.h5"
    assert run("process", EXAMPLE, "-o", plain, "-q").returncode == 0
    r = run("process", EXAMPLE, "-o", tuned, "-q", "--cand-min-distance-mm", "15",
            "--track-gate-mm", "7.5")
    assert r.returncode == 0, r.stderr
    r = run("process", PHYSIONET, "--grid", "64x32", "--rate", "1", "-o", bed, "-q")
    assert r.returncode == 0, r.stderr
    return plain, tuned, bed


def test_info_summarises_a_result(results):
    plain = results[0]
    r = run("info", plain)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert field(out, "kind").startswith("knotmap result, written by knotmap")
    assert field(out, "source") == "%s (session)" % EXAMPLE
    assert field(out, "parameters") == "0 differ from the defaults"
    assert field(out, "assumed") == "nothing"
    with h5py.File(plain) as f:
        s = f["session"].attrs
        assert field(out, "grid").startswith("%d x %d taxels" % (s["rows"], s["cols"]))
        assert field(out, "frames").startswith("%d at %g Hz" % (s["n_frames"], s["frame_rate_hz"]))
        n = [len(f[t][c]) for t, c in (("peaks", "frame"), ("tracks", "track"),
                                       ("candidates", "candidate"))]
        assert field(out, "tables") == "%d peaks, %d tracks, %d candidates" % tuple(n)
        x, y = f["candidates/x_mm"][:5], f["candidates/y_mm"][:5]
    lines = out.splitlines()
    k = next(i for i, l in enumerate(lines) if l.startswith("best candidates"))
    assert lines[k + 1].split()[:5] == ["#", "x_mm", "(mm)", "y_mm", "(mm)"]
    rows = [l.split() for l in lines[k + 2:k + 2 + len(x)]]
    assert len(rows) == len(x) > 0
    for i, row in enumerate(rows):
        assert int(row[0]) == i + 1
        assert float(row[1]) == pytest.approx(x[i], rel=1e-5, abs=1e-5)
        assert float(row[2]) == pytest.approx(y[i], rel=1e-5, abs=1e-5)


def test_info_lists_the_parameters_that_differ(results):
    out = run("info", results[1]).stdout
    assert field(out, "parameters") == "2 differ from the defaults:"
    assert "  cand_min_distance_mm = 15 (default " in out
    assert "  track_gate_mm = 7.5 (default " in out


def test_info_shows_what_a_result_assumed(results):
    out = run("info", results[2]).stdout
    assert field(out, "assumed") == "row_pitch_mm,col_pitch_mm,units,mode"
    assert "assuming 1 mm" in out


@pytest.mark.parametrize("sensor, said", [(0, None), (1, "  read_sensor = 1 (default -1)")])
def test_info_on_a_result_from_before_the_sensor_default(results, tmp_path, sensor, said):
    """Results written before session 39 record /params/read_sensor 0 (the first sensor),
    where a run now records -1 (none given: the first); 0 reads what the default reads
    and is not listed (it was, as `read_sensor = 0 (default -1)`), 1 still is."""
    old = tmp_path / "old.h5"
    shutil.copyfile(results[0], old)
    with h5py.File(old, "r+") as f:
        assert int(f["params"].attrs["read_sensor"]) == -1
        f["params"].attrs.modify("read_sensor", sensor)
    out = run("info", old).stdout
    if said is None:
        assert field(out, "parameters") == "0 differ from the defaults"
        assert "read_sensor" not in out
    else:
        assert field(out, "parameters") == "1 differ from the defaults:" and said in out


# Detection options removed in session 44 (docs/ALGORITHMS.md 10, Tried and removed):
# older results record them in /params, 0 when off.
REMOVED = {"cand_background_mask": 5.0, "cand_background_bumps": 0.0,
           "cand_scale_peaks": 1, "cand_scale_noise": 0}


def test_a_result_with_removed_parameters_still_reads(results, tmp_path):
    """A result written before the four options were removed keeps its /params keys:
    `info` lists the two it ran with on (their default 0 and that the option is gone)
    and not the two left at 0, and `report` writes its page with all four."""
    old = tmp_path / "old.h5"
    shutil.copyfile(results[0], old)
    with h5py.File(old, "r+") as f:
        for k, v in REMOVED.items():
            assert k not in f["params"].attrs
            f["params"].attrs[k] = v
    r = run("info", old)
    assert r.returncode == 0, r.stderr
    assert field(r.stdout, "parameters") == "2 differ from the defaults:"
    assert "  cand_background_mask = 5 (default 0; option removed)" in r.stdout
    assert "  cand_scale_peaks = 1 (default 0; option removed)" in r.stdout
    assert "cand_background_bumps" not in r.stdout and "cand_scale_noise" not in r.stdout
    page = tmp_path / "old.html"
    r = run("report", old, "-o", page)
    assert r.returncode == 0, r.stderr
    html = page.read_text()
    assert all(k in html for k in REMOVED)


def test_a_new_result_records_no_removed_parameter(results):
    with h5py.File(results[0]) as f:
        assert not set(REMOVED) & set(f["params"].attrs)
