#!/usr/bin/env python3
"""Emit the C source of the knotmap._knotmap cffi extension (API mode).

The cdef is generated from include/knotmap.h by gen_cdef.py; this script adds
only the binding's own helper (the version the extension was compiled
against) and writes the C file that CMake or setup.py compiles.

Usage: build_ffi.py HEADER OUTPUT_C
"""
import os
import sys

import cffi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_cdef  # noqa: E402

# The extension's own helpers, defined in the C preamble below: not copies of
# library declarations.
_HELPERS_CDEF = """
const char *km_py_compiled_version(void);
"""

PREAMBLE = """
#include "knotmap.h"

/* KM_VERSION_STRING as seen when this extension was compiled, to compare
 * with km_version_string() of the library actually linked. */
static const char *km_py_compiled_version(void) { return KM_VERSION_STRING; }
"""


def make_ffi(header_path, **source_kwargs):
    """A cffi FFI for knotmap._knotmap; source_kwargs go to set_source."""
    with open(header_path, encoding="utf-8") as f:
        cdef = gen_cdef.generate(f.read())
    ffi = cffi.FFI()
    ffi.cdef(cdef + _HELPERS_CDEF)
    ffi.set_source("knotmap._knotmap", PREAMBLE, **source_kwargs)
    return ffi


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: build_ffi.py HEADER OUTPUT_C\n")
        return 64
    ffi = make_ffi(argv[1])
    tmp = argv[2] + ".tmp"
    ffi.emit_c_code(tmp)
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
