"""Synthetic sessions with ground truth: knotmap.synth (km_synth_*)."""
from __future__ import annotations

import inspect
import threading

import numpy as np
from typing import Any, Optional, Tuple, Union

from ._core import (PathLike, check, choice, ctx, ffi, flag, fspath, integer, invalid, invalid_type,
                    lib, parse_enum, real)
from ._defaults import PIPELINE
from ._params import SYNTH_PARAMS, TABLE_DEFAULT, param_keyword, table_defaults
from ._session import Session, _pair, info_dict

__all__ = ["synth", "SYNTH_FIELDS"]

#: km_synth_params field names, accepted by synth() as keywords.
SYNTH_FIELDS = tuple(name for name, _ in ffi.typeof("km_synth_params").fields)

#: The C type of each km_synth_params field ("double", "int32_t", ...).
_FIELD_TYPE = {name: f.type.cname for name, f in ffi.typeof("km_synth_params").fields}
#: The km_synth_params field at each offset (the table's rows give offsets).
_FIELD_AT = {f.offset: name for name, f in ffi.typeof("km_synth_params").fields}
#: synth()'s keywords that are rows of km_synth_param_table (`knotmap
#: synth`'s options): keyword -> row.
_ROWS = {param_keyword(r): r for r in SYNTH_PARAMS}


def _row_default(row):
    """The Python default of a row: km_synth_params_default()'s value
    ((rows, cols) for the grid)."""
    if row.type != "grid":
        return row.default
    d = ffi.new("km_synth_params *")
    lib.km_synth_params_default(d)
    return getattr(d, _FIELD_AT[row.offset]), getattr(d, _FIELD_AT[row.offset2])


def _format_for(path, fmt):
    """The output format: given, else from the extension as `knotmap synth`."""
    if fmt is None:
        return lib.km_format_from_extension(fspath("path", path))
    return parse_enum("format", fmt, lib.km_format_parse, "km_format", "KM_FORMAT_")


def _set_row(p, keyword, row, value):
    """Set the field(s) of one table row from a keyword's value."""
    name = _FIELD_AT[row.offset]
    if row.type == "enum":
        setattr(p, name, choice(keyword, value, {n: i for i, n in enumerate(row.names)}))
    elif row.type == "grid":
        a, b = _pair(keyword, value, int)
        setattr(p, name, a)
        setattr(p, _FIELD_AT[row.offset2], b)
    elif row.type == "double":
        setattr(p, name, real(keyword, value))
    else:
        setattr(p, name, integer(keyword, value))


def _params(table_values, fields):
    unknown = sorted(set(fields) - set(SYNTH_FIELDS))
    if unknown:
        raise invalid_type("synth() got unknown parameters: %s (km_synth_params fields: %s)"
                           % (", ".join(unknown), ", ".join(SYNTH_FIELDS)))
    p = ffi.new("km_synth_params *")
    lib.km_synth_params_default(p)
    for keyword, value in table_values.items():
        _set_row(p, keyword, _ROWS[keyword], value)
    # As `knotmap synth`: the preset sets the artefact fields (and none of
    # the rows above); explicit fields win over all of them.
    lib.km_synth_preset(p, p.difficulty)
    for name, value in fields.items():  # held to the checks of the other numbers
        check_number = real if _FIELD_TYPE[name] in ("double", "float") else integer
        setattr(p, name, check_number(name, value))
    return p


def _equilibration(p, value, duration_given):
    """synth(equilibration=): False leaves p the session; True the default
    load, a number that load (km_synth_equilibration: the CLI's defaults)."""
    if isinstance(value, (bool, np.bool_)):
        if not value:
            return
        kpa = 0.0
    else:
        kpa = real("equilibration", value)
        if not kpa > 0:
            raise invalid("equilibration=%r: a load in kPa must be > 0 (True: %d kPa)"
                                % (value, lib.KM_SYNTH_EQUILIBRATION_KPA))
    lib.km_synth_equilibration(p, kpa, 1 if duration_given else 0)


def _cancellable(c, call):
    """call() (one C call on context c that stops between blocks when c is
    cancelled) run on a worker thread while this thread waits in Python: a
    Ctrl-C then raises KeyboardInterrupt here, which cancels c (km_ctx_cancel,
    the one function another thread may call), waits for the C call to stop
    (it removes its temporary file) and is raised again.  Python runs a
    SIGINT's handler only in the main thread and only between bytecodes,
    never while that thread is inside the C call itself.  The wait is on an
    Event, not Thread.join: a join interrupted by KeyboardInterrupt marks
    the thread stopped while it still runs (CPython 3.11, bpo-45274's fix)."""
    box, done = [], threading.Event()

    def run():
        try:
            box.append(call())
        finally:
            done.set()

    worker = threading.Thread(target=run, daemon=True, name="knotmap C call")
    try:
        worker.start()
        while not done.wait(0.1):
            pass
    except BaseException as e:
        if isinstance(e, RuntimeError) and worker.ident is None:
            raise  # start() could not make the thread: no call runs
        lib.km_ctx_cancel(c)
        while True:  # a second Ctrl-C must not leave c cancelled (or in use) behind
            try:
                done.wait()
                break
            except KeyboardInterrupt:
                continue  # already cancelling: the C call stops at its next block
        lib.km_ctx_reset_cancel(c)
        lib.km_ctx_clear_error(c)
        raise
    return box[0]


# Frames generated per C call in memory: the pipeline's block.
_BLOCK = int(PIPELINE.block_frames)


def synth(path: Optional[PathLike] = None, mode: str = TABLE_DEFAULT,
          preset: str = TABLE_DEFAULT, seed: int = TABLE_DEFAULT, duration: float = TABLE_DEFAULT,
          rate: float = TABLE_DEFAULT, grid: Union[str, Tuple[int, int]] = TABLE_DEFAULT,
          knots: int = TABLE_DEFAULT, roller_radius: float = TABLE_DEFAULT,
          format: Optional[str] = None, overwrite: bool = True,
          equilibration: Union[bool, float] = False, *, model: int = TABLE_DEFAULT,
          **fields: Any) -> Any:
    """Generate a synthetic session with known knots (docs/ALGORITHMS.md 6),
    as `knotmap synth`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Write the session there (km_synth_write) and return the path; None
        returns it in memory (the same frames bit for bit).  Ctrl-C
        (KeyboardInterrupt) stops either between blocks of frames; a file
        is then not written (no partial or temporary file is left).
    mode : {"roller", "mat"}, optional
    preset : {"easy", "moderate", "hard"}, optional
        Sensor artefacts and knot strength.
    seed : int, optional
    duration : float, optional
        In s.
    rate : float, optional
        In Hz.
    grid : (int, int) or str, optional
        (rows, cols) or "RxC".
    knots : int, optional
    roller_radius : float, optional
        In mm.
    format : str, optional
        With path: "session" (HDF5 with /truth/knots), "tekscan" or "audio";
        default from the extension (.asf/.csv tekscan, .wav/.w64/... audio,
        else session).
    overwrite : bool, optional
        False refuses an existing file; True replaces only what synth could
        have written (a session holding /truth, knotmap's own export), never
        a recording (knotmap.Error, an OSError) [True].
    equilibration : bool or float, optional
        True: instead of the session, the uniform-load (equilibration)
        recording of the same sensor (the same seed, preset, grid and mode:
        its gains, dead and stuck taxels; no knots), at @EQUIL_KPA@ kPa and
        @EQUIL_S@ s unless `duration` is given, as `knotmap synth
        --equilibration`; a number: that load in kPa (> 0), as
        `--equilibration-kpa`.  For process(equilibrate=...).
    model : {1, 2}, optional (keyword only)
        Tissue and sensor model, as `knotmap synth --model`: 2 draws the
        device (grid, pitches, roller radius), body, knots and artefacts
        from the seed, so grid, knots and roller_radius do not apply
        (ValueError when given).
    **fields
        Any other km_synth_params field (SYNTH_FIELDS: noise_kpa,
        lift_probability, ...) by its C name, applied after the preset.
        A value of the wrong type (a string, None, 2.5 for a count) is a
        TypeError (+ knotmap.Error) naming the field, as for the keywords
        above.

    Returns
    -------
    str or (Session, dict)
        With path: the path.  Without: (session, truth): session a Session
        (frames [T, R, C] float32 kPa, time, mask, metadata); truth a dict:
        knots (columns x_mm, y_mm, sigma_mm, amplitude_kpa, in_taut_band),
        taxel_state ([R, C] uint8), gain ([R, C] float32), offset ([R, C]
        float32 kPa: the fixed offset of model 2's hot taxels), distractors
        (the body's relief that is not a knot, km_synth_distractor: columns
        kind (1 taut band, 2 bony prominence), x_mm, y_mm, angle_rad,
        along_lo_mm, along_hi_mm, end_sigma_mm, sigma_mm, amplitude_kpa),
        row_pitch_mm, col_pitch_mm, motion ([T] columns y_contact_mm, theta_rad,
        contact_row, load).

    Examples
    --------
    In memory: a session and the knots it holds.

    >>> import knotmap
    >>> session, truth = knotmap.synth(mode="mat", duration=2, grid=(16, 16), knots=2, seed=3)
    >>> session.frames.shape, session.frames.dtype.name, len(truth["knots"]["x_mm"])
    ((200, 16, 16), 'float32', 2)

    A file, as `knotmap synth --mode roller --seed 7 -o s.h5`, processed,
    and its candidates scored against its knots (knotmap.evaluate, as
    `knotmap eval`):

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> s = knotmap.synth(os.path.join(d, "s.h5"), mode="roller", seed=7, duration=10)
    >>> summary = knotmap.process(s, os.path.join(d, "s.knotmap.h5"))
    >>> score = knotmap.evaluate(os.path.join(d, "s.knotmap.h5"), s)
    >>> score["n_truth"], score["n_matched"], score["f1"]
    (6, 6, 1.0)
    """
    if integer("model", model) == 2:  # as `knotmap synth --model 2 --grid ...` refuses it
        given = [k for k, v in (("grid", grid), ("knots", knots), ("roller_radius", roller_radius))
                 if v is not _DEFAULTS[k]]
        if given:
            raise invalid("%s= does not apply to model=2 (it draws the device and the knots "
                          "from the seed)" % given[0])
    p = _params({"mode": mode, "preset": preset, "seed": seed, "model": model,
                 "duration": duration, "rate": rate, "grid": grid, "knots": knots,
                 "roller_radius": roller_radius}, fields)
    _equilibration(p, equilibration, duration is not _DURATION_DEFAULT[0])
    c = ctx()
    if path is not None:
        fmt, name = _format_for(path, format), fspath("path", path)
        check(c, _cancellable(c, lambda: lib.km_synth_write(c, p, fmt, name,
                                                            flag("overwrite", overwrite))))
        return path
    sp = ffi.new("km_synth **")
    check(c, lib.km_synth_create(c, p, sp))
    s = ffi.gc(sp[0], lib.km_synth_free)
    try:
        info = ffi.new("km_session_info *")
        lib.km_synth_info(s, info)
        meta = info_dict(info)
        rows, cols, n_t = meta["rows"], meta["cols"], meta["n_frames"]
        frames = np.empty((n_t, rows, cols), np.float32)
        times = np.empty(n_t, np.float64)
        motion = ffi.new("km_synth_motion[]", max(n_t, 1))
        n = ffi.new("int64_t *")
        done = 0
        while done < n_t:
            # a block per call, as km_process reads them: Python runs between
            # blocks, so a Ctrl-C (KeyboardInterrupt) stops a long session soon
            check(c, lib.km_synth_frames_motion(
                c, s, ffi.cast("float *", frames[done:].ctypes.data),
                ffi.cast("double *", times[done:].ctypes.data), motion + done,
                min(n_t - done, _BLOCK), n))
            if n[0] == 0:
                break
            done += int(n[0])
        frames, times = frames[:done], times[:done]
        mask = np.frombuffer(ffi.buffer(lib.km_synth_mask(s), rows * cols), np.uint8) \
            .reshape(rows, cols).astype(bool)
        tr = ffi.new("km_synth_truth *")
        lib.km_synth_truth_get(s, tr)
        knots_cols = {name: np.array([getattr(tr.knots[i], name) for i in range(tr.n_knots)],
                                     dtype=dt)
                      for name, dt in (("x_mm", np.float64), ("y_mm", np.float64),
                                       ("sigma_mm", np.float64), ("amplitude_kpa", np.float64),
                                       ("in_taut_band", np.int32))}
        truth = {
            "knots": knots_cols,
            "taxel_state": np.frombuffer(ffi.buffer(tr.taxel_state, rows * cols), np.uint8)
            .reshape(rows, cols).copy(),
            "gain": np.frombuffer(ffi.buffer(tr.gain, 4 * rows * cols), np.float32)
            .reshape(rows, cols).copy(),
            "offset": np.frombuffer(ffi.buffer(tr.offset, 4 * rows * cols), np.float32)
            .reshape(rows, cols).copy(),
            "distractors": {name: np.array([getattr(tr.distractors[i], name)
                                            for i in range(tr.n_distractors)], dtype=dt)
                            for name, dt in (("kind", np.int32), ("x_mm", np.float64),
                                             ("y_mm", np.float64), ("angle_rad", np.float64),
                                             ("along_lo_mm", np.float64),
                                             ("along_hi_mm", np.float64),
                                             ("end_sigma_mm", np.float64),
                                             ("sigma_mm", np.float64),
                                             ("amplitude_kpa", np.float64))},
            "row_pitch_mm": float(tr.row_pitch_mm),
            "col_pitch_mm": float(tr.col_pitch_mm),
            "motion": {name: np.array([getattr(motion[i], name) for i in range(done)],
                                      dtype=np.float64)
                       for name in ("y_contact_mm", "theta_rad", "contact_row", "load")},
        }
    finally:
        ffi.release(s)
    meta["n_frames"] = int(done)
    meta["source_header"] = {}
    meta["path"] = None
    return Session(frames, times, mask, meta), truth


# The signature shows km_synth_params_default()'s values (TABLE_DEFAULT above).
table_defaults(synth, SYNTH_PARAMS, _row_default)
# The very object of duration's default: a duration the caller gave (30.0
# included) is another object, so the equilibration recording keeps it.
_DURATION_DEFAULT = [q.default for q in inspect.signature(synth).parameters.values()
                     if q.name == "duration"]
# The very objects of the geometry's defaults: given with model=2, an error.
_DEFAULTS = {q.name: q.default for q in inspect.signature(synth).parameters.values()}
synth.__doc__ = synth.__doc__.replace("@EQUIL_KPA@", str(lib.KM_SYNTH_EQUILIBRATION_KPA)) \
    .replace("@EQUIL_S@", str(lib.KM_SYNTH_EQUILIBRATION_S))
