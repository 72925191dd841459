"""No source file in src over 700 lines, no function over 80 lines.

KNOWN lists what is still over the limits while the split is under way; an
entry is removed by whoever splits it, and the test fails on any offender
that is not listed (a new one, or an old one that came back)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sizes  # noqa: E402

KNOWN_FILES = set()
KNOWN_FUNCTIONS = set()


def test_no_new_big_file_or_long_function():
    big_files, long_functions = sizes.offenders()
    new_files = sorted(f"{rel} ({n} lines)" for rel, n in big_files if rel not in KNOWN_FILES)
    new_functions = sorted(f"{where} {name}() ({n} lines)" for where, name, n in long_functions
                           if (where.split(":")[0], name) not in KNOWN_FUNCTIONS)
    assert not new_files and not new_functions, (new_files, new_functions)


def test_measure_sees_a_long_function():
    body = ["int f(void)", "{"] + ["    x();"] * 81 + ["}", "static int g(int a,", "             int b)",
                                                    "{", "    return a + b;", "}"]
    found = {name: n for name, _, n in sizes.functions(body)}
    assert found == {"f": 84, "g": 5}
