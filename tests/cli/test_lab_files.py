"""Files a sports-science lab has on day one, and what knotmap says when it cannot read
them as they are (session 40, a new user's first hour): each refusal names the file and
the line, exits 65, writes nothing, and says what to change; the changed file then reads,
checked against pandas' and numpy's reading of the same values.
- pandas' `to_csv()` of a table with a `time` column keeps its index too: two label
  columns, one value more than the grid. Before: only "21 values fit neither ...".
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


def test_index_and_time_columns_say_which_to_drop(tmp_path):
    df = table()
    p = tmp_path / "with_index.csv"
    df.to_csv(p)
    said = refused(p)
    assert "line 2: 21 values" in said and "a second label column" in said \
        and "to_csv(index=False)" in said, said
    q = tmp_path / "no_index.csv"
    df.to_csv(q, index=False)
    r = run_ok("info", "--grid", "%dx%d" % (R, C), q)
    rate = float(re.search(r"^rate:\s+(\S+) Hz", r.stdout, re.M).group(1))
    t = df["time"].to_numpy()
    assert rate == pytest.approx((len(t) - 1) / (t[-1] - t[0]), rel=1e-9)


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
