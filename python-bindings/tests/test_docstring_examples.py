"""The docstrings' examples run (doctest over every public name of the
package, from the repository's root, where their paths point) and the
functions a new user starts with have one."""
import doctest

import pytest

import knotmap

HAVE_EXAMPLES = ("read_session", "find_peaks", "peak_local_max", "gaussian_filter", "process",
                 "synth", "evaluate", "render", "report",
                 # session 47 (user18): what a new user does next
                 "Session", "read_result", "is_complete", "batch", "output_path")


def _tests():
    finder = doctest.DocTestFinder(recurse=False)
    tests = []
    for name in knotmap.__all__:
        obj = getattr(knotmap, name)
        if callable(obj):
            tests += [t for t in finder.find(obj, "knotmap." + name, globs={}) if t.examples]
    return tests


def test_every_docstring_example_runs(repo_dir, monkeypatch):
    pytest.importorskip("skimage")
    pytest.importorskip("scipy")
    pytest.importorskip("h5py")
    monkeypatch.chdir(repo_dir)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    tests = _tests()
    for t in tests:
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted >= 20


def test_the_first_functions_have_examples():
    named = {t.name for t in _tests()}
    assert [n for n in HAVE_EXAMPLES if "knotmap." + n not in named] == []


def test_session_docstring_names_every_metadata_key(datasets_dir):
    import os
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", knotmap.AssumedWarning)
        s = knotmap.read_session(os.path.join(datasets_dir, "real", "tekscan_fscan",
                                              "FrasP01L.asf"))
    assert [k for k in s.metadata if k not in knotmap.Session.__doc__] == []  # was ['assumed']
