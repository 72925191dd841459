"""A text table whose every field is quoted (pandas' to_csv(quoting=csv.QUOTE_ALL),
a spreadsheet's "quote all text cells" export) is refused, as before, but the
message says why: knotmap reads a text matrix's numbers unquoted (session 44;
before: only `non-numeric value '"0"' in column 1`)."""
import csv

import numpy as np
import pandas as pd
import pytest

from km_cli import refused

WHY = "(quoted fields: a text matrix's numbers are read unquoted"


@pytest.mark.parametrize("index", [False, True])
def test_quote_all_says_why(tmp_path, index):
    p = tmp_path / "q.csv"
    pd.DataFrame(np.arange(24.0).reshape(2, 12)).to_csv(p, quoting=csv.QUOTE_ALL, index=index)
    refused(tmp_path, p, 65, "line 1: non-numeric value '\"", WHY)


def test_other_words_do_not_get_it(tmp_path):
    p = tmp_path / "w.txt"
    p.write_text("1 2 3\n4 abc 6\n")
    r = refused(tmp_path, p, 65, "non-numeric value 'abc'")
    assert WHY not in r.stderr
