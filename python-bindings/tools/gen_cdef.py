#!/usr/bin/env python3
"""Generate the cffi cdef of knotmap from the public header.

The binding never carries a hand-copied declaration (SEP's mistake): at build
time this script reads include/knotmap.h and keeps what cffi's parser accepts:

- comments are removed;
- preprocessor lines are dropped, except ``#define NAME <integer>`` which
  become cffi integer constants (C suffixes such as ``1u`` are stripped);
- blocks under ``#ifdef __cplusplus`` are dropped;
- the ``KM_API`` export macro is removed.

Usage: gen_cdef.py HEADER OUTPUT
"""
import re
import sys

_INT_DEFINE = re.compile(
    r"^#\s*define\s+([A-Za-z_]\w*)\s+\(?\s*(-?(?:0[xX][0-9a-fA-F]+|\d+))[uUlL]*\s*\)?\s*$")


def _strip_comments(text):
    # Strings in the header hold no comment markers, so a regex is enough;
    # block comments keep their newlines so line-based work below stays simple.
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _join_continuations(text):
    return re.sub(r"\\\n", " ", text)


def generate(header_text):
    lines = _join_continuations(_strip_comments(header_text)).splitlines()
    out = []
    # Stack of "is this conditional block kept?" flags.
    keep_stack = []
    for raw in lines:
        line = raw.strip()
        if line.startswith("#"):
            directive = line[1:].strip()
            word = directive.split(None, 1)[0] if directive else ""
            if word in ("if", "ifdef", "ifndef"):
                cond = directive[len(word):]
                keep = not (word in ("if", "ifdef") and "__cplusplus" in cond)
                keep_stack.append(keep)
            elif word == "endif":
                if not keep_stack:
                    raise ValueError("unbalanced #endif")
                keep_stack.pop()
            elif word in ("else", "elif"):
                # Only the __cplusplus guard is ever skipped, and it has no
                # #else in a C header; other chains (KM_API) are all dropped
                # lines anyway.
                pass
            elif word == "define" and all(keep_stack):
                m = _INT_DEFINE.match("#" + directive)
                if m:
                    out.append("#define %s %s" % (m.group(1), m.group(2)))
            continue
        if not all(keep_stack):
            continue
        line = re.sub(r"\bKM_API\b", "", raw).rstrip()
        if line.strip():
            out.append(line)
    if keep_stack:
        raise ValueError("unterminated #if block")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: gen_cdef.py HEADER OUTPUT\n")
        return 64
    with open(argv[1], encoding="utf-8") as f:
        cdef = generate(f.read())
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write("/* Generated from %s by gen_cdef.py: do not edit. */\n" % argv[1])
        f.write(cdef)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
