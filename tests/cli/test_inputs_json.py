"""`knotmap process` never reads a knotmap result as a session; `knotmap eval --json`
is valid JSON whatever the file names hold."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from km_cli import BIN


def run(*args, cwd=None):
    return subprocess.run([os.fsencode(BIN), *[os.fsencode(a) if isinstance(a, (str, Path))
                                              else a for a in args]],
                          capture_output=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    s = d / "s.h5"
    r = run("synth", "--mode", "mat", "--duration", "3", "--grid", "16x16", "-o", s)
    assert r.returncode == 0, r.stderr
    r = run("process", s, "-o", d / "s.knotmap.h5", "--quiet")
    assert r.returncode == 0, r.stderr
    return d


def test_process_skips_results_among_its_inputs(made, tmp_path):
    d = tmp_path / "d"
    shutil.copytree(made, d)
    before = sorted(p.name for p in d.iterdir())
    inputs = sorted(str(p) for p in d.glob("*.h5"))       # dir/*.h5: the session and a result
    r = run("process", *inputs, "-o", str(d) + "/", "--quiet")
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert "s.knotmap.h5: skipped: a knotmap result, not a session" in err
    assert sorted(p.name for p in d.iterdir()) == before   # s.knotmap.knotmap.h5 never made
    r = run("process", d / "s.knotmap.h5", "-o", tmp_path / "x.h5")
    assert r.returncode == 65 and b"every input is a knotmap result" in r.stderr
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("name", [
    b'q"uote.h5', b"back\\slash.h5", b"tab\there.h5", b"new\nline.h5", b"ctl\x01\x1f\x7f.h5",
    "caf\u00e9-\u6f22\u5b57-\U0001f600.h5".encode(), b"latin1-\xe9\xff.h5", b"bad-\xed\xa0\x80.h5",
])
def test_eval_json_is_valid_for_any_name(made, tmp_path, name):
    res = os.path.join(os.fsencode(tmp_path), name)
    truth = os.path.join(os.fsencode(tmp_path), b"truth-" + name)
    shutil.copy(made / "s.knotmap.h5", res)
    shutil.copy(made / "s.h5", truth)
    r = run("eval", res, "--truth", truth, "--json")
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout.decode("utf-8"))              # strict UTF-8, then strict JSON
    assert os.fsencode(obj["result"]) == res                # surrogateescape round trip
    assert os.fsencode(obj["truth"]) == truth
    assert obj["n_truth"] > 0 and 0.0 <= obj["recall"] <= 1.0
