"""What a new user reads in the helps and the README is what the commands take
(session 45, user16):

- `--no-clobber`, the older name of `--no-overwrite`, is accepted by every
  command that writes (docs/CLI.md) but only synth's help said so: each help
  now shows an option's older name beside it (`--no-overwrite, --no-clobber`),
  from the option's own alias (km_cli_opt.alias, km_param.alias);
- `--equil-max-gain G` showed no default: its help line "gains clipped to
  [1/G, G]" was taken for a default in brackets (help.c appends the default
  unless the doc says it), so the default 4 was never printed; every option
  that takes a value now ends its help with its default;
- the README's exit-code sentence named 64, 65, 66, 73 and 74 only, of the
  eleven statuses docs/CLI.md's table gives;
- `process --verbose` promised "the output paths and parameters" and prints
  `INPUT -> OUTPUT` only (the parameters are the result's: `knotmap info`)."""
import re

import pytest

from km_cli import EXAMPLE, REPO, run_ok

HEAD = re.compile(r"^  (?:-\w, |    )--([\w-]+)(?:, --([\w-]+))?(?: (\S+))?\s*(.*)$")
# Options that take a value and have no default to show: required, or only
# from the file (a text file's grid), or whose default is said mid-sentence.
NO_DEFAULT = {("process", "grid"), ("info", "grid"), ("synth", "output"),
              ("synth", "equilibration-kpa"), ("eval", "truth")}


def options(cmd):
    """{long name: (older name, metavar, doc)} of a command's --help."""
    text = run_ok(cmd, "--help").stdout.split("\n\n", 1)[1]
    text = text[:text.find("Exit status")]
    out, cur = {}, None
    for ln in text.splitlines():
        m = HEAD.match(ln)
        if m:
            cur = m.group(1)
            out[cur] = [m.group(2), m.group(3), m.group(4)]
        elif cur is not None and ln.startswith(" " * 25):
            out[cur][2] += " " + ln.strip()
        else:
            cur = None
    return out


@pytest.mark.parametrize("cmd", ["process", "synth", "render", "report"])
def test_no_clobber_is_shown_where_it_is_taken(cmd, tmp_path):
    opts = options(cmd)
    assert opts["no-overwrite"][0] == "no-clobber", opts["no-overwrite"]
    assert "--no-clobber is the same" not in opts["no-overwrite"][2]  # said once, in the head


@pytest.mark.parametrize("cmd", ["process", "info", "synth", "render", "report", "eval"])
def test_every_option_with_a_value_shows_its_default(cmd):
    for name, (_, metavar, doc) in options(cmd).items():
        if metavar is not None and (cmd, name) not in NO_DEFAULT:
            assert doc.rstrip().endswith("]"), (name, doc)


def test_equil_max_gain_default_is_the_headers():
    header = " ".join((REPO / "include" / "knotmap.h").read_text().split())
    assert "double max_gain; /* gains are clipped to [1/max_gain, max_gain] and counted in " \
           "n_clipped, >= 1 [4] */" in header
    assert options("process")["equil-max-gain"][2].strip() == "gains clipped to 1/G..G [4]"


def test_readme_names_every_exit_status():
    cli = (REPO / "docs" / "CLI.md").read_text()
    table = cli[cli.index("## Exit status"):cli.index("Signals:")]
    codes = set(re.findall(r"^\| (\d+)(?: / (\d+))? \|", table, re.M))
    codes = {c for pair in codes for c in pair if c and c != "0"}
    assert codes == {"64", "65", "66", "69", "70", "71", "73", "74", "75", "130", "143"}
    readme = " ".join((REPO / "README.md").read_text().split())
    sentence = readme[readme.index("exit with a sysexits code ("):]
    sentence = sentence[:sentence.index(").") + 1]
    said = set(re.findall(r"\b(\d{2,3})\b", sentence))
    assert codes <= said, sorted(codes - said)


def test_verbose_prints_what_its_help_says(tmp_path):
    doc = " ".join(options("process")["verbose"][2].split())
    assert doc.startswith("also print 'INPUT -> OUTPUT' on stderr before each run"), doc
    out = tmp_path / "r.h5"
    err = run_ok("process", "-v", "-q", EXAMPLE, "-o", out, "--sigma", "1").stderr
    assert err.splitlines() == ["knotmap: %s -> %s" % (EXAMPLE, out)], err
    assert "smooth_sigma_rows = 1 (default 0)" in run_ok("info", out).stdout  # where it points
