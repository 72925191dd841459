"""The drift tests of synth's and render's vocabularies.

km_synth_param_table() (knotmap._params.SYNTH_PARAMS) is the one description
of the options of `knotmap synth` and the table keywords of knotmap.synth();
km_render_param_table() (RENDER_PARAMS) that of `knotmap render` and
`report` and of knotmap.render()/report().  Checked here: every keyword sets
its field, the Python signature defaults are the C defaults, the help lists
every option with that default, docs/CLI.md's tables name every option with
it, and the CLI and Python write the same session for the same options.
The checkers of test_params.py are reused; the self-tests doctor an input.
"""
import inspect
import subprocess
import re

import h5py
import numpy as np
import pytest

import knotmap
from knotmap._core import ffi, lib
from knotmap._params import RENDER_PARAMS, SYNTH_PARAMS, param_keyword
from knotmap._render import _params as _render_params
from knotmap._synth import _FIELD_AT, _params

from test_params import (_help_options, _knotmap_bin, _test_value, cli_md,  # noqa: F401
                         command_help, docs_problems, help_problems)


def _section(command, following):
    def cut(text):
        start = text.index("\n## knotmap %s" % command)
        return text[start:text.index("\n## knotmap %s" % following, start)]
    return cut


_synth_section = _section("synth", "render")


def _rows_for_help():
    """SYNTH_PARAMS with the grid's default as the help prints it ("32x32")."""
    d = ffi.new("km_synth_params *")
    lib.km_synth_params_default(d)
    return tuple(r._replace(default="%dx%d" % (getattr(d, _FIELD_AT[r.offset]),
                                               getattr(d, _FIELD_AT[r.offset2])))
                 if r.type == "grid" else r for r in SYNTH_PARAMS)


def synth_keyword_problems(rows):
    """Rows whose knotmap.synth() keyword does not set the row's field(s)."""
    problems = []
    for r in rows:
        k = param_keyword(r)
        if r.type == "uint64":
            v, want = 12345678901, (12345678901,)
        else:
            v, want = _test_value(r)
        fields = {k: v} if k in inspect.signature(knotmap.synth).parameters else {}
        extra = {} if fields else {_FIELD_AT[r.offset]: v}
        try:
            p = _params(fields, extra)
        except Exception as e:
            problems.append("%s: %s: %s" % (k, type(e).__name__, e))
            continue
        got = [getattr(p, _FIELD_AT[r.offset])]
        if r.type == "grid":
            got.append(getattr(p, _FIELD_AT[r.offset2]))
        if tuple(got) != tuple(want):
            problems.append("%s=%r set %r, not %r" % (k, v, got, want))
    return problems


def signature_problems(rows, fn):
    """synth() keywords of table rows whose signature default is not the table's."""
    sig = inspect.signature(fn).parameters
    problems = []
    for r in rows:
        k = param_keyword(r)
        if k not in sig:  # model was missing until session 46 (only a **fields name)
            problems.append("%s: not a keyword of %s()" % (k, fn.__name__))
            continue
        want = r.default
        got = sig[k].default
        if r.type == "grid":
            got = "%dx%d" % tuple(got)
        if got != want or type(got) is not type(want):
            problems.append("%s: signature %r, table %r" % (k, got, want))
    return problems


@pytest.fixture(scope="module")
def synth_help():
    return command_help("synth")


def test_synth_table_is_the_cli_and_python_vocabulary():
    options = [r.option for r in SYNTH_PARAMS]
    assert options == ["mode", "preset", "seed", "model", "duration", "rate", "grid", "knots",
                       "roller-radius"]
    assert next(r for r in SYNTH_PARAMS if r.option == "preset").names == \
        ("easy", "moderate", "hard")
    assert next(r for r in SYNTH_PARAMS if r.option == "mode").names == ("mat", "roller")


def test_every_synth_keyword_sets_its_field():
    assert synth_keyword_problems(SYNTH_PARAMS) == []


def test_synth_signature_defaults_are_the_c_defaults():
    assert signature_problems(_rows_for_help(), knotmap.synth) == []


def test_synth_help_lists_every_option_with_its_default(synth_help):
    assert help_problems(_rows_for_help(), synth_help) == []


def test_docs_cli_md_synth_table_matches(cli_md, synth_help):
    assert docs_problems(_rows_for_help(), cli_md, _help_options(synth_help),
                         _synth_section, "synth") == []


def test_cli_and_python_write_the_same_session(tmp_path):
    """The same options through `knotmap synth` and knotmap.synth(): the same frames
    and truth (both go through the table and km_synth_preset)."""
    a, b = tmp_path / "cli.h5", tmp_path / "py.h5"
    r = subprocess.run([_knotmap_bin(), "synth", "--mode=mat", "--preset", "hard", "--seed",
                        "11", "--duration", "1.5", "--rate", "40", "--grid", "20x24",
                        "--knots", "2", "-o", str(a)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    knotmap.synth(b, mode="mat", preset="hard", seed=11, duration=1.5, rate=40,
                  grid="20x24", knots=2)
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert fa["frames"].shape == (60, 20, 24)
        np.testing.assert_array_equal(fa["frames"][()], fb["frames"][()])
        for k in fa["truth/knots"]:
            np.testing.assert_array_equal(fa["truth/knots"][k][()], fb["truth/knots"][k][()])


def test_format_follows_the_audio_export_extensions(tmp_path):
    """knotmap.synth and `knotmap synth` pick the layout from the same list:
    every extension km_audio_extension names (any case) is audio."""
    exts, i = [], 0
    while lib.km_audio_extension(i) != ffi.NULL:
        exts.append(ffi.string(lib.km_audio_extension(i)).decode())
        i += 1
    assert {".wav", ".aiff", ".au"} <= set(exts)
    for e in exts + [e.upper() for e in exts]:
        assert lib.km_format_from_extension(("x" + e).encode()) == lib.KM_FORMAT_AUDIO
    for name, fmt in (("x.asf", lib.KM_FORMAT_TEKSCAN), ("x.CSV", lib.KM_FORMAT_TEKSCAN),
                      ("x.h5", lib.KM_FORMAT_SESSION), ("noext", lib.KM_FORMAT_SESSION),
                      ("dir.wav/x", lib.KM_FORMAT_SESSION)):
        assert lib.km_format_from_extension(name.encode()) == fmt, name


# ---- the checkers can fail -------------------------------------------------

def _with(option, **changes):
    return tuple(r._replace(**changes) if r.option == option else r for r in _rows_for_help())


def test_self_synth_checkers_fail_on_drift(cli_md, synth_help):
    other = next(r for r in SYNTH_PARAMS if r.option == "rate").offset
    assert synth_keyword_problems(_with("duration", offset=other))
    assert signature_problems(_with("duration", default=20.0), knotmap.synth)
    assert signature_problems(_with("grid", default="16x16"), knotmap.synth)
    assert help_problems(_with("knots", default=7), synth_help)
    opts = _help_options(synth_help)
    assert "| `--knots N` | 6 |" in cli_md
    assert docs_problems(_rows_for_help(), cli_md.replace("| `--knots N` | 6 |",
                                                          "| `--knots N` | 5 |"),
                         opts, _synth_section, "synth")
    assert docs_problems(_rows_for_help(), cli_md.replace("`--seed N`", "`--sead N`"),
                         opts, _synth_section, "synth")


# ---- render and report -----------------------------------------------------

_RENDER_KEYWORDS = ("map", "candidates", "cell_px", "vmin", "vmax", "percentile", "max_memory")
_REPORT_ROWS = tuple(r for r in RENDER_PARAMS if r.group in (RENDER_PARAMS[0].group,
                                                             RENDER_PARAMS[-1].group))


def render_keyword_problems(rows):
    """Rows whose knotmap.render() keyword does not set the row's field."""
    problems = []
    for r in rows:
        k = param_keyword(r)
        v, want = _test_value(r)
        values = dict(map="auto", cell_px=0, vmin=None, vmax=None, percentile=None,
                      candidates=20, overwrite=True, format=None)
        values[k] = v
        try:
            p = _render_params(**values)
        except Exception as e:
            problems.append("%s: %s: %s" % (k, type(e).__name__, e))
            continue
        got = ffi.cast({"double": "double *", "size": "int64_t *"}.get(r.type, "int32_t *"),
                       ffi.cast("char *", p) + r.offset)[0]
        if (got,) != tuple(want):
            problems.append("%s=%r set %r, not %r" % (k, v, got, want))
    return problems


def render_signature_problems(rows, fn):
    sig = inspect.signature(fn).parameters
    problems = []
    for r in rows:
        k = param_keyword(r)
        if k not in sig:
            problems.append("%s: not a keyword of %s()" % (k, fn.__name__))
            continue
        want = None if isinstance(r.default, float) and r.default != r.default else r.default
        if sig[k].default != want:
            problems.append("%s: signature %r, table %r" % (k, sig[k].default, want))
    return problems


@pytest.fixture(scope="module")
def render_help():
    return command_help("render")


@pytest.fixture(scope="module")
def report_help():
    return command_help("report")


def test_render_table_is_the_cli_and_python_vocabulary():
    assert tuple(param_keyword(r) for r in RENDER_PARAMS) == _RENDER_KEYWORDS
    assert [r.option for r in _REPORT_ROWS] == ["map", "candidates", "max-memory"]
    assert knotmap.RENDER_MAPS == {"auto": lib.KM_RENDER_AUTO, "bodymap": lib.KM_RENDER_BODYMAP,
                                   "max": lib.KM_RENDER_MAX, "excess": lib.KM_RENDER_EXCESS}


def test_every_render_keyword_sets_its_field():
    assert render_keyword_problems(RENDER_PARAMS) == []


def test_render_and_report_signatures_are_the_c_defaults():
    assert render_signature_problems(RENDER_PARAMS, knotmap.render) == []
    assert render_signature_problems(_REPORT_ROWS, knotmap.report) == []


def test_render_and_report_help_list_their_rows(render_help, report_help):
    assert help_problems(RENDER_PARAMS, render_help) == []
    assert help_problems(_REPORT_ROWS, report_help) == []
    assert "--cell-px" not in report_help  # report takes the first section only


def test_docs_cli_md_render_and_report_tables_match(cli_md, render_help, report_help):
    assert docs_problems(RENDER_PARAMS, cli_md, _help_options(render_help),
                         _section("render", "report"), "render") == []
    assert docs_problems(_REPORT_ROWS, cli_md, _help_options(report_help),
                         _section("report", "eval"), "report") == []


def test_self_render_checkers_fail_on_drift(cli_md, render_help):
    rows = RENDER_PARAMS
    other = next(r for r in rows if r.option == "cell-px").offset
    assert render_keyword_problems(tuple(r._replace(offset=other) if r.option == "candidates"
                                         else r for r in rows))
    assert render_signature_problems(tuple(r._replace(default=30) if r.option == "candidates"
                                           else r for r in rows), knotmap.render)
    assert help_problems(tuple(r._replace(default=98.0) if r.option == "percentile" else r
                               for r in rows), render_help)
    assert "| `--percentile P` | 99 |" in cli_md
    assert docs_problems(rows, cli_md.replace("| `--percentile P` | 99 |",
                                              "| `--percentile P` | 95 |"),
                         _help_options(render_help), _section("render", "report"), "render")


# ---- every command: its --help against its docs/CLI.md section -------------
# The checkers above follow the parameter tables; these read the help itself, so
# they also cover the options outside the tables (--deadline, --threads, -q, ...)
# and the two commands without a table (info, eval).

COMMANDS = ("process", "info", "synth", "render", "report", "eval")
# Accepted, named in docs/CLI.md as an older name, not in every command's help
# (process's help does not name it; synth's does).
OLDER_NAMES = {"no-clobber"}


def cli_md_section(text, cmd):
    """The '## knotmap CMD' section of docs/CLI.md, up to the next '## '."""
    start = text.index("\n## knotmap %s\n" % cmd)
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def help_defaults(help_text):
    """{option: the [default] its help line ends with, or None} for every option line."""
    out = {}
    for m in re.finditer(r"^ {2,6}(?:-\w, )?--([a-z0-9-]+)(.*(?:\n {20,}.*)*)", help_text, re.M):
        shown = re.findall(r"\[([^\[\]]*)\]$", " ".join(m.group(2).split()))
        out[m.group(1)] = shown[-1] if shown else None
    return out


def _plain(cell):
    """A default cell that is one token (a number, 1G, 32x32, off, auto), else None."""
    cell = cell.replace("`", "").strip()
    return cell if re.fullmatch(r"[A-Za-z0-9.+-]+", cell) else None


def help_docs_problems(cmd, help_text, cli_md):
    """Options of `knotmap CMD --help` its docs/CLI.md section does not name (info's input
    options are named in process's table), options in the section's tables that the help
    lacks, and one-token defaults that differ between a table row and the help."""
    section = cli_md_section(cli_md, cmd)
    named = section + (cli_md_section(cli_md, "process") if cmd == "info" else "")
    shown = help_defaults(help_text)
    problems = ["%s --%s: not in docs/CLI.md" % (cmd, o) for o in shown
                if o != "help" and "--%s" % o not in named]
    for line in section.splitlines():
        if not line.startswith("| `-"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        opts = re.findall(r"`(?:-\w, )?--([a-z0-9-]+)", cells[0])
        for o in opts:
            if "--%s" % o not in help_text and o not in OLDER_NAMES:
                problems.append("%s: docs/CLI.md lists --%s, the help does not" % (cmd, o))
        values = [_plain(v) for v in re.split(r",|/", cells[1])]
        if len(values) != len(opts):
            continue
        for o, v in zip(opts, values):
            h = shown.get(o)
            if v is not None and h is not None and _plain(h) is not None and v != h:
                problems.append("%s --%s: docs/CLI.md default %s, help [%s]" % (cmd, o, v, h))
    return problems


@pytest.mark.parametrize("cmd", COMMANDS)
def test_docs_cli_md_names_every_option_of_the_help(cli_md, cmd):
    assert help_docs_problems(cmd, command_help(cmd), cli_md) == []


def test_info_takes_process_input_options_as_process_says_them():
    """info's input options are process's: same help lines, same defaults."""
    info = help_defaults(command_help("info"))
    proc = help_defaults(command_help("process"))
    shared = set(info) - {"help", "deadline", "scan"}
    assert {"format", "grid", "rate", "time-axis", "max-memory"} <= shared
    assert {o: info[o] for o in shared} == {o: proc.get(o, "absent") for o in shared}


def _codes(text):
    return set(re.findall(r"\b(6[4-9]|7[0-5]|130|143)\b", text))


def exit_status_problems(cmd, help_text, cli_md):
    """Exit statuses the help's 'Exit status:' paragraph lists and the command's
    'Exit status' sentence in docs/CLI.md does not (process: the table of '## Exit status',
    which is written for it)."""
    said = help_text[help_text.index("\nExit status:"):].split("\n\n")[0]
    if cmd == "process":
        doc = cli_md[cli_md.index("\n## Exit status"):cli_md.index("\nSignals:")]
    else:
        section = cli_md_section(cli_md, cmd)
        doc = section[section.index("Exit status"):].split("\n\n")[0]
    return ["%s: exit %s in the help, not in docs/CLI.md" % (cmd, c)
            for c in sorted(_codes(said) - _codes(doc))]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_docs_cli_md_gives_every_exit_status_of_the_help(cli_md, cmd):
    assert exit_status_problems(cmd, command_help(cmd), cli_md) == []


def top_help_exit_problems(help_text, cli_md):
    """Exit statuses `knotmap --help` lists and the first column of docs/CLI.md's
    '## Exit status' table does not."""
    said = help_text[help_text.index("Exit status:"):]
    table = cli_md[cli_md.index("\n## Exit status"):cli_md.index("\nSignals:")]
    rows = set()
    for first in re.findall(r"^\| ([0-9][0-9 /]*) \|", table, re.M):
        rows |= set(first.replace(" ", "").split("/"))
    return ["knotmap --help: exit %s, not a row of docs/CLI.md's table" % c
            for c in sorted(_codes(said) - rows)]


def test_docs_cli_md_has_every_exit_status_of_knotmap_help(cli_md):
    r = subprocess.run([_knotmap_bin(), "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert top_help_exit_problems(r.stdout, cli_md) == []


def test_self_help_docs_checker_fails_on_drift(cli_md):
    assert exit_status_problems("eval", command_help("eval"),
                                cli_md.replace("memory, 75 `--deadline`", "memory, `--deadline`"))
    assert exit_status_problems("process", command_help("process"),
                                cli_md.replace("| 75 | deadline |", "| | deadline |"))
    top = subprocess.run([_knotmap_bin(), "--help"], capture_output=True, text=True).stdout
    assert top_help_exit_problems(top, cli_md) == []
    assert top_help_exit_problems(top, cli_md.replace("| 71 | OS error |", "| | OS error |"))
    assert top_help_exit_problems(top, cli_md.replace("| 130 / 143 |", "| 130 |"))
    ev = command_help("eval")
    assert help_docs_problems("eval", ev, cli_md) == []
    assert "| `--top N` | all |" in cli_md
    assert help_docs_problems("eval", ev, cli_md.replace("| `--top N` | all |",
                                                         "| `--top N` | 10 |"))
    assert help_docs_problems("eval", ev.replace("[all]", "[10]"), cli_md)
    assert help_docs_problems("eval", ev + "      --new-option   x\n", cli_md)
    assert help_docs_problems("eval", ev.replace("--json", "--jsn"), cli_md)
    info = command_help("info")
    assert help_docs_problems("info", info, cli_md) == []
    assert help_docs_problems("info", info, cli_md.replace("--scan", "--all-frames"))
    assert help_docs_problems("render", command_help("render"),
                              cli_md.replace("| `--percentile P` | 99 |",
                                             "| `--percentile P` | 98 |"))
