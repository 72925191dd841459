"""knotmap.is_complete on a result another program holds open for writing
(HDF5's file lock, taken by h5py's "a"): raises knotmap.Error, an OSError,
saying it is in use (session 46; before: False, the same answer as for an
unfinished or foreign file, which `process --resume` then called "damaged or
foreign").  The holder is a separate process: HDF5's lock is per process."""
import subprocess
import sys

import numpy as np
import pytest

import knotmap

h5py = pytest.importorskip("h5py")

HOLD = "import h5py, sys\nf = h5py.File(sys.argv[1], 'a')\nprint('held', flush=True)\nsys.stdin.read()\n"


def test_a_result_being_written_is_in_use(tmp_path):
    p = tmp_path / "r.knotmap.h5"
    with h5py.File(p, "w") as f:
        f.attrs["schema"] = "knotmap-result"
        f.attrs["complete"] = np.int64(1)
    assert knotmap.is_complete(p)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(p)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(knotmap.Error, match="in use: another program has it open") as e:
            knotmap.is_complete(p)
        assert isinstance(e.value, OSError)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert knotmap.is_complete(p)
