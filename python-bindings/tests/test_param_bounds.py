"""knotmap.process refuses the numbers `knotmap process` refuses (the parameter table's
ranges, src/pipeline/param_table.c): ValueError (+ knotmap.Error) naming the option and
keyword, before anything is written; was a stage's limit ('kernel radius above 1048576')
or, for truncate, accepted."""

import math

import pytest

import knotmap
from knotmap._params import PARAMS, param_keyword


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("s") / "s.h5"
    knotmap.synth(path, duration=1)
    return path


@pytest.mark.parametrize("keyword, value, says", [
    ("sigma", 1e30, "[0, 65536] taxels"), ("sigma", (1.0, 1e30), "[0, 65536] taxels"),
    ("dog_sigma", 1e30, "[0, 65536] taxels"), ("resample_hz", 1e30, "[0, 100000] Hz"),
    ("truncate", 1e30, "(0, 16] sigmas"), ("sigma", math.inf, "sigma"),
    ("sigma", math.nan, "sigma"), ("sigma", -1.0, "sigma"), ("gain", math.inf, "finite"),
])
def test_out_of_range_is_value_error_naming_the_keyword(session, tmp_path, keyword, value, says):
    out = tmp_path / "out.h5"
    with pytest.raises(ValueError) as e:
        knotmap.process(session, out, **{keyword: value})
    assert isinstance(e.value, knotmap.Error)
    # the C text says `--sigma 1e+30 (keyword sigma)`; Python spells it as the
    # keyword (session 35)
    assert f"{keyword}=" in str(e.value) and says in str(e.value), str(e.value)
    assert "--" not in str(e.value) and "(keyword" not in str(e.value), str(e.value)
    assert list(tmp_path.iterdir()) == []


FLOAT_KEYWORDS = sorted({param_keyword(p) for p in PARAMS
                         if p.type == "double" and not p.flags & 2 and param_keyword(p)
                         and p.default is not None and not math.isnan(p.default)}
                        - {"p_norm"})   # 1, 2 or +-inf, as scikit-image's (_peaks._p_norm)


@pytest.mark.parametrize("keyword", FLOAT_KEYWORDS)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_no_float_keyword_takes_inf_or_nan(session, tmp_path, keyword, value):
    row = next(p for p in PARAMS if param_keyword(p) == keyword)
    if value in (row.min, row.max):
        pytest.skip("an infinite bound of the table (p_norm, saturation)")
    with pytest.raises(ValueError):
        knotmap.process(session, tmp_path / "out.h5", **{keyword: value})
    assert list(tmp_path.iterdir()) == []
