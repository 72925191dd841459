"""A mistyped keyword of process(), batch() or Pipeline() names the nearest known one, as
the command names the nearest option (`unknown option '--sigam' (did you mean
'--sigma'?)`); until session 41 Python listed all ~90 names and left the reader to look."""
import os

import pytest

import knotmap

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "datasets", "example", "roller_example.h5")


@pytest.mark.parametrize("typo, meant", [("sigmaa", "sigma"), ("min_prominance", "min_prominence"),
                                         ("threads_", "threads")])
def test_a_mistyped_keyword_names_the_nearest(tmp_path, typo, meant):
    assert meant in knotmap.PROCESS_PARAMS + knotmap.STAGE_PARAMS
    with pytest.raises(TypeError, match=r"^process\(\) got unknown parameters: %s \(did you "
                                        r"mean '%s'\?\)" % (typo, meant)):
        knotmap.process(EXAMPLE, str(tmp_path / "o.h5"), **{typo: 1})
    assert os.listdir(str(tmp_path)) == []


def test_a_keyword_near_nothing_is_listed_as_before(tmp_path):
    with pytest.raises(TypeError, match=r"^process\(\) got unknown parameters: no_such_thing "
                                        r"\(known: ") as e:
        knotmap.process(EXAMPLE, str(tmp_path / "o.h5"), no_such_thing=1)
    assert "did you mean" not in str(e.value)
