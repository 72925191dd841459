"""Every help lists the two exits any command can give, 70 (internal error) and
71 (out of memory), as `knotmap --help` and docs/CLI.md's table do (session 47,
user18): before, the per-command helps listed neither and `knotmap --help` only
71 (every case fails on 88fc8a2's build)."""
import re

import pytest

from km_cli import run


@pytest.mark.parametrize("cmd", [[], ["process"], ["info"], ["synth"], ["render"], ["report"],
                                 ["eval"]])
def test_help_lists_exits_70_and_71(tmp_path, cmd):
    r = run(*cmd, "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    said = " ".join(r.stdout[r.stdout.index("Exit status:"):].split())
    assert re.search(r"\b70 internal error \(a bug: please report it\)", said), said
    assert re.search(r"\b71 out of memory\b", said), said
