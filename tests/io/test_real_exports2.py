"""What real exporters write, second file (test_real_exports.py is full): each variant must
read with the right values, times and units, or be refused naming the file, the line or key
and what to do, never read as something else.

Session 47 (fmt3): pandas' DatetimeIndex and TimedeltaIndex in a table's time column (refused
before: "a date or time of day?"); an XSENSOR time whose parentheses name no time unit (`Time
(local)`: read as seconds without a word before); the `units` attribute of another tool's
`/frames` recorded (`--units psi` on it said it conflicts with "kPa"); `--override` with
another unit reads the file's numbers exactly (a Tekscan PSI export given `--units MPa
--override` read 3000.0002 for 3000). Run:
    KNOTMAP_BIN=build/knotmap PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/io/test_real_exports2.py
"""
import subprocess

import numpy as np
import pytest

from test_real_exports import BIN, read, refused  # the same checks as the first file

knotmap = pytest.importorskip("knotmap")
h5py = pytest.importorskip("h5py")

PSI = 6.894757293168361


# ------------------------------------------------- pandas' dates in a time column

FRAMES = np.arange(5 * 4).reshape(5, 4)


def _table(tmp_path, first, labels, sep=",", name="d.csv", index=None):
    lines = [sep.join([first] + [str(k) for k in range(4)])]
    for k, lab in enumerate(labels):
        row = ([str(index[k])] if index is not None else []) + [lab] + [str(v) for v in FRAMES[k]]
        lines.append(sep.join(row))
    if index is not None:
        lines[0] = sep + lines[0]
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


MS = ["2026-01-01 23:59:59.980", "2026-01-01 23:59:59.990", "2026-01-02 00:00:00.000",
      "2026-01-02 00:00:00.010", "2026-01-02 00:00:00.020"]


@pytest.mark.parametrize("first,labels,sep,index,t0,step", [
    ("time", MS, ",", None, 86399.98, 0.01),                        # DatetimeIndex named time, over midnight
    ("", MS, ",", None, 86399.98, 0.01),                            # unnamed: its dates were dropped unread
    ("time", MS, ",", range(5), 86399.98, 0.01),                    # reset_index(): index beside the time column
    ("time", MS, ";", None, 86399.98, 0.01),                        # sep=";"
    ("timestamp", MS, ",", None, 86399.98, 0.01),
    ("Date Time", [m.replace(" ", "T") + "Z" for m in MS], ",", None, 86399.98, 0.01),  # ISO 8601, UTC
    ("time", ["2026-01-01 00:00:%02d+01:00" % k for k in range(5)], ",", None, -3600.0, 1.0),  # tz-aware
    ("time", ["2026-01-%02d" % (k + 1) for k in range(5)], ",", None, 0.0, 86400.0),  # daily: dates alone
    ("time", ["0 days 00:00:00"] + ["0 days 00:00:00.%06d" % (k * 10000) for k in range(1, 5)], ",", None,
     0.0, 0.01),                                                    # TimedeltaIndex
    ("time", ["-1 days +23:59:59.980000", "-1 days +23:59:59.990000", "0 days 00:00:00",
              "0 days 00:00:00.010000", "0 days 00:00:00.020000"], ",", None, -0.02, 0.01),
])
def test_pandas_dates_in_the_time_column_are_its_times(tmp_path, first, labels, sep, index, t0, step):
    # refused before: "line 2: non-numeric value '2026-01-01' in column 1 (a date or time of day? ...)"
    p = _table(tmp_path, first, labels, sep, index=index)
    s = read(p, grid=(2, 2))
    assert s.time.tolist() == pytest.approx([t0 + k * step for k in range(5)], abs=1e-9)
    assert s.metadata["frame_rate_hz"] == pytest.approx(1 / step, rel=1e-9)
    assert "frame_rate_hz" not in s.metadata["assumed"].split(",")
    assert s.frames.reshape(5, 4).tolist() == FRAMES.tolist()


def test_pandas_to_csv_of_a_datetime_index(tmp_path):
    pd = pytest.importorskip("pandas")
    idx = pd.date_range("2026-03-29 00:59:59.5", periods=5, freq="250ms", name="time", tz="Europe/Berlin")
    df = pd.DataFrame(FRAMES, index=idx)
    for kw, name in (({}, "a.csv"), ({"sep": ";", "decimal": ","}, "b.csv"), ({"sep": "\t"}, "c.tsv")):
        df.to_csv(tmp_path / name, **kw)
        s = read(tmp_path / name, grid=(2, 2))
        assert s.metadata["frame_rate_hz"] == pytest.approx(4.0), name  # over the DST change: +01:00 to +02:00
        assert np.diff(s.time).tolist() == pytest.approx([0.25] * 4), name
        assert s.frames.reshape(5, 4).tolist() == FRAMES.tolist(), name
    df.reset_index().to_csv(tmp_path / "d.csv")  # a RangeIndex, then the time column
    assert read(tmp_path / "d.csv", grid=(2, 2)).metadata["frame_rate_hz"] == pytest.approx(4.0)
    r = subprocess.run([str(BIN), "info", "--grid", "2x2", str(tmp_path / "a.csv")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "rate:         4 Hz" in r.stdout, r.stderr


def test_dates_and_numbers_in_one_time_column_are_refused(tmp_path):
    p = _table(tmp_path, "time", MS[:2] + ["0.02", "0.03", "0.04"])
    refused(p, 65, "line 4: a time column of dates holds a number '0.02'", opts=("--grid", "2x2"))
    p = _table(tmp_path, "time", ["0", "0.01"] + MS[2:], name="e.csv")
    refused(p, 65, "line 4: a time column of numbers holds a date '2026-01-02 00:00:00.000'", opts=("--grid", "2x2"))


def test_dates_going_back_are_refused_at_their_line(tmp_path):
    p = _table(tmp_path, "time", MS[:3] + ["2026-01-01 00:00:00.000", MS[4]])
    refused(p, 65, "line 5: time", "is smaller than the one before", opts=("--grid", "2x2"))


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "2026-01-01 25:00:00"])
def test_impossible_dates_are_not_read_as_dates(tmp_path, bad):
    p = _table(tmp_path, "time", MS[:2] + [bad] + MS[3:])
    refused(p, 65, "line 4:", opts=("--grid", "2x2"))


def test_nan_after_a_date_is_placed_in_its_column(tmp_path):
    p = tmp_path / "n.csv"
    p.write_text("time,0,1,2,3\n" + "".join("%s,%s,1,2,3\n" % (m, "nan" if k == 3 else k) for k, m in enumerate(MS)))
    s = read(p, grid=(2, 2))
    assert s.metadata["n_nonfinite"] == 1 and s.metadata["nonfinite_at"] == "line 5, column 2"


# ------------------------------------------------------- XSENSOR time units


def _xsensor(tmp_path, layout, key, times, name="x.csv"):
    p = tmp_path / name
    if layout == "block":
        out = ['"Software:","XSENSOR Pro V8"']
        for k, t in enumerate(times):
            out += ['"Frame:","%d"' % (k + 1), '"%s:","%s"' % (key, t), '"Rows:","2"', '"Columns:","2"',
                    '"Units:","mmHg"', '"%d","2"' % k, '"3","4"', ""]
        p.write_text("\n".join(out) + "\n")
    else:
        p.write_text("Frame;%s;S_1_1;S_1_2;S_2_1;S_2_2\n" % key
                     + "".join("%d;%s;%d;2;3;4\n" % (k + 1, t, k) for k, t in enumerate(times)))
    return p


@pytest.mark.parametrize("layout,line", [("block", 3), ("wide", 2)])
@pytest.mark.parametrize("key", ["Time (local)", "Time (UTC)", "Elapsed Time (frames)", "Time ()"])
def test_xsensor_time_in_a_unit_knotmap_does_not_know_is_refused(tmp_path, layout, line, key):
    # read as seconds without a word before
    p = _xsensor(tmp_path, layout, key, ["5", "15", "25"])
    refused(p, 65, "line %d: %s '5': a number in a time unit knotmap does not know" % (line, key),
            "rename it to say the unit")


@pytest.mark.parametrize("layout", ["block", "wide"])
@pytest.mark.parametrize("key,times,step", [
    ("Time (local)", ["12:00:00.000", "12:00:00.010", "12:00:00.020"], 0.01),  # a time of day: its own unit
    ("Time (sec)", ["0", "0.5", "1"], 0.5),
    ("Elapsed Time (seconds)", ["0", "0.5", "1"], 0.5),
    ("Elapsed Time ( ms)", ["0", "10", "20"], 0.01),
])
def test_xsensor_times_that_say_their_unit_read(tmp_path, layout, key, times, step):
    s = read(_xsensor(tmp_path, layout, key, times))
    assert s.time.tolist() == pytest.approx([0, step, 2 * step], abs=1e-9)
    assert s.frames[:, 0, 0].tolist() == [0, 1, 2]


# ------------------------------------------------------------------ units


def _h5_frames_units(path, units):
    with h5py.File(path, "w") as f:
        d = f.create_dataset("frames", data=np.arange(2 * 2 * 3, dtype="f4").reshape(2, 2, 3))
        d.attrs["units"] = units
    return path


@pytest.mark.parametrize("units,scale", [("psi", PSI), ("PSI", PSI), ("MPa", 1000.0), ("Pa", 1e-3)])
def test_units_on_another_tools_frames_agree_with_the_same_option(tmp_path, units, scale):
    # --units psi on such a file said: the units given (psi) conflict with the file's own kPa
    p = _h5_frames_units(tmp_path / "p.h5", units)
    base = read(p, format="session")
    want = (np.arange(12, dtype="f8").reshape(2, 2, 3) * scale).astype("f4")
    assert base.metadata["units"] == "kPa" and np.array_equal(base.frames, want)
    same = read(p, format="session", units=units.lower())
    assert np.array_equal(same.frames, base.frames)
    other = "mmHg"
    refused(p, 64, "the units given (mmHg) conflict with the file's own %s (read converted to kPa)" % units,
            opts=("--format", "session", "--units", other))


@pytest.mark.parametrize("kind", ["tekscan", "xsensor", "h5"])
def test_override_with_another_unit_reads_the_numbers_exactly(tmp_path, kind):
    # the conversion was undone in float32: 3000.0002 for 3000 (Tekscan PSI, --units MPa --override)
    if kind == "tekscan":
        p = tmp_path / "t.asf"
        p.write_text("DATA_TYPE MOVIE\nROWS 2\nCOLS 3\nUNITS PSI\nSATURATION_PRESSURE 100 PSI\nASCII_DATA @@\n\n"
                     "Frame 1\n0,1,2\n3,4,5\nFrame 2\n6,7,8\n9,10,11\n@@\n")
        kw = {}
    elif kind == "xsensor":
        p = tmp_path / "x.csv"
        p.write_text("Frame;Units;S_1_1;S_1_2;S_1_3;S_2_1;S_2_2;S_2_3\n1;PSI;0;1;2;3;4;5\n2;PSI;6;7;8;9;10;11\n")
        kw = {}
    else:
        p = _h5_frames_units(tmp_path / "p.h5", "psi")
        kw = {"format": "session"}
    s = read(p, units="MPa", override=True, **kw)
    assert s.metadata["units"] == "kPa"
    assert s.frames.reshape(-1).tolist()[:12] == [k * 1000.0 for k in range(12)]
    if kind == "tekscan":
        assert s.metadata["saturation"] == 100000.0
    s = read(p, units="mmHg", override=True, **kw)  # kept as it is: the file's numbers
    assert s.metadata["units"] == "mmHg" and s.frames.reshape(-1).tolist()[:12] == [float(k) for k in range(12)]


@pytest.mark.parametrize("units,got,scale", [("KPa", "kPa", 1.0), ("MMHG", "mmHg", 1.0), ("N/cm^2", "N/cm2", 1.0),
                                             ("psi", "kPa", PSI), ("MPa", "kPa", 1000.0)])
def test_root_units_of_another_tools_file_read_as_every_reader_reads_them(tmp_path, units, got, scale):
    # xarray's ds.attrs["units"], h5py's f.attrs["units"]: "KPa" and "psi" were refused ("attribute units =
    # "psi" is not one of kPa, mmHg, N/cm2, raw") though the same word on /frames, in a MAT-file or a
    # Tekscan export is read
    p = tmp_path / "r.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("frames", data=np.arange(12, dtype="f4").reshape(2, 2, 3))
        f.attrs["units"] = units
        f.attrs["saturation"] = 100.0
    s = read(p, format="session")
    assert s.metadata["units"] == got and "units" not in s.metadata["assumed"].split(",")
    assert np.array_equal(s.frames, (np.arange(12, dtype="f8").reshape(2, 2, 3) * scale).astype("f4"))
    assert s.metadata["saturation"] == pytest.approx(100.0 * scale, rel=1e-12)
    if scale != 1.0:
        assert np.array_equal(read(p, format="session", units=units.lower()).frames, s.frames)
        refused(p, 64, "the units given (mmHg) conflict with the file's own %s (read converted to kPa)" % units,
                opts=("--format", "session", "--units", "mmHg"))


def test_root_units_not_a_unit_name_the_list(tmp_path):
    p = tmp_path / "r.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("frames", data=np.zeros((2, 2, 3), "f4"))
        f.attrs["units"] = "bar"
    refused(p, 65, 'attribute units = "bar": knotmap reads kPa, mmHg, N/cm2, psi, Pa, MPa or raw',
            opts=("--format", "session"))


@pytest.mark.parametrize("layout", ["fixed", "table"])
def test_pandas_to_hdf_is_named_with_what_to_do(tmp_path, layout):
    # pandas' HDFStore (df.to_hdf("x.h5", key="df")) keeps a table in a group that carries
    # `pandas_type`: axis0/axis1/block0_values (format="fixed") or a PyTables `table` (format="table").
    # Its 2-D values have no 3-D dataset to name /frames; the message only said what a session holds
    p = tmp_path / "pd.h5"
    with h5py.File(p, "w") as f:
        g = f.create_group("df")
        g.attrs["pandas_type"] = "frame" if layout == "fixed" else "frame_table"
        g.attrs["pandas_version"] = "0.15.2"
        if layout == "fixed":
            g["axis0"] = np.array([b"0", b"1", b"2", b"3"])
            g["axis1"] = np.arange(5) * 0.01
            g["block0_values"] = np.arange(20, dtype="f8").reshape(5, 4)
        else:
            g["table"] = np.zeros(5, dtype=[("index", "<i8"), ("values_block_0", "<f8", (4,))])
    want = ("/df is a pandas table (HDFStore, DataFrame.to_hdf: attribute pandas_type), which knotmap does not "
            "read: save it with df.to_csv() and read that with --grid RxC")
    line = refused(p, 65, "attribute schema is missing and there is no /frames: not a knotmap session; " + want)
    assert "--format session" not in line
    refused(p, 65, "no /frames dataset (a session needs /frames [T, R, C]); " + want, opts=("--format", "session"))
