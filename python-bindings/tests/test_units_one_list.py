"""One list of units (km_units_name): `knotmap process --help`'s --units line,
process()'s docstring (the parameter table's doc) and units_to_kpa's errors
name every unit of the table, so a unit added there is listed everywhere.

The CLI binary: $KNOTMAP_BIN, else <build>/knotmap next to the package under
test, else <repo>/build/knotmap."""
import re
import subprocess

import pytest

import knotmap

from test_batch import _knotmap_bin
from test_first_hour_4 import _units_knotmap_reads as _units


def _help_entry(text, option):
    """The help text of one option, its wrapped lines joined."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.lstrip().startswith(option + " "))
    parts = [lines[start].split(None, 2)[2]]
    for l in lines[start + 1:]:
        if not l.strip() or l.lstrip().startswith("-") or not l.startswith(" " * 10):
            break
        parts.append(l.strip())
    return " ".join(parts)


def _check_doc(doc, units):
    listed, rest = doc.split(" ", 1)
    assert listed.split("|") == units, doc
    m = re.match(r"\((.*) read converted to kPa\) \[from the file, else raw\]$", rest)
    assert m, doc
    for u in m.group(1).split(", "):       # each one said converted is a unit, not kPa
        assert u in units and u != "kPa" and knotmap.units_to_kpa(u) != 1.0, (u, doc)


def test_the_units_help_lists_km_units_name():
    """`--units`'s help was written by hand ("kPa|mmHg|N/cm2|psi|Pa|MPa|raw"); it is
    now made from the table.  Fails on main's code with a unit added to the table
    (src/core/units.c) and not to the help."""
    units = _units()
    assert units[-1] == "raw" and {"kPa", "mmHg", "N/cm2"} <= set(units)
    out = subprocess.run([_knotmap_bin(), "process", "--help"], capture_output=True, text=True,
                         check=True).stdout
    _check_doc(_help_entry(out, "--units"), units)


def test_the_units_parameter_doc_lists_km_units_name():
    """The same line in the parameter table, where process()'s docstring reads it."""
    row = next(p for p in knotmap.PARAMS if p.option == "units")
    _check_doc(row.doc, _units())
    assert row.doc in " ".join(knotmap.process.__doc__.split())


@pytest.mark.parametrize("bad", ["furlong", 3])
def test_units_to_kpa_errors_name_every_unit(bad):
    """units_to_kpa's errors said "such as 'kPa', 'mmHg', 'N/cm2'" (not psi, Pa or
    MPa, read since session 46): they now name km_units_name's units.  Fails on
    main's code."""
    with pytest.raises(ValueError) as e:
        knotmap.units_to_kpa(bad)
    said = ", ".join("'%s'" % u for u in _units()[:-1])
    assert said in str(e.value) and "'raw'" in str(e.value), str(e.value)
