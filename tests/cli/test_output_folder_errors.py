"""An output that cannot be created says why, naming the file: a folder that does not
exist, or one that exists but refuses files (/proc answers ENOENT to a create, which was
reported as 'the folder does not exist'; /sys answers EACCES even to root)."""
import pytest

from km_cli import EXAMPLE, run


@pytest.mark.parametrize("out, says", [
    ("/nonexistent-knotmap/dir/x.knotmap.h5", "the folder does not exist"),
    ("/proc/x.knotmap.h5", "cannot create a file in its folder: No such file or directory"),
    ("/sys/x.knotmap.h5", "cannot create a file in its folder: Permission denied"),
])
def test_output_folder_errors_name_the_cause(out, says):
    r = run("process", EXAMPLE, "-o", out, "-q")
    assert r.returncode == 73, r.stderr
    assert f"knotmap: {out}: {says}" in r.stderr, r.stderr
