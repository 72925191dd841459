"""Mistakes a new user makes in the first hour with the Python package (session 46,
user17), each answered with what to do.  All fail on 2574aa5:

- batch("sesions/", "results/") (a mistyped folder) ran a batch of one session that
  failed with KM_ERR_NOT_FOUND, after making results/; batch("s/*.asf", ...) with a
  pattern that matches nothing returned [] without a word.  `knotmap process`
  refuses a missing input (exit 66); batch() now raises FileNotFoundError before any
  work, and makes no folder.
- temporal_filter(frames, 100.0) (the rate where the kind goes) said "temporal:
  unknown kind 100", and kind=2.7 was cut to 2 (iir_lowpass).
- read_result(session) said only "not a knotmap result".
- process(frames) (an array in memory) said only that the input must be a path."""
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


def test_process_of_frames_in_memory_says_how(tmp_path, monkeypatch):
    """process(frames) (a numpy array where the path goes) said only "input must be a
    path ..., got 'ndarray'"; now it names both ways, each of which is run here and
    gives the same candidates."""
    import warnings
    warnings.simplefilter("ignore", knotmap.AssumedWarning)
    session, _ = knotmap.synth(mode="mat", duration=5, grid=(16, 16), knots=2, seed=3)
    frames, pitch = session.frames, session.metadata["row_pitch_mm"]
    with pytest.raises(TypeError) as e:
        knotmap.process(frames, str(tmp_path / "r.h5"))
    assert isinstance(e.value, knotmap.Error)
    assert ("got 'ndarray': process() reads a file. Frames in memory: save them "
            "(numpy.save('s.npy', frames), or numpy.savez with time= or fs=) and pass rate=, "
            "pitch= as needed, or push them through knotmap.Pipeline(grid=(16, 16), rate=..., "
            "pitch=...), which gives the same body map and candidates") in str(e.value)
    assert not (tmp_path / "r.h5").exists()
    monkeypatch.chdir(str(tmp_path))
    np.save("s.npy", frames)
    knotmap.process("s.npy", "r.h5", rate=100, pitch=pitch)
    with knotmap.Pipeline(grid=(16, 16), rate=100, pitch=pitch) as pipe:
        pipe.push(frames)
        pipe.finish()
        live = pipe.candidates()
    written = knotmap.read_result("r.h5")["candidates"]
    assert len(written["x_mm"]) == 2
    for k in ("x_mm", "y_mm", "score"):
        np.testing.assert_array_equal(written[k], live[k])


def test_synth_model_is_a_keyword_as_the_option():
    """`knotmap synth --model 2` is a row of the synth table, but synth() had no
    `model` keyword (it worked only as a km_synth_params field, unseen in help()),
    and model=2 with grid=, knots= or roller_radius= ignored them where the command
    refuses them."""
    import inspect
    assert inspect.signature(knotmap.synth).parameters["model"].default == 1
    s, _ = knotmap.synth(model=2, duration=1, seed=5)
    assert s.frames.shape[1:] != (32, 32)  # the device drawn from the seed
    for kw in (dict(grid=(8, 8)), dict(knots=3), dict(roller_radius=40.0)):
        with pytest.raises(ValueError, match="%s= does not apply to model=2 \\(it draws the "
                           "device and the knots from the seed\\)" % list(kw)[0]):
            knotmap.synth(model=2, duration=1, **kw)
