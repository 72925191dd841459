"""render(), report() and evaluate() name the file they failed on in the
exception's `filename` (and `errno`), as read_session() and process() do:
`except FileNotFoundError as e: e.filename` is the missing result, or the
missing truth of evaluate(), or the output whose folder does not exist.
Until session 44 their filename and errno were None (the message named the
file, the attributes did not)."""
import errno
import os

import pytest

import knotmap


@pytest.fixture(scope="module")
def result(tmp_path_factory, datasets_dir):
    out = str(tmp_path_factory.mktemp("res") / "r.knotmap.h5")
    knotmap.process(os.path.join(datasets_dir, "example", "roller_example.h5"), out)
    return out


def failing(call):
    with pytest.raises(knotmap.Error) as e:
        call()
    return e.value


def test_a_missing_result(tmp_path):
    missing = str(tmp_path / "missing.h5")
    for call in (lambda: knotmap.render(missing, str(tmp_path / "m.png")),
                 lambda: knotmap.render(missing),
                 lambda: knotmap.report(missing, str(tmp_path / "r.html")),
                 lambda: knotmap.report(missing)):
        e = failing(call)
        assert isinstance(e, FileNotFoundError)
        assert e.filename == missing and e.errno == errno.ENOENT


def test_the_missing_one_of_two(tmp_path, result, datasets_dir):
    missing = str(tmp_path / "truth.h5")
    e = failing(lambda: knotmap.evaluate(result, missing))
    assert isinstance(e, FileNotFoundError) and e.filename == missing
    truth = os.path.join(datasets_dir, "example", "roller_example.h5")
    e = failing(lambda: knotmap.evaluate(missing, truth))
    assert isinstance(e, FileNotFoundError) and e.filename == missing


def test_an_output_in_a_missing_folder(tmp_path, result):
    out = str(tmp_path / "no" / "m.png")
    e = failing(lambda: knotmap.render(result, out))
    assert e.filename == out and e.errno == errno.ENOENT
    out = str(tmp_path / "no" / "r.html")
    e = failing(lambda: knotmap.report(result, out))
    assert e.filename == out and e.errno == errno.ENOENT


def test_a_folder_as_the_result(tmp_path):
    e = failing(lambda: knotmap.render(str(tmp_path), str(tmp_path / "m.png")))
    assert isinstance(e, IsADirectoryError) and e.filename == str(tmp_path)


def test_malformed_data_names_the_file(datasets_dir, tmp_path):
    session = os.path.join(datasets_dir, "example", "roller_example.h5")   # not a result
    e = failing(lambda: knotmap.render(session, str(tmp_path / "m.png")))
    assert isinstance(e, ValueError) and e.filename == session
    assert not (tmp_path / "m.png").exists()


def test_read_result_names_the_file(tmp_path, datasets_dir):
    session = os.path.join(datasets_dir, "example", "roller_example.h5")   # not a result
    text = tmp_path / "t.txt"
    text.write_text("1 2\n")                                              # not HDF5
    for path in (session, str(text)):
        e = failing(lambda: knotmap.read_result(path))
        assert isinstance(e, ValueError) and e.filename == path
