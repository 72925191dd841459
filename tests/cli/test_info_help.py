"""`knotmap info --help` (session 25, first hour): info's own options come
before the input options' heading (they were listed under "Input (what the
file does not say itself)"), and the exit statuses include 74, which info
returns on a read error like every command."""
import km_cli


def test_info_help_layout_and_exit_statuses():
    out = km_cli.run_ok("info", "--help").stdout
    head, _, inputs = out.partition("\nInput (what the file does not say itself):\n")
    assert inputs, out
    inputs = inputs.split("\n\n")[0]   # the section, not the footer
    assert "--deadline S" in head and "-h, --help" in head, head
    assert "--deadline" not in inputs and "--help" not in inputs, inputs
    assert "--format NAME" in inputs
    status = out[out.index("Exit status:"):]
    for code in ("64 usage", "65 bad input data", "66 input missing", "74 I/O error", "75"):
        assert code in status, status
