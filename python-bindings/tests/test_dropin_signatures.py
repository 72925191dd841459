"""The drop-ins' signatures as help() and inspect show them: the
namesakes' parameters, in their order, of the same kind, with the same
defaults as printed (knotmap's own extras only after them, keyword-only)."""
import inspect

import pytest

import knotmap


def _params(fn):
    return [(p.name, p.kind, repr(p.default)) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("ours,module,name,extras", [
    (knotmap.peak_local_max, "skimage.feature", "peak_local_max", []),
    (knotmap.gaussian_filter, "scipy.ndimage", "gaussian_filter", ["mask"]),
])
def test_signature_is_the_namesakes(ours, module, name, extras):
    theirs = getattr(pytest.importorskip(module), name)
    mine = _params(ours)
    assert mine[:len(mine) - len(extras)] == _params(theirs)
    for p in extras:
        assert inspect.signature(ours).parameters[p].kind is inspect.Parameter.KEYWORD_ONLY


def test_help_shows_indices_true():
    # was "indices: bool = <object object at 0x...>"
    assert "indices: 'bool' = True," in str(inspect.signature(knotmap.peak_local_max))
