"""One session, file to result HDF5: knotmap.process."""
from __future__ import annotations

import difflib
import errno
import math
import os

import numpy as np
from typing import Any, Dict, Optional, Tuple

from ._core import (PathLike, check, ctx, ffi, flag, fspath, integer, invalid, invalid_type, lib,
                    make_error, parse_enum, raise_error, real, refuse_folder_input, warn_assumed,
                    warn_nonfinite)
from ._peaks import _PLATEAU, _exclude_border, _int_or_inf, _min_distance, _p_norm
from ._params import PARAMS, enum_values, param_keyword
from ._session import _pair, info_dict, read_options
from ._stages import CAND_PREFIX, seen_keys

__all__ = ["process", "PROCESS_PARAMS", "STAGE_PARAMS", "gain_map_from_recording",
           "read_gain_map", "EQUIL_DEFAULTS"]

_READ_KEYS = ("format", "grid", "rate", "pitch", "units", "mode", "roller_radius",
              "sensor", "text_frame_per_file", "text_layout", "override", "max_memory",
              "time_axis")

#: Keyword arguments of process(): one per row of the parameter table
#: (knotmap.PARAMS: the CLI long option with '-' -> '_', or the row's own
#: keyword), then the few that exist only in Python.
PROCESS_PARAMS = tuple(dict.fromkeys(
    [k for k in map(param_keyword, PARAMS) if k is not None]
    + ["text_frame_per_file", "subpixel", "prominence", "no_overwrite", "command_line",
       "progress"]))

# CLI names of the conditioning options whose km_condition_params field is
# named differently: CLI name -> (path, converter(name, value)).  The
# converters are _core's checks (real, integer, flag): a string, a list or
# 4.5 for a count is a TypeError naming the keyword, not float()/int()'s
# silent reading ("1e3" as 1000.0, "no" as on).
_CLI_COND = {"detect_bad_taxels": (("cond", "detect_bad"), flag),
             "fill_bad_taxels": (("cond", "fill_bad"), flag),
             "iir": (("cond", "fir"), lambda name, v: 1 - flag(name, v)),
             "harmonics": (("cond", "notch_harmonics"), integer),
             "median": (("cond", "median_frames"), integer),
             "hot_ratio": (("cond", "bad", "hot_ratio"), real),
             "offset_sigmas": (("cond", "bad", "offset_sigmas"), real),
             "threads": (("n_threads",), integer)}

# Stage parameters below the CLI's options, by their C names in
# km_process_params (the nested candidate and tracking structs get the
# prefixes the result's /params attributes use, since cand.min_distance and
# peaks.min_distance would clash): name -> (path in km_process_params,
# converter(name, value)).
_NESTED = {"track_gate_mm": (("track", "gate_mm"), real),
           "track_max_gap": (("track", "max_gap"), integer),
           "lift_threshold": (("lift_threshold",), real),
           "odometry_lift_threshold": (("lift_threshold",), real),
           "floor_sigmas": (("floor_sigmas",), real),
           "zero_rate": (("zero_rate",), real),
           "keep_suspect_taxels": (("keep_suspect",), flag)}


def _check_of(t):
    """The check for a C field of type t: real for double, integer else."""
    return real if t.type.cname in ("double", "float") else integer


for _name, _t in ffi.typeof("km_candidate_params").fields:
    _NESTED[CAND_PREFIX + _name] = (("cand", _name), _check_of(_t))
_COND_SKIP = ("tare", "gain_map", "bad", "curve")
for _name, _t in ffi.typeof("km_condition_params").fields:
    if _name not in _COND_SKIP:
        _NESTED[_name] = (("cond", _name), _check_of(_t))
for _name, _t in ffi.typeof("km_badtaxel_params").fields:
    _NESTED["bad_" + _name] = (("cond", "bad", _name), _check_of(_t))
for _name, _t in ffi.typeof("km_equil_params").fields:
    _NESTED["equil_" + _name] = (("equil", _name), _check_of(_t))
_CURVES = enum_values("calib_curve")
#: Every keyword process() accepts: PROCESS_PARAMS (the CLI's), and the
#: stage parameters by their C names (STAGE_PARAMS), curve (= calibration),
#: gain_map ([R, C] array).
STAGE_PARAMS = tuple(k for k in _NESTED if k not in PROCESS_PARAMS) + ("curve",)
_NESTED.update(_CLI_COND)


def _summary_dict(s):
    top = []
    for i in range(s.n_top):
        t = s.top[i]
        top.append({"frame": int(t.frame), "time": t.time, "row": int(t.row),
                    "col": int(t.col), "grid_y_mm": t.y_mm, "grid_x_mm": t.x_mm,
                    "value": t.value, "prominence": t.prominence})
    cand = [{name: getattr(s.cand[i], name) for name, _ in ffi.typeof("km_candidate").fields}
            for i in range(s.n_cand)]
    return {"info": info_dict(s.info), "n_frames": int(s.n_frames),
            "n_peaks": int(s.n_peaks), "n_corrupt_frames": int(s.n_corrupt_frames),
            "n_all_contact_frames": int(s.n_all_contact_frames),
            "top": top, "n_tracks": int(s.n_tracks), "n_candidates": int(s.n_candidates),
            "candidates": cand, "bodymap_shape": (int(s.bodymap_ny), int(s.bodymap_nx)),
            "zero_drift": s.zero_drift, "zero_drift_limit": s.zero_drift_limit,
            "n_bad_taxels": int(s.n_bad_taxels), "n_offset_taxels": int(s.n_offset_taxels),
            "n_suspect_taxels": int(s.n_suspect_taxels), "noise": s.noise,
            "peaks_floor": s.peaks_floor, "peaks_zero_drift": s.peaks_zero_drift,
            **{k: float(getattr(s, k)) for k in seen_keys(CAND_PREFIX)}}


def check_params(params, caller="process()"):
    """TypeError naming the keywords process() does not know (and the
    function the caller called)."""
    known = PROCESS_PARAMS + STAGE_PARAMS
    unknown = sorted(set(params) - set(known))
    if unknown:
        # the nearest known name, as the command names the nearest option
        near = ["%s (did you mean %r?)" % (u, m[0]) if m else u
                for u in unknown for m in [difflib.get_close_matches(u, known, n=1, cutoff=0.75)]]
        raise invalid_type("%s got unknown parameters: %s (known: %s)"
                           % (caller, ", ".join(near), ", ".join(known)))


def _session_shape(c, path, p):
    """(rows, cols) of the input as km_process will read it."""
    out = ffi.new("km_reader **")
    check(c, lib.km_reader_open(c, fspath("input", path), ffi.addressof(p, "read"), out), path)
    info = ffi.new("km_session_info *")
    lib.km_reader_info(out[0], info)
    lib.km_reader_free(out[0])
    return int(info.rows), int(info.cols)


def _set_stage_params(p, params, keep, shape_of):
    for name, (path, conv) in _NESTED.items():
        v = params.get(name)
        if v is None:
            continue
        obj = p
        for part in path[:-1]:
            obj = getattr(obj, part)
        setattr(obj, path[-1], conv(name, v))
    for name in ("curve", "calibration"):
        if params.get(name) is None:
            continue
        v = params[name]
        try:
            p.cond.curve = _CURVES[v] if isinstance(v, str) else integer(name, v)
        except KeyError:
            raise invalid("%s must be one of %s, got %r" % (name, ", ".join(_CURVES), v)) \
                from None
    tare = params.get("tare")
    if tare is not None and np.ndim(tare) == 0:
        # the CLI's --tare N: frames averaged for the baseline
        p.cond.tare_frames = integer("tare", tare)
    gm = params.get("gain_map")
    if isinstance(gm, (str, bytes, os.PathLike)):
        # the CLI's --gain-map FILE: a text matrix read by the library
        s = ffi.new("char[]", fspath("gain_map", gm))
        keep.append(s)
        p.gain_map_path = s
        params = dict(params, gain_map=None)
    if params.get("equilibrate") is not None:
        s = ffi.new("char[]", fspath("equilibrate", params["equilibrate"]))
        keep.append(s)
        p.equilibrate = s
    for name in ("tare", "gain_map"):
        if params.get(name) is not None and np.ndim(params[name]) != 0:
            arr = np.ascontiguousarray(params[name], dtype=np.float32)
            # C reads rows*cols values through a bare pointer: the shape is
            # checked against the session here.
            if arr.shape != shape_of():
                raise invalid("%s must have the session's shape %r, got %r"
                                 % (name, shape_of(), arr.shape))
            keep.append(arr)
            setattr(p.cond, name, ffi.cast("float *", arr.ctypes.data))


def _build_params(params, keep, shape_of, caller="process()"):
    """A km_process_params from process() keywords (defaults for the rest);
    shape_of(p) gives the session's (rows, cols) for array parameters.
    Objects the struct points into are appended to keep."""
    check_params(params, caller)
    p = ffi.new("km_process_params *")
    lib.km_process_params_default(p)
    read_kw = {k: params[k] for k in _READ_KEYS if params.get(k) is not None}
    if read_kw:
        opt = read_options(_keep=keep, **read_kw)
        p.read = opt[0]
    g = params.get
    if g("offset") is not None:
        p.calib.offset = real("offset", g("offset"))
    if g("gain") is not None:
        p.calib.gain = real("gain", g("gain"))
    if g("noise_threshold") is not None:
        p.calib.noise_threshold = real("noise_threshold", g("noise_threshold"))
    if g("sigma") is not None:
        p.smooth.sigma_rows, p.smooth.sigma_cols = _pair("sigma", g("sigma"), float)
    if g("truncate") is not None:
        p.smooth.truncate = real("truncate", g("truncate"))
    if g("border") is not None:
        p.smooth.border = parse_enum("border", g("border"), lib.km_border_parse, "km_border",
                                     "KM_BORDER_")
    if g("cval") is not None:
        p.smooth.cval = real("cval", g("cval"))
    pk = p.peaks
    if g("min_distance") is not None:
        pk.min_distance = _min_distance(g("min_distance"))
    if "threshold_abs" in params:
        v = params["threshold_abs"]
        pk.threshold_abs = math.nan if v is None else real("threshold_abs", v)
    if g("threshold_rel") is not None:
        pk.threshold_rel = real("threshold_rel", g("threshold_rel"))
    if g("exclude_border") is not None:
        pk.exclude_border = _exclude_border(g("exclude_border"))
    if g("plateau") is not None:
        if g("plateau") not in _PLATEAU:
            raise invalid("plateau must be 'all' or 'one', got %r" % (g("plateau"),))
        pk.plateau = _PLATEAU[g("plateau")]
    if g("p_norm") is not None:
        pk.p_norm = _p_norm(g("p_norm"))
    if "num_peaks" in params:
        pk.num_peaks = _int_or_inf("num_peaks", params["num_peaks"])
    if g("min_prominence") is not None:
        pk.min_prominence = real("min_prominence", g("min_prominence"))
    if g("saturation") is not None:
        pk.saturation = real("saturation", g("saturation"))
    if g("subpixel") is not None:
        pk.want = (pk.want | lib.KM_WANT_SUBPIXEL) if flag("subpixel", g("subpixel")) \
            else (pk.want & ~lib.KM_WANT_SUBPIXEL)
    if g("prominence") is not None:
        bits = lib.KM_WANT_PROMINENCE | lib.KM_WANT_AREA
        pk.want = (pk.want | bits) if flag("prominence", g("prominence")) else (pk.want & ~bits)
    if g("contact_threshold") is not None:
        p.contact_threshold = real("contact_threshold", g("contact_threshold"))
    if g("block_frames") is not None:
        p.block_frames = integer("block_frames", g("block_frames"))
    if g("save_frames") is not None:
        p.save_frames = flag("save_frames", g("save_frames"))
    if g("overwrite") is not None:
        p.overwrite = flag("overwrite", g("overwrite"))
    if g("no_overwrite") is not None and flag("no_overwrite", g("no_overwrite")):
        p.overwrite = 0
    _set_stage_params(p, params, keep, lambda: shape_of(p))
    if g("command_line") is not None:
        s = ffi.new("char[]", str(g("command_line")).encode())
        keep.append(s)
        p.command_line = s
    return p


def output_path(input: PathLike, out_dir: PathLike) -> str:
    """The result path `knotmap process INPUT... -o OUT_DIR/` writes (with
    out_dir "": the one `knotmap process INPUT` writes without -o, and
    process(input) without output).

    Parameters
    ----------
    input : str or os.PathLike
        The session file.
    out_dir : str or os.PathLike
        The folder of the results.

    Returns
    -------
    str
        OUT_DIR/<input basename without its last extension>.knotmap.h5.

    Examples
    --------
    >>> import knotmap
    >>> knotmap.output_path("sessions/walk.asf", "results")
    'results/walk.knotmap.h5'
    """
    base = os.path.basename(os.fsdecode(input))
    stem = base
    dot = base.rfind(".")
    if dot > 0:
        stem = base[:dot]
    return os.path.join(os.fsdecode(out_dir), stem + ".knotmap.h5")


def process(input: PathLike, output: Optional[PathLike] = None, **params: Any) -> Dict[str, Any]:
    """Read `input`, condition, detect and write the result HDF5 `output`
    (km_process; written under a temporary name, renamed when complete).

    Parameters
    ----------
    input : str or os.PathLike
        The session file (any format read_session reads).  Frames in
        memory: numpy.save them (a TypeError says so), or push them through
        knotmap.Pipeline, which gives the same body map and candidates.
    output : str or os.PathLike, optional
        The result file (docs/FORMAT.md 2.1).  Default: the input's name
        without its last extension, plus .knotmap.h5, in the current folder
        (output_path(input, "")), as `knotmap process INPUT` without -o.
    **params
        One keyword per row of the parameter table (knotmap.PARAMS): the
        `knotmap process` long option with '-' -> '_' (PROCESS_PARAMS;
        unknown names raise TypeError).  Unset ones keep the C defaults
        (km_process_params_default, the CLI's), in brackets:

@PARAMS@

        A number outside its row's range (PARAMS[i].min/max: sigma and
        dog_sigma at most 65536 taxels, truncate at most 16, resample_hz
        at most 100000; inf and NaN wherever NaN is not the default) raises
        ValueError (+ knotmap.Error) naming the option and keyword, as
        `knotmap process` exits 64, before anything is read or written.
        A value of the wrong type raises TypeError (+ knotmap.Error) naming
        the keyword, as the array functions' numbers: numbers are Python or
        numpy numbers (or 0-d arrays), counts whole numbers (2.5 frames is
        refused, not cut to 2), switches True/False (or 1/0; "no" is
        refused, not taken as on); strings only for enums, paths and the
        CLI's "RxC" spelling of sigma, pitch and grid.

        Also: sigma, pitch and grid as a scalar or (rows, cols); enums by
        name; tare as N frames or an [R, C] baseline in source units;
        gain_map as a gain-map text file or an [R, C] array; iir=True for a
        causal Butterworth instead of the zero-phase FIR.  Python only:
        text_frame_per_file (as read_session), subpixel and prominence (as
        find_peaks), no_overwrite (= overwrite=False), command_line
        (recorded in the result), progress: callable(frames_done,
        frames_total) called after each block, returning True cancels
        (KM_ERR_CANCELLED).  Ctrl-C (KeyboardInterrupt) cancels between
        blocks too, leaving no result, with or without progress.  Stage parameters by their C names
        (STAGE_PARAMS): track_gate_mm, track_max_gap, lift_threshold,
        cand_<km_candidate_params field>, the km_condition_params fields
        (tare_frames, detect_bad, fill_bad, notch_harmonics, median_frames,
        ...; curve by name), bad_<km_badtaxel_params field>,
        equil_<km_equil_params field>.

    Returns
    -------
    dict
        The summary: info (as read_session's metadata), n_frames, n_peaks,
        n_corrupt_frames, n_all_contact_frames (frames in which every valid
        taxel was above contact_threshold: the contact is the whole sheet;
        docs/ALGORITHMS.md 4), top (the hottest peaks: frame, time, row, col,
        grid_y_mm, grid_x_mm, value, prominence), n_tracks, n_candidates,
        candidates (the best ones as dicts of km_candidate fields),
        bodymap_shape (Ny, Nx), zero_drift and zero_drift_limit (a roller's
        sensor zero drift and the drift the odometry follows, result units;
        docs/ALGORITHMS.md 7.1 step 6; 0 on a mat), n_bad_taxels (masked as
        bad), n_offset_taxels (of which read an offset while unloaded) and
        n_suspect_taxels (found stuck or hot but not masked because
        detect_bad is off: left out of the peaks, metrics and maps unless
        keep_suspect_taxels;
        the command line warns of them; docs/ALGORITHMS.md 11.3), noise (the
        sensor's noise measured in the warm-up, result units) and
        peaks_floor (the peaks' floor, floor_sigmas x noise; NaN when none;
        docs/ALGORITHMS.md 3.7), peaks_zero_drift (the largest rise of a
        taxel's zero the peaks followed, result units; NaN when not
        followed: a mat, zero_rate 0; docs/ALGORITHMS.md 3.7),
        cand_map_noise (the candidate map's global noise, result units)
        and cand_seen_threshold_used (the seen threshold the candidates'
        n_passes counted: cand_seen_threshold, or with cand_seen_noise C
        > 0 the ladder's rung for min(cand_seen_threshold, C x
        cand_map_noise); docs/ALGORITHMS.md 10 step 3).

    Warns
    -----
    knotmap.AssumedWarning
        As read_session: the values assumed (summary info "assumed",
        the result's /session attribute "assumed").

    Raises
    ------
    knotmap.Error
        Also FileNotFoundError, IsADirectoryError, FileExistsError,
        PermissionError, OSError or ValueError as the failure is.

    Examples
    --------
    From the repository's root: the result `knotmap process` writes with
    its defaults.

    >>> import os, tempfile, knotmap
    >>> out = os.path.join(tempfile.mkdtemp(), "r.knotmap.h5")
    >>> summary = knotmap.process("datasets/example/roller_example.h5", out)
    >>> summary["n_frames"], summary["n_candidates"]
    (1500, 3)
    >>> res = knotmap.read_result(out)
    >>> res["candidates"].attrs["units"]["x_mm"], len(res["candidates"]["x_mm"])
    ('mm', 3)
    """
    keep = []
    c = ctx()
    p = _build_params(params, keep, lambda q: _session_shape(c, input, q))
    # The progress callback is always installed: running Python between
    # blocks is what lets a Ctrl-C (KeyboardInterrupt, raised in the
    # callback) cancel the call, as SIGINT stops `knotmap process`;
    # otherwise it would come only after the whole result was written.
    raised = []
    user_cb = params.get("progress")

    def on_error(exc, val, tb):
        raised.append(val)
        return 1

    @ffi.callback("int(void *, int64_t, int64_t)", onerror=on_error)
    def cb(_user, done, total):
        return 1 if user_cb is not None and user_cb(int(done), int(total)) else 0

    keep.append(cb)
    p.progress = cb
    summary = ffi.new("km_process_summary *")
    if isinstance(input, np.ndarray):  # frames in memory: no file to read
        raise invalid_type(
            "input must be a path (str, bytes or os.PathLike), got 'ndarray': process() reads "
            "a file. Frames in memory: save them (numpy.save('s.npy', frames), or numpy.savez "
            "with time= or fs=) and pass rate=, pitch= as needed, or push them through "
            "knotmap.Pipeline(grid=%s, rate=..., pitch=...), which gives the same body map "
            "and candidates" % ("(%d, %d)" % input.shape[1:3] if input.ndim == 3 else "(R, C)"))
    if output is None:  # as `knotmap process INPUT` without -o
        output = output_path(input, "")
    in_b, out_b = fspath("input", input), fspath("output", output)
    status = lib.km_process(c, in_b, out_b, p, summary)
    if raised:
        raise raised[0]
    if status == lib.KM_ERR_CREATE and os.path.isdir(os.fsdecode(out_b)):
        _folder_given(c, output)
    refuse_folder_input(c, status, input, "process() reads one file")
    if status != 0:
        raise_error(c, status, output if status == lib.KM_ERR_CREATE else input)
    out = _summary_dict(summary)
    warn_assumed(input, out["info"]["assumed"], info=ffi.addressof(summary, "info"))
    warn_nonfinite(input, ffi.addressof(summary, "info"))
    return out


def _folder_given(c, output):
    """process() given a folder, as `knotmap process IN -o DIR/` takes one:
    IsADirectoryError saying which name the command would write there."""
    lib.km_ctx_clear_error(c)
    o = os.fsdecode(output)
    raise make_error(lib.KM_ERR_CREATE,
                     "%s: is a folder: process() writes one result file, so name it "
                     "(knotmap.output_path(input, %r) is the one `knotmap process INPUT -o "
                     "%s` writes there; knotmap.batch processes many)"
                     % (o, o, os.path.join(o, "")), errno_=errno.EISDIR, filename=output)


def _equil_defaults():
    e = ffi.new("km_equil_params *")
    lib.km_equil_params_default(e)
    return {name: getattr(e, name) for name, _ in ffi.typeof("km_equil_params").fields}


#: Defaults of gain_map_from_recording's parameters (km_equil_params_default).
EQUIL_DEFAULTS = _equil_defaults()


def gain_map_from_recording(path: PathLike, load_fraction: Optional[float] = None,
                            settle_frames: Optional[int] = None,
                            unload_fraction: Optional[float] = None,
                            clip_sigma: Optional[float] = None,
                            dead_fraction: Optional[float] = None,
                            max_gain: Optional[float] = None,
                            **read: Any) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Per-taxel equilibration gains from a uniform-load recording
    (km_gain_map_from_recording; docs/ALGORITHMS.md 1.3).

    Parameters
    ----------
    path : str or os.PathLike
        The recording.
    load_fraction, settle_frames, unload_fraction, clip_sigma, dead_fraction, max_gain : optional
        The km_equil_params fields [None = the C defaults, EQUIL_DEFAULTS].
    **read
        The reading keywords of read_session (format, grid, ...).

    Returns
    -------
    gains : ndarray
        float32 [R, C] (NaN = dead, stuck or masked taxel).
    summary : dict
        The km_equil_summary fields.
    """
    keep = []
    c = ctx()
    opt = read_options(_keep=keep, **read)
    e = ffi.new("km_equil_params *")
    lib.km_equil_params_default(e)
    given = {"load_fraction": load_fraction, "settle_frames": settle_frames,
             "unload_fraction": unload_fraction, "clip_sigma": clip_sigma,
             "dead_fraction": dead_fraction, "max_gain": max_gain}
    for name, v in given.items():
        if v is not None:
            setattr(e, name, integer(name, v) if name == "settle_frames" else real(name, v))
    s = ffi.new("km_equil_summary *")
    path_b = fspath("path", path)
    st = lib.km_gain_map_from_recording(c, path_b, opt, e, ffi.NULL, 0, s)
    if st != lib.KM_ERR_CAPACITY:
        check(c, st, path)
    gains = np.empty((int(s.rows), int(s.cols)), dtype=np.float32)
    buf = ffi.cast("float *", gains.ctypes.data)
    check(c, lib.km_gain_map_from_recording(c, path_b, opt, e, buf, gains.size, s), path)
    summary = {name: getattr(s, name) for name, _ in ffi.typeof("km_equil_summary").fields}
    return gains, summary


def read_gain_map(path: PathLike) -> np.ndarray:
    """A gain-map text file (docs/FORMAT.md 1.7), km_gain_map_read.

    Parameters
    ----------
    path : str or os.PathLike
        The gain-map file.

    Returns
    -------
    ndarray
        float32 [R, C] gains.
    """
    c = ctx()
    rows, cols = ffi.new("int32_t *"), ffi.new("int32_t *")
    path_b = fspath("path", path)
    st = lib.km_gain_map_read(c, path_b, ffi.NULL, 0, rows, cols)
    if st != lib.KM_ERR_CAPACITY:
        check(c, st, path)
    gains = np.empty((rows[0], cols[0]), dtype=np.float32)
    check(c, lib.km_gain_map_read(c, path_b, ffi.cast("float *", gains.ctypes.data),
                                  gains.size, rows, cols), path)
    return gains


def _params_doc():
    """The keyword list of process()'s docstring, from the table."""
    import textwrap
    lines = []
    for r in PARAMS:
        k = param_keyword(r)
        if k is None:
            continue
        dflt = "" if "[" in r.doc or r.default is None else " [%s]" % (r.default,)
        lines.extend(textwrap.wrap("%s : %s%s" % (k, r.doc, dflt), width=70,
                                   initial_indent=" " * 8, subsequent_indent=" " * 12))
    return "\n".join(lines)


process.__doc__ = process.__doc__.replace("@PARAMS@", _params_doc())
