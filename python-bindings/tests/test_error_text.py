"""A text reader's bad value is quoted in the error with the bytes a terminal acts on
escaped (km_token_text), C1 controls in UTF-8 too (U+009B is a CSI): session 42, they
went out raw before (fails on 80e4cd4).  Python's message is the library's."""
import pytest

import knotmap


@pytest.mark.parametrize("token, shown", [(b"\xc2\x9b6n", r"\xc2\x9b6n"),
                                          (b"\x1b[2J", r"\x1b[2J"),
                                          ("Zürich".encode(), "Zürich")])
def test_bad_value_quoted_without_controls(tmp_path, token, shown):
    p = tmp_path / "m.txt"
    p.write_bytes(b"1 2 3\n4 " + token + b" 6\n")
    with pytest.raises(ValueError) as e:
        knotmap.read_session(p, grid=(2, 3)).frames
    msg = str(e.value)
    assert "non-numeric value '%s' in column 2" % shown in msg, msg
    assert not any(0x80 <= ord(c) <= 0x9f or (ord(c) < 0x20 and c not in "\t\n") for c in msg), msg
