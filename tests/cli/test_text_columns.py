"""Text matrices as pandas, numpy and spreadsheets write them (docs/FORMAT.md 1.4):
a first line of column names, a first column of line labels (pandas' index) or of
times, '#' comments (numpy.savetxt's header and footer). Before session 34 each was
refused at line 1 ("empty value in column 1", "non-numeric value 'time'", "'#'"),
or, for pandas' `index=False` over unnamed columns, its names 0, 1, 2, ... read as a
frame. The reference is the array the writer was given."""
import numpy as np
import pytest

from km_cli import assert_same_results, refused, run, run_ok

pd = pytest.importorskip("pandas")
knotmap = pytest.importorskip("knotmap")

T, R, C = 40, 6, 5


def recording():
    return (np.random.default_rng(7).random((T, R, C)) * 60).round(3)


def read(path, **kw):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return knotmap.read_session(str(path), **kw)


def columns(path, *opts):
    return [l for l in run_ok("info", *opts, path).stdout.splitlines() if "columns =" in l][0]


@pytest.mark.parametrize("index", [True, False])
@pytest.mark.parametrize("sep, decimal", [(",", "."), ("\t", "."), (";", "."), (";", ",")])
def test_pandas_to_csv(tmp_path, index, sep, decimal):
    a = recording()
    p = tmp_path / "s.csv"
    pd.DataFrame(a.reshape(T, -1)).to_csv(p, index=index, sep=sep, decimal=decimal)
    s = read(p, grid=(R, C))
    assert np.array_equal(np.asarray(s.frames), a.astype("f4"))
    first = "line labels, dropped" if index else "a value"
    assert first in columns(p, "--grid", "%dx%d" % (R, C))


@pytest.mark.parametrize("name, scale", [("time", 1.0), ("Time (s)", 1.0), ("t", 1.0),
                                         ("time_ms", 1e-3), ("Time [ms]", 1e-3)])
def test_a_time_column_gives_the_times_and_rate(tmp_path, name, scale):
    a = recording()
    t = 2.0 + np.arange(T) * 0.025            # 40 Hz
    df = pd.DataFrame(a.reshape(T, -1), columns=["r%dc%d" % divmod(i, C) for i in range(R * C)])
    df.insert(0, name, t / scale)
    p = tmp_path / "s.csv"
    df.to_csv(p, index=False)
    s = read(p, grid=(R, C))
    assert np.array_equal(np.asarray(s.frames), a.astype("f4"))
    assert np.allclose(np.asarray(s.time), t, rtol=0, atol=1e-9)
    r = run_ok("info", "--grid", "%dx%d" % (R, C), p)
    assert "rate:         40 Hz" in r.stdout and "format:       text" in r.stdout
    assert "frame_rate_hz" not in r.stdout.split("assumed:")[1].splitlines()[0]


def test_numpy_savetxt_comments(tmp_path):
    a = recording()
    p = tmp_path / "s.txt"
    np.savetxt(p, a.reshape(T, -1), fmt="%.3f", header="sensor 6x5\nday 2", footer="end of file")
    s = read(p, grid=(R, C))
    assert np.array_equal(np.asarray(s.frames), a.astype("f4"))
    out = run_ok("info", "--grid", "%dx%d" % (R, C), p).stdout
    assert "comment = sensor 6x5" in out and "comment 2 = day 2" in out
    bare = tmp_path / "recording"         # no extension: told text by its content
    bare.write_bytes(p.read_bytes())
    assert "format:       text" in run_ok("info", "--grid", "%dx%d" % (R, C), bare).stdout
    q = tmp_path / "frame.csv"           # one frame, matrix layout, pandas' row labels
    pd.DataFrame(a[0]).to_csv(q)
    assert np.array_equal(np.asarray(read(q).frames)[0], a[0].astype("f4"))


def test_process_equals_the_same_session_as_npy(tmp_path):
    a = recording().astype("f4")
    df = pd.DataFrame(a.reshape(T, -1))
    df.insert(0, "time", np.arange(T) / 50.0)
    p = tmp_path / "s.csv"
    df.to_csv(p, index=False)
    q = tmp_path / "s.npy"
    np.save(q, a)
    common = ("--pitch", "8", "--units", "kPa", "--mode", "mat")
    run_ok("process", "-q", p, "--grid", "%dx%d" % (R, C), *common, "-o", tmp_path / "a.h5")
    run_ok("process", "-q", q, "--rate", "50", "--time-axis", "first", *common, "-o", tmp_path / "b.h5")
    assert_same_results(tmp_path / "a.h5", tmp_path / "b.h5")


def test_european_spreadsheet_semicolons_and_decimal_commas(tmp_path):
    a = recording()
    text = "\r\n".join(";".join(("%g" % v).replace(".", ",") for v in row) for row in a.reshape(T, -1))
    p = tmp_path / "excel_de.csv"      # Excel in a German locale: ';' between values, ',' decimals
    p.write_bytes(b"\xef\xbb\xbf" + text.encode() + b"\r\n;;;;\r\n")
    assert np.array_equal(np.asarray(read(p, grid=(R, C)).frames), a.astype("f4"))
    bare = tmp_path / "excel_de"       # told text by content
    bare.write_bytes(p.read_bytes())
    assert "format:       text" in run_ok("info", "--grid", "%dx%d" % (R, C), bare).stdout
    q = tmp_path / "empty.csv"         # ';;' is an empty value, named as with commas
    q.write_text("1;2;3\n4;;6\n")
    refused(tmp_path, q, 65, "line 2: empty value in column 2")


def test_counting_data_stays_data(tmp_path):
    p = tmp_path / "count.txt"          # 0 1 2 3 going on counting: values, not names
    p.write_text("0 1 2 3\n4 5 6 7\n8 9 10 11\n")
    assert np.array_equal(np.asarray(read(p).frames)[0], np.arange(12, dtype="f4").reshape(3, 4))
    q = tmp_path / "one.txt"            # one line counting: one frame of values
    q.write_text("0 1 2 3 4 5\n")
    assert np.array_equal(np.asarray(read(q).frames).ravel(), np.arange(6, dtype="f4"))


def test_bad_columns_are_refused_naming_the_line(tmp_path):
    a = recording().reshape(T, -1)
    lines = ["time," + ",".join("c%d" % i for i in range(R * C))]
    lines += ["%g,%s" % (k * 0.1, ",".join("%g" % v for v in a[k])) for k in range(T)]
    back = list(lines)
    back[10] = "0.05," + back[10].split(",", 1)[1]          # time goes back on line 11
    p = tmp_path / "back.csv"
    p.write_text("\n".join(back) + "\n")
    r = run("process", "-q", p, "--grid", "%dx%d" % (R, C), "-o", tmp_path / "o.h5")
    assert r.returncode == 65 and str(p) in r.stderr, r.stderr
    assert "line 11: time 0.05 is smaller than the one before" in r.stderr
    assert not (tmp_path / "o.h5").exists()
    # without a grid, 40 lines of 30 values would be one frame: times need one per line
    refused(tmp_path, p, 65, "line 1", "a first column of times needs one frame per line", "--grid")
    few = list(lines)
    few[0] = few[0].rsplit(",", 1)[0]                         # one name short
    q = tmp_path / "few.csv"
    q.write_text("\n".join(few) + "\n")
    refused(tmp_path, q, 65, "line 1", "30 column names over lines of 31 values")
    n = tmp_path / "names.csv"
    n.write_text(lines[0] + "\n")
    refused(tmp_path, n, 65, "line 1", "column names and no data")
    u = tmp_path / "unnamed.csv"                             # a time column without a name: a hint
    u.write_text("\n".join(lines[1:]) + "\n")
    r = run("process", "-q", u, "--grid", "%dx%d" % (R, C), "-o", tmp_path / "o.h5")
    assert r.returncode == 65 and "31 values fit neither" in r.stderr, r.stderr
    assert "a first column of times or frame numbers?" in r.stderr
    g = tmp_path / "prose.txt"                                 # not a table at all: line 1, as before
    g.write_text("hello world\nthis is not data\n")
    refused(tmp_path, g, 65, "line 1", "non-numeric value 'hello'")
