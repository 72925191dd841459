"""What real exporters write, third file (test_real_exports.py and test_real_exports2.py hold
the first ones): each variant must read with the right values, times and units, or be refused
naming the file, the line and what to do, never read as something else.

Session 48 (fmt4): pandas' to_csv of two-level columns (a MultiIndex named row and col: refused
at line 1's 'row' before, and read with its two lines of labels as two frames when written with
index=False); a table of dates without an extension (format not recognised before); a MAT-file's
or .npz archive's time vector named t, times, timestamps or time_s (ignored before: 1 Hz assumed);
an audio comment's units in another case, with blanks around '=' or in two words (read as raw,
or refused, before). Run:
    KNOTMAP_BIN=build/knotmap PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/io/test_real_exports3.py
"""
import struct
import subprocess

import numpy as np
import pytest

from test_real_exports import BIN, read, refused  # the same checks as the first file

knotmap = pytest.importorskip("knotmap")
pd = pytest.importorskip("pandas")
scipy_io = pytest.importorskip("scipy.io")

T, R, C = 6, 2, 3
FRAMES = (np.arange(T * R * C).reshape(T, R, C) * 1.5).astype("f4")
TIMES = np.arange(T) * 0.01


def _levels(names=("row", "col"), pairs=None):
    pairs = pairs if pairs is not None else [(r, c) for r in range(R) for c in range(C)]
    return pd.MultiIndex.from_tuples(pairs, names=list(names))


def _frame(columns=None, index_name="time"):
    return pd.DataFrame(FRAMES.reshape(T, -1), columns=columns if columns is not None else _levels(),
                        index=pd.Index(TIMES, name=index_name))


def _cli(path, *opts):
    r = subprocess.run([str(BIN), "info", *opts, str(path)], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


# ------------------------------------------- pandas' two-level columns (MultiIndex)


@pytest.mark.parametrize("kw,index_name", [
    ({}, "time"),                            # row, col, then the index's name over empty fields
    ({"sep": ";", "decimal": ","}, "time"),  # a European spreadsheet's
    ({"sep": "\t"}, "time"),
    ({}, None),                              # an unnamed index: no third line, its labels dropped
])
def test_column_levels_row_and_col_give_the_grid(tmp_path, kw, index_name):
    # refused before: "line 1: non-numeric value 'row' in column 1"
    p = tmp_path / "mi.csv"
    _frame(index_name=index_name).to_csv(p, **kw)
    s = read(p)  # no grid given: the levels say it
    assert s.frames.shape == (T, R, C)
    assert np.array_equal(s.frames, FRAMES)
    if index_name == "time":
        assert s.time.tolist() == pytest.approx(TIMES.tolist(), abs=1e-12)
        assert s.metadata["frame_rate_hz"] == pytest.approx(100.0)
    assert "text_layout" not in s.metadata["assumed"]
    assert "levels 'row' and 'col': 2 x 3 taxels" in s.metadata["source_header"]["columns"]


def test_column_levels_y_x_and_dates(tmp_path):
    p = tmp_path / "mi.csv"
    df = _frame(columns=_levels(("y", "x")))
    df.index = pd.date_range("2026-01-01 12:00", periods=T, freq="10ms", name="time")
    df.to_csv(p)
    s = read(p)
    assert np.array_equal(s.frames, FRAMES) and s.metadata["frame_rate_hz"] == pytest.approx(100.0)


def test_column_levels_and_a_grid_given(tmp_path):
    p = tmp_path / "mi.csv"
    _frame().to_csv(p)
    assert read(p, grid=(R, C)).frames.shape == (T, R, C)
    refused(p, 64, "the grid given (3x2) conflicts with the file's own grid 2x3", opts=("--grid", "3x2"))


@pytest.mark.parametrize("columns,words", [
    (_levels((None, None)), ["line 1: two lines of column names", "its levels have no names",
                             "df.columns.names = ['row', 'col']"]),
    (_levels(("sensor", "channel")), ["line 1:", "named 'sensor' and 'channel', not row and col",
                                      "df.columns = range(df.shape[1])"]),
    (_levels(("col", "row"), [(c, r) for c in range(C) for r in range(R)]),
     ["line 1:", "col and row, the taxels column by column", "reorder_levels"]),
    (_levels(("row", "col"), [(r, c) for r in range(R) for c in range(C)][::-1]),
     ["line 1:", "do not number every taxel once, row by row", "df.sort_index(axis=1)"]),
])
def test_column_levels_knotmap_cannot_place_are_refused_saying_what_to_do(tmp_path, columns, words):
    p = tmp_path / "mi.csv"
    _frame(columns=columns).to_csv(p)
    refused(p, 65, *words)


def test_column_levels_without_their_names_are_not_read_as_frames(tmp_path):
    # to_csv(index=False) writes the levels' labels without names: they were two frames more
    p = tmp_path / "mi.csv"
    _frame().to_csv(p, index=False)
    refused(p, 65, "lines 1-2: two lines of labels that number rows and columns", "to_csv(header=False)",
            opts=("--grid", "2x3"))
    _frame().to_csv(p, index=False, header=False)  # what it says to do
    assert np.array_equal(read(p, grid=(R, C)).frames, FRAMES)


# --------------------------------------------- a table of dates without an extension


@pytest.mark.parametrize("name,kw", [("export", {}), ("export", {"sep": ";", "decimal": ","}),
                                     ("export.txt", {"sep": "\t"}), ("export.dat", {})])
def test_a_table_of_dates_is_sniffed_as_text_whatever_its_name(tmp_path, name, kw):
    # "format not recognised (give it with --format: ...)" without an extension
    p = tmp_path / name
    df = pd.DataFrame(FRAMES.reshape(T, -1), index=pd.date_range("2026-01-01 12:00", periods=T, freq="10ms",
                                                                   name="time"))
    df.to_csv(p, **kw)
    rc, out, err = _cli(p, "--grid", "2x3")
    assert rc == 0, err
    assert "format:       text" in out and "rate:         100 Hz" in out
    assert np.array_equal(read(p, grid=(R, C)).frames, FRAMES)


# ------------------------------------------- MAT-file and .npz time vectors by other names


def _save(kind, path, **arrays):
    if kind == "mat":
        scipy_io.savemat(path, arrays)
    else:
        np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("kind", ["mat", "npz"])
@pytest.mark.parametrize("name", ["t", "times", "timestamps", "time_s"])
def test_a_time_vector_named_like_time_gives_the_times(tmp_path, kind, name):
    # ignored before: 1 Hz assumed, the time axis guessed
    p = _save(kind, tmp_path / ("f." + kind), frames=FRAMES, **{name: TIMES + 5.0})
    s = read(p)
    assert s.time.tolist() == pytest.approx((TIMES + 5.0).tolist(), abs=1e-12)
    assert s.metadata["frame_rate_hz"] == pytest.approx(100.0)
    assumed = s.metadata["assumed"].split(",")
    assert "time_name" in assumed and "frame_rate_hz" not in assumed and "time_axis" not in assumed
    assert s.metadata["source_header"]["time from"] == name
    rc, out, err = _cli(p)
    assert rc == 0 and "no `time` vector in the file" in err and "time_name" in out, err


@pytest.mark.parametrize("kind", ["mat", "npz"])
def test_a_time_vector_named_like_time_that_does_not_fit_is_not_the_times(tmp_path, kind):
    p = _save(kind, tmp_path / ("f." + kind), frames=FRAMES, t=np.arange(T + 1) * 0.01)
    s = read(p)
    assert "time_name" not in s.metadata["assumed"] and "frame_rate_hz" in s.metadata["assumed"]


@pytest.mark.parametrize("kind", ["mat", "npz"])
def test_two_time_vectors_that_disagree_are_refused(tmp_path, kind):
    p = _save(kind, tmp_path / ("f." + kind), frames=FRAMES, t=TIMES, times=TIMES * 2)
    refused(p, 65, "t and times are both named like the frames' times", "disagree")
    p = _save(kind, tmp_path / ("g." + kind), frames=FRAMES, t=TIMES, time=TIMES * 2)  # `time` wins
    assert read(p).time.tolist() == pytest.approx((TIMES * 2).tolist())


# ----------------------------------------------------------- audio comments' units


def _wav(path, comment, channels=R * C, frames=T):
    data = b"".join(struct.pack("<f", float(v)) for v in FRAMES.reshape(-1)[: channels * frames])
    fmt = struct.pack("<HHIIHH", 3, channels, 100, 100 * channels * 4, channels * 4, 32)
    c = comment.encode() + b"\0"
    c += b"\0" * (len(c) % 2)
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(c)) + c
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", len(info)) + info
    chunks += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    return path


@pytest.mark.parametrize("words,units,scale", [
    ("units=KPA", "kPa", 1.0),          # read as raw before, without a word
    ("Units=mmHg", "mmHg", 1.0),        # the key in another case: ignored before
    ("units = kPa", "kPa", 1.0),        # blanks around '=': ignored before
    ("UNITS= mmhg", "mmHg", 1.0),
    ("units =N/cm2", "N/cm2", 1.0),
    ("units=N/sq cm", "N/cm2", 1.0),    # a unit of two words: refused before ('N/sq')
    ("units = N/sq cm", "N/cm2", 1.0),
    ("units=psi", "kPa", 6.894757293168361),  # refused before: "not one of kPa, mmHg, N/cm2, raw"
])
def test_audio_comment_units_in_any_spelling(tmp_path, words, units, scale):
    p = _wav(tmp_path / "a.wav", "knotmap grid=2x3 %s Mode=Roller rate=100" % words)
    s = read(p)
    assert s.metadata["units"] == units and "units" not in s.metadata["assumed"]
    assert s.metadata["mode"] == "roller"
    assert np.allclose(s.frames, (FRAMES.astype("f8") * scale).astype("f4"), rtol=1e-6)


def test_audio_comment_units_not_a_unit_names_the_list(tmp_path):
    p = _wav(tmp_path / "a.wav", "knotmap grid=2x3 units=bar")
    refused(p, 65, "comment: units=bar is not a unit knotmap reads (kPa, mmHg, N/cm2, psi, Pa, MPa or raw)")


# ------------------------------------------- spreadsheet exports without an extension


def _plain(tmp_path, name, **kw):
    df = pd.DataFrame(FRAMES.reshape(T, -1), index=pd.Index(TIMES, name="time"))
    p = tmp_path / name
    if kw.pop("hint", False):
        p.write_text("sep=;\n" + df.to_csv(sep=";", decimal=","))
    else:
        df.to_csv(p, **kw)
    return p


@pytest.mark.parametrize("kw", [
    {"hint": True},                                      # Excel's "sep=;" first line: not recognised before
    {"sep": ";", "decimal": ","},                        # European Excel
    {"encoding": "utf-8-sig"},                           # a byte order mark
    {"encoding": "utf-16", "sep": "\t"},                 # Excel's "Unicode text"
    {"lineterminator": "\r\n"},
])
def test_spreadsheet_exports_without_an_extension_are_sniffed_as_text(tmp_path, kw):
    p = _plain(tmp_path, "export", **kw)
    s = read(p, grid=(R, C))
    assert np.array_equal(s.frames, FRAMES) and s.metadata["frame_rate_hz"] == pytest.approx(100.0)


def test_column_levels_without_an_extension_are_sniffed_as_text(tmp_path):
    # not recognised before
    p = tmp_path / "export"
    _frame().to_csv(p)
    rc, out, err = _cli(p)
    assert rc == 0 and "format:       text" in out and "grid:         2 x 3" in out, err


@pytest.mark.parametrize("dtype", ["float16", "int16", "uint16", ">u2"])
def test_npy_of_small_dtypes_reads_exactly(tmp_path, dtype):
    # what a logger saves to keep files small: read exactly, the time axis said (time_axis)
    a = FRAMES.astype(dtype)
    np.save(tmp_path / "a.npy", a)
    s = read(tmp_path / "a.npy", time_axis="first")
    assert s.frames.shape == (T, R, C) and np.array_equal(s.frames, a.astype("f4"))
    assert "time_axis" not in s.metadata["assumed"]


def test_names_alike_over_a_line_of_units_are_not_column_levels(tmp_path):
    # a logger's repeated names over its units line: one line of names, as before the levels
    p = tmp_path / "log.csv"
    p.write_text("time," + ",".join(["p"] * (R * C)) + "\ns," + ",".join(["kPa"] * (R * C)) + "\n"
                 + "".join("%g,%s\n" % (TIMES[k], ",".join("%g" % v for v in FRAMES[k].ravel())) for k in range(T)))
    s = read(p, grid=(R, C))
    assert np.array_equal(s.frames, FRAMES) and s.metadata["units"] == "kPa"
