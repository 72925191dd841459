"""`knotmap process --threads N` writes the same result file as one thread.

Every dataset (body map and candidates included) byte for byte, and every
attribute but the provenance that names the run (command line, creation
time).  The session is cut into blocks that do not divide it (37 frames:
18 full blocks and a short one), so the pipelined executor has an odd
number of blocks in flight at the end and shares of 8 frames that do not
divide a block; three threads put more workers than cores on this machine.
"""

import h5py
import numpy as np
import pytest

from km_cli import run_ok as run

RUN_ATTRS = {"command_line", "created_utc"}
# Dimension scales are attached by object references (file addresses, which
# depend on when each object was written): compared by the names they resolve to.
REF_ATTRS = {"DIMENSION_LIST", "REFERENCE_LIST"}


def content(path):
    """{(object, attribute or ""): bytes} of every dataset and attribute."""
    out = {}

    def visit(name, obj):
        name = "/" + name.lstrip("/")
        for k, v in obj.attrs.items():
            if (name == "/" and k in RUN_ATTRS) or k in REF_ATTRS:
                continue
            out[(name, k)] = np.asarray(v).tobytes()
        if isinstance(obj, h5py.Dataset):
            out[(name, "")] = np.asarray(obj[()]).tobytes()
            out[(name, "dims")] = repr([[s.name for s in d.values()] for d in obj.dims]).encode()

    with h5py.File(path, "r") as f:
        visit("/", f)
        f.visititems(visit)
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("threads") / "roller.h5"
    run("synth", "--mode", "roller", "--grid", "32x32", "--rate", "100", "--duration", "7",
        "--seed", "4", "-o", path)
    return path


@pytest.mark.parametrize("extra", [[], ["--save-frames"]], ids=["tables", "saved_frames"])
def test_threads_write_the_one_thread_file(session, tmp_path, extra):
    results = {}
    for threads in (1, 2, 3):
        out = tmp_path / ("t%d.h5" % threads)
        run("process", "-q", "--block-frames", "37", "--threads", threads, *extra, session,
            "-o", out)
        results[threads] = content(out)
    one = results[1]
    assert ("/peaks/value", "") in one and ("/candidates/score", "") in one
    assert len(np.frombuffer(one[("/metrics/time", "")], dtype="<f8")) == 700
    for threads in (2, 3):
        got = results[threads]
        assert sorted(got) == sorted(one), "threads %d: other datasets or attributes" % threads
        differ = [k for k in one if got[k] != one[k]]
        assert not differ, "threads %d: %s differ" % (threads, differ[:5])
