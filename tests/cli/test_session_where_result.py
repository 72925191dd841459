"""A session given where a result is wanted (render, report, eval) says how to get the
result; before, only "schema is 'knotmap-session', expected 'knotmap-result'"."""
import pytest

from km_cli import EXAMPLE, run


@pytest.mark.parametrize("args", [["render", EXAMPLE, "-o", "{tmp}/m.png"],
                                  ["report", EXAMPLE, "-o", "{tmp}/r.html"],
                                  ["eval", EXAMPLE, "--truth", EXAMPLE]])
def test_a_session_for_a_result_says_process_it(tmp_path, args):
    r = run(*[str(a).format(tmp=tmp_path) for a in args])
    assert r.returncode == 65, r.stderr
    assert (f"{EXAMPLE}: schema is 'knotmap-session', expected 'knotmap-result' "
            "(a session: `knotmap process` makes its result)") in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []
