"""Files a sports-science lab has on day one (session 40, a new user's first hour).
- pandas' `to_csv()` of a table with a `time` column keeps its index too: two label
  columns. Read now (the index dropped, the times the time column's), checked against
  pandas' reading; before: refused, "21 values fit neither ...".
What knotmap says when it cannot read a file as it is: each refusal names the file and
the line, exits 65, writes nothing, and says what to change; the changed file then reads,
checked against pandas' and numpy's reading of the same values.
- pandas writes a missing value (nan) as an empty field. Before: only "empty value in
  column 4".
- An HDF5 file h5py wrote without knotmap's attributes. Before: "with the format given as
  session" (no option named)."""
import re

import numpy as np
import pytest

from km_cli import run, run_ok

pd = pytest.importorskip("pandas")
h5py = pytest.importorskip("h5py")

T, R, C = 15, 4, 5


def table(seed=3):
    a = (np.random.default_rng(seed).random((T, R * C)) * 40).round(2)
    df = pd.DataFrame(a, columns=["R%dC%d" % (k // C + 1, k % C + 1) for k in range(R * C)])
    df.insert(0, "time", np.arange(T) * 0.1)
    return df


def refused(path, *opts):
    out = path.with_suffix(".r.h5")
    r = run("process", "-q", "--grid", "%dx%d" % (R, C), *opts, path, "-o", out)
    assert r.returncode == 65 and not out.exists(), r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("knotmap: %s: line " % path), line
    return line


@pytest.mark.parametrize("first, time", [(None, "time"), ("Frame", "time"), ("index", "time_ms")])
def test_index_and_time_columns_read(tmp_path, first, time):
    """An index (pandas' own, unnamed, or a `Frame` column) before the time column: the
    labels dropped, the times and rate the time column's, the values pandas reads."""
    df = table()
    if time == "time_ms":
        df = df.rename(columns={"time": "time_ms"})
        df["time_ms"] *= 1000.0
    if first is not None:
        df.insert(0, first, np.arange(1, T + 1))
    p = tmp_path / "labels.csv"
    df.to_csv(p, index=first is None)
    h5 = tmp_path / "labels.h5"
    r = run_ok("process", "-q", "--save-frames", "--grid", "%dx%d" % (R, C), p, "-o", h5)
    back = pd.read_csv(p, index_col=0)
    t = back[time].to_numpy() * (1e-3 if time == "time_ms" else 1.0)
    with h5py.File(h5) as f:
        assert f["session"].attrs["frame_rate_hz"] == pytest.approx((T - 1) / (t[-1] - t[0]), rel=1e-9)
        np.testing.assert_allclose(f["session/time"][()], t - t[0] if f["session/time"][0] == 0 else t,
                                   rtol=0, atol=1e-9)
    info = run_ok("info", "--grid", "%dx%d" % (R, C), p)
    assert "first column: line labels, dropped; second column: times in " in info.stdout, info.stdout
    assert "line labels" not in r.stderr


def test_two_index_columns_say_which_to_drop(tmp_path):
    """pandas' index beside a frame number (no time column): one label is read."""
    df = table().drop(columns="time")
    df.insert(0, "Frame", np.arange(1, T + 1))
    p = tmp_path / "two_index.csv"
    df.to_csv(p)  # index, Frame, values
    said = refused(p)
    assert "line 2: 21 values" in said and "a second label column" in said \
        and "to_csv(index=False)" in said, said


def test_a_missing_value_says_how_to_write_it(tmp_path):
    df = table(4)
    df.iloc[5, 3] = np.nan
    df.iloc[9, 17] = np.nan
    p = tmp_path / "gaps.csv"
    df.to_csv(p, index=False)
    said = refused(p)
    assert "line 7: empty value in column 4" in said and "na_rep='nan'" in said, said
    q = tmp_path / "nan.csv"
    df.to_csv(q, index=False, na_rep="nan")
    r = run_ok("info", "--grid", "%dx%d" % (R, C), q)
    n = int(df.drop(columns="time").isna().to_numpy().sum())
    assert "warning: %d values are nan or inf (the first at line 7, column 4)" % n in r.stderr, r.stderr


def test_an_h5py_file_names_the_option(tmp_path):
    p = tmp_path / "own.h5"
    with h5py.File(p, "w") as f:
        f["frames"] = np.random.default_rng(5).random((T, R, C)).astype("f4")
    r = run("info", p)
    assert r.returncode == 65 and "pass --format session to read its /frames" in r.stderr, r.stderr
    r = run_ok("info", "--format", "session", p)
    assert "%d x %d taxels" % (R, C) in r.stdout and "frames:       %d" % T in r.stdout


def test_a_dataset_in_a_group_is_named_with_the_line_that_moves_it(tmp_path):
    """h5py's layout with a group (/data/pressure): the refusal names the dataset in the
    group and the h5py line that makes it /frames; that line, run, gives a file that
    reads. Before: "no /frames dataset" only (the hint looked at the root)."""
    p = tmp_path / "grouped.h5"
    a = np.random.default_rng(6).random((T, R, C)).astype("f4")
    with h5py.File(p, "w") as f:
        f.create_group("data")["pressure"] = a
        f["data"]["notes"] = np.arange(3)
    r = run("info", "--format", "session", p)
    assert r.returncode == 65, r.stderr
    said = r.stderr.strip().splitlines()[-1]
    m = re.search(r"the file's 3-D dataset is (\S+) \[(\d+) x (\d+) x (\d+)\]: name it /frames "
                  r"\(h5py: f\.move\(\"([^\"]+)\", \"frames\"\)", said)
    assert m and m.group(1) == "/data/pressure" and tuple(map(int, m.group(2, 3, 4))) == a.shape, said
    with h5py.File(p, "r+") as f:
        f.move(m.group(5), "frames")
    r = run_ok("info", "--format", "session", p)
    assert "%d x %d taxels" % (R, C) in r.stdout and "frames:       %d" % T in r.stdout
