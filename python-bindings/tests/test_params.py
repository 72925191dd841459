"""The drift test of the parameter vocabulary (issue 13, item 3).

km_process_param_table() (knotmap.PARAMS) is the one description of the
parameters of `knotmap process`.  These tests check that everything else
still says the same thing: process() keywords set the row's field, /params
of a result holds the recorded rows in table order with their defaults,
`knotmap process --help` lists every option with its default, and the
option tables of docs/CLI.md name every option and give its default.  Each
checker returns a list of problems; the self-tests feed them a doctored
input and require a problem, so a checker that silently passes everything
fails here.
"""
import math
import os
import re
import subprocess

import h5py
import pytest

import knotmap
from knotmap._core import ffi, lib
from knotmap._params import PARAMS, param_keyword
from knotmap._process import _build_params

from conftest import PYTHONPATH, REPO

EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")
# /params attributes written by the pipeline outside the table: the bad-taxel
# count, the offset-taxel count, the stuck or hot taxels left unmasked and where they are,
# the warm-up's noise and
# the peaks' floor from it and the largest rise of the peaks' zero, the taxels
# the session's flat field corrected, the candidate map's noise and the seen
# threshold from it, and a roller's zero drift and its limit,
# are known only at the end of the session.
RECORDED_ELSEWHERE = ("bad_taxels", "offset_taxels", "suspect_taxels", "suspect_taxels_at",
                      "noise", "peaks_floor", "peaks_zero_drift",
                      "cand_flat_field_taxels", "cand_map_noise", "cand_seen_threshold_used",
                      "odo_zero_drift", "odo_zero_drift_limit")
_CTYPES = {"double": "double", "int32": "int32_t", "bool": "int32_t", "enum": "int32_t",
           "int64": "int64_t", "size": "int64_t", "uint32": "uint32_t"}


def _knotmap_bin():
    if os.environ.get("KNOTMAP_BIN"):
        return os.environ["KNOTMAP_BIN"]
    for d in (os.path.dirname(PYTHONPATH), os.path.join(REPO, "build")):
        if os.path.isfile(os.path.join(d, "knotmap")):
            return os.path.join(d, "knotmap")
    pytest.fail("knotmap binary not found; set KNOTMAP_BIN")


def _field(p, offset, kind):
    base = ffi.cast("char *", p) + offset
    if kind in ("string", "units"):
        s = ffi.cast("const char **", base)[0]
        return None if s == ffi.NULL else ffi.string(s).decode()
    return ffi.cast(_CTYPES[kind] + " *", base)[0]


def _in_range(r, v):
    lo = v > r.min if r.flags & lib.KM_PARAM_MIN_OPEN else v >= r.min
    hi = v < r.max if r.flags & lib.KM_PARAM_MAX_OPEN else v <= r.max
    return lo and hi


def _test_value(r):
    """A valid value for row r other than its default: (python value, expected fields)."""
    if r.type in ("double", "int32", "int64"):
        d = r.default if r.default is not None and math.isfinite(r.default) else 0
        for v in (d + 1, d - 1, d + 0.25, 2.0, 0.5, (r.min + r.max) / 2):
            v = int(v) if r.type != "double" else v
            if v != r.default and _in_range(r, v):
                return v, (v,)
    if r.type == "enum":
        name = next(n for n in r.names if n != r.default)
        return name, (r.names.index(name),)
    if r.type in ("string", "units"):
        return ("kPa" if r.type == "units" else "some/file.txt"), None
    if r.type == "size":
        return 2 ** 31, (2 ** 31,)
    if r.type == "pair":
        return (2.0, 3.0), (2.0, 3.0)
    if r.type == "grid":
        return (4, 5), (4, 5)
    raise AssertionError("no test value for %s (%s)" % (r.option or r.name, r.type))


def keyword_problems(rows):
    """Rows whose process() keyword is refused or does not set the row's field."""
    problems = []
    for r in rows:
        k = param_keyword(r)
        if k is None:
            continue
        kind = {"pair": "double", "grid": "int32"}.get(r.type, r.type)
        try:
            if r.type == "bool":
                got = {_field(_build_params({k: v}, [], None), r.offset, kind)
                       for v in (True, False)}
                if got != {0, 1}:
                    problems.append("%s: True/False set %s" % (k, sorted(got)))
                continue
            v, want = _test_value(r)
            keep = []
            p = _build_params({k: v}, keep, lambda q: (2, 2))
            got = [_field(p, r.offset, kind)]
            if r.type in ("pair", "grid"):
                got.append(_field(p, r.offset2, kind))
            if want is None:
                want = (v,)
            if tuple(got) != tuple(want):
                problems.append("%s=%r set %r, not %r" % (k, v, got, want))
        except Exception as e:  # a refused keyword is a problem, reported by name
            problems.append("%s: %s: %s" % (k, type(e).__name__, e))
    return problems


def params_problems(rows, attrs_in_order, attrs):
    """Differences between /params of a default run and the table (the
    attributes are not kept in creation order: names are compared as a set)."""
    recorded = [r for r in rows if r.flags & lib.KM_PARAM_RECORDED]
    names = {a for a in attrs_in_order if a not in RECORDED_ELSEWHERE}
    problems = []
    if names != {r.name for r in recorded}:
        problems.append("names differ: %s" % sorted(names ^ {r.name for r in recorded}))
    for r in recorded:
        if r.flags & lib.KM_PARAM_DERIVED or r.name not in attrs or r.default is None:
            continue
        if r.name in ("peaks_saturation", "peaks_zero_rate"):  # resolved from the session
            continue
        v = attrs[r.name]
        v = v.decode() if isinstance(v, bytes) else v
        want = r.default
        if isinstance(want, bool):
            want = int(want)
        same = (isinstance(want, float) and math.isnan(want) and math.isnan(v)) or v == want
        if not same:
            problems.append("%s: /params %r, table default %r" % (r.name, v, want))
    return problems


def _process_section(text):
    start = text.index("\n## knotmap process")
    return text[start:text.index("\n## knotmap info", start)]


def _plain_number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def docs_problems(rows, cli_md, help_options, section_of=_process_section, cmd="process"):
    """Options the docs/CLI.md section of a command lacks, options it lists
    that do not exist, and defaults it gives that differ from the table's."""
    section = section_of(cli_md)
    by_option = {}
    for r in rows:
        for name in (r.option, r.alias):
            if name is not None:
                by_option[name] = r
    problems = ["--%s not in docs/CLI.md" % o for o in sorted(by_option)
                if "`--%s" % o not in section]
    for line in section.splitlines():
        if not line.startswith("| `-"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        opts = re.findall(r"`--([a-z0-9-]+)", cells[0])
        for o in opts:
            if o not in by_option and o not in help_options:
                problems.append("docs/CLI.md lists --%s, which %s does not take" % (o, cmd))
        values = [_plain_number(v) for v in cells[1].split(",")]
        if len(values) == len(opts) and all(v is not None for v in values):
            for o, v in zip(opts, values):
                r = by_option.get(o)
                if r is not None and r.default is not None and float(r.default) != v:
                    problems.append("--%s: docs/CLI.md default %g, table %r" % (o, v, r.default))
    for o, v in re.findall(r"`--([a-z0-9-]+) [A-Z]+` \[([0-9.]+)\]", section):
        r = by_option.get(o)
        if r is not None and r.default is not None and float(r.default) != float(v):
            problems.append("--%s: docs/CLI.md says [%s], table %r" % (o, v, r.default))
    return problems


def format_md_problems(rows, format_md):
    """Recorded rows whose /params name docs/FORMAT.md's `/params` paragraphs do not give
    in backticks (until session 44, 30 keys were missing: the conditioning's, four of
    the candidates' and `cand_min_snr`)."""
    start = format_md.index("`/params`: one scalar attribute")
    text = format_md[start:format_md.index("`/frames/max` and `/frames/mean`", start)]
    names = set(re.findall(r"`([a-z][a-z0-9_]*)`", text))
    recorded = {r.name for r in rows if r.flags & lib.KM_PARAM_RECORDED}
    return ["/params %s not in docs/FORMAT.md" % n for n in sorted(recorded - names)]


def help_problems(rows, help_text):
    problems = []
    for r in rows:
        if r.option is None:
            continue
        m = re.search(r"^ {1,10}--%s\b(.*(?:\n {20,}.*)*)" % re.escape(r.option), help_text, re.M)
        if m is None:
            problems.append("--%s not in the help" % r.option)
            continue
        text = " ".join(m.group(1).split())
        shown = re.findall(r"\[([^\]]*)\]$", text)
        if shown and r.default is not None and "[" not in r.doc:
            want = r.default if isinstance(r.default, str) else "%.10g" % r.default
            if shown[-1] != want:
                problems.append("--%s: help shows [%s], default %s" % (r.option, shown[-1], want))
    return problems


def command_help(cmd):
    """`knotmap CMD --help` (must exit 0)."""
    r = subprocess.run([_knotmap_bin(), cmd, "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def process_help():
    return command_help("process")


@pytest.fixture(scope="module")
def cli_md():
    with open(os.path.join(REPO, "docs", "CLI.md"), encoding="utf-8") as f:
        return f.read()


def _help_options(help_text):
    return set(re.findall(r"--([a-z][a-z0-9-]*)", help_text))


def test_table_is_public_and_complete():
    assert knotmap.PARAMS is PARAMS
    names = [r.name for r in PARAMS if r.name]
    assert len(names) == len(set(names)) > 80
    assert {"peaks_min_distance", "cand_min_snr", "smooth_border"} <= set(names)
    row = next(r for r in PARAMS if r.option == "plateau")
    assert row.names == ("all", "one") and row.default == "one"
    assert next(r for r in PARAMS if r.option == "min-distance").default == 2


def test_every_keyword_sets_its_field():
    assert keyword_problems(PARAMS) == []


def test_process_params_are_the_table_keywords():
    table = {param_keyword(r) for r in PARAMS} - {None}
    assert table <= set(knotmap.PROCESS_PARAMS)
    assert "odometry_lift_threshold" in knotmap.PROCESS_PARAMS
    extra = set(knotmap.PROCESS_PARAMS) - table
    assert extra == {"text_frame_per_file", "subpixel", "prominence", "no_overwrite",
                     "command_line", "progress"}


def test_params_group_is_the_table(tmp_path):
    out = tmp_path / "r.knotmap.h5"
    knotmap.process(EXAMPLE, out)
    with h5py.File(out, "r") as f:
        attrs = {k: f["params"].attrs[k] for k in f["params"].attrs}
    assert params_problems(PARAMS, list(attrs), attrs) == []


def test_help_lists_every_option_with_its_default(process_help):
    assert help_problems(PARAMS, process_help) == []


def test_docs_cli_md_matches_the_table(cli_md, process_help):
    assert docs_problems(PARAMS, cli_md, _help_options(process_help)) == []


def test_docs_format_md_names_every_params_key():
    with open(os.path.join(REPO, "docs", "FORMAT.md"), encoding="utf-8") as f:
        assert format_md_problems(PARAMS, f.read()) == []


def test_process_docstring_lists_every_keyword():
    doc = knotmap.process.__doc__
    for r in PARAMS:
        k = param_keyword(r)
        if k is not None:
            assert "        %s : " % k in doc, k


# ---- the checkers can fail -------------------------------------------------

def _with(row_option, **changes):
    return tuple(r._replace(**changes) if r.option == row_option else r for r in PARAMS)


def test_self_keyword_checker_fails_on_drift():
    # a keyword process() does not know, and a keyword that sets another field
    assert keyword_problems(_with("min-distance", keyword="min_dist"))
    other = next(r for r in PARAMS if r.option == "threshold-rel").offset
    assert keyword_problems(_with("min-prominence", offset=other))


def test_self_params_checker_fails_on_drift(tmp_path):
    out = tmp_path / "r.knotmap.h5"
    knotmap.process(EXAMPLE, out)
    with h5py.File(out, "r") as f:
        attrs = {k: f["params"].attrs[k] for k in f["params"].attrs}
    order = [r.name for r in PARAMS if r.flags & lib.KM_PARAM_RECORDED]
    assert params_problems(PARAMS, order, attrs) == []
    assert params_problems(PARAMS, order[1:], attrs)  # a name missing
    assert params_problems(_with("track-gate-mm", default=16.0), order, attrs)


def test_self_docs_checker_fails_on_drift(cli_md, process_help):
    opts = _help_options(process_help)
    assert "| `--track-gate-mm D` | 15 |" in cli_md
    assert docs_problems(PARAMS, cli_md.replace("| `--track-gate-mm D` | 15 |",
                                                "| `--track-gate-mm D` | 16 |"), opts)
    assert docs_problems(PARAMS, cli_md.replace("`--warmup-frames N` [100]",
                                                "`--warmup-frames N` [99]"), opts)
    assert docs_problems(PARAMS, cli_md.replace("`--median N`", "`--medain N`"), opts)


def test_self_help_checker_fails_on_drift(process_help):
    assert help_problems(PARAMS, process_help.replace("--cand-min-snr", "--cand-min-srn"))
    assert help_problems(_with("min-distance", default=3), process_help)


def test_self_format_md_checker_fails_on_drift():
    with open(os.path.join(REPO, "docs", "FORMAT.md"), encoding="utf-8") as f:
        text = f.read()
    assert format_md_problems(PARAMS, text) == []
    assert format_md_problems(PARAMS, text.replace("`notch_q`", "notch_q"))
