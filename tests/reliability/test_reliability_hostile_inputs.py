"""Hostile inputs found by hand in session 46 (hostile3), beside the HDF5
chunks of test_reliability_hostile_chunks.py: what a line of an XSENSOR
export may hold, and what `synth -o` may replace.

A line of a text export is read into a buffer that grows while the line
lasts, up to 64 MiB (a frame's 16 Mi values: docs/FORMAT.md 1.4); once a
file has said its grid, a line holds at most that grid's values and labels,
and a longer one is refused when it first outgrows the 64 KiB buffer.
Tekscan and text tables bound their lines so since session 43; XSENSOR did
not: a data row of 2 MB under `Columns,3` filled the buffer to 4 MiB (a row
of 64 MB to 137 MB of memory) before it was refused.  The words are checked,
not the memory, so the tests hold under AddressSanitizer too.
"""
import pathlib
import subprocess

import pytest

from km_reliability import REPO as _REPO, h5py, write_session  # noqa: F401  (h5py: skips without it)

BLOCK = (b"XSENSOR Technology Corporation\nSensor,LX100\nRows,2\nColumns,3\n"
         b"Sensel Width (cm),1.27\nSensel Height (cm),1.27\nUnits,mmHg\n\n"
         b"Frame,1\nTime,10:00:00.000\n1,2,3\n4,5,6\n\nFrame,2\nTime,10:00:00.100\n")
REPO = pathlib.Path(_REPO)
WIDE = (b"Frame,Time,S_1_1,S_1_2,S_2_1,S_2_2\n1,10:00:00.000,1,2,3,4\n"
        b"2,10:00:00.010,")


def run(knotmap_bin, *args, cwd=None):
    return subprocess.run([knotmap_bin, *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


@pytest.mark.parametrize("layout, head, line, holds", [("block", BLOCK, 16, 5), ("wide", WIDE, 3, 32)])
def test_xsensor_line_bound_by_its_columns(knotmap_bin, tmp_path, layout, head, line, holds):
    """A row of 1 Mi values where the export's columns hold 3 (block:
    `Columns,3`) or 6 (wide: six named columns) is refused at its first
    64 KiB, naming the line and what a line of the file holds (before: read
    on to 4 MiB of buffer, "more than 16777218 values" past 64 MiB)."""
    src = tmp_path / f"{layout}.csv"
    src.write_bytes(head + b"1," * (1 << 20) + b"\n")
    for cmd in ("info", "process"):
        args = [cmd, src] + (["-q", "-o", tmp_path / "o.knotmap.h5"] if cmd == "process" else [])
        r = run(knotmap_bin, *args, cwd=tmp_path)
        assert r.returncode == 65, (cmd, r.stderr)
        assert r.stderr.startswith(f"knotmap: {src}: line {line}: more than {holds} values in its first "), r.stderr
        assert "a line of this file holds at most" in r.stderr, r.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]


def test_xsensor_rows_of_its_columns_still_read(knotmap_bin, tmp_path):
    """A wide export's long lines within their columns read as before."""
    names = ",".join(f"S_{i // 200 + 1}_{i % 200 + 1}" for i in range(200 * 60))
    vals = ",".join(["7"] * (200 * 60))
    wide = tmp_path / "w.csv"      # 12000 columns: lines of 70-90 KiB
    wide.write_text(f"Frame,Time,{names}\n1,10:00:00.000,{vals}\n2,10:00:00.010,{vals}\n")
    r = run(knotmap_bin, "info", wide)
    assert r.returncode == 0, r.stderr
    assert "60 x 200" in r.stdout, r.stdout


def test_text_line_bound_by_the_grid_given(knotmap_bin, tmp_path):
    """`--grid 4x4` on a text table whose first line is 1 Mi values: refused
    at its first 64 KiB (before: the line read to 4 MiB of buffer first, the
    grid of 16 values known; 137 MB on a 256 MB line); a line of the grid's
    values with a time and an index beside it still reads."""
    src = tmp_path / "t.csv"
    src.write_bytes(b"1," * (1 << 20) + b"1\n")
    r = run(knotmap_bin, "info", "--grid", "4x4", src)
    assert r.returncode == 65, r.stderr
    assert r.stderr.startswith(f"knotmap: {src}: line 1: more than 20 values in its first "), r.stderr
    ok = tmp_path / "ok.csv"
    ok.write_text("index,time," + ",".join("t%d" % i for i in range(16)) + "\n"
                  + "".join("%d,%g,%s\n" % (k, k / 10, ",".join(["5"] * 16)) for k in range(3)))
    r = run(knotmap_bin, "info", "--grid", "4x4", ok)
    assert r.returncode == 0, r.stderr
    assert "4 x 4" in r.stdout, r.stdout


def test_synth_never_replaces_a_recorded_session(knotmap_bin, tmp_path):
    """A session in knotmap's format that synth did not write (no /truth: a
    recording saved with h5py) is kept: exit 73, the file untouched (before:
    replaced by a synthetic session, exit 0).  synth's own output is still
    replaced by the next synth, and --no-overwrite refuses even that."""
    rec = write_session(tmp_path / "rec.h5", 50, rows=8, cols=8)
    before = rec.read_bytes()
    r = run(knotmap_bin, "synth", "--duration", "1", "-o", rec)
    assert r.returncode == 73, r.stderr
    assert r.stderr == (f"knotmap: {rec}: exists and is a recorded session (no /truth: knotmap synth "
                        "did not write it): not replacing it\n"), r.stderr
    assert rec.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.h5"]
    syn = tmp_path / "syn.h5"
    for seed in ("1", "2"):
        r = run(knotmap_bin, "synth", "--duration", "1", "--seed", seed, "-o", syn)
        assert r.returncode == 0, r.stderr
    r = run(knotmap_bin, "synth", "--duration", "1", "--no-overwrite", "-o", syn)
    assert r.returncode == 73 and "exists" in r.stderr, r.stderr


@pytest.mark.skipif(__import__("os").environ.get("HDF5_USE_FILE_LOCKING", "").upper() == "FALSE",
                    reason="HDF5 file locking turned off in this environment")
def test_a_file_another_program_writes_is_in_use_not_damaged(knotmap_bin, tmp_path):
    """A session or result that another program holds open for writing (h5py
    "a": HDF5's file lock) is said to be in use, exit 74, never "truncated or
    damaged file?" (exit 65, before: a recording still being written looked
    damaged), and as an output it is not replaced (exit 73: what that
    program writes would be lost with the replaced inode), --resume or not."""
    src = write_session(tmp_path / "s.h5", 50, rows=8, cols=8)
    res = tmp_path / "r.knotmap.h5"
    r = run(knotmap_bin, "process", "-q", src, "-o", res)
    assert r.returncode == 0, r.stderr
    kept = res.read_bytes()
    in_use = "in use: another program has it open for writing (HDF5's file lock)"
    with h5py.File(src, "a"), h5py.File(res, "a"):
        for args, path in ((["info", src], src), (["process", "-q", src, "-o", tmp_path / "n.h5"], src),
                           (["info", res], res), (["render", res, "-o", tmp_path / "m.svg"], res),
                           (["report", res, "-o", tmp_path / "r.html"], res)):
            r = run(knotmap_bin, *args)
            assert r.returncode == 74, (args, r.stderr)
            assert r.stderr == f"knotmap: {path}: {in_use}\n", r.stderr
        other = write_session(tmp_path / "o.h5", 50, rows=8, cols=8)
        # with --resume too (session 46, the lead: was "exists but is not a complete
        # knotmap result (..., damaged or foreign)"), and --replace-incomplete never
        # replaces a file another program is writing
        for extra in ([], ["--resume"], ["--resume", "--replace-incomplete"]):
            r = run(knotmap_bin, "process", "-q", *extra, other, "-o", res)
            assert r.returncode == 73, (extra, r.stderr)
            assert r.stderr == f"knotmap: {res}: {in_use}: not replacing it\n", (extra, r.stderr)
    assert res.read_bytes() == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.h5", "r.knotmap.h5", "s.h5"]


@pytest.mark.parametrize("name", ["root-header-no-type-attr-memcpy-overflow.h5",
                                  "root-header-no-type-attr-name-strdup-overflow.h5"])
@pytest.mark.parametrize("cmd", ["info", "process"])
def test_a_root_group_libhdf5_cannot_type_is_refused_before_its_attributes(knotmap_bin, tmp_path, name, cmd):
    """Session 47's campaign (fuzz_session): a root object header (version 1)
    whose messages make it neither group nor dataset, with a damaged
    attribute message behind two continuation blocks.  H5Oget_info fails on
    it ("unable to determine object type"), so h5_attr_check.c's walk was
    skipped, and H5Aexists then decoded the attribute messages unchecked:
    heap-buffer-overflows in memcpy and H5MM_strdup under H5O__attr_exists
    (ASan); the plain build read on and said "attribute schema_version is
    missing".  Now such a header is refused before any attribute look-up."""
    src = REPO / "tests" / "fuzz" / "regressions" / "session" / name
    out = tmp_path / "out"
    out.mkdir()
    r = run(knotmap_bin, cmd, src, *(["-q", "-o", out] if cmd == "process" else []))
    assert r.returncode == 65, r.stderr
    assert (f"{src}: the object header of / is damaged (unable to determine object type): refused before "
            "libhdf5 reads its attributes") in r.stderr, r.stderr
    assert list(out.iterdir()) == []
