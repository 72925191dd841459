"""`render` and `report` keep to a memory budget (`--max-memory`, as `process`; docs/CLI.md).
Session 43: a crafted result with a 4000 x 4000 body map took 672 MB to draw whatever the
budget, and a map too large to draw was read whole before being refused. Now what the
picture takes is estimated from the map's shape before its values are read: beyond the
budget the command is refused at once, exit 65, one line naming the file, the map, its
size and the budget, nothing written, little memory used. Fails on b471879 (no such
option; and the default budget was not consulted)."""
import os
import subprocess

import numpy as np
import pytest

from km_cli import BIN, EXAMPLE, run_ok, run_rss, with_bodymap

pytest.importorskip("h5py")
N = 2000


@pytest.fixture(scope="module")
def map2000(tmp_path_factory):
    """The bundled example's result with N x N body maps (constant: a small file)."""
    res = tmp_path_factory.mktemp("mem") / "big.h5"
    run_ok("process", "-q", EXAMPLE, "-o", res)
    return with_bodymap(res, np.full((N, N), 7.0), compression="gzip", chunks=(250, 250))


SANITIZED = os.environ.get("KNOTMAP_SANITIZED") == "1"


def small(rss):
    """Well under the map's 16 MB of values and the picture's hundreds."""
    return SANITIZED or rss < 40 * 1024 * 1024


@pytest.mark.parametrize("cmd, name, budget, fmt", [
    ("render", "m.png", "100M", "PNG"), ("render", "m.svg", "50M", "SVG"),
    ("render", "m.pdf", "50M", "PDF"), ("report", "r.html", "50M", "SVG")])
def test_beyond_the_budget_is_refused_before_the_map_is_read(tmp_path, map2000, cmd, name, budget,
                                                             fmt):
    out = tmp_path / name
    r = subprocess.run([str(BIN), cmd, str(map2000), "-o", str(out), "--max-memory", budget],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 65, r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    for words in (str(map2000), "/bodymap/pressure", "%d x %d cells" % (N, N), fmt,
                  "beyond the memory budget of %s MiB" % budget[:-1], "--max-memory"):
        assert words in r.stderr, r.stderr
    assert os.listdir(tmp_path) == []
    # refused before the map's 16 MB of values, let alone the picture, are allocated
    rc, _, rss = run_rss(cmd, map2000, "-o", out, "--max-memory", budget)
    assert rc == 65 and small(rss), rss


def test_the_default_budget_applies(tmp_path, map2000):
    """Without --max-memory the default 1 GiB holds: a 14 000 px square PNG (7 px a
    cell) would take about 2 GB."""
    rc, err, rss = run_rss("render", map2000, "-o", tmp_path / "m.png", "--cell-px", "7")
    assert rc == 65 and small(rss), rss
    assert "beyond the memory budget of 1024 MiB" in err and "--cell-px 1" in err
    assert os.listdir(tmp_path) == []


def test_within_the_budget_is_drawn(tmp_path, map2000):
    """The budget is an estimate of the picture, not a cap on the map: the same map as
    SVG within 200M is drawn."""
    r = run_ok("render", map2000, "-o", tmp_path / "m.svg", "--max-memory", "200M")
    assert "map 2000 x 2000 cells" in r.stdout
    r = subprocess.run([str(BIN), "render", str(map2000), "-o", str(tmp_path / "m.png"),
                        "--max-memory", "0"], capture_output=True, text=True)
    assert r.returncode == 64 and "--max-memory" in r.stderr, r.stderr

