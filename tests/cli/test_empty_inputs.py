"""Inputs that hold no data, and runs that write nothing (session 25, the
first-hour pass): a session whose /frames has no frames or no taxels, an
audio file without samples, and an output folder that a failed run made.

Each fails with exit status 65 (bad data: the file's own shape, not an
option) and one line naming the file and what is missing, as an empty
text, Tekscan or XSENSOR file already does; no result file is written and no
output folder made by the run is left behind.
"""
import wave

import h5py
import numpy as np
import pytest

import km_cli
from km_cli import EXAMPLE, SESSION_ATTRS


def _session(path, shape, schema=True):
    with h5py.File(path, "w") as f:
        f.create_dataset("frames", data=np.zeros(shape, np.float32))
        if schema:
            f.attrs.update(SESSION_ATTRS)
    return path


def _error_line(r):
    lines = [ln for ln in r.stderr.splitlines() if "warning:" not in ln]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.mark.parametrize("schema", [True, False])
def test_session_without_frames_is_bad_data(tmp_path, schema):
    src = _session(tmp_path / "none.h5", (0, 4, 5), schema)
    for cmd in (["process", src, "-o", tmp_path / "out.h5"], ["info", src]):
        r = km_cli.run(*cmd, "--format", "session", cwd=tmp_path)
        assert r.returncode == 65, (cmd[0], r.returncode, r.stderr)
        line = _error_line(r)
        assert line.startswith("knotmap: %s: " % src), line
        assert "/frames" in line and "no frames" in line, line
    assert not (tmp_path / "out.h5").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["none.h5"]


@pytest.mark.parametrize("shape", [(3, 0, 4), (3, 4, 0), (0, 0, 0)])
def test_session_without_taxels_is_bad_data_not_usage(tmp_path, shape):
    # The grid comes from the file, not from an option: 65, and the message
    # says which dataset, not a bare "grid: grid 0x4 is empty" (was 64).
    src = _session(tmp_path / "flat.h5", shape)
    r = km_cli.run("process", src, "-o", tmp_path / "out.h5", cwd=tmp_path)
    assert r.returncode == 65, r.stderr
    line = _error_line(r)
    assert line.startswith("knotmap: %s: /frames" % src), line
    assert "no taxels" in line, line
    assert "x".join(map(str, shape)).replace("x", " x ") in line, line
    assert not (tmp_path / "out.h5").exists()


def test_audio_without_samples_is_bad_data(tmp_path):
    src = tmp_path / "silence.wav"
    with wave.open(str(src), "wb") as w:
        w.setnchannels(4)
        w.setsampwidth(2)
        w.setframerate(100)
        w.writeframes(b"")
    r = km_cli.run("process", src, "--grid", "2x2", "-o", tmp_path / "out.h5", cwd=tmp_path)
    assert r.returncode == 65, r.stderr
    line = _error_line(r)
    assert line.startswith("knotmap: %s: " % src) and "no frames" in line, line
    assert not (tmp_path / "out.h5").exists()


def test_an_empty_grid_option_is_still_usage(tmp_path):
    r = km_cli.run("process", EXAMPLE, "--grid", "0x4", "-o", tmp_path / "out.h5")
    assert r.returncode == 64, r.stderr
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("case", ["missing", "bad data", "clash"])
def test_failed_run_leaves_no_output_folder(tmp_path, case):
    # `-o results/` makes the folder; a run that writes nothing into it must
    # not leave it behind (before: an empty folder after exit 64, 65 or 66).
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "a" / "x.h5").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "b" / "x.h5").write_bytes(EXAMPLE.read_bytes())
    inputs = {"missing": ["nothere.asf"], "bad data": ["empty.txt"],
              "clash": ["a/x.h5", "b/x.h5"]}[case]
    want = {"missing": 66, "bad data": 65, "clash": 64}[case]
    r = km_cli.run("process", "-q", *inputs, "-o", "results/", cwd=tmp_path)
    assert r.returncode == want, r.stderr
    assert not (tmp_path / "results").exists(), sorted((tmp_path / "results").iterdir())


def test_existing_output_folder_is_kept_and_a_partial_batch_keeps_its_results(tmp_path):
    keep = tmp_path / "kept"
    keep.mkdir()
    r = km_cli.run("process", "-q", "nothere.asf", "-o", "kept/", cwd=tmp_path)
    assert r.returncode == 66, r.stderr
    assert keep.is_dir() and list(keep.iterdir()) == []
    # one good input and one missing: the folder and the good result stay
    (tmp_path / "good.h5").write_bytes(EXAMPLE.read_bytes())
    r = km_cli.run("process", "-q", "good.h5", "nothere.asf", "-o", "made/", cwd=tmp_path)
    assert r.returncode == 66, r.stderr
    assert [p.name for p in (tmp_path / "made").iterdir()] == ["good.knotmap.h5"]
    with h5py.File(tmp_path / "made" / "good.knotmap.h5") as f:
        assert f.attrs["complete"] == 1


def test_pipe_input_is_refused_with_a_message(tmp_path):
    # `knotmap process <(zcat s.txt.gz)` or `... | knotmap process /dev/stdin`:
    # the readers sniff the head, then reopen and seek, so a pipe read before
    # as "empty file" (text), "'Frame' before the ASCII_DATA line" (Tekscan)
    # or worse.  Now one line naming the path and what to do, exit 66.
    # (A FIFO nobody writes is refused at once: below.)
    import subprocess
    text = b"1 2 3\n4 9 6\n7 8 9\n"
    r = subprocess.run([str(km_cli.BIN), "process", "-q", "/dev/stdin", "-o", "out.h5"],
                       input=text, capture_output=True, cwd=tmp_path, timeout=km_cli.TIMEOUT_S)
    assert r.returncode == 66, r.stderr
    assert r.stderr.decode() == ("knotmap: /dev/stdin: a pipe, not a file: knotmap reads its "
                                 "input more than once (save it to a file first)\n")
    assert not (tmp_path / "out.h5").exists()
    # the same data from a file given as stdin reads
    (tmp_path / "m.txt").write_bytes(text)
    with open(tmp_path / "m.txt", "rb") as f:
        r = subprocess.run([str(km_cli.BIN), "process", "-q", "/dev/stdin", "-o", "out.h5"],
                           stdin=f, capture_output=True, cwd=tmp_path, timeout=km_cli.TIMEOUT_S)
    assert r.returncode == 0, r.stderr
    with h5py.File(tmp_path / "out.h5") as f:
        np.testing.assert_array_equal(f["frames"]["max"][()],
                                      np.array([[1, 2, 3], [4, 9, 6], [7, 8, 9]], np.float32))


def test_longest_output_name_gets_a_temporary_that_fits(tmp_path):
    # 255 bytes is the longest name a Linux folder takes; the temporary
    # ".<name>.tmp-XXXXXX" was 13 bytes longer, so a legal -o name failed
    # with "cannot create a file in its folder: File name too long" (73).
    (tmp_path / "m.txt").write_bytes(b"1 2 3\n4 9 6\n7 8 9\n")
    for name in ("k" * 252 + ".h5", "\u00e9" * 126 + ".h5"):   # 255 bytes each
        assert len(name.encode()) == 255
        r = km_cli.run("process", "-q", "m.txt", "-o", name, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        with h5py.File(tmp_path / name) as f:
            assert f.attrs["complete"] == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("cmd", ["info", "process"])
def test_a_fifo_nobody_writes_is_refused_at_once(tmp_path, cmd):
    """`knotmap info FIFO` (or process) with nobody writing waited in open() for ever
    (until session 41; the timeout below is only the hang's guard): refused now as any
    pipe, exit 66, nothing written."""
    import os
    import subprocess
    fifo = tmp_path / "p.h5"
    os.mkfifo(fifo)
    args = [cmd, str(fifo)] + (["-q", "-o", "out.h5"] if cmd == "process" else [])
    try:
        r = km_cli.run(*args, cwd=tmp_path, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("%s waited on a FIFO nobody writes" % cmd)
    assert r.returncode == 66, r.stderr
    assert r.stderr == ("knotmap: %s: a pipe, not a file: knotmap reads its input more than "
                        "once (save it to a file first)\n" % fifo)
    assert r.stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == ["p.h5"]


@pytest.mark.parametrize("dev, fmt", [("/dev/zero", "text"), ("/dev/zero", "tekscan"),
                                      ("/dev/urandom", "auto"), ("/dev/null", "auto")])
def test_a_device_is_refused_not_read(tmp_path, dev, fmt):
    """`info --format text /dev/zero` read NUL bytes until the 512 MiB line limit (1.1 GB of
    memory, exit 65) until session 41; /dev/null said "empty file". A device is not a
    recording: refused before it is read, exit 66."""
    import os
    if not os.path.exists(dev):
        pytest.skip("no " + dev)
    r = km_cli.run("info", "--format", fmt, dev, cwd=tmp_path)
    assert r.returncode == 66, r.stderr
    assert r.stderr == ("knotmap: %s: not a file but a character device: knotmap reads "
                        "recordings saved as files\n" % dev)
    assert r.stdout == ""


@pytest.mark.parametrize("name, fmt", [("s.h5", None), ("s.npy", None), ("s.npz", None),
                                       ("s.mat", None), ("s.wav", None), ("s.asf", None),
                                       ("s.csv", None), ("s.csv", "session")])
def test_a_file_of_0_bytes_is_said_empty_whatever_its_name(tmp_path, name, fmt):
    """A recording of 0 bytes (a copy that failed, a download cut at once): every reader says
    it is empty, exit 65, nothing written; before session 46 the name chose the words ("not an
    HDF5 file (no HDF5 signature)", "not a NumPy .npy file (no \\x93NUMPY magic)", ...) and only
    a text file said "empty file"."""
    src = tmp_path / name
    src.write_bytes(b"")
    opts = ["--format", fmt] if fmt else []
    for cmd in ("info", "process"):
        args = [cmd, *opts, str(src)] + (["-q", "-o", "out.h5"] if cmd == "process" else [])
        r = km_cli.run(*args, cwd=tmp_path)
        assert r.returncode == 65, r.stderr
        assert _error_line(r) == "knotmap: %s: empty file (0 bytes): nothing recorded in it" % src
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
