"""Fixtures of the reliability tests; the helpers live in km_reliability.py
(a name of its own: `conftest` is taken by other test folders collected in
the same pytest run)."""
from km_reliability import knotmap_bin, startup_kib  # noqa: F401  (the fixtures)
