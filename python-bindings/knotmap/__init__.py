"""knotmap: pressure-mapping signal processing (Python bindings).

A thin layer over the knotmap C library (cffi, API mode, generated from
include/knotmap.h): numpy in and out, zero-copy where the layout allows, the
GIL released during every C call, one C context per Python thread, errors
raised as knotmap.Error (also the matching built-in: FileNotFoundError,
ValueError, ...) with the C library's detail text.

Where to start: ``read_session(path)`` reads a recording in any format
knotmap reads (frames, times, mask, metadata); ``process(path, out)`` runs
the whole pipeline of ``knotmap process`` and writes a result;
``read_result(out)`` gives its tables (peaks, tracks, candidates, body map);
``Pipeline`` runs the same pipeline on frames pushed as they arrive;
``batch(folder, out)`` processes a folder.  Every stage is also a function
on numpy arrays (``find_peaks``, ``temporal_filter``, ``candidates``, ...).

``from knotmap import *`` shadows no built-in: ``knotmap.eval`` is exported
as ``evaluate`` (``knotmap.eval`` itself stays callable).  Typed (PEP 561).
"""
from ._version import __version__
from ._core import AssumedWarning, Error, NonFiniteWarning, ffi as _ffi, lib as _lib


def _check_versions():
    linked = _ffi.string(_lib.km_version_string()).decode()
    compiled = _ffi.string(_lib.km_py_compiled_version()).decode()
    if not (linked == compiled == __version__):
        raise ImportError(
            "knotmap version mismatch: package %s, extension compiled against "
            "knotmap.h %s, linked library %s; rebuild the package against the "
            "library you use" % (__version__, compiled, linked))
    return linked


library_version = _check_versions()

from ._session import Session, read_session  # noqa: E402
from ._peaks import (PEAK_DTYPE, PEAK_AT_BORDER, PEAK_PLATEAU,  # noqa: E402
                     PEAK_FIT_FALLBACK, PEAK_SATURATED, find_peaks, peak_local_max)
from ._dsp import calibrate, frame_metrics, gaussian_filter, units_to_kpa  # noqa: E402
from ._params import PARAMS, Param  # noqa: E402
from ._process import (PROCESS_PARAMS, STAGE_PARAMS, EQUIL_DEFAULTS, process,  # noqa: E402
                       gain_map_from_recording, read_gain_map)
from ._stages import (TEMPORAL_KINDS, ODO_LIFTED, ODO_START, ODO_LIGHT, temporal_filter,  # noqa: E402
                      odometry, bodymap, track, candidates, CANDIDATE_DEFAULTS)
from ._defaults import (PEAK_DEFAULTS, METRICS_DEFAULTS, ODOMETRY_DEFAULTS,  # noqa: E402
                        BODYMAP_DEFAULTS, TRACK_DEFAULTS, TEMPORAL_DEFAULTS, CALIB_DEFAULTS)
from ._synth import SYNTH_FIELDS, synth  # noqa: E402
from ._result import (RESULT_TABLES, read_result, is_complete,  # noqa: E402
                      eval, eval_points)
from ._result import evaluate, Table  # noqa: E402
from ._render import RENDER_MAPS, IMAGE_FORMATS, render, report  # noqa: E402
from ._batch import batch, output_path  # noqa: E402
from ._pipeline import Pipeline  # noqa: E402
from ._condition import (calib_curve_fit, bad_taxels, condition, TAXEL_OK,  # noqa: E402
                         TAXEL_DEAD, TAXEL_STUCK, TAXEL_HOT, TAXEL_MASKED,
                         TAXEL_OFFSET)

__all__ = ["__version__", "library_version", "Error", "AssumedWarning", "NonFiniteWarning", "Session", "read_session", "Pipeline",
           "PEAK_DTYPE", "PEAK_AT_BORDER", "PEAK_PLATEAU", "PEAK_FIT_FALLBACK",
           "PEAK_SATURATED", "find_peaks", "peak_local_max", "calibrate",
           "frame_metrics", "gaussian_filter", "units_to_kpa", "PARAMS", "Param", "PROCESS_PARAMS",
           "process", "STAGE_PARAMS", "TEMPORAL_KINDS", "ODO_LIFTED", "ODO_START", "ODO_LIGHT",
           "temporal_filter", "odometry", "bodymap", "track", "candidates", "CANDIDATE_DEFAULTS", "SYNTH_FIELDS",
           "synth", "RESULT_TABLES", "RENDER_MAPS", "read_result", "is_complete", "evaluate", "Table",
           "eval_points", "render", "report", "IMAGE_FORMATS", "batch", "output_path", "calib_curve_fit", "bad_taxels",
           "condition", "TAXEL_OK", "TAXEL_DEAD", "TAXEL_STUCK", "TAXEL_HOT", "TAXEL_MASKED", "TAXEL_OFFSET",
           "EQUIL_DEFAULTS", "gain_map_from_recording", "read_gain_map",
           "PEAK_DEFAULTS", "METRICS_DEFAULTS", "ODOMETRY_DEFAULTS", "BODYMAP_DEFAULTS",
           "TRACK_DEFAULTS", "TEMPORAL_DEFAULTS", "CALIB_DEFAULTS"]
