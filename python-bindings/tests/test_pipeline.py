"""knotmap.Pipeline: the push engine from Python.  A recorded session pushed
one frame at a time (a live-style loop) and in random blocks gives the body
map and candidates knotmap.process writes; snapshots work on the way."""
import numpy as np
import pytest

import knotmap

EXAMPLE = "datasets/example/roller_example.h5"


@pytest.fixture(scope="module")
def example(repo_dir, tmp_path_factory):
    import os
    path = os.path.join(repo_dir, EXAMPLE)
    out = tmp_path_factory.mktemp("pipe") / "r.h5"
    knotmap.process(path, out)
    return knotmap.read_session(path), knotmap.read_result(out)


def _same(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, what
    assert np.array_equal(a, b, equal_nan=True), what


def _check(pipe, result):
    bm = pipe.bodymap()
    _same(bm["pressure"], result["bodymap"]["pressure"], "bodymap pressure")
    _same(bm["excess"], result["bodymap"]["excess"], "bodymap excess")
    _same(bm["coverage"], result["bodymap"]["coverage"], "bodymap coverage")
    cand = pipe.candidates()
    file_cand = result["candidates"]
    assert len(cand["x_mm"]) == len(file_cand["x_mm"]) > 0
    for col in ("x_mm", "y_mm", "score", "amplitude", "n_passes"):
        _same(cand[col], file_cand[col], col)


def test_live_loop_one_frame_at_a_time_matches_process(example):
    session, result = example
    with knotmap.Pipeline(session) as pipe:
        seen = []
        for i in range(len(session.time)):
            pipe.push(session.frames[i], times=session.time[i])
            if i == len(session.time) // 2:
                seen.append(pipe.bodymap()["pressure"].shape)
        pipe.finish()
        assert seen[0][0] > 0, "half-way the roller has covered part of the body"
        _check(pipe, result)
        assert pipe.info()["n_frames"] == len(session.time)


def test_random_blocks_match_process(example):
    session, result = example
    rng = np.random.default_rng(7)
    pipe = knotmap.Pipeline(session, threads=2)
    i, n = 0, len(session.time)
    while i < n:
        k = int(rng.integers(1, 60))
        pipe.push(session.frames[i:i + k], session.time[i:i + k])
        i += k
    pipe.finish()
    _check(pipe, result)
    pipe.close()
    pipe.close()  # twice is harmless
    with pytest.raises(ValueError):
        pipe.bodymap()


def test_keywords_are_process_keywords():
    with pytest.raises(TypeError, match=r"^Pipeline\(\) got unknown parameters: no_such_option"):
        knotmap.Pipeline(grid=(8, 8), rate=100, pitch=5, no_such_option=1)  # not "process()"
    with pytest.raises(ValueError):
        knotmap.Pipeline(rate=100)  # no geometry
    pipe = knotmap.Pipeline(grid=(8, 8), rate=100, pitch=5, min_distance=3)
    with pytest.raises(ValueError):
        pipe.push(np.zeros((2, 8, 9), np.float32))
    pipe.push(np.zeros((3, 8, 8), np.float32))
    assert pipe.info()["rows"] == 8
    pipe.close()


def test_a_failed_push_is_final(example):
    """A push that fails part-way (a time that is not finite) may have taken
    some frames: every later call raises that first failure; close() frees."""
    session, _ = example
    pipe = knotmap.Pipeline(session)
    pipe.push(session.frames[:10], session.time[:10])
    t = np.array(session.time[10:20])
    t[5] = np.nan
    with pytest.raises(ValueError, match="time nan"):
        pipe.push(session.frames[10:20], t)
    with pytest.raises(ValueError, match="an earlier call failed.*time nan"):
        pipe.push(session.frames[20:30], session.time[20:30])
    with pytest.raises(ValueError, match="an earlier call failed"):
        pipe.candidates()
    pipe.close()
    pipe.close()


def test_times_that_go_back_are_refused():
    frame = np.ones((4, 4), np.float32)
    with knotmap.Pipeline(grid=(4, 4), rate=100, pitch=5) as pipe:
        pipe.push(np.stack([frame] * 2), [0.0, 0.0])  # equal times: as in a session file
        with pytest.raises(ValueError, match=r"times\[1\] = 0.02 is before the time pushed "
                                             r"before it, 0.03"):
            pipe.push(np.stack([frame] * 2), [0.03, 0.02])  # was taken
        with pytest.raises(ValueError, match=r"times\[0\] = -1.0 is before"):
            pipe.push(frame, -1.0)  # before the earlier push
        pipe.push(frame, 0.01)  # the refused pushes took nothing: 0.01 is after 0.0
        with pytest.raises(knotmap.Error, match="time nan"):
            pipe.push(frame, np.nan)  # left to the C library's check
