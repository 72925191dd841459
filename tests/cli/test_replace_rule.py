"""One rule for every command that writes a file (session 49, user20): an existing file
under the output name is replaced only when knotmap wrote it (a result, a synthetic
session or export, a picture or report knotmap drew); anything else, a file of the same
kind from elsewhere included, is refused (exit 73, untouched), and `--no-overwrite`
refuses knotmap's own too.

The render and report cases of a file of the same kind from elsewhere fail on 91e8af7's
build: a photo saved as PNG, a matplotlib SVG or PDF, a hand-written HTML page were
replaced without a word.  The other rows are the rule as it held before (controls)."""
import subprocess

import h5py
import numpy as np
import pytest

from km_cli import BIN, EXAMPLE, run


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "r.knotmap.h5"
    subprocess.run([str(BIN), "process", "-q", str(EXAMPLE), "-o", str(out)], check=True)
    return out


def _photo_png(path):
    from PIL import Image
    Image.new("RGB", (8, 8), (200, 10, 10)).save(str(path))


def _matplotlib(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plt.figure()
    plt.plot([1, 2, 3])
    fig.savefig(str(path))
    plt.close(fig)


def _page(path):
    path.write_text('<!DOCTYPE html>\n<html><head><meta name="generator" content="Hugo 0.1">'
                    "<title>my notes</title></head><body>notes</body></html>\n")


def _recording_h5(path):
    with h5py.File(str(path), "w") as f:
        f["frames"] = np.zeros((4, 3, 3), np.float32)


def _asf(path):
    path.write_text("DATA_TYPE MOVIE\nVERSION 7.00-10\nROWS 3\nCOLS 3\n")


# (command + arguments before -o, output name, how a file of the same kind from elsewhere is made)
CASES = [
    (["render", "{result}"], "map.png", _photo_png),
    (["render", "{result}"], "map.svg", _matplotlib),
    (["render", "{result}"], "map.pdf", _matplotlib),
    (["report", "{result}"], "report.html", _page),
    (["process", str(EXAMPLE)], "out.knotmap.h5", _recording_h5),
    (["synth", "--duration", "1"], "s.h5", _recording_h5),
    (["synth", "--duration", "1"], "s.asf", _asf),
]
IDS = [c[1] for c in CASES]


def _args(cmd, result, out):
    return [a.format(result=result) for a in cmd] + ["-q", "-o", str(out)]


@pytest.mark.parametrize("cmd, name, foreign", CASES, ids=IDS)
def test_a_file_of_the_same_kind_from_elsewhere_is_never_replaced(result, tmp_path, cmd, name, foreign):
    out = tmp_path / name
    foreign(out)
    before = out.read_bytes()
    r = run(*_args(cmd, result, out))
    assert r.returncode == 73, (r.returncode, r.stderr)
    assert r.stderr.startswith("knotmap: %s: exists and is not " % out), r.stderr
    assert "not replacing it" in r.stderr, r.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


@pytest.mark.parametrize("cmd, name, foreign", CASES, ids=IDS)
def test_what_knotmap_wrote_is_replaced_unless_no_overwrite(result, tmp_path, cmd, name, foreign):
    out = tmp_path / name
    r = run(*_args(cmd, result, out))
    assert r.returncode == 0, r.stderr
    first = out.stat().st_ino
    r = run(*_args(cmd, result, out))
    assert r.returncode == 0, r.stderr
    assert out.stat().st_ino != first           # renamed into place: replaced
    for opt in ("--no-overwrite", "--no-clobber"):
        before = out.read_bytes()
        r = run(*_args(cmd, result, out), opt)
        assert r.returncode == 73, (opt, r.returncode, r.stderr)
        assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
