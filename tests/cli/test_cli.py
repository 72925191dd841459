"""End-to-end tests of the knotmap command (run with /usr/bin/python3 -m pytest tests/cli).

The binary comes from $KNOTMAP_BIN, else build/knotmap in the repository.
"""
import hashlib
import shutil
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from km_cli import BIN, EXAMPLE, TEKSCAN, PHYSIONET, BAD, run


METRIC_COLUMNS = ["time", "peak", "mean", "contact_area_mm2", "force_n",
                  "cop_grid_x_mm", "cop_grid_y_mm", "flags"]
PEAK_COLUMNS = ["peak", "frame", "time", "row", "col", "grid_y_mm", "grid_x_mm", "value",
                "prominence", "area_taxels", "flags", "track"]


def temps(folder):
    return [p.name for p in Path(folder).iterdir() if ".tmp-" in p.name]


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="session", autouse=True)
def binary():
    if not BIN.exists():
        pytest.fail(f"knotmap binary not found at {BIN}; set KNOTMAP_BIN")


def check_result(path, rows, cols):
    """Schema invariants every result must satisfy; returns the open file's data."""
    with h5py.File(path, "r") as f:
        assert f.attrs["schema"] == "knotmap-result"
        assert f.attrs["schema_version"] == 1
        assert f.attrs["complete"] == 1
        for key in ("knotmap_version", "created_utc", "command_line", "source_path",
                    "source_format"):
            assert key in f.attrs
        s = f["session"].attrs
        assert (s["rows"], s["cols"]) == (rows, cols)
        n_frames = int(s["n_frames"])
        assert f["session/time"].shape == (n_frames,)
        assert f["session/mask"].shape == (rows, cols)
        assert f["frames/max"].shape == (rows, cols)
        assert f["frames/mean"].shape == (rows, cols)
        assert f["frames/max"].dtype == np.float32
        assert sorted(f["metrics"].keys()) == sorted(METRIC_COLUMNS)
        assert {len(f["metrics"][c]) for c in f["metrics"]} == {n_frames}
        for c in PEAK_COLUMNS:
            assert c in f["peaks"], c
        lengths = {len(f["peaks"][c]) for c in f["peaks"]}
        assert len(lengths) == 1, lengths
        n_peaks = lengths.pop()
        row, col = f["peaks/row"][:], f["peaks/col"][:]
        assert np.all((row >= 0) & (row < rows)) and np.all((col >= 0) & (col < cols))
        frame = f["peaks/frame"][:]
        assert np.all((frame >= 0) & (frame < n_frames))
        assert np.all(np.diff(frame) >= 0), "peaks are in frame order"
        track = f["peaks/track"][:]
        assert np.all(track >= 0), "every peak belongs to a track"
        n_tracks = len(f["tracks/track"]) if "tracks" in f else 0
        assert np.all(track < n_tracks), "track ids index /tracks"
        units = s["units"]
        assert f["metrics/peak"].attrs["units"] == units
        assert f["peaks/value"].attrs["units"] == units
        assert f["metrics/time"].attrs["units"] == "s"
        return {"n_frames": n_frames, "n_peaks": n_peaks, "units": units,
                "max": f["frames/max"][:], "mask": f["session/mask"][:],
                "header": dict(f["session/source_header"].attrs),
                "params": dict(f["params"].attrs),
                "metrics_peak": f["metrics/peak"][:],
                "has_conditioned": "conditioned" in f["frames"]}


# ---- help, version, usage ----------------------------------------------------

def test_help_and_version_on_stdout():
    commands = ("process", "info", "synth", "render", "report", "eval")
    for args in (["--help"], *([c, "--help"] for c in commands)):
        r = run(*args)
        assert r.returncode == 0, args
        assert "Usage: knotmap" in r.stdout, args
        assert r.stderr == ""
        # a terminal's 80 columns, as GNU tools keep their --help
        wide = [l for l in r.stdout.splitlines() if len(l) > 80]
        assert not wide, (args, wide)
    top = run("--help").stdout
    for c in commands:
        assert "\n  %s " % c in top, "knotmap --help does not list %s" % c
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("knotmap ") and r.stdout.strip().split()[1].count(".") == 2


@pytest.mark.parametrize("args, fragment", [
    ([], "no command"),
    (["frobnicate"], "not a command"),
    (["process"], "no input"),
    (["process", TEKSCAN, "--grid", "64x"], "--grid"),
    (["process", TEKSCAN, "--grid", "64"], "--grid"),
    (["process", TEKSCAN, "--rate", "abc"], "--rate"),
    (["process", TEKSCAN, "--rate", "0"], "--rate"),
    (["process", TEKSCAN, "--sigma", "1.5y"], "--sigma"),
    (["process", TEKSCAN, "--min-distance", "0"], "--min-distance"),
    (["process", TEKSCAN, "--plateau", "some"], "--plateau"),
    (["process", TEKSCAN, "--format", "pdf"], "--format"),
    (["process", TEKSCAN, "--units", "bananas"], "--units"),
    (["process", TEKSCAN, "--bogus"], "--bogus"),
    (["process", TEKSCAN, "-o"], "-o"),
    (["process", TEKSCAN, "--save-frames=1"], "--save-frames"),
    (["info"], "no input"),
    (["info", TEKSCAN, "--pitch", "x"], "--pitch"),
])
def test_usage_errors_exit_64(tmp_path, args, fragment):
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 64, r.stderr
    assert r.stderr.startswith("knotmap: ")
    assert fragment in r.stderr
    assert r.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_missing_input_exit_66(tmp_path):
    missing = tmp_path / "nope.asf"
    for cmd in ("process", "info"):
        r = run(cmd, missing, cwd=tmp_path)
        assert r.returncode == 66, r.stderr
        assert r.stderr.startswith(f"knotmap: {missing}")
        assert r.stderr.count(str(missing)) == 1, "the file name is not printed twice"
    assert list(tmp_path.iterdir()) == []


# ---- the bad-input corpus ------------------------------------------------------

def bad_cases():
    table = BAD / "EXPECTED.tsv"
    if not table.exists():
        return []
    cases = []
    for line in table.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        extra = parts[3].split() if len(parts) > 3 else []
        cases.append(pytest.param(parts[0], int(parts[1]), parts[2], extra, id=parts[0]))
    return cases


@pytest.mark.parametrize("name, code, fragment, extra", bad_cases())
def test_bad_input_leaves_nothing(tmp_path, name, code, fragment, extra):
    src = BAD / name
    out = tmp_path / "out.h5"
    r = run("process", src, "-o", out, *extra, cwd=tmp_path)
    assert r.returncode == code, r.stderr
    assert r.stderr.startswith(f"knotmap: {src}"), r.stderr
    # "A | B": either message (session_attr_message_*.h5: whether libhdf5
    # crashes on them, caught by the probe, or reads freed memory and goes
    # on to some attribute error, depends on its heap layout)
    assert any(f in r.stderr for f in fragment.split(" | ")), r.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], "no output and no temporary file"


# ---- real recordings and the bundled example ----------------------------------

def test_tekscan_fixture(tmp_path):
    out = tmp_path / "foot.h5"
    r = run("process", TEKSCAN, "-o", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # A report is HTML: under a picture's name it is refused (64), nothing written; before
    # session 38 `report foot.h5 -o foot.pdf` wrote HTML as foot.pdf, which no PDF viewer opens.
    r2 = run("report", out, "-o", tmp_path / "foot.pdf", cwd=tmp_path)
    assert r2.returncode == 64 and "foot.pdf" in r2.stderr and "name it .html" in r2.stderr
    assert not (tmp_path / "foot.pdf").exists()
    d = check_result(out, 60, 21)
    assert d["n_frames"] == 205
    assert d["units"] == "kPa"
    assert int((d["mask"] == 0).sum()) == 305
    assert np.nanmax(d["max"]) == pytest.approx(760.0)
    assert np.all(np.isnan(d["max"][d["mask"] == 0])), "masked taxels carry no value"
    assert np.nanmax(d["metrics_peak"]) == pytest.approx(760.0)
    assert d["header"]["ROWS"] == "60"
    assert d["n_peaks"] > 0
    assert "205 frames" in r.stdout and "760" in r.stdout
    assert temps(tmp_path) == []


def test_physionet_with_options(tmp_path):
    out = tmp_path / "mat.h5"
    r = run("process", PHYSIONET, "--grid", "64x32", "--rate", "1", "-o", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = check_result(out, 64, 32)
    assert d["n_frames"] > 0
    assert d["params"]["read_rows"] == 64 and d["params"]["read_frame_rate_hz"] == 1.0
    # its frame 1 is corrupt (taxels near 3840): flagged, and the summary says so
    # (before session 27 only /metrics flags did)
    with h5py.File(out) as f:
        assert list(np.flatnonzero(f["metrics/flags"][:] & 1)) == [1]
    assert r.stdout.splitlines()[2] == (
        "  1 frame flagged corrupt: replaced by the last good frame, no peaks (/metrics flags)")
    clean = run("process", EXAMPLE, "-o", tmp_path / "example.h5")
    assert clean.returncode == 0 and "corrupt" not in clean.stdout


def test_example_default_output_name_and_save_frames(tmp_path):
    r = run("process", EXAMPLE, "--save-frames", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "", "-q prints no summary"
    out = tmp_path / "roller_example.knotmap.h5"
    with h5py.File(EXAMPLE, "r") as f:
        t, rows, cols = f["frames"].shape
    d = check_result(out, rows, cols)
    assert d["n_frames"] == t and d["has_conditioned"]
    with h5py.File(out, "r") as f:
        cond = f["frames/conditioned"]
        assert cond.shape == (t, rows, cols)
        assert cond.compression == "gzip" and cond.shuffle
        # fmax ignores NaN (masked taxels) without warnings; all-NaN stays NaN
        np.testing.assert_allclose(np.fmax.reduce(cond[:], axis=0), f["frames/max"][:])


def test_several_inputs_into_folder_in_parallel(tmp_path):
    outdir = tmp_path / "results"
    r = run("process", TEKSCAN, EXAMPLE, "-o", outdir, "-j", "2", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in outdir.iterdir()) == ["FrasP01L.knotmap.h5",
                                                         "roller_example.knotmap.h5"]
    check_result(outdir / "FrasP01L.knotmap.h5", 60, 21)
    assert r.stdout.index("FrasP01L") < r.stdout.index("roller_example"), "input order"


def test_same_stem_twice_is_usage_error(tmp_path):
    (tmp_path / "a").mkdir()
    shutil.copy(TEKSCAN, tmp_path / "a" / "FrasP01L.asf")
    r = run("process", TEKSCAN, tmp_path / "a" / "FrasP01L.asf", "-o", tmp_path / "out",
            cwd=tmp_path)
    assert r.returncode == 64
    assert "both write" in r.stderr


# ---- never destroy anything -----------------------------------------------------

def test_refuses_to_overwrite_a_non_result(tmp_path):
    out = tmp_path / "notes.h5"
    out.write_text("my notes\n")
    r = run("process", TEKSCAN, "-o", out, cwd=tmp_path)
    assert r.returncode == 73, r.stderr
    assert r.stderr.startswith(f"knotmap: {out}")
    assert out.read_text() == "my notes\n"
    assert temps(tmp_path) == []


def test_overwrites_a_result_unless_told_not_to(tmp_path):
    out = tmp_path / "r.h5"
    assert run("process", TEKSCAN, "-o", out).returncode == 0
    assert run("process", TEKSCAN, "-o", out).returncode == 0
    before = sha(out)
    r = run("process", TEKSCAN, "-o", out, "--no-overwrite")
    assert r.returncode == 73
    assert sha(out) == before
    assert temps(tmp_path) == []


def test_output_equal_to_input_is_refused(tmp_path):
    session = tmp_path / "s.h5"
    shutil.copy(EXAMPLE, session)
    before = sha(session)
    # the same file under another spelling is caught by device and inode
    r = run("process", session, "-o", "./s.h5", cwd=tmp_path)
    assert r.returncode == 73, r.stderr
    assert "input" in r.stderr
    assert sha(session) == before
    assert temps(tmp_path) == []


def test_sigint_leaves_a_whole_result_or_nothing(tmp_path):
    out = tmp_path / "r.h5"
    p = subprocess.Popen([str(BIN), "process", str(EXAMPLE), "-o", str(out), "--block-frames",
                          "1", "--save-frames"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    # Signal once the run is writing (its temporary exists), not after a
    # fixed delay: on a loaded machine the handlers may not be installed yet.
    t0 = time.monotonic()
    while not temps(tmp_path) and p.poll() is None and time.monotonic() - t0 < 60:
        time.sleep(0.001)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    assert p.returncode in (0, 130), err
    if p.returncode == 130:
        assert not out.exists()
        assert "interrupted" in err
    else:
        check_result(out, 32, 16)
    assert temps(tmp_path) == []


def test_info(tmp_path):
    r = run("info", TEKSCAN)
    assert r.returncode == 0, r.stderr
    assert "60 x 21" in r.stdout
    assert "205" in r.stdout and "31.25" in r.stdout
    assert "305 masked" in r.stdout
    assert "ROWS = 60" in r.stdout


def test_missing_output_folder_exit_73(tmp_path):
    out = tmp_path / "no" / "such" / "r.h5"
    r = run("process", TEKSCAN, "-o", out, cwd=tmp_path)
    assert r.returncode == 73, r.stderr
    assert r.stderr.startswith(f"knotmap: {out}")
    assert list(tmp_path.iterdir()) == []


def test_sigma_and_thresholds_are_recorded(tmp_path):
    out = tmp_path / "r.h5"
    r = run("process", TEKSCAN, "-o", out, "--sigma", "1x2", "--threshold-rel", "0.3",
            "--min-distance=3", "--plateau", "all", "--contact-threshold", "5", "-q")
    assert r.returncode == 0, r.stderr
    d = check_result(out, 60, 21)
    p = d["params"]
    assert (p["smooth_sigma_rows"], p["smooth_sigma_cols"]) == (1.0, 2.0)
    assert p["peaks_threshold_rel"] == 0.3 and p["peaks_min_distance"] == 3
    assert p["peaks_plateau"] == "all" and p["contact_threshold"] == 5.0
    with h5py.File(out, "r") as f:
        cmd = f.attrs["command_line"]
        area = f["metrics/contact_area_mm2"][:]
        pitch = f["session"].attrs["row_pitch_mm"] * f["session"].attrs["col_pitch_mm"]
    assert "--sigma 1x2" in cmd
    assert np.allclose(area / pitch, np.round(area / pitch)), "whole taxels of contact"


def test_summary_prints_the_best_candidates_as_the_result_records_them(tmp_path):
    """The printed candidate table is /candidates' first rows: position, score,
    amplitude, size_mm, significance, passes and persistence, column by column."""
    out = tmp_path / "r.h5"
    r = run("process", EXAMPLE, "-o", out)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    head = next(i for i, ln in enumerate(lines) if " knot candidates (" in ln)
    names = lines[head + 1].split()
    assert names == ["#", "x_mm", "y_mm", "score", "amplitude", "units", "size_mm",
                     "significance", "passes", "persistence"]
    rows = [ln.split() for ln in lines[head + 2:] if ln.startswith("    ")]
    with h5py.File(out, "r") as f:
        c = f["candidates"]
        n = min(5, c["x_mm"].shape[0])
        assert len(rows) == n > 0
        for i, row in enumerate(rows):
            got = dict(zip(names, row))
            assert int(got["#"]) == i + 1
            for key in ("x_mm", "y_mm", "score", "amplitude", "size_mm", "significance",
                        "persistence"):
                assert float(got[key]) == pytest.approx(float(c[key][i]), rel=5e-3, abs=0.006)
            seen, covering = got["passes"].split("/")
            assert (int(seen), int(covering)) == (int(c["n_passes"][i]),
                                                 int(c["n_covering"][i]))


@pytest.mark.parametrize("command, table", [("process", "PARAMS"), ("info", "PARAMS"),
                                            ("synth", "SYNTH_PARAMS"),
                                            ("render", "RENDER_PARAMS")])
def test_help_shows_each_options_whole_doc(command, table):
    """Every option's doc line of the parameter tables is printed whole (wrapped,
    never cut): before session 35 a 320-byte buffer cut --time-axis's doc to
    '... .npz: as .npy [f' in `info --help` and `process --help`."""
    params = pytest.importorskip("knotmap._params")
    r = run(command, "--help")
    assert r.returncode == 0, r.stderr
    shown = " ".join(r.stdout.split())
    checked = 0
    for row in getattr(params, table):
        if row.option is None or row.doc is None or "--%s " % row.option not in shown + " ":
            continue
        assert " ".join(row.doc.split()) in shown, row.option
        checked += 1
    assert checked >= 5
