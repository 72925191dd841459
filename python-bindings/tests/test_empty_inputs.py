"""The readers' verdict on files without data is the CLI's (tests/cli/
test_empty_inputs.py, test_text_bom.py): a session whose /frames has no
frames or no taxels is knotmap.Error and ValueError naming the file and
/frames, for read_session and process alike, and nothing is written; a
text matrix with a UTF-8 byte order mark reads as the matrix."""
import h5py
import numpy as np
import pytest

import knotmap


@pytest.mark.parametrize("shape,what", [((0, 3, 4), "no frames"), ((5, 0, 4), "no taxels")])
def test_session_without_data_is_a_value_error(tmp_path, shape, what):
    src = tmp_path / "s.h5"
    with h5py.File(src, "w") as f:
        f["frames"] = np.zeros(shape, np.float32)
    out = tmp_path / "s.knotmap.h5"
    for call in (lambda: knotmap.read_session(str(src), format="session"),
                 lambda: knotmap.process(str(src), str(out), format="session")):
        with pytest.raises(knotmap.Error) as e:
            call()
        assert isinstance(e.value, ValueError)
        assert str(src) in str(e.value) and "/frames" in str(e.value), e.value
        assert what in str(e.value), e.value
    assert not out.exists()


def test_text_matrix_with_bom(tmp_path):
    src = tmp_path / "m.csv"
    src.write_bytes(b"\xef\xbb\xbf1,2,3\r\n4,9,6\r\n")
    s = knotmap.read_session(str(src))
    np.testing.assert_array_equal(s.frames, np.array([[[1, 2, 3], [4, 9, 6]]], np.float32))
