"""The detection drivers refuse what their simulator cannot draw before any work: a preset
or mode bench/sim_independent.py or bench/sim_third.py does not have is argparse's usage
error (exit 2, the simulator's own list named), not a ValueError from a worker; and
bench/false_candidates.py says where the Python bindings are missing before its first
session."""
import os
import subprocess
import sys

import pytest

from km_cli import REPO

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def run(script, *args, env=None):
    return subprocess.run([PY, str(REPO / "bench" / script), *args], capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.mark.parametrize("script, args, said", [
    ("eval_independent.py", ["--presets", "moderate,easy"],
     "unknown preset(s) easy: this simulator has moderate,hard"),
    ("eval_independent.py", ["--modes", "roller,foot"],
     "unknown mode(s) foot: this simulator has roller,mat"),
    ("eval_third.py", ["--presets", "extreme"],
     "unknown preset(s) extreme: this simulator has easy,moderate,hard"),
])
def test_a_cell_the_simulator_lacks_is_a_usage_error(script, args, said):
    r = run(script, "--bin", "/nonexistent/knotmap", "--seeds", "1", *args)
    assert r.returncode == 2, r.stderr
    assert said in r.stderr
    assert "Traceback" not in r.stderr


def test_false_candidates_without_bindings_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = run("false_candidates.py", "--bin", str(tmp_path / "knotmap"), "--seeds", "1",
            env=env)
    assert r.returncode == 2, r.stderr
    assert "Python bindings are not importable" in r.stderr
    assert "Traceback" not in r.stderr
