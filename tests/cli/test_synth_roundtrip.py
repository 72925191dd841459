"""What `knotmap synth -o` writes, `knotmap process` reads back (docs/FORMAT.md 1.3, 1.5):
the mode and roller radius of a Tekscan export's knotmap COMMENTS line (read from the
file, not assumed; an explicit --mode or --roller-radius wins), and the pitch, rate and
radius of every format to the last bit."""

import h5py
import pytest

from km_cli import run, run_ok

CASES = {
    "roller": [],
    "mat": ["--mode", "mat"],
    "roller_30hz_20x24_r37.5": ["--rate", "30", "--grid", "20x24", "--roller-radius", "37.5"],
    "model2_seed5": ["--model", "2", "--seed", "5"],
}
# /session attributes that must survive every format (saturation: see
# test_the_hdf5_session_keeps_the_saturation; audio carries it only as PCM's top)
KEYS = ("rows", "cols", "n_frames", "frame_rate_hz", "row_pitch_mm", "col_pitch_mm", "units",
        "mode", "roller_radius_mm", "n_valid", "assumed")


def session_attrs(path):
    with h5py.File(path) as f:
        a = f["session"].attrs
        return {k: a[k] for k in KEYS if k in a}


@pytest.mark.parametrize("case", CASES)
def test_every_synth_format_reads_back_what_synth_wrote(tmp_path, case):
    got = {}
    for ext in ("h5", "asf", "csv", "wav"):
        src = tmp_path / f"s.{ext}"
        run_ok("synth", "--duration", "1", *CASES[case], "-o", src)
        out = tmp_path / f"s_{ext}.knotmap.h5"
        r = run_ok("process", src, "-o", out, "--quiet")
        assert "assum" not in r.stderr, (ext, r.stderr)
        got[ext] = session_attrs(out)
    for ext in ("asf", "csv", "wav"):
        assert got[ext] == got["h5"], ext
    assert got["h5"]["assumed"] == ""


def test_tekscan_comment_mode_is_read_and_an_option_wins(tmp_path):
    src = tmp_path / "r.asf"
    run_ok("synth", "--duration", "1", "--roller-radius", "40", "-o", src)
    r = run_ok("info", src)
    assert "mode:         roller" in r.stdout and "radius 40 mm" in r.stdout
    assert "assumed:      nothing" in r.stdout and "warning" not in r.stderr
    r = run_ok("info", src, "--mode", "mat", "--roller-radius", "30")
    assert "mode:         mat" in r.stdout and "assumed:      nothing" in r.stdout
    r = run_ok("info", src, "--roller-radius", "30")
    assert "radius 30 mm" in r.stdout


def test_tekscan_comment_with_a_bad_mode_names_the_line(tmp_path):
    src = tmp_path / "r.asf"
    run_ok("synth", "--duration", "1", "-o", src)
    bad = tmp_path / "bad.asf"
    bad.write_bytes(src.read_bytes().replace(b"mode=roller", b"mode=rollr"))
    r = run("process", bad, "-o", tmp_path / "out.h5")
    assert r.returncode == 65, r.stderr
    assert f"{bad}: line 12: comment: mode=rollr is not mat or roller" in r.stderr
    assert not (tmp_path / "out.h5").exists()


def test_a_comment_that_is_not_knotmaps_says_nothing(tmp_path):
    src = tmp_path / "r.asf"
    run_ok("synth", "--duration", "1", "-o", src)
    other = tmp_path / "other.asf"
    other.write_bytes(src.read_bytes().replace(b"knotmap export mode=roller", b"walk mode=roller"))
    r = run_ok("info", other)
    assert "mode:         mat" in r.stdout and "assumed:      mode" in r.stdout


@pytest.mark.parametrize("opts", [["--mode", "roller"], ["--mode", "roller", "--preset", "hard"],
                                  ["--mode", "mat", "--model", "2", "--seed", "3"]])
def test_the_hdf5_session_keeps_the_saturation(tmp_path, opts):
    """synth's .h5 writes the root attribute `saturation` (docs/FORMAT.md 1.2) and
    reads back what its Tekscan export says (SATURATION_PRESSURE); before session
    27 the .h5 read back +inf while the .asf kept 300 kPa."""
    got = {}
    for ext in ("h5", "asf"):
        src = tmp_path / f"s.{ext}"
        run_ok("synth", "--duration", "1", *opts, "-o", src)
        out = tmp_path / f"s_{ext}.knotmap.h5"
        run_ok("process", src, "-o", out, "--quiet")
        with h5py.File(out) as f:
            got[ext] = f["session"].attrs["saturation"]
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["saturation"] == got["h5"]
    assert got["h5"] == got["asf"] and 0 < got["h5"] < float("inf")


def test_a_session_without_the_saturation_attribute_reads_as_before(tmp_path):
    from km_cli import EXAMPLE
    out = tmp_path / "e.knotmap.h5"
    run_ok("process", EXAMPLE, "-o", out, "--quiet")
    with h5py.File(EXAMPLE) as f:
        assert "saturation" not in f.attrs
    with h5py.File(out) as f:
        assert f["session"].attrs["saturation"] == float("inf")
