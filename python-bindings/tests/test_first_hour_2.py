"""A new user's first hour with the package, session 47 (user18); each fails on 88fc8a2:

- `"frames" in session` and `for key in session` raised KeyError: 0 (the old
  __getitem__ iteration protocol), and len(session) was a TypeError; now the Session
  is a mapping of its four keys whose len is its number of frames.
- a header in Latin-1 (an old Tekscan export: `UNITS N/cm` and byte B2) read as
  'N/cm\\ufffd' in source_header, while the result file stores 'N/cm\\u00b2' and
  `knotmap info` shows it so.
- read_session("sessions/") and process("sessions/", out) said only "sessions/: Is a
  directory"; now IsADirectoryError says what reads one file and that knotmap.batch
  processes a folder (as `knotmap process sessions/` says since session 46)."""
import os
import warnings

import pytest

import knotmap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(REPO, "datasets", "example", "roller_example.h5")
TEKSCAN = os.path.join(REPO, "datasets", "real", "tekscan_fscan", "FrasP01L.asf")


def test_session_is_a_mapping_whose_len_is_its_frames():
    s = knotmap.read_session(EXAMPLE)
    assert "frames" in s and "mask" in s and "nothing" not in s
    assert list(s) == ["frames", "time", "mask", "metadata"]
    assert sorted(dict(s)) == sorted(s.keys())
    assert len(s) == s.frames.shape[0] == len(s.time) == s.metadata["n_frames"] == 1500


def test_latin1_header_reads_as_the_result_stores_it(tmp_path):
    text = open(TEKSCAN, "rb").read()
    assert b"UNITS KPa\r\n" in text
    p = tmp_path / "walk.asf"
    p.write_bytes(text.replace(b"UNITS KPa\r\n", b"UNITS N/cm\xb2\r\n"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = knotmap.read_session(str(p), mode="mat")
        header = s.metadata["source_header"]
        assert header["UNITS"] == "N/cm\u00b2", header["UNITS"]
        knotmap.process(str(p), str(tmp_path / "r.knotmap.h5"), mode="mat")
    h5py = pytest.importorskip("h5py")
    with h5py.File(str(tmp_path / "r.knotmap.h5"), "r") as f:
        assert f["session/source_header"].attrs["UNITS"] == header["UNITS"]


@pytest.mark.parametrize("call", ["read_session", "process"])
def test_a_folder_given_for_a_session_says_what_to_do(tmp_path, call):
    folder = os.path.join(REPO, "datasets", "example")
    with pytest.raises(IsADirectoryError) as e:
        if call == "read_session":
            knotmap.read_session(folder)
        else:
            knotmap.process(folder, str(tmp_path / "r.knotmap.h5"))
    assert isinstance(e.value, knotmap.Error) and e.value.filename == folder
    assert str(e.value).startswith(
        "%s: is a folder: %s() reads one file (knotmap.batch(%r, OUT) processes every file in "
        "it)" % (folder, call, folder)), str(e.value)
    assert not os.path.exists(str(tmp_path / "r.knotmap.h5"))
