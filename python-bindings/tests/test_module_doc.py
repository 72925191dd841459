"""The package's docstring says where to start (session 42: it did not; fails on
80e4cd4), and every name it points to is the package's."""
import re

import knotmap


def test_docstring_names_where_to_start():
    doc = knotmap.__doc__
    assert "Where to start" in doc
    named = re.findall(r"``(\w+)(?:\([^)]*\))?``", doc.split("Where to start", 1)[1].split("\n\n")[0])
    for name in ("read_session", "process", "read_result", "Pipeline", "batch"):
        assert name in named, (name, named)
    for name in named:
        assert callable(getattr(knotmap, name)), name
