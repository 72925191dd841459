"""process() given a folder as its output, as `knotmap process IN -o DIR/` takes
one (README: process() is "as `knotmap process ...`"): it writes one result
file, so it refuses, and says which name the command would write there and
that batch() processes folders (session 45, user16; before, only
"DIR: is a folder")."""
import errno
import os

import pytest

import knotmap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")


@pytest.mark.parametrize("spell", [str, lambda p: p + os.sep, os.fsencode])
def test_a_folder_says_the_name_to_give(tmp_path, spell):
    out = spell(str(tmp_path))
    with pytest.raises(IsADirectoryError) as e:
        knotmap.process(EXAMPLE, out)
    err = e.value
    assert isinstance(err, knotmap.Error) and err.errno == errno.EISDIR
    assert err.filename == os.fsdecode(out)
    text = str(err)
    assert text.startswith("%s: is a folder: process() writes one result file" % os.fsdecode(out))
    assert "knotmap.output_path(input, %r)" % os.fsdecode(out) in text
    assert "knotmap process INPUT -o %s" % os.path.join(str(tmp_path), "") in text
    assert "knotmap.batch" in text
    assert os.listdir(str(tmp_path)) == []
    # what it says works, and is the command's name
    path = knotmap.output_path(EXAMPLE, str(tmp_path))
    knotmap.process(EXAMPLE, path)
    assert os.listdir(str(tmp_path)) == ["roller_example.knotmap.h5"]
