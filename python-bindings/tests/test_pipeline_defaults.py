"""knotmap's own functions take the pipeline's defaults from the C library
(km_process_params_default): one frame gives the same peaks in Python as in
the /peaks of a result file written by `knotmap process`, on real
recordings (a Tekscan F-Scan export and a PhysioNet bed mat)."""
import math
import os
import subprocess

import h5py
import numpy as np
import pytest

import knotmap
from knotmap import _core

REAL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "datasets", "real")
TEKSCAN = os.path.join(REAL, "tekscan_fscan", "FrasP01L.asf")
PHYSIONET = os.path.join(REAL, "physionet_pmd", "experiment-i", "S1", "1.txt")
# what the PhysioNet text file does not carry (datasets/real/README.md)
PHYSIONET_READ = {"grid": (64, 32), "rate": 1.0, "pitch": 15.875, "units": "raw"}


def _cli_result(tmp_path, src, read):
    """`knotmap process` with the CLI (its own defaults), read with h5py.  But for
    --keep-suspect-taxels: the taxels the warm-up finds stuck or hot are a decision
    over the session (docs/ALGORITHMS.md 3.7) that a function of one frame cannot
    take (the PhysioNet file has 2).  The floor, the other such decision, is none
    on these sensors (their unloaded taxels read exact zeros: noise 0), which the
    test checks."""
    out = tmp_path / "r.knotmap.h5"
    cmd = [os.environ.get("KNOTMAP_BIN", "knotmap"), "process", src, "-o", str(out),
           "--keep-suspect-taxels"]
    for k, v in read.items():
        cmd += ["--" + k, "%dx%d" % v if isinstance(v, tuple) else str(v)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        peaks = {k: f["peaks"][k][()] for k in f["peaks"]}
        flags = f["metrics"]["flags"][()]
        assert math.isnan(f["params"].attrs["peaks_floor"])
    return peaks, flags


@pytest.mark.skipif(not os.environ.get("KNOTMAP_BIN"), reason="needs KNOTMAP_BIN (the CLI)")
@pytest.mark.parametrize("src,read", [(TEKSCAN, {}), (PHYSIONET, PHYSIONET_READ)],
                         ids=["tekscan", "physionet"])
def test_find_peaks_defaults_give_the_result_files_peaks(tmp_path, src, read):
    peaks, frame_flags = _cli_result(tmp_path, src, read)
    s = knotmap.read_session(src, **read)
    compared = n_peaks = 0
    for k in range(s.frames.shape[0]):
        if frame_flags[k] & 1:  # KM_FRAME_CORRUPT: a decision across frames, no peaks
            continue
        # only the session's saturation is passed: the pipeline flags against it
        got = knotmap.find_peaks(s.frames[k], mask=s.mask,
                                 saturation=s.metadata["saturation"])
        sel = peaks["frame"] == k
        for col in ("value", "area_taxels", "flags"):
            np.testing.assert_array_equal(got[col], peaks[col][sel], err_msg="frame %d %s"
                                          % (k, col))
        # /peaks row, col are the sub-pixel position: find_peaks' y, x
        for mine, theirs in (("y", "row"), ("x", "col"), ("prominence", "prominence")):
            np.testing.assert_allclose(got[mine], peaks[theirs][sel], rtol=1e-6,
                                       err_msg="frame %d %s" % (k, theirs))
        compared += 1
        n_peaks += len(got)
    assert compared >= s.frames.shape[0] - 3 and n_peaks > 50


def test_defaults_are_read_from_c_not_written_in_python():
    p = _core.ffi.new("km_process_params *")
    _core.lib.km_process_params_default(p)
    d = knotmap.PEAK_DEFAULTS
    assert d["min_distance"] == p.peaks.min_distance
    assert d["threshold_rel"] == p.peaks.threshold_rel
    assert (d["threshold_abs"] is None) == math.isnan(p.peaks.threshold_abs)
    assert d["plateau"] == {_core.lib.KM_PLATEAU_ONE: "one",
                            _core.lib.KM_PLATEAU_ALL: "all"}[p.peaks.plateau]
    import inspect
    sig = inspect.signature(knotmap.find_peaks).parameters
    for name, value in d.items():
        assert sig[name].default == value, name
    assert inspect.signature(knotmap.frame_metrics).parameters["contact_threshold"].default \
        == p.contact_threshold
    assert inspect.signature(knotmap.track).parameters["gate_mm"].default == p.track.gate_mm
    assert knotmap.CANDIDATE_DEFAULTS["min_distance_mm"] == p.cand.min_distance_mm


def test_smoothing_of_process_sigma_is_gaussian_filter_nearest_with_the_mask(datasets_dir,
                                                                              tmp_path):
    # the README's recipe: the pipeline's border is "nearest" (scipy's default
    # "reflect" gives other peaks on 393 of these 1500 frames)
    assert {v: k for k, v in _core.enum_names("km_border", "KM_BORDER_").items()}[
        knotmap._defaults.PIPELINE.smooth.border] == "nearest"
    src = os.path.join(datasets_dir, "example", "roller_example.h5")
    out = tmp_path / "r.knotmap.h5"
    knotmap.process(src, out, sigma=1.0)
    with h5py.File(out, "r") as f:
        peaks = {k: f["peaks"][k][()] for k in ("frame", "value", "row", "col")}
        corrupt = f["metrics"]["flags"][()] & 1
    s = knotmap.read_session(src)
    for k in np.flatnonzero(corrupt == 0):
        smooth = knotmap.gaussian_filter(s.frames[k], 1.0, mode="nearest", mask=s.mask)
        got = knotmap.find_peaks(smooth, mask=s.mask)
        sel = peaks["frame"] == k
        np.testing.assert_array_equal(got["value"], peaks["value"][sel], err_msg="frame %d" % k)
        np.testing.assert_allclose(got["y"], peaks["row"][sel], rtol=1e-6)
