"""render() and report() check their keywords as every knotmap function does
(python-bindings/README.md: every exception is a knotmap.Error; a number given
as a string, a count that is not whole, a switch that is not a bool is a
TypeError naming the keyword).  Until session 45 they took int()/float()/bool()
of what they were given: candidates="5" and vmin="3" were taken, cell_px=2.7
was cut to 2, overwrite="no" meant True, and an unknown map or format was a
plain ValueError (not a knotmap.Error)."""
import os

import numpy as np
import pytest

import knotmap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("render_args") / "r.knotmap.h5")
    knotmap.process(EXAMPLE, out)
    return out


@pytest.mark.parametrize("kw, name", [
    ({"candidates": "5"}, "candidates"), ({"cell_px": 2.7}, "cell_px"),
    ({"vmin": "3"}, "vmin"), ({"vmax": [1.0]}, "vmax"), ({"percentile": "90"}, "percentile"),
    ({"overwrite": "no"}, "overwrite"), ({"max_memory": "1G"}, "max_memory"),
    ({"candidates": None}, "candidates"), ({"format": 3}, "format"), ({"map": 1.5}, "map"),
])
@pytest.mark.parametrize("fn", ["render", "report"])
def test_a_value_of_the_wrong_type_is_a_type_error_naming_it(result, kw, name, fn):
    if fn == "report" and name not in ("candidates", "overwrite", "max_memory", "map"):
        pytest.skip("not a keyword of report()")
    with pytest.raises(TypeError) as e:
        getattr(knotmap, fn)(result, None, **kw)
    assert isinstance(e.value, knotmap.Error) and name in str(e.value), str(e.value)


@pytest.mark.parametrize("kw", [{"map": "foo"}, {"format": "jpg"}])
def test_an_unknown_name_is_a_knotmap_value_error(result, kw):
    with pytest.raises(ValueError) as e:
        knotmap.render(result, None, **kw)
    assert isinstance(e.value, knotmap.Error)
    assert "must be one of" in str(e.value) and repr(next(iter(kw.values()))) in str(e.value)


def test_numbers_of_numpy_and_whole_floats_are_taken(result):

    a = knotmap.render(result, None, candidates=np.int64(3), cell_px=4.0, vmin=np.float32(0),
                       percentile=np.float64(95), overwrite=np.bool_(True), map="bodymap",
                       format=".SVG")
    b = knotmap.render(result, None, candidates=3, cell_px=4, vmin=0.0, percentile=95.0,
                       map="bodymap", format="svg")
    assert a == b and a.startswith(b"<?xml")
    assert knotmap.report(result, None, candidates=np.int32(2)) == \
        knotmap.report(result, None, candidates=2)


@pytest.mark.parametrize("call, name", [
    (lambda r: knotmap.read_result(r, as_pandas="no"), "as_pandas"),
    (lambda r: knotmap.read_result(r, frames="no"), "frames"),
    (lambda r: knotmap.read_result(r, frames=0.5), "frames"),
    (lambda r: knotmap.evaluate(r, EXAMPLE, tolerance_mm="5"), "tolerance_mm"),
    (lambda r: knotmap.evaluate(r, EXAMPLE, top=2.7), "top"),
    (lambda r: knotmap.evaluate(r, EXAMPLE, top="3"), "top"),
    (lambda r: knotmap.eval_points([[0, 0]], [[1, 1]], "3"), "tolerance_mm"),
])
def test_result_readers_check_their_keywords_too(result, call, name):
    """read_result() took as_pandas="no" for True (DataFrames) and frames="no"
    for True; evaluate() took tolerance_mm="5", cut top=2.7 to 2, took
    top="3"; eval_points() took tolerance_mm="3" (until session 45)."""
    with pytest.raises(TypeError) as e:
        call(result)
    assert isinstance(e.value, knotmap.Error) and name in str(e.value), str(e.value)


def test_result_readers_take_what_they_document(result):

    assert type(knotmap.read_result(result, as_pandas=np.bool_(False))["peaks"]) is knotmap.Table
    assert "conditioned" not in knotmap.read_result(result, frames=0).get("frames", {})
    a = knotmap.evaluate(result, EXAMPLE, tolerance_mm=np.float32(5), top=np.int64(2))
    assert a == knotmap.evaluate(result, EXAMPLE, tolerance_mm=5.0, top=2)


@pytest.mark.parametrize("call, name", [
    (lambda: knotmap.read_session(EXAMPLE, block_frames="256"), "block_frames"),
    (lambda: knotmap.read_session(EXAMPLE, block_frames=2.5), "block_frames"),
    (lambda: knotmap.gain_map_from_recording(EXAMPLE, load_fraction="0.8"), "load_fraction"),
    (lambda: knotmap.gain_map_from_recording(EXAMPLE, settle_frames=2.5), "settle_frames"),
    (lambda: knotmap.condition(np.zeros((4, 5, 6), np.float32), 100.0, bad_hot_ratio="4"),
     "bad_hot_ratio"),
])
def test_reading_and_conditioning_keywords_too(call, name):
    """read_session(block_frames=) took "256" and cut 2.5 to 2,
    gain_map_from_recording() took strings and cut settle_frames, condition()'s
    bad_* took strings (until session 45)."""
    with pytest.raises(TypeError) as e:
        call()
    assert isinstance(e.value, knotmap.Error) and name in str(e.value), str(e.value)
