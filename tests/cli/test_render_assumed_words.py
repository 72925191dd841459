"""What was assumed about time, in the picture's legend and the report (session 49, user20).

The legend says every assumption in words (km_describe_assumed), but on 91e8af7's build a
time vector taken from a name like `t` (/session assumed `time_name`) and a rate taken from
a number like `fs` (`rate_name`) were shown as the bare names, and `time_units` was said
twice: in words, then as its bare name.  Each case below fails on that build."""
import re
import subprocess

import h5py
import numpy as np
import pytest

from km_cli import BIN


def _frames():
    f = np.random.default_rng(1).random((40, 12, 12)).astype(np.float32) * 10
    f[:, 5, 5] += 50
    return f


def _npz_t(path):
    np.savez(str(path), frames=_frames(), t=np.arange(40) * 0.02)


def _npz_fs(path):
    np.savez(str(path), frames=_frames(), fs=50.0)


def _h5_time_without_units(path):
    with h5py.File(str(path), "w") as f:
        f["frames"] = _frames()
        f["time"] = np.arange(40) * 0.02


# (input maker, its name, options, names assumed about time, the words the legend says)
CASES = [
    (_npz_t, "t.npz", [], ["time_name"], ["the times from a vector named like time (t, times, ...)"]),
    (_npz_fs, "fs.npz", [], ["rate_name"], ["the frame rate from a number named like a rate (fs, fps, ...)"]),
    (_h5_time_without_units, "tu.h5", ["--format", "session"], ["time_units"],
     ["/time in seconds (it has no units attribute)"]),
]


def _assumed(result):
    with h5py.File(str(result)) as f:
        a = f["session"].attrs["assumed"]
    return (a.decode() if isinstance(a, bytes) else str(a)).split(",")


@pytest.mark.parametrize("make, name, opts, names, words", CASES, ids=[c[1] for c in CASES])
def test_time_assumed_is_said_in_words(tmp_path, make, name, opts, names, words):
    src, res = tmp_path / name, tmp_path / "r.knotmap.h5"
    make(src)
    subprocess.run([str(BIN), "process", "-q", str(src), "-o", str(res), "--pitch", "5", "--units", "kPa",
                    "--mode", "mat", *opts], check=True, capture_output=True)
    assert set(names) <= set(_assumed(res))
    svg, html = tmp_path / "m.svg", tmp_path / "r.html"
    subprocess.run([str(BIN), "render", "-q", str(res), "-o", str(svg)], check=True)
    subprocess.run([str(BIN), "report", "-q", str(res), "-o", str(html)], check=True)
    legend = [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg.read_text())
              if t.startswith("Assumed, not in the recording: ")]
    assert len(legend) == 1, legend
    page = html.read_text()
    for n, w in zip(names, words):
        esc = w.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert legend[0].count(esc) == 1, legend[0]
        assert not re.search(r"(: |, )%s(, |\.)" % n, legend[0]), legend[0]   # not as a bare name
        assert esc in page
        assert not re.search(r"(: |, )%s(, |\.|<)" % n, page)
