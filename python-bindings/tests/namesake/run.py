#!/usr/bin/env python3
"""Run the namesakes' own test suites against knotmap's drop-ins.

    PYTHONPATH=<build>/python /usr/bin/python3 python-bindings/tests/namesake/run.py

scikit-image's feature/tests/test_peak.py (all tests) and scipy's
ndimage/tests/test_filters.py gaussian_filter tests (`-k "gauss and not
laplace and not gradient"`), imported from the installed packages (Debian
python3-skimage 0.19.3, python3-scipy 1.10), with
skimage.feature.peak.peak_local_max and scipy.ndimage.gaussian_filter
replaced by knotmap.peak_local_max and knotmap.gaussian_filter for the
whole run.  Nothing is skipped.  Prints, per suite, the pass count and how
many calls knotmap computed in C and how many it handed to the namesake;
exits 1 when a test fails or a suite ran fewer tests than it has
(EXPECTED below), 77 when a namesake is not installed.
"""
import os
import sys

import pytest

# tests each suite has in the Debian bookworm packages (a smaller count
# means the selection broke, not that knotmap passed)
EXPECTED = {"skimage": 60, "scipy": 13}


class _Count:
    def __init__(self, fn):
        self.fn = fn
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


class DropIns:
    """pytest plugin: knotmap's drop-ins patched in for the namesakes."""

    def __init__(self, suite):
        self.suite = suite
        self.passed = self.failed = self.skipped = 0
        self.knotmap = self.handed = None

    def pytest_sessionstart(self, session):
        import knotmap
        from knotmap import _peaks
        if self.suite == "skimage":
            import skimage.feature
            from skimage.feature import peak
            # the original, looked up before the patch, then counted
            original = _peaks._skimage_peak_local_max()
            self.handed = _Count(original)
            _peaks._SKIMAGE[0] = self.handed
            self.knotmap = _Count(knotmap.peak_local_max)
            peak.peak_local_max = self.knotmap
            skimage.feature.peak_local_max = self.knotmap
        else:
            import scipy.ndimage
            from scipy.ndimage import _filters
            self.handed = _Count(_filters.gaussian_filter)
            _filters.gaussian_filter = self.handed
            self.knotmap = _Count(knotmap.gaussian_filter)
            scipy.ndimage.gaussian_filter = self.knotmap

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            if report.passed:
                self.passed += 1
            elif report.skipped:
                self.skipped += 1
            else:
                self.failed += 1


def _suites():
    try:
        import skimage.feature
        import scipy.ndimage
    except ImportError as e:
        print("namesake: %s is not installed" % e.name, file=sys.stderr)
        sys.exit(77)
    sk = os.path.join(os.path.dirname(skimage.feature.__file__), "tests", "test_peak.py")
    sp = os.path.join(os.path.dirname(scipy.ndimage.__file__), "tests", "test_filters.py")
    return [("skimage", "knotmap.peak_local_max", [sk]),
            ("scipy", "knotmap.gaussian_filter",
             [sp, "-k", "gauss and not laplace and not gradient"])]


def main():
    rc = 0
    # each suite in its own process, so that one suite's patch never
    # reaches the other's tests
    if len(sys.argv) == 2:
        name, label, args = next(s for s in _suites() if s[0] == sys.argv[1])
        plugin = DropIns(name)
        code = pytest.main(["-q", "-p", "no:cacheprovider", "--no-header", "-rfE"] + args,
                           plugins=[plugin])
        print("namesake %s: %d passed, %d failed, %d skipped of %d (%s: %d calls, computed "
              "in C %d, handed to %s %d)"
              % (name, plugin.passed, plugin.failed, plugin.skipped, EXPECTED[name], label,
                 plugin.knotmap.calls, plugin.knotmap.calls - plugin.handed.calls, name,
                 plugin.handed.calls))
        if code != 0 or plugin.failed or plugin.passed != EXPECTED[name]:
            return 1
        return 0
    import subprocess
    for name, _, _ in _suites():
        r = subprocess.run([sys.executable, os.path.abspath(__file__), name])
        rc = rc or r.returncode
    return rc


if __name__ == "__main__":
    sys.exit(main())
