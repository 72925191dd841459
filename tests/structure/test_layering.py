"""Layering by mechanism (docs/ARCHITECTURE.md): arrows go one way,

    cli -> pipeline -> {io, synth, track, detect, dsp} -> core
                       synth -> io

checked on includes and on calls.  Includes: a module includes headers of
its own folder, of the modules below it, core's and the public header; a
module-private header (*_internal.h) only from its own folder.  Calls: a
km_* function defined (not static) in one module is called only from that
module or from one above it: the public header declares everything, so
only the calls show what a module really uses.

    /usr/bin/python3 tests/structure/test_layering.py   # list violations
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import sizes  # noqa: E402

STAGES = {"io", "synth", "track", "detect", "dsp"}
# What each module may use besides itself and core.
MAY_USE = {
    "cli": {"pipeline"} | STAGES,  # through the public header only (see INCLUDES)
    "pipeline": set(STAGES),
    "synth": {"io"},
    "io": set(), "track": set(), "detect": set(), "dsp": set(), "core": set(),
}
# Headers of src/ a module may include besides its own folder's and core's.
INCLUDES = {m: set(MAY_USE[m]) for m in MAY_USE}
INCLUDES["cli"] = set()  # the CLI sees the library through knotmap.h only
# Known crossings, each named; whoever removes one deletes its line.
EXCEPTIONS = {}

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
_CALL = re.compile(r"\b(km_\w+)\s*\(")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')


def module_of(root, path):
    rel = os.path.relpath(path, os.path.join(root, "src"))
    return rel.split(os.sep)[0]


def header_module(root, src_module, inc):
    """(module, path) of an included header; module None for the public
    header and for system-like names not found in src/."""
    if inc in ("knotmap.h", "knotmap_version.h"):
        return None, inc
    if "/" in inc:
        return inc.split("/")[0], inc
    for m in (src_module, "core"):
        if os.path.exists(os.path.join(root, "src", m, inc)):
            return m, m + "/" + inc
    return None, inc


def definitions(root):
    """km_* functions defined with external linkage: name -> module."""
    out = {}
    for path in sizes.sources(root):
        if not path.endswith(".c"):
            continue
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for name, first, _ in sizes.functions(lines):
            if name.startswith("km_") and not lines[first - 1].startswith("static"):
                out[name] = module_of(root, path)
    return out


def allowed(user, used):
    return used in (user, "core") or used in MAY_USE.get(user, set()) or \
        (user, used) in EXCEPTIONS


def violations(root=ROOT):
    """Sorted list of 'file:line: what' strings."""
    found = []
    defs = definitions(root)
    for path in sizes.sources(root):
        mod = module_of(root, path)
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for no, line in enumerate(text.splitlines(), 1):
            m = _INCLUDE.match(line)
            if not m:
                continue
            hmod, hpath = header_module(root, mod, m.group(1))
            if hmod is None or hmod == mod or (hmod == "core" and mod != "cli"):
                continue
            if hpath.endswith("_internal.h"):
                found.append("%s:%d: includes %s, private to src/%s" % (rel, no, hpath, hmod))
            elif hmod not in INCLUDES.get(mod, set()) and (mod, hmod) not in EXCEPTIONS:
                found.append("%s:%d: %s includes %s (%s -> %s)" % (rel, no, mod, hpath, mod, hmod))
        code = _STRING.sub('""', _COMMENT.sub(lambda c: "\n" * c.group(0).count("\n"), text))
        for no, line in enumerate(code.splitlines(), 1):
            for name in _CALL.findall(line):
                used = defs.get(name)
                if used is not None and not allowed(mod, used):
                    found.append("%s:%d: %s calls %s of src/%s (%s -> %s)"
                                 % (rel, no, mod, name, used, mod, used))
    return sorted(set(found))


def test_no_module_crosses_the_layering():
    assert violations() == []


def test_the_check_sees_a_crossing(tmp_path):
    """A fake tree with one crossing of each kind: the check must name each."""
    def write(rel, text):
        p = tmp_path / "src" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    write("core/internal.h", "int km_fail(void);\n")
    write("core/context.c", '#include "internal.h"\nint km_fail(void)\n{\n    return 1;\n}\n')
    write("track/track_internal.h", "int km_secret(void);\n")
    write("track/track.c", '#include "internal.h"\nint km_tracker_step(void)\n{\n'
          "    return km_fail();\n}\n")
    write("pipeline/run.c", "int km_run(void)\n{\n    return km_tracker_step();\n}\n")
    write("detect/peaks.c", '#include "track/track_internal.h"\n#include "pipeline/run.h"\n'
          "/* km_run() in a comment is no call */\nint km_peaks(void)\n{\n"
          '    const char *s = "km_run()";\n    return km_tracker_step() + km_run();\n}\n')
    got = violations(str(tmp_path))
    assert got == [
        "src/detect/peaks.c:1: includes track/track_internal.h, private to src/track",
        "src/detect/peaks.c:2: detect includes pipeline/run.h (detect -> pipeline)",
        "src/detect/peaks.c:7: detect calls km_run of src/pipeline (detect -> pipeline)",
        "src/detect/peaks.c:7: detect calls km_tracker_step of src/track (detect -> track)",
    ], got


if __name__ == "__main__":
    v = violations()
    print("\n".join(v) if v else "no layering violations")
    sys.exit(1 if v else 0)
