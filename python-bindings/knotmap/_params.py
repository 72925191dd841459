"""The parameter table of `knotmap process`, read from the C library.

km_process_param_table() describes every field of km_process_params once
(docs/ARCHITECTURE.md, "Parameters: one table"): the /params name, the CLI
option, the process() keyword, the type, range, units, help line, enum
names, and (through km_param_value on km_process_params_default) the
default.  PARAMS is that table as Python sees it; process() takes its
keywords and its docstring from it, and tests check the rest against it.
SYNTH_PARAMS is km_synth_param_table(), the same kind of rows for
km_synth_params: the options of `knotmap synth` and the keywords of
knotmap.synth(), with km_synth_params_default()'s values.
"""
import inspect
import math
import re
from collections import namedtuple

from ._core import ffi, lib

__all__ = ["PARAMS", "SYNTH_PARAMS", "RENDER_PARAMS", "Param", "param_keyword", "enum_values",
           "python_spelling"]

#: One row of km_process_param_table() (see km_param in knotmap.h);
#: `default` is the value of km_process_params_default() (a name for enums
#: and strings, a number otherwise; None for rows the defaults leave unset).
Param = namedtuple("Param", "name option keyword alias type offset offset2 min max names "
                            "metavar units group doc flags default")

_TYPES = {v: k[len("KM_PARAM_"):].lower()
          for k, v in ((n, getattr(lib, n)) for n in dir(lib)
                       if n.startswith("KM_PARAM_") and n[9:].isupper()
                       and n[9:] in ("DOUBLE", "INT32", "INT64", "UINT32", "UINT64", "BOOL",
                                     "ENUM", "STRING", "UNITS", "GIVEN", "SIZE", "PAIR",
                                     "GRID"))}


def _text(p):
    return None if p == ffi.NULL else ffi.string(p).decode()


def _names(p):
    if p == ffi.NULL:
        return None
    out, i = [], 0
    while p[i] != ffi.NULL:
        out.append(ffi.string(p[i]).decode())
        i += 1
    return tuple(out)


def _default(defaults, row, kind):
    num, text = ffi.new("double *"), ffi.new("const char **")
    lib.km_param_value(defaults, row, num, text)
    if kind in ("enum",) and text[0] != ffi.NULL and ffi.string(text[0]) != b"unknown":
        return ffi.string(text[0]).decode()
    if kind in ("string", "units"):
        return ffi.string(text[0]).decode() if text[0] != ffi.NULL else ""
    v = num[0]
    if math.isnan(v) and kind != "double":
        return None
    if kind == "uint64":  # exact, not through a double
        return int(ffi.cast("uint64_t *", ffi.cast("char *", defaults) + row.offset)[0])
    if kind in ("int32", "int64", "uint32", "size", "grid", "given", "enum") and math.isfinite(v):
        return int(v)
    if kind == "bool":
        return bool(v)
    return v


def param_keyword(p):
    """The process() keyword of a row: its own keyword, else the CLI option
    with '-' -> '_', else None (set through STAGE_PARAMS or not at all)."""
    if p.keyword is not None:
        return p.keyword
    return p.option.replace("-", "_") if p.option is not None else None


def _table(table=lib.km_process_param_table, struct="km_process_params",
           set_defaults=lib.km_process_params_default):
    n = ffi.new("size_t *")
    t = table(n)
    defaults = ffi.new(struct + " *")
    set_defaults(defaults)
    rows = []
    for i in range(n[0]):
        r = t[i]
        kind = _TYPES[r.type]
        derived = bool(r.flags & lib.KM_PARAM_DERIVED)
        rows.append(Param(
            name=_text(r.name), option=_text(r.option), keyword=_text(r.keyword),
            alias=_text(r.alias), type=kind, offset=int(r.offset), offset2=int(r.offset2),
            min=float(r.min), max=float(r.max), names=_names(r.names),
            metavar=_text(r.metavar), units=_text(r.units) or "", group=_text(r.group),
            doc=_text(r.doc), flags=int(r.flags),
            default=None if derived else _default(defaults, ffi.addressof(t, i), kind)))
    return tuple(rows)


#: The rows of km_process_param_table(), in /params order.
PARAMS = _table()

#: The rows of km_synth_param_table() (offsets into km_synth_params), in the
#: order of `knotmap synth --help`.
SYNTH_PARAMS = _table(lib.km_synth_param_table, "km_synth_params",
                      lib.km_synth_params_default)

#: The rows of km_render_param_table() (offsets into km_render_params): the
#: options of `knotmap render` (report: the first section), in help order.
RENDER_PARAMS = _table(lib.km_render_param_table, "km_render_params",
                       lib.km_render_params_default)

#: A signature default that table_defaults() replaces by the table's.
TABLE_DEFAULT = object()


def table_defaults(fn, rows, default_of=lambda row: row.default):
    """Give fn's TABLE_DEFAULT parameters their rows' defaults (rows found by
    keyword), so that its signature and help() show the C library's values:
    one source for the CLI's help and Python's."""
    by_keyword = {param_keyword(r): r for r in rows}
    fn.__defaults__ = tuple(
        default_of(by_keyword[q.name]) if q.default is TABLE_DEFAULT else q.default
        for q in inspect.signature(fn).parameters.values()
        if q.kind is q.POSITIONAL_OR_KEYWORD and q.default is not q.empty)
    if fn.__kwdefaults__:  # keyword-only parameters (synth's model)
        fn.__kwdefaults__ = {k: default_of(by_keyword[k]) if v is TABLE_DEFAULT else v
                             for k, v in fn.__kwdefaults__.items()}
    return fn


def enum_values(name):
    """{name: value} of the enum row called `name` (its /params name): the
    one list of those names, the C library's."""
    row = next(r for r in PARAMS if r.name == name)
    return {n: i for i, n in enumerate(row.names)}


# An option as the C library's texts name it: `--grid`, then maybe its
# argument (`RxC`, `64x32`, `mat|roller`, `-1`, `MM or RxC`), then maybe the keyword the
# text already gives (`, max_memory=` or ` (keyword sigma)`).
_OPTION_RE = re.compile(r"--([a-z][a-z0-9-]*)(?: ([^\s,;:()]+(?: or [A-Z][A-Za-z]*)?))?"
                        r"(?:, ([a-z_]+)=| \(keyword ([a-z_]+)\))?")
_NAMED_RE = re.compile(r"\b([a-z][a-z0-9_]*) (\S+) \(keyword ([a-z_]+)\)")
_KEYWORDS = {}
for _r in PARAMS + SYNTH_PARAMS:
    if _r.name is not None and param_keyword(_r) is not None:
        _KEYWORDS.setdefault(_r.name, set()).add(param_keyword(_r))
_PAIR_RE = re.compile(r"(\d+)x(\d+)$")
_BY_OPTION = {}
for _r in PARAMS + SYNTH_PARAMS:
    if _r.option is not None and param_keyword(_r) is not None:
        _BY_OPTION.setdefault(_r.option, _r)


def _argument(row, token):
    """The Python spelling of an option's argument token, or None when the
    token is not its argument (prose that follows the option)."""
    if token is None:
        return None
    if " or " in token:  # `MM or RxC`: each a metavar of the row, else prose
        each = [_argument(row, t) for t in token.split(" or ")]
        return None if None in each else " or ".join(each)
    parts = token.split("|")
    if row.names is not None and all(p in row.names for p in parts):
        return "|".join(repr(p) for p in parts)
    if row.type == "units" and (len(parts) > 1 or token[:1].islower()):
        return "|".join(repr(p) for p in parts)
    pair = _PAIR_RE.match(token)
    if pair is not None:
        return "(%s, %s)" % pair.groups()
    if token == "RxC":
        return "(R, C)"
    metavars = (row.metavar or "").split("|")
    if token in metavars or re.match(r"[-+]?([\d.]+(e[-+]?\d+)?|inf|nan)$", token):
        return token
    return None


def python_spelling(text):
    """`text` (a C library error detail or warning, which names the options
    as the command line spells them: ``--grid RxC``, ``--mode mat|roller``,
    ``--override``) with each option of the parameter tables spelled as the
    keyword Python takes: ``grid=(R, C)``, ``mode='mat'|'roller'``,
    ``override=True``; an option without an argument is its keyword
    (``raise max_memory``).  The texts are written once, in C, naming the
    options; the tables (one source) say each one's keyword.  Options of no
    table, and every other word, are left as they are."""
    def spell(m):
        row = _BY_OPTION.get(m.group(1))
        if row is None:
            return m.group(0)
        keyword = param_keyword(row)
        arg = _argument(row, m.group(2))
        rest = "" if arg is not None or m.group(2) is None else " " + m.group(2)
        if arg is not None:
            return "%s=%s" % (keyword, arg)
        if row.type == "bool" and not rest and m.group(3) is None:
            return keyword + "=True"
        return keyword + ("=" if m.group(3) is not None else "") + rest
    text = _OPTION_RE.sub(spell, text)
    # A row without a CLI option is named by its /params name:
    # `smooth_truncate 1e+30 (keyword truncate)` -> `truncate=1e+30`.
    return _NAMED_RE.sub(lambda m: "%s=%s" % (m.group(3), m.group(2))
                         if m.group(3) in _KEYWORDS.get(m.group(1), ()) else m.group(0), text)
