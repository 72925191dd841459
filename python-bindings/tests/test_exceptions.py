"""Every knotmap exception is both knotmap.Error and the matching built-in,
chosen from the C status and errno; messages name the argument.  Also the
small Python fixes of issue 16 (NUL in a path, frame_metrics units,
temporal_filter on 0 frames)."""
import errno
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import knotmap

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "datasets", "example", "roller_example.h5")


def _both(e, builtin):
    assert isinstance(e, knotmap.Error) and isinstance(e, builtin), type(e).__mro__


def test_missing_input_is_filenotfounderror(tmp_path):
    missing = tmp_path / "nope.h5"
    for call in (lambda: knotmap.read_session(missing),
                 lambda: knotmap.process(missing, tmp_path / "out.h5"),
                 lambda: knotmap.read_result(missing),
                 lambda: knotmap.read_gain_map(missing)):
        with pytest.raises(FileNotFoundError) as info:
            call()
        _both(info.value, FileNotFoundError)
        assert info.value.errno == errno.ENOENT
        assert str(missing) in str(info.value)


def test_folder_as_input_and_output_is_isadirectoryerror(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        knotmap.read_session(tmp_path)
    _both(info.value, IsADirectoryError)
    with pytest.raises(IsADirectoryError) as info:
        knotmap.process(EXAMPLE, tmp_path)
    _both(info.value, IsADirectoryError)
    assert info.value.filename == tmp_path


def test_missing_output_folder_is_filenotfounderror(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        knotmap.process(EXAMPLE, tmp_path / "no_folder" / "out.h5")
    _both(info.value, FileNotFoundError)


def test_existing_output_without_overwrite_is_fileexistserror(tmp_path):
    out = tmp_path / "out.h5"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError) as info:
        knotmap.process(EXAMPLE, out, overwrite=False)
    _both(info.value, FileExistsError)
    assert out.read_bytes() == b"keep me"


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/bin/setpriv"),
                    reason="needs root to run a child as nobody")
def test_unreadable_input_is_permissionerror(tmp_path):
    # root reads every file: the check runs as nobody in a child
    src = tmp_path / "secret.h5"
    src.write_bytes(open(EXAMPLE, "rb").read())
    os.chmod(src, 0o000)
    os.chmod(tmp_path, 0o755)
    code = ("import knotmap, sys\n"
            "try:\n    knotmap.read_session(sys.argv[1])\n"
            "except PermissionError as e:\n"
            "    assert isinstance(e, knotmap.Error), type(e).__mro__\n    print('ok', e.errno)\n")
    r = subprocess.run(["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup",
                        "--clear-groups", sys.executable, "-c", code, str(src)],
                       capture_output=True, text=True, env=dict(os.environ))
    if "No module named" in r.stderr:
        pytest.skip("the build folder is not readable by nobody")
    assert r.stdout.strip() == "ok %d" % errno.EACCES, r.stderr


def test_malformed_data_is_valueerror(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3 4\n5 6 x 8\n")
    with pytest.raises(ValueError) as info:
        knotmap.read_session(bad, format="text", grid=(2, 2))
    _both(info.value, ValueError)
    assert info.value.status_name == "KM_ERR_FORMAT"
    assert "line 2" in str(info.value)


def test_argument_errors_name_the_argument_and_allowed_values():
    frame = np.ones((6, 6), np.float32)
    # the drop-in raises what scipy raises (RuntimeError, its text; session 39:
    # a ValueError before), as a knotmap.Error too
    with pytest.raises(RuntimeError) as info:
        knotmap.gaussian_filter(frame, 1.0, mode="bogus")
    assert isinstance(info.value, knotmap.Error)
    assert str(info.value) == "boundary mode not supported"
    with pytest.raises(ValueError) as info:
        knotmap.synth(preset="bogus", duration=1)
    assert "preset='bogus'" in str(info.value) and "'moderate'" in str(info.value)
    with pytest.raises(ValueError) as info:
        knotmap.temporal_filter(np.zeros((4, 3)), kind="bogus", rate_hz=10)
    assert "kind='bogus'" in str(info.value)
    with pytest.raises(ValueError) as info:
        knotmap.find_peaks(frame, plateau="some")
    _both(info.value, ValueError)
    assert "plateau='some'" in str(info.value)
    with pytest.raises(TypeError) as info:
        knotmap.find_peaks(frame, min_distance="2")
    _both(info.value, TypeError)
    with pytest.raises(ValueError) as info:
        knotmap.read_session(EXAMPLE, mode="bogus")
    assert "mode='bogus'" in str(info.value) and "'roller'" in str(info.value)
    with pytest.raises(TypeError) as info:
        knotmap.process(EXAMPLE, "x.h5", no_such_option=1)
    _both(info.value, TypeError)


def test_c_parameter_errors_are_valueerror_with_the_c_detail():
    with pytest.raises(ValueError) as info:
        knotmap.temporal_filter(np.zeros((4, 3)), rate_hz=0)
    _both(info.value, ValueError)
    assert "rate_hz" in str(info.value)


def test_exceptions_pickle_with_their_type(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        knotmap.read_session(tmp_path / "nope.h5")
    e = pickle.loads(pickle.dumps(info.value))
    _both(e, FileNotFoundError)
    assert str(e) == str(info.value) and e.errno == errno.ENOENT


def test_nul_in_a_path_is_refused_never_cut(tmp_path):
    out = tmp_path / "out.h5"
    for call in (lambda: knotmap.process(EXAMPLE + "\0zzz", out),
                 lambda: knotmap.process(EXAMPLE, str(out) + "\0zzz"),
                 lambda: knotmap.read_session(EXAMPLE + "\0zzz"),
                 lambda: knotmap.is_complete(str(out) + "\0"),
                 lambda: knotmap.synth(str(out) + "\0x", duration=1)):
        with pytest.raises(ValueError) as info:
            call()
        _both(info.value, ValueError)
        assert "NUL" in str(info.value)
    assert not out.exists()


def test_frame_metrics_bogus_units_raise_instead_of_nan_force():
    frame = np.full((4, 4), 10.0, np.float32)
    with pytest.raises(ValueError) as info:
        knotmap.frame_metrics(frame, units="bogus")
    _both(info.value, ValueError)
    assert "units='bogus'" in str(info.value)
    with pytest.raises(ValueError):
        knotmap.frame_metrics(frame, units=-1.0)
    assert np.isnan(knotmap.frame_metrics(frame, units="raw")["force_n"])
    # 16 taxels of 1 mm2 at 10 kPa: 16e-6 m2 * 1e4 Pa = 0.16 N
    assert knotmap.frame_metrics(frame, units="kPa")["force_n"] == pytest.approx(0.16)


@pytest.mark.parametrize("kind", ["iir_lowpass", "fir_lowpass", "median", "notch"])
def test_temporal_filter_on_zero_frames_is_empty(kind):
    out = knotmap.temporal_filter(np.zeros((0, 3, 4), np.float32), kind=kind, rate_hz=1000.0,
                                  cutoff_hz=5.0)
    assert out.shape == (0, 3, 4) and out.dtype == np.float32
    assert knotmap.temporal_filter(np.zeros((0, 5)), kind=kind, rate_hz=1000.0).shape == (0, 5)


def test_temporal_filter_on_zero_frames_still_checks_parameters():
    with pytest.raises(ValueError) as info:
        knotmap.temporal_filter(np.zeros((0, 3, 4)), rate_hz=-1.0)
    assert "rate_hz" in str(info.value)


def test_malformed_data_names_its_file_in_filename(repo_dir):
    bad = os.path.join(repo_dir, "tests", "data", "bad", "tekscan_wrong_count.asf")
    for call in (lambda: knotmap.read_session(bad, mode="mat"),   # found while reading frames
                 lambda: knotmap.read_session(os.path.join(repo_dir, "tests", "data", "bad",
                                                           "tekscan_rows_zero.asf"))):  # header
        with pytest.raises(ValueError) as info:
            call()
        assert info.value.filename in (bad, os.path.join(repo_dir, "tests", "data", "bad",
                                                        "tekscan_rows_zero.asf"))
        assert info.value.filename in str(info.value)  # the detail names it too, with the line
        assert pickle.loads(pickle.dumps(info.value)).filename == info.value.filename
    with pytest.raises(ValueError) as info:
        knotmap.find_peaks(np.ones((3, 3)), min_distance=0)
    assert info.value.filename is None  # not about a file
