"""The tables a picture or a report reads from a result are held to the memory
budget (--max-memory, 1 GiB by default), as its map is since session 43: a
400 KB result whose /metrics columns declare 2^27 rows of unwritten chunks (8
columns: 8 GiB of fill values) is refused by `report` before anything of that
size is read (exit 65, naming the table, its size and the budget), and
`render`, which shows no /metrics, does not read it at all.  Until session 44
both read it: 5 GB and 7-19 s until out of memory (exit 71) under a 6 GB
limit, more without one."""
import h5py

from km_cli import REPO, run_ok, run_rss

MIB = 1 << 20


def crafted(tmp_path, rows, table="metrics"):
    res = tmp_path / ("%s_%d.h5" % (table, rows))
    run_ok("process", "-q", REPO / "datasets" / "example" / "roller_example.h5", "-o", res)
    with h5py.File(res, "r+") as f:
        g = f[table]
        for k in [k for k in g if isinstance(g[k], h5py.Dataset)]:
            attrs = dict(g[k].attrs)
            del g[k]                                    # dimension scales go with it
            d = g.create_dataset(k, shape=(rows,), dtype="f8", chunks=(1 << 14,),
                                 compression="gzip")
            d.attrs["units"] = attrs.get("units", "")
        n_cols = sum(isinstance(g[k], h5py.Dataset) for k in g)
    assert res.stat().st_size < 2 * MIB
    return res, n_cols


def test_report_refuses_declared_gigabytes(tmp_path):
    res, n_cols = crafted(tmp_path, 1 << 27)
    out = tmp_path / "r.html"
    code, err, rss = run_rss("report", res, "-o", out)
    assert code == 65, err
    assert "%s: /metrics declares %d columns of 134217728 rows" % (res, n_cols) in err
    assert "beyond the memory budget of 1024 MiB" in err and "--max-memory" in err
    assert rss < 200 * MIB and not out.exists()


def test_render_does_not_read_metrics(tmp_path):
    res, _ = crafted(tmp_path, 1 << 27)
    code, err, rss = run_rss("render", res, "-o", tmp_path / "m.svg")
    assert code == 0, err
    assert rss < 200 * MIB


def test_the_budget_is_the_option(tmp_path):
    res, n_cols = crafted(tmp_path, 1 << 20)            # 8 MiB a column
    need = n_cols * 8
    r = run_rss("report", res, "-o", tmp_path / "a.html", "--max-memory", "%dM" % (need - 1))
    assert r[0] == 65 and "about %d MiB" % need in r[1], r[1]
    code, err, _ = run_rss("report", res, "-o", tmp_path / "b.html",
                           "--max-memory", "%dM" % (need + 64))
    assert code == 0, err


def test_candidates_count_too(tmp_path):
    res, n_cols = crafted(tmp_path, 1 << 27, "candidates")
    code, err, rss = run_rss("render", res, "-o", tmp_path / "m.svg")
    assert code == 65 and "/candidates declares %d columns" % n_cols in err, err
    assert rss < 200 * MIB
