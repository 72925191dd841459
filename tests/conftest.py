"""Settings shared by every test folder under tests/ (the helpers live in each
folder's own module: km_cli.py, km_reliability.py)."""


def pytest_configure(config):
    # .ci/pytest shares the files out over worker processes (pytest-xdist),
    # then runs the tests marked serial alone: see the README's Testing section.
    config.addinivalue_line(
        "markers", "serial: cannot share the machine with other tests (timing, "
        "machine-wide measurements, signal races); .ci/pytest runs it alone")
    config.addinivalue_line(
        "markers", "slow: takes a minute or more; collected first, so that one "
        "worker starts it while the others take the rest")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
