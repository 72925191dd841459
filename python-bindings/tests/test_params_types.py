"""Numbers and switches passed through process()'s, Pipeline()'s and
synth()'s keywords are held to the checks of the array functions' named
arguments (_core.real / integer / flag): before session 35 they went
through float()/int()/a truth test, so "0.1" was read as 0.1, 2.5 frames
as 2 and detect_bad_taxels="no" switched the detector on."""
import os

import numpy as np
import pytest

import knotmap

BAD = [({"cand_min_pressure_share": "0.1"}, "cand_min_pressure_share="),
       ({"offset": "1"}, "offset="), ({"tare": "5"}, "tare="),
       ({"track_max_gap": 2.5}, "track_max_gap="), ({"threads": 1.5}, "threads="),
       ({"median": "3"}, "median="), ({"bad_hot_ratio": [2.0]}, "bad_hot_ratio="),
       ({"detect_bad_taxels": "no"}, "detect_bad_taxels="), ({"iir": "false"}, "iir="),
       ({"save_frames": 2}, "save_frames="), ({"overwrite": "yes"}, "overwrite="),
       ({"rate": "100"}, "rate="), ({"grid": (16.5, 32)}, "grid="),
       ({"block_frames": 12.5}, "block_frames="), ({"prominence": "off"}, "prominence=")]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("s") / "s.h5")
    knotmap.synth(path, mode="mat", duration=1, rate=20, grid=(12, 12), knots=1, seed=3)
    return path


@pytest.mark.parametrize("kw, named", BAD, ids=[n.rstrip("=") for _, n in BAD])
def test_process_keyword_of_the_wrong_type_is_a_type_error_naming_it(session, tmp_path, kw,
                                                                      named):
    out = tmp_path / "r.knotmap.h5"
    with pytest.raises(knotmap.Error) as info:
        knotmap.process(session, out, **kw)
    assert isinstance(info.value, TypeError) and named in str(info.value)
    assert os.listdir(tmp_path) == []  # nothing written


@pytest.mark.parametrize("kw, named", BAD[:10], ids=[n.rstrip("=") for _, n in BAD[:10]])
def test_pipeline_keyword_of_the_wrong_type_is_a_type_error_naming_it(kw, named):
    meta = {"rows": 8, "cols": 8, "frame_rate_hz": 20.0, "row_pitch_mm": 5.0,
            "col_pitch_mm": 5.0, "mode": "mat"}
    with pytest.raises(knotmap.Error) as info:
        knotmap.Pipeline(meta, **kw)
    assert isinstance(info.value, TypeError) and named in str(info.value)


@pytest.mark.parametrize("kw", [{"duration": "2"}, {"seed": 1.5}, {"grid": (8.5, 8)},
                                {"knots": "2"}, {"noise_kpa": "1"}, {"noise_kpa": None}])
def test_synth_keyword_of_the_wrong_type_is_a_type_error_naming_it(kw):
    args = dict(mode="mat", duration=1, rate=20, grid=(8, 8), knots=0)
    args.update(kw)
    with pytest.raises(knotmap.Error) as info:
        knotmap.synth(**args)
    assert isinstance(info.value, TypeError) and next(iter(kw)) + "=" in str(info.value)


def test_synth_fields_take_numpy_numbers():
    kw = dict(mode="mat", duration=1, rate=20, grid=(16, 16), knots=1, seed=2)
    a, _ = knotmap.synth(noise_kpa=0.5, **kw)
    b, _ = knotmap.synth(noise_kpa=np.float32(0.5), **kw)
    np.testing.assert_array_equal(a.frames, b.frames)


def test_numpy_numbers_and_bools_are_taken_as_their_values(session, tmp_path):
    plain = knotmap.process(session, tmp_path / "a.h5", cand_min_pressure_share=0.2,
                            median=3, detect_bad_taxels=False, track_max_gap=4, threads=1,
                            sigma=(1.0, 1.5))
    numpy = knotmap.process(session, tmp_path / "b.h5", cand_min_pressure_share=np.float64(0.2),
                            median=np.int64(3), detect_bad_taxels=np.bool_(False),
                            track_max_gap=np.array(4), threads=np.uint8(1),
                            sigma=(np.float64(1.0), np.float32(1.5)))
    assert plain["n_peaks"] == numpy["n_peaks"] and plain["candidates"] == numpy["candidates"]
    a = knotmap.read_result(tmp_path / "a.h5")["params"]
    b = knotmap.read_result(tmp_path / "b.h5")["params"]
    assert {k: str(v) for k, v in a.items()} == {k: str(v) for k, v in b.items()}
