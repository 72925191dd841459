"""Every fuzz regression file (tests/fuzz/regressions/<target>/) through the plain build.

The replay drivers (tests/fuzz/replay_main.c) need -DKM_BUILD_FUZZ=ON and run
under the sanitizers; this runs the same inputs through the ordinary `knotmap`
binary in every test pass, with or without clang: each must end with exit 0
or a documented sysexits code, never a signal, and a failure must name the
file and leave nothing in the output folder.  Targets whose input starts
with a config byte (text, audio, process) get it decoded into the options
tests/fuzz/fuzz_options.h sets.
"""
import subprocess

import pytest

from km_cli import REPO, BIN

REGRESSIONS = REPO / "tests/fuzz/regressions"
# target -> the format the fuzz target reads with (None: decided by the config byte)
FORMATS = {"tekscan": "tekscan", "xsensor": "xsensor", "session": "session", "auto": "auto",
           "text": "text", "audio": "audio", "process": None, "matlab": "matlab", "npy": "npy",
           "npz": "npz"}
CONFIG_BYTE = {"text", "audio", "process", "matlab", "npy", "npz"}
# fuzz_options.h: bits 0-2 grid, bit 5 rate, bit 6 mode (bits 3-4, text
# frame-per-file, have no CLI option: the reader guesses, as the CLI does).
GRIDS = [None, (1, 1), (2, 3), (4, 4), (64, 32), (64, 27), (60, 21), None]
EXIT_CODES = {0, 64, 65, 66, 69, 74}


def cases():
    if not REGRESSIONS.is_dir():
        return []
    out = []
    for d in sorted(REGRESSIONS.iterdir()):
        if d.is_dir() and d.name in FORMATS:
            out += [pytest.param(d.name, f, id=f"{d.name}/{f.name}") for f in sorted(d.iterdir())
                    if f.is_file() and not f.name.startswith(".")]
    return out


def options(target, cfg):
    fmt = FORMATS[target]
    if target == "process":
        fmt = "audio" if cfg & 128 else "tekscan" if (cfg >> 3) & 3 == 3 else "text"
    args = ["--format", fmt]
    if target in ("matlab", "npy", "npz"):  # fuzz_matlab.c, fuzz_npy.c, fuzz_npz.c: bits 0-1 the time axis
        return args + {1: ["--time-axis", "first"], 2: ["--time-axis", "last"]}.get(cfg & 3, [])
    if cfg is not None:
        grid = GRIDS[cfg & 7]
        if grid:
            args += ["--grid", "%dx%d" % grid]
        if cfg & 32:
            args += ["--rate", "10"]
        if cfg & 64:
            args += ["--mode", "roller", "--roller-radius", "50"]
    if target == "process":
        args += ["--block-frames", "5"]
    return args


def test_regressions_exist():
    assert cases(), "tests/fuzz/regressions holds no regression file"


@pytest.mark.parametrize("target, path", cases())
def test_fuzz_regression_plain_build(tmp_path, target, path):
    data = path.read_bytes()
    cfg = None
    if target in CONFIG_BYTE:
        if not data:
            pytest.skip("empty input: the fuzz target ignores it")
        cfg, data = data[0], data[1:]
    src = tmp_path / "in" / ("input" + (".h5" if target == "session" else ".dat"))
    src.parent.mkdir()
    src.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run([str(BIN), "process", "-q", *options(target, cfg), str(src), "-o",
                        str(out / "result.h5")], capture_output=True, timeout=120)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode >= 0, f"killed by signal {-r.returncode}: {err}"
    assert r.returncode in EXIT_CODES, err
    produced = sorted(p.name for p in out.iterdir())
    if r.returncode == 0:
        assert produced == ["result.h5"]
    else:
        assert produced == [], "a failure left output"
        if r.returncode != 64:
            assert err.startswith(f"knotmap: {src}"), err
