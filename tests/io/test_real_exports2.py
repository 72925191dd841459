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
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

knotmap = pytest.importorskip("knotmap")
h5py = pytest.importorskip("h5py")

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("KNOTMAP_BIN", REPO / "build" / "knotmap"))
PSI = 6.894757293168361


def info(path, *opts):
    r = subprocess.run([str(BIN), "info", *opts, str(path)], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def refused(path, code, *words, opts=()):
    """The CLI refuses PATH with exit `code`, its message naming the file and each word."""
    rc, _, err = info(path, *opts)
    assert rc == code, err
    line = [x for x in err.splitlines() if "warning" not in x][-1]
    assert line.startswith("knotmap: %s: " % path), err
    for w in words:
        assert w in line, err
    return line


def read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return knotmap.read_session(str(path), **kw)


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
