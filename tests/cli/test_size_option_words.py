"""--max-memory says what is wrong with a size (session 45, user16): until then
every refusal read "'1GB' is not a size of 1M or more (e.g. 4G)", also for '1T'
(a size of 1M or more, in a suffix knotmap does not take) and '100' (a size,
too small)."""
import pytest

from km_cli import run

SPELLING = "is not a size: bytes, or a number with K, M or G (binary: 4G = 4 GiB)"


@pytest.mark.parametrize("cmd", ["process", "info", "render", "report"])
@pytest.mark.parametrize("value, words", [("1GB", SPELLING), ("1T", SPELLING), ("x", SPELLING),
                                          ("-1", SPELLING), ("100", "is below 1M (e.g. 4G)"),
                                          ("0", "is below 1M (e.g. 4G)"),
                                          ("1e30G", "is above 9e+18 bytes")])
def test_a_bad_size_says_what_is_wrong(cmd, value, words):
    r = run(cmd, "--max-memory", value, "in.h5")
    assert r.returncode == 64, r.stderr
    assert r.stderr.startswith("knotmap: %s: --max-memory: '%s' %s\n" % (cmd, value, words)), \
        r.stderr
