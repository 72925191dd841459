"""docs/FORMAT.md's lists of what the readers know, against the one table each
comes from in the source: the names of a sampling rate (km_rate_name,
src/io/reader_options.c) and the pressure units (UNITS, src/core/units.c).
A name added to either table, or dropped from it, fails here until FORMAT.md
says so.

    /usr/bin/python3 -m pytest -q tests/structure/test_format_lists.py
"""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def rate_names_in_source(src):
    body = src[src.index("const char *km_rate_name("):]
    table = body[body.index("{"):body.index("};")]
    return re.findall(r'"([^"]+)"', table)


def rate_names_in_doc(doc):
    """The backticked names of 1.1's table row 'named like a sampling rate (...: one
    list, `km_rate_name`'."""
    start = doc.index("named like a sampling rate (a variable, array or root attribute")
    said = doc[start:doc.index("one list, `km_rate_name`", start)]
    return re.findall(r"`([^`]+)`", said)


def unit_names_in_source(src):
    table = src[src.index("} UNITS[] = {"):]
    table = table[:table.index("};")]
    return re.findall(r'\{"([^"]+)",', table)


def unit_problems(src, doc):
    """Units of the table that 1.1's "Units" paragraph does not name in backticks.
    The two byte spellings of N/cm with a superscript two are the paragraph's
    `N/cm²` with 'Latin-1' beside it."""
    start = doc.index("**Units:** one list, `km_units_name`")
    para = " ".join(doc[start:doc.index("\n\n", start)].split())
    named = set(re.findall(r"`([^`]+)`", para))
    problems = []
    for name in unit_names_in_source(src):
        if name.startswith("N/cm\\x"):
            ok = "N/cm\u00b2" in named and ("UTF-8" in para if "\\xc2" in name
                                             else "Latin-1" in para)
        else:
            ok = name in named
        if not ok:
            problems.append("unit %r of src/core/units.c not in FORMAT.md 1.1 Units" % name)
    if "raw" not in named:
        problems.append("FORMAT.md 1.1 Units does not name raw")
    return problems


def test_format_md_names_every_sampling_rate_name_as_the_readers():
    src = _read("src/io/reader_options.c")
    doc = _read("docs/FORMAT.md")
    assert len(rate_names_in_source(src)) >= 12
    assert rate_names_in_doc(doc) == rate_names_in_source(src)


def test_format_md_names_every_unit_of_the_table():
    assert unit_problems(_read("src/core/units.c"), _read("docs/FORMAT.md")) == []


def test_self_format_lists_fail_on_drift():
    doc = _read("docs/FORMAT.md")
    rates = _read("src/io/reader_options.c")
    units = _read("src/core/units.c")
    assert rate_names_in_doc(doc.replace("`srate`, ", "")) != rate_names_in_source(rates)
    assert rate_names_in_doc(doc) != rate_names_in_source(
        rates.replace('"framerate"}', '"framerate", "hz"}'))
    assert unit_problems(units.replace('{"MPa", 1e3, NULL, 0},',
                                       '{"MPa", 1e3, NULL, 0},\n    {"bar", 100.0, NULL, 0},'),
                         doc)
    assert unit_problems(units, doc.replace("`N/sq cm`", "N/sq cm"))
    assert unit_problems(units, doc.replace("Latin-1 / Windows-1252, the byte B2", "CP1252"))
