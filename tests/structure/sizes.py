#!/usr/bin/env python3
"""Sizes of the C sources: files over MAX_FILE_LINES lines and functions over
MAX_FUNCTION_LINES lines in src/ (generated tables aside).

    /usr/bin/python3 tests/structure/sizes.py        # list the offenders

A function is measured from the line that opens its definition (a line at
column 0 that is not a comment, a preprocessor line, a declaration ending in
';' or a data initialiser) to its closing brace at column 0: the way this
project's clang-format lays functions out. Data tables (static const arrays)
are not functions and are not counted.
"""
import os
import re
import sys

MAX_FILE_LINES = 700
MAX_FUNCTION_LINES = 80
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

_FUNC_START = re.compile(r"^[A-Za-z_][\w \t\*]*\b(\w+)\s*\(")


def sources(root=ROOT):
    for d, _, files in os.walk(os.path.join(root, "src")):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(d, f)


def functions(lines):
    """(name, first line number, length in lines) of each function definition."""
    out = []
    i, n = 0, len(lines)
    while i < n:
        m = _FUNC_START.match(lines[i])
        if m and not lines[i].startswith(("typedef", "struct", "enum", "union")) \
                and "=" not in lines[i].split("(")[0]:
            # the signature may span lines; find its end: ';' (a prototype) or '{'
            j = i
            while j < n and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < n and "{" in lines[j]:
                k = j
                while k < n and not lines[k].startswith("}"):
                    k += 1
                out.append((m.group(1), i + 1, k - i + 1))
                i = k + 1
                continue
            i = j + 1
            continue
        i += 1
    return out


def offenders(root=ROOT):
    big_files, long_functions = [], []
    for path in sources(root):
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        rel = os.path.relpath(path, root)
        if len(lines) - 1 > MAX_FILE_LINES:
            big_files.append((rel, len(lines) - 1))
        for name, line, length in functions(lines):
            if length > MAX_FUNCTION_LINES:
                long_functions.append((f"{rel}:{line}", name, length))
    return big_files, long_functions


def main():
    big_files, long_functions = offenders()
    for rel, n in sorted(big_files, key=lambda t: -t[1]):
        print(f"file     {n:5d} lines  {rel}")
    for where, name, n in sorted(long_functions, key=lambda t: -t[2]):
        print(f"function {n:5d} lines  {where} {name}()")
    print(f"{len(big_files)} files over {MAX_FILE_LINES} lines, "
          f"{len(long_functions)} functions over {MAX_FUNCTION_LINES} lines")
    return 1 if big_files or long_functions else 0


if __name__ == "__main__":
    sys.exit(main())
