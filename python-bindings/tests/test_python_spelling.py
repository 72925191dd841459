"""Errors and warnings raised in Python name Python's keywords, not the
command line's options.  The texts are written once, in the C library, and
name the options as `knotmap` spells them (`--grid RxC`, `--mode
mat|roller`); the package spells each as its keyword from the parameter
tables (knotmap._params.python_spelling).  Before session 35 a Python user
was told to "pass --grid RxC" or "--text-layout matrix"."""
import os

import pytest

import knotmap
from knotmap._core import ffi, lib
from knotmap._params import python_spelling

ASSUMED = ["row_pitch_mm", "col_pitch_mm", "frame_rate_hz", "rate_name", "units", "mode",
           "roller_radius_mm", "encoding", "schema", "matlab", "time_axis", "string",
           "time_units", "time_name"]


@pytest.mark.parametrize("text, python", [
    ("assuming 1 mm (pass --pitch MM or RxC)", "assuming 1 mm (pass pitch=MM or (R, C))"),
    ("assuming 1 Hz (pass --rate HZ)", "assuming 1 Hz (pass rate=HZ)"),
    ("raw counts (pass --units kPa|mmHg|N/cm2)", "raw counts (pass units='kPa'|'mmHg'|'N/cm2')"),
    ("a mat (pass --mode mat|roller)", "a mat (pass mode='mat'|'roller')"),
    ("Pass --grid RxC for one frame per line (e.g. --grid 64x32), or --text-layout matrix",
     "Pass grid=(R, C) for one frame per line (e.g. grid=(64, 32)), or text_layout='matrix'"),
    ("budget of 0 MiB (--max-memory, max_memory=)", "budget of 0 MiB (max_memory=)"),
    ("or raise --max-memory)", "or raise max_memory)"),
    ("or pass --override (C: override = 1) to", "or pass override=True (C: override = 1) to"),
    ("--sigma -1 (keyword sigma) is out of range", "sigma=-1 is out of range"),
    ("--sigma inf (keyword sigma) is out", "sigma=inf is out"),
    ("smooth_truncate 1e+30 (keyword truncate) is", "truncate=1e+30 is"),
    (" (--time-axis last: /frames [R, C, T])", " (time_axis='last': /frames [R, C, T])"),
    ("because --format session was given", "because format='session' was given"),
    ("give it with --format: tekscan, text", "give it with format: tekscan, text"),
    ("--grid is given", "grid is given"),
    ("--no-such-option 3 and plain words", "--no-such-option 3 and plain words"),
])
def test_options_are_spelled_as_keywords(text, python):
    assert python_spelling(text) == python


@pytest.mark.parametrize("name", ASSUMED)
def test_no_assumed_sentence_names_a_cli_option_in_python(name):
    text = lib.km_assumed_text(name.encode(), len(name))
    assert text != ffi.NULL, name
    assert "--" not in python_spelling(ffi.string(text).decode())


def test_read_session_errors_name_keywords(datasets_dir):
    bed = os.path.join(datasets_dir, "real", "physionet_pmd", "experiment-i", "S1", "1.txt")
    with pytest.raises(knotmap.Error) as e:
        knotmap.read_session(bed)
    assert "grid=(R, C)" in str(e.value) and "text_layout='matrix'" in str(e.value)
    assert "--" not in str(e.value) and "--" not in e.value.detail
    with pytest.raises(knotmap.Error) as e:
        knotmap.read_session(os.path.join(datasets_dir, "example", "roller_example.h5"),
                             max_memory=100000)
    assert "(max_memory=)" in str(e.value) and "--" not in str(e.value)


def test_assumed_warnings_name_keywords(datasets_dir):
    bed = os.path.join(datasets_dir, "real", "physionet_pmd", "experiment-i", "S1", "1.txt")
    with pytest.warns(knotmap.AssumedWarning) as record:
        knotmap.read_session(bed, grid=(64, 32))
    texts = [str(w.message) for w in record if issubclass(w.category, knotmap.AssumedWarning)]
    assert any("mode='mat'|'roller')" in t for t in texts)  # with pitch, rate, units
    assert not any("--" in t for t in texts)
