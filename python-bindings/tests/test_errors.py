import numpy as np
import pytest

import knotmap


def test_error_is_runtimeerror_with_status_and_detail(tmp_path):
    missing = tmp_path / "no_such_session.asf"
    with pytest.raises(knotmap.Error) as info:
        knotmap.read_session(missing)
    e = info.value
    assert isinstance(e, RuntimeError)
    assert e.status_name == "KM_ERR_NOT_FOUND"
    assert e.status == -6
    assert str(missing) in e.detail
    assert str(missing) in str(e)
    assert e.reason == "input not found"


def test_malformed_file_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3 4\n5 6 x 8\n")
    with pytest.raises(knotmap.Error) as info:
        knotmap.read_session(bad, format="text", grid=(2, 2))
    assert info.value.status_name == "KM_ERR_FORMAT"
    assert str(bad) in info.value.detail
    assert "line 2" in info.value.detail


def test_bad_python_arguments_raise_valueerror_typeerror():
    frame = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError):
        knotmap.find_peaks(np.zeros(8, np.float32))
    with pytest.raises(ValueError):
        knotmap.find_peaks(frame, min_distance=0)
    with pytest.raises(TypeError):
        knotmap.find_peaks(frame, min_distance="2")
    with pytest.raises(ValueError):
        knotmap.find_peaks(frame, plateau="some")
    with pytest.raises(ValueError):
        knotmap.find_peaks(frame, p_norm=3)
    with pytest.raises(ValueError):
        knotmap.find_peaks(frame, mask=np.ones((4, 4), bool))
    with pytest.raises(ValueError):
        knotmap.peak_local_max(frame, exclude_border=-1)
    with pytest.raises(TypeError):
        knotmap.peak_local_max(frame, exclude_border=1.5)
    with pytest.raises(TypeError):
        knotmap.process("in.h5", "out.h5", no_such_option=1)


def test_unknown_format_name_is_a_knotmap_error():
    with pytest.raises(knotmap.Error) as info:
        knotmap.read_session("whatever", format="bogus")
    assert info.value.status_name == "KM_ERR_INVALID"
    assert isinstance(info.value, ValueError)
    # the argument, its value and the allowed names (from the C enum)
    assert "format='bogus'" in str(info.value) and "'tekscan'" in str(info.value)
