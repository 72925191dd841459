import os
import re

import knotmap


def test_version_is_the_cmake_project_version(repo_dir):
    with open(os.path.join(repo_dir, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(\s*knotmap\s+VERSION\s+([0-9.]+)", f.read())
    assert m is not None
    assert knotmap.__version__ == m.group(1)
    assert knotmap.library_version == knotmap.__version__


def test_compiled_and_linked_versions_agree():
    from knotmap._core import ffi, lib
    linked = ffi.string(lib.km_version_string()).decode()
    compiled = ffi.string(lib.km_py_compiled_version()).decode()
    assert linked == compiled == knotmap.__version__
    major, minor, patch = (int(x) for x in linked.split("."))
    assert lib.km_version_number() == major * 10000 + minor * 100 + patch


def test_version_check_raises_importerror_on_mismatch(monkeypatch):
    monkeypatch.setattr(knotmap, "__version__", "99.0.0")
    try:
        knotmap._check_versions()
    except ImportError as e:
        assert "99.0.0" in str(e) and knotmap.library_version in str(e)
    else:
        raise AssertionError("no ImportError for a package/library mismatch")


def test_cdef_is_generated_from_the_header(repo_dir):
    """Every function the header declares is reachable from Python."""
    from knotmap._core import lib
    with open(os.path.join(repo_dir, "include", "knotmap.h"), encoding="utf-8") as f:
        names = re.findall(r"KM_API\s+[^;(]*?\b(km_\w+)\s*\(", f.read())
    assert len(names) > 30
    missing = [n for n in names if not hasattr(lib, n)]
    assert missing == []
