"""Ctrl-C (SIGINT) during a long call: the work stops soon with
KeyboardInterrupt and leaves no output, as `knotmap process` stops between
blocks on SIGINT (exit 130, no result); synth in memory stops after a
block.

Each case runs in a child interpreter (a SIGINT must not reach pytest), and
no timing is assumed: the SIGINT is sent from inside the long call, by the
first Python code C runs (process: its first block's progress call, which
is not there unless the binding installs one; synth: the first generating
call's return).
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import knotmap
from knotmap._defaults import PIPELINE

# Every child: Ctrl-C raises KeyboardInterrupt, as in a terminal (a child of
# a background job starts with SIGINT ignored); argv[1] is the package's path.
PRELUDE = textwrap.dedent("""
    import os, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, sys.argv[1])
""")

# A module's lib with a Ctrl-C landing when the first call to `name` returns;
# `frames` adds up count(args) over the calls (the frames they did).
INTERRUPTING_LIB = textwrap.dedent("""
    class Lib:
        def __init__(self, lib, name, count):
            self.lib, self.name, self.count, self.frames = lib, name, count, 0

        def __getattr__(self, attr):
            fn = getattr(self.lib, attr)
            if attr != self.name:
                return fn

            def call(*args):
                status = fn(*args)
                first = self.frames == 0
                self.frames += self.count(args)
                if first:
                    os.kill(os.getpid(), signal.SIGINT)
                return status
            return call
""")

CHILD = PRELUDE + textwrap.dedent("""
    import knotmap
    from knotmap import _process
    src, out_dir = sys.argv[2], sys.argv[3]
    out = os.path.join(out_dir, "r.knotmap.h5")

    class FFI:
        # the extension's ffi, but the first call C makes into Python during
        # km_process (the first block done) comes with a Ctrl-C: Python runs
        # a SIGINT's handler only when it runs Python code, as here
        def __init__(self, ffi):
            self.ffi, self.sent = ffi, False

        def __getattr__(self, name):
            return getattr(self.ffi, name)

        def callback(self, *args, **kwargs):
            make = self.ffi.callback(*args, **kwargs)

            def wrap(fn):
                def first_call_interrupted(*a):
                    if not self.sent:
                        self.sent = True
                        os.kill(os.getpid(), signal.SIGINT)
                    return fn(*a)
                return make(first_call_interrupted)
            return wrap

    _process.ffi = FFI(_process.ffi)
    try:
        knotmap.process(src, out)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", sorted(os.listdir(out_dir)))
    else:
        print("returned", sorted(os.listdir(out_dir)))
""")


@pytest.fixture(scope="module")
def session_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("interrupt") / "s.h5"
    knotmap.synth(path, mode="roller", duration=20, rate=100, grid=(16, 16), seed=5)
    return path


def test_ctrl_c_stops_process_and_leaves_no_result(session_path, tmp_path):
    pythonpath = os.path.dirname(os.path.dirname(knotmap.__file__))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = subprocess.run([sys.executable, "-c", CHILD, pythonpath, str(session_path),
                        str(out_dir)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # stopped inside the C call (cancelled between blocks), not after it wrote
    # the whole result
    assert r.stdout.strip() == "KeyboardInterrupt []", r.stdout + r.stderr


SYNTH_CHILD = PRELUDE + INTERRUPTING_LIB + textwrap.dedent("""
    import knotmap
    from knotmap import _synth

    # the Ctrl-C lands while the first call to generate frames runs (its
    # last argument returns the count)
    _synth.lib = Lib(_synth.lib, "km_synth_frames_motion", lambda a: a[-1][0])
    try:
        knotmap.synth(mode="roller", duration=60, rate=100, grid=(16, 16), seed=5)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", _synth.lib.frames)
    else:
        print("returned", _synth.lib.frames)
""")


def test_ctrl_c_stops_synth_in_memory_after_a_block():
    pythonpath = os.path.dirname(os.path.dirname(knotmap.__file__))
    r = subprocess.run([sys.executable, "-c", SYNTH_CHILD, pythonpath], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    word, frames = r.stdout.split()
    # one block of the pipeline's size generated, not the whole 6000 frames
    assert (word, int(frames)) == ("KeyboardInterrupt", PIPELINE.block_frames), r.stdout


SYNTH_FILE_CHILD = PRELUDE + textwrap.dedent("""
    import threading
    import knotmap
    from knotmap import _synth
    out_dir = sys.argv[2]

    class Lib:
        # the extension's functions, but a Ctrl-C lands while km_synth_write
        # runs: its call waits (up to a minute) for the cancel the Ctrl-C
        # must bring, then runs, so the test assumes no timing
        def __init__(self, lib):
            self.lib, self.cancelled, self.returned = lib, threading.Event(), []

        def __getattr__(self, name):
            return getattr(self.lib, name)

        def km_ctx_cancel(self, c):
            self.lib.km_ctx_cancel(c)
            self.cancelled.set()

        def km_synth_write(self, *args):
            os.kill(os.getpid(), signal.SIGINT)
            self.cancelled.wait(60)
            status = self.lib.km_synth_write(*args)
            self.returned.append(status)
            return status

    _synth.lib = Lib(_synth.lib)
    kw = dict(mode="roller", duration=60, rate=100, grid=(16, 16), seed=5)
    try:
        knotmap.synth(os.path.join(out_dir, "s.h5"), **kw)
    except KeyboardInterrupt:
        # raised once the C call has returned (cancelled), not before
        print("KeyboardInterrupt", _synth.lib.cancelled.is_set(),
              _synth.lib.returned == [_synth.lib.lib.KM_ERR_CANCELLED], sorted(os.listdir(out_dir)))
    else:
        print("returned", _synth.lib.cancelled.is_set(), sorted(os.listdir(out_dir)))
    # the thread's context is usable again: the cancel was reset
    _synth.lib = _synth.lib.lib
    knotmap.synth(os.path.join(out_dir, "t.h5"), **dict(kw, duration=1))
    print(sorted(os.listdir(out_dir)))
""")


def test_ctrl_c_stops_synth_to_a_file_and_leaves_no_file(tmp_path):
    """Before session 35 km_synth_write ran in the calling thread, where
    Python never saw the SIGINT until the whole file was written.  The C
    call now runs on a worker thread; the KeyboardInterrupt waits until it
    has stopped (a Thread.join interrupted by Ctrl-C returns at once on
    CPython 3.11, which let it leave its temporary file behind)."""
    pythonpath = os.path.dirname(os.path.dirname(knotmap.__file__))
    r = subprocess.run([sys.executable, "-c", SYNTH_FILE_CHILD, pythonpath, str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["KeyboardInterrupt True True []", "['t.h5']"], r.stdout + r.stderr


def test_synth_in_memory_in_blocks_equals_the_file(tmp_path):
    kw = dict(mode="roller", duration=7.3, rate=100, grid=(24, 16), knots=2, seed=9)
    s, truth = knotmap.synth(**kw)
    r = knotmap.read_session(knotmap.synth(tmp_path / "s.h5", **kw))
    assert s.frames.shape == (730, 24, 16)  # blocks of 256: 256 + 256 + 218
    np.testing.assert_array_equal(r.frames, s.frames)
    np.testing.assert_array_equal(r.time, s.time)
    assert len(truth["motion"]["load"]) == 730 and np.all(np.isfinite(truth["motion"]["load"]))


TEMPORAL_CHILD = PRELUDE + INTERRUPTING_LIB + textwrap.dedent("""
    import numpy as np
    import knotmap
    from knotmap import _stages

    # the Ctrl-C lands during the first push (n_in, its fourth argument)
    _stages.lib = Lib(_stages.lib, "km_temporal_push", lambda a: a[3])
    frames = np.zeros((6000, 8, 8), np.float32)
    try:
        knotmap.temporal_filter(frames, "fir_lowpass", rate_hz=100, cutoff_hz=5)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", _stages.lib.frames)
    else:
        print("returned", _stages.lib.frames)
""")


def test_ctrl_c_stops_temporal_filter_after_a_block():
    pythonpath = os.path.dirname(os.path.dirname(knotmap.__file__))
    r = subprocess.run([sys.executable, "-c", TEMPORAL_CHILD, pythonpath], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # one block pushed, not the 6000 frames at once
    assert r.stdout.split() == ["KeyboardInterrupt", str(PIPELINE.block_frames)], r.stdout


def test_temporal_filter_in_blocks_matches_scipy():
    ss = pytest.importorskip("scipy.signal")
    ndi = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(8)
    # 1000 frames = 3 blocks of 256 + 232, float64 and strided (converted a block at a time)
    x = (20 + rng.standard_normal((1000, 5, 8))).astype(np.float64)[:, :, ::2]
    x2 = x.reshape(1000, -1)
    h = ss.firwin(31, 5, fs=100)
    np.testing.assert_allclose(
        knotmap.temporal_filter(x, "fir_lowpass", rate_hz=100, cutoff_hz=5, taps=31),
        ndi.convolve1d(x2, h, axis=0, mode="nearest").reshape(x.shape), rtol=0, atol=1e-4)
    np.testing.assert_array_equal(
        knotmap.temporal_filter(x, "median", median_width=7),
        ndi.median_filter(x.astype(np.float32), size=(7, 1, 1), mode="nearest"))
    sos = ss.butter(4, 5, fs=100, output="sos")
    zi = ss.sosfilt_zi(sos)[:, :, None] * x2[0][None, None, :]
    np.testing.assert_allclose(
        knotmap.temporal_filter(x, "iir_lowpass", rate_hz=100, cutoff_hz=5),
        ss.sosfilt(sos, x2, axis=0, zi=zi)[0].reshape(x.shape), rtol=0, atol=1e-3)
