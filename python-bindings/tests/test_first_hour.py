"""Mistakes a new user makes in the first hour with the Python package (session 46,
user17), each answered with what to do.  All fail on 2574aa5:

- batch("sesions/", "results/") (a mistyped folder) ran a batch of one session that
  failed with KM_ERR_NOT_FOUND, after making results/; batch("s/*.asf", ...) with a
  pattern that matches nothing returned [] without a word.  `knotmap process`
  refuses a missing input (exit 66); batch() now raises FileNotFoundError before any
  work, and makes no folder.
- temporal_filter(frames, 100.0) (the rate where the kind goes) said "temporal:
  unknown kind 100", and kind=2.7 was cut to 2 (iir_lowpass).
- read_result(session) said only "not a knotmap result"."""
import os

import numpy as np
import pytest

import knotmap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")


@pytest.mark.parametrize("given, says", [("sesions/", "no such file or folder"),
                                         ("sesions", "no such file or folder"),
                                         ("s/*.asf", "no file matches this pattern")])
def test_batch_of_a_missing_folder_or_pattern(tmp_path, monkeypatch, given, says):
    os.makedirs(str(tmp_path / "s"))
    monkeypatch.chdir(str(tmp_path))
    with pytest.raises(FileNotFoundError) as e:
        knotmap.batch(given, "results/", progress=False)
    assert isinstance(e.value, knotmap.Error) and e.value.status_name == "KM_ERR_NOT_FOUND"
    assert str(e.value).startswith("%s: %s" % (given, says)) and e.value.filename == given
    assert not os.path.exists("results")


def test_batch_of_an_empty_folder_is_empty(tmp_path):
    os.makedirs(str(tmp_path / "s"))
    assert knotmap.batch(str(tmp_path / "s"), str(tmp_path / "r"), progress=False) == []


def test_temporal_filter_kind_is_a_name():
    frames = np.random.default_rng(1).random((40, 3, 3))
    with pytest.raises(ValueError) as e:
        knotmap.temporal_filter(frames, 100.0)
    assert isinstance(e.value, knotmap.Error)
    assert str(e.value).startswith(
        "kind=100.0 is not one of 'fir_lowpass', 'fir_highpass', 'iir_lowpass', "
        "'iir_highpass', 'notch', 'median'; the frame rate is rate_hz=: "
        "temporal_filter(frames, rate_hz=100.0)"), str(e.value)
    for bad in (2.7, 2.0, 99, True, None):
        with pytest.raises(ValueError, match="kind=%r is not one of" % (bad,)):
            knotmap.temporal_filter(frames, bad, rate_hz=100.0)
    # the kinds' numbers (TEMPORAL_KINDS) still work, as the names do
    a = knotmap.temporal_filter(frames, knotmap.TEMPORAL_KINDS["median"])
    np.testing.assert_array_equal(a, knotmap.temporal_filter(frames, "median"))


def test_read_result_of_a_session_says_what_to_do():
    with pytest.raises(ValueError) as e:
        knotmap.read_result(EXAMPLE)
    assert str(e.value).startswith(
        "%s: not a knotmap result but a session: knotmap.process(%r, OUTPUT) makes its "
        "result, knotmap.read_session(%r) reads its frames" % (EXAMPLE, EXAMPLE, EXAMPLE))
