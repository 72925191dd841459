"""read_result holds what it reads to a memory budget (max_memory=, the C
side's default KM_MAX_MEMORY_DEFAULT, 1 GiB), as `knotmap render` and
`knotmap report` hold a result's tables to --max-memory (since session 44):
a 400 KB result whose /metrics columns declare 2^27 unwritten rows (8
columns: 8 GiB of fill values) is refused before any of it is read, with a
ValueError naming the file, the table, its size and the budget.  Until
session 45 h5py allocated 1 GiB a column (MemoryError at the first one under
a limit; gigabytes of swap without)."""
import inspect
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

import knotmap
from knotmap._core import ffi, lib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")
MIB = 1 << 20


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("budget") / "r.knotmap.h5"
    knotmap.process(EXAMPLE, out)
    return out


def crafted(result, path, rows, table="metrics"):
    """The result with every column of `table` declaring `rows` rows of
    unwritten chunks (a small file)."""
    with open(result, "rb") as a, open(path, "wb") as b:
        b.write(a.read())
    with h5py.File(path, "r+") as f:
        g = f[table]
        for k in [k for k in g if isinstance(g[k], h5py.Dataset)]:
            del g[k]
            g.create_dataset(k, shape=(rows,), dtype="f8", chunks=(1 << 14,),
                             compression="gzip")
        n = sum(isinstance(g[k], h5py.Dataset) for k in g)
    assert os.path.getsize(path) < 2 * MIB
    return str(path), n


def test_the_default_is_the_c_sides():
    opt = ffi.new("km_read_options *")
    lib.km_read_options_default(opt)
    assert lib.km_read_max_memory(opt) == 1 << 30 == knotmap._result._budget(None)
    assert knotmap._result._budget(0) == knotmap._result._budget(-5) == 1 << 30
    assert knotmap._result._budget(12345) == 12345
    default = inspect.signature(knotmap.read_result).parameters["max_memory"].default
    assert default == 1 << 30  # shown by help(), as render()'s and report()'s


@pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                    reason="an address-space limit under AddressSanitizer")
def test_declared_gigabytes_are_refused_by_default(result, tmp_path):
    """In a child under a 3 GiB address-space limit: the old reader ran into
    MemoryError there (h5py's fill values), the budget refuses at once."""
    path, n = crafted(result, tmp_path / "big.h5", 1 << 27)
    code = ("import resource, knotmap\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
            "try:\n"
            "    knotmap.read_result(%r)\n"
            "except ValueError as e:\n"
            "    print(type(e).__name__, e.status_name, e.filename, e, sep='|')\n" % path)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert p.returncode == 0, p.stderr[-2000:]
    kind, status, filename, text = p.stdout.strip().split("|")
    assert (kind, status, filename) == ("ValueError", "KM_ERR_LIMIT", path)
    assert text.startswith("%s: /metrics declares %d columns of 134217728 rows: about %d MiB "
                           "to read, beyond the memory budget of 1024 MiB" % (path, n, 1024 * n))
    assert "max_memory=" in text


def test_the_budget_is_the_keyword(result, tmp_path):
    path, n = crafted(result, tmp_path / "mid.h5", 1 << 20)      # 8 MiB a column
    with pytest.raises(knotmap.Error) as e:
        knotmap.read_result(path, max_memory=(8 * n - 1) * MIB)
    assert isinstance(e.value, ValueError) and e.value.status_name == "KM_ERR_LIMIT"
    assert "/metrics declares %d columns of 1048576 rows: about %d MiB" % (n, 8 * n) in str(e.value)
    res = knotmap.read_result(path, max_memory=(8 * n + 64) * MIB)
    assert len(res["metrics"]) == n and all(len(c) == 1 << 20 for c in res["metrics"].values())


def test_candidates_and_maps_count_too(result, tmp_path):
    path, n = crafted(result, tmp_path / "cand.h5", 1 << 27, "candidates")
    with pytest.raises(ValueError, match="/candidates declares %d columns of 134217728 rows"
                       % n):
        knotmap.read_result(path)
    big = str(tmp_path / "map.h5")
    with open(result, "rb") as a, open(big, "wb") as b:
        b.write(a.read())
    with h5py.File(big, "r+") as f:
        del f["bodymap/pressure"]
        f.create_dataset("bodymap/pressure", shape=(20000, 20000), dtype="f4",
                         chunks=(256, 256), compression="gzip")
    with pytest.raises(ValueError, match=r"/bodymap/pressure declares 20000 x 20000 float32: "
                       r"about 1526 MiB to read, beyond the memory budget of 1024 MiB"):
        knotmap.read_result(big)


def test_a_plain_result_reads_as_before(result):
    res = knotmap.read_result(result)
    with h5py.File(result, "r") as f:
        assert list(res["peaks"]) == list(f["peaks"])
        assert np.array_equal(res["bodymap"]["pressure"], f["bodymap/pressure"][()], equal_nan=True)
    with pytest.raises(TypeError, match="max_memory"):
        knotmap.read_result(result, max_memory="1G")


def test_the_docstring_names_every_dataset_read(result, tmp_path):
    """Every dataset read_result() returns under "frames" and "bodymap" is named
    in its docstring (until session 45 the coordinates "row", "col", "frame",
    "y_mm" and "x_mm" came back unsaid)."""
    saved = str(tmp_path / "saved.h5")
    knotmap.process(EXAMPLE, saved, save_frames=True)
    res = knotmap.read_result(saved)
    doc = " ".join(knotmap.read_result.__doc__.split())
    names = [k for g in ("frames", "bodymap") for k, v in res[g].items()
             if isinstance(v, np.ndarray)]
    assert {"row", "col", "frame", "conditioned", "x_mm", "y_mm"} <= set(names)
    assert [k for k in names if '"%s"' % k not in doc] == []


def test_saved_frames_beyond_the_budget_say_what_to_do(tmp_path):
    """A --save-frames result whose frames go beyond the budget (session 46,
    user17): the message gives the budget that reads the whole result, and
    the other ways (frames=False, and h5py a block at a time, with the file's
    name), each of which works.  Before it ended '(raise it: max_memory=, or
    frames=False)': no number, and nothing on reading the frames."""
    path = str(tmp_path / "sf.knotmap.h5")
    knotmap.process(EXAMPLE, path, save_frames=True)
    with h5py.File(path, "r") as f:
        frames_bytes = f["frames/conditioned"].size * 4
    with pytest.raises(ValueError) as e:
        knotmap.read_result(path, max_memory=frames_bytes)
    text = str(e.value)
    want = "%s: /frames/conditioned declares 1500 x 32 x 16 float32: about 3 MiB to read" % path
    assert text.startswith(want), text
    budget = int(text.split("Raise it: max_memory=")[1].split(" ")[0])
    assert budget % MIB == 0 and "(%d MiB) reads the whole result" % (budget // MIB) in text
    res = knotmap.read_result(path, max_memory=budget)
    assert res["frames"]["conditioned"].shape == (1500, 32, 16)
    with pytest.raises(ValueError):
        knotmap.read_result(path, max_memory=budget - MIB)
    assert "read the rest with frames=False" in text
    assert "conditioned" not in knotmap.read_result(path, frames=False,
                                                    max_memory=frames_bytes)["frames"]
    code = text.split("block at a time with h5py: ")[1].split(" (KM_ERR_LIMIT)")[0]
    assert code == "h5py.File(%r)['frames/conditioned'][t0:t1]" % path
    block = eval(code, {"h5py": h5py, "t0": 100, "t1": 110})  # noqa: S307 - the text we wrote
    np.testing.assert_array_equal(block, res["frames"]["conditioned"][100:110])
