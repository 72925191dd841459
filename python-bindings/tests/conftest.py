"""Make the built knotmap package importable for the tests.

The package is looked up in $KNOTMAP_PYTHONPATH, else <repo>/build/python
(what the README's build makes).  It is put first on sys.path so that a
venv-installed copy elsewhere never shadows the tree under test.
"""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATASETS = os.path.join(REPO, "datasets")
PYTHONPATH = os.environ.get("KNOTMAP_PYTHONPATH") or os.path.join(REPO, "build", "python")

if not os.path.isdir(os.path.join(PYTHONPATH, "knotmap")):
    raise RuntimeError(
        "knotmap package not built at %s: build the project (cmake -S . -B build "
        "-DPython3_EXECUTABLE=/usr/bin/python3 && cmake --build build) or set "
        "KNOTMAP_PYTHONPATH to <build>/python" % PYTHONPATH)
sys.path.insert(0, PYTHONPATH)


@pytest.fixture(scope="session")
def repo_dir():
    return REPO


@pytest.fixture(scope="session")
def datasets_dir():
    return DATASETS


def pytest_collection_modifyitems(items):
    # The slow tests first (the venv install, minutes): with the files shared
    # out over workers (.ci/pytest) one worker starts it while the others
    # take the rest, instead of it running alone at the end.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
