"""A result whose body map was declared but never written is refused as any file is
(docs/FORMAT.md 1.2, "Storage backs the declared extent"), with words that fit a
result: session 42, the message said "a session must hold every frame it declares" of
a result's /bodymap (fails on 80e4cd4)."""
import pytest

from km_cli import EXAMPLE, run, run_ok

h5py = pytest.importorskip("h5py")


def test_unwritten_bodymap_refused_with_fitting_words(tmp_path):
    res = tmp_path / "r.h5"
    run_ok("process", "-q", EXAMPLE, "-o", res)
    with h5py.File(res, "r+") as f:
        g = f["bodymap"]
        dt, shape, attrs = g["pressure"].dtype, g["pressure"].shape, dict(g["pressure"].attrs)
        del g["pressure"]
        d = g.create_dataset("pressure", shape=shape, dtype=dt, chunks=(8, 8))  # never written
        d.attrs.update(attrs)
    for cmd in (("render", res, "-o", tmp_path / "m.png"), ("report", res, "-o", tmp_path / "r.html")):
        r = run(*cmd)
        assert r.returncode == 65, r.stderr
        assert "/bodymap/pressure declares" in r.stderr and "but stores 0: unwritten data" in r.stderr
        assert "session" not in r.stderr, r.stderr
        assert "a file must store every value it declares" in r.stderr, r.stderr
