"""What docs/ARCHITECTURE.md says lives in one place only, checked on the
sources (test_layering.py checks the arrows between modules):

- the headers of the outside libraries are included by their own folder
  only: HDF5, libsndfile and libpng by src/io, cairo by src/pipeline, FFTW
  by src/dsp;
- the library never prints, aborts, exits, handles signals or reads the
  environment: those calls, and stdout/stderr, are src/cli's alone;
- every file of the repository that docs/ARCHITECTURE.md names exists.

    /usr/bin/python3 tests/structure/test_confinement.py   # list violations
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import sizes  # noqa: E402

# A system header's name -> the folder of src/ that alone may include it.
LIBRARY_HEADERS = {
    "hdf5.h": "io", "hdf5_hl.h": "io", "H5FDdevelop.h": "io", "H5FDpublic.h": "io",
    "sndfile.h": "io", "png.h": "io", "cairo.h": "pipeline", "cairo-svg.h": "pipeline",
    "cairo-pdf.h": "pipeline", "fftw3.h": "dsp",
}
# What only the command does (src/cli).
CLI_ONLY = ("printf", "vprintf", "puts", "putchar", "perror", "exit", "_exit", "_Exit",
            "quick_exit", "abort", "getenv", "secure_getenv", "setenv", "signal", "sigaction")
# Known crossings, each named with its reason; whoever removes one deletes its line.
EXCEPTIONS = {
    # the UTF-8 copy of a UTF-16 text goes to $TMPDIR (docs/FORMAT.md 1.4)
    ("src/io/text_scan.c", "getenv"),
    # HDF5's own default printer is told apart from a host's by its stream
    ("src/io/h5_util.c", "stderr"),
}

_INCLUDE = re.compile(r"^\s*#\s*include\s+<([^>]+)>")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_CALL = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(CLI_ONLY))
_STREAM = re.compile(r"\b(stdout|stderr)\b")
# A repository path in the doc: a name with a folder, or a file of src/ by its name alone.
_DOC_PATH = re.compile(r"`([\w./-]+\.(?:c|h|py|sh|md|txt|tsv|json))`|\b((?:src|tests|python-bindings|"
                       r"bench|docs|include|datasets)/[\w./-]+\.(?:c|h|py|sh|md|txt|tsv))\b")


def code_lines(text):
    """The text with comments and string literals blanked, line numbers kept."""
    return _STRING.sub('""', _COMMENT.sub(lambda c: "\n" * c.group(0).count("\n"), text)).splitlines()


def source_violations(root=ROOT):
    found = []
    for path in sizes.sources(root):
        rel = os.path.relpath(path, root)
        mod = rel.split(os.sep)[1]
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for no, line in enumerate(text.splitlines(), 1):
            m = _INCLUDE.match(line)
            owner = LIBRARY_HEADERS.get(m.group(1)) if m else None
            if owner is not None and owner != mod:
                found.append("%s:%d: includes <%s>, src/%s's alone" % (rel, no, m.group(1), owner))
        if mod == "cli":
            continue
        for no, line in enumerate(code_lines(text), 1):
            for name in _CALL.findall(line) + _STREAM.findall(line):
                if (rel, name) not in EXCEPTIONS:
                    found.append("%s:%d: %s outside src/cli" % (rel, no, name))
    return sorted(set(found))


def doc_paths(doc):
    """Repository files the doc names (full paths, or src/ files by name);
    the outside libraries' headers are not the repository's."""
    return {a or b for a, b in _DOC_PATH.findall(doc)} - set(LIBRARY_HEADERS)


def missing_from_doc(root=ROOT, doc_rel="docs/ARCHITECTURE.md"):
    with open(os.path.join(root, doc_rel), encoding="utf-8") as f:
        doc = f.read()
    by_name = {}
    for d, _, files in os.walk(os.path.join(root, "src")):
        for n in files:
            by_name.setdefault(n, os.path.join(d, n))
    gone = []
    for name in sorted(doc_paths(doc)):
        if "/" in name:
            candidates = [name, os.path.join("src", name)]
            ok = any(os.path.exists(os.path.join(root, c)) for c in candidates)
        else:
            ok = name in by_name or os.path.exists(os.path.join(root, name)) or \
                name in ("knotmap_version.h",)  # generated at configure time
        if not ok:
            gone.append("%s names %s, which does not exist" % (doc_rel, name))
    return gone


def test_outside_libraries_and_the_command_stay_in_their_folders():
    assert source_violations() == []


def test_every_file_architecture_md_names_exists():
    assert missing_from_doc() == []


def test_the_checks_see_a_crossing(tmp_path):
    """A fake tree with one crossing of each kind: the checks must name each."""
    def write(rel, text):
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    write("src/detect/peaks.c", "#include <hdf5.h>\n/* printf(\"no\") in a comment */\n"
          "int km_peaks(void)\n{\n    const char *s = \"exit(1)\";\n    snprintf(0, 0, s);\n"
          "    fprintf(stderr, s);\n    return getenv(s) != 0;\n}\n")
    write("src/cli/main.c", "#include <hdf5.h>\nint main(void)\n{\n    printf(\"ok\");\n"
          "    exit(0);\n}\n")
    write("src/io/ok.c", "#include <hdf5.h>\n#include <sndfile.h>\nint km_ok(void)\n{\n"
          "    return w.printf(1) + p->exit(2);\n}\n")
    assert source_violations(str(tmp_path)) == [
        "src/cli/main.c:1: includes <hdf5.h>, src/io's alone",
        "src/detect/peaks.c:1: includes <hdf5.h>, src/io's alone",
        "src/detect/peaks.c:7: stderr outside src/cli",
        "src/detect/peaks.c:8: getenv outside src/cli",
    ], source_violations(str(tmp_path))
    write("docs/ARCHITECTURE.md", "`src/io/ok.c`, `peaks.c`, tests/gone/test_x.py and `nowhere.c`\n")
    assert missing_from_doc(str(tmp_path)) == [
        "docs/ARCHITECTURE.md names nowhere.c, which does not exist",
        "docs/ARCHITECTURE.md names tests/gone/test_x.py, which does not exist",
    ], missing_from_doc(str(tmp_path))


if __name__ == "__main__":
    v = source_violations() + missing_from_doc()
    print("\n".join(v) if v else "nothing out of place")
    sys.exit(1 if v else 0)
