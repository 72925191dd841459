"""The push engine from Python: knotmap.Pipeline (km_engine_*)."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Union

import numpy as np

from ._core import check, ctx, ffi, invalid, lib, real_array
from ._process import _build_params
from ._session import Session, _MODES, info_dict
from ._stages import CAND_PREFIX, _CAND_COLUMNS, seen_dict

__all__ = ["Pipeline"]

ArrayLike = Any


def _session_info(p, session):
    """The km_session_info of the engine: a Session's metadata dict's
    geometry, else the reading keywords' (grid, rate, pitch, units,
    mode, roller_radius) as km_process_params.read holds them."""
    info = ffi.new("km_session_info *")
    info.saturation = float("inf")
    if session is not None:
        m = session
        info.rows, info.cols = int(m["rows"]), int(m["cols"])
        info.frame_rate_hz = float(m["frame_rate_hz"])
        info.row_pitch_mm, info.col_pitch_mm = float(m["row_pitch_mm"]), float(m["col_pitch_mm"])
        info.units = str(m.get("units", "raw")).encode()
        mode = m.get("mode", "mat")
        info.mode = _MODES[mode] if isinstance(mode, str) else int(mode)
        info.roller_radius_mm = float(m.get("roller_radius_mm", 0.0))
        info.saturation = float(m.get("saturation", float("inf")))
        return info
    r = p.read
    if r.rows <= 0 or r.cols <= 0 or not r.frame_rate_hz > 0 or not r.row_pitch_mm > 0 \
            or not r.col_pitch_mm > 0:
        raise invalid("Pipeline needs the geometry: session=, or grid, rate and pitch")
    info.rows, info.cols, info.frame_rate_hz = r.rows, r.cols, r.frame_rate_hz
    info.row_pitch_mm, info.col_pitch_mm = r.row_pitch_mm, r.col_pitch_mm
    info.units = ffi.string(r.units) if r.units != ffi.NULL else b"raw"
    info.mode = r.mode if r.mode >= 0 else lib.KM_MODE_MAT
    info.roller_radius_mm = r.roller_radius_mm
    return info



class Pipeline:
    """The `knotmap process` pipeline for frames that arrive by themselves
    (a live acquisition loop, a GUI): push frames in blocks of any size,
    look at the body map and candidates so far, close.  For the same
    frames, times and keywords the body map and candidates are the ones
    knotmap.process writes, however the frames are split into pushes.

    Parameters
    ----------
    session : Session or dict, optional
        The geometry (rows, cols, frame_rate_hz, row_pitch_mm, col_pitch_mm,
        units, mode, roller_radius_mm, saturation): a Session or its
        metadata.  Without it, the reading keywords grid, rate and pitch
        (and units, mode, roller_radius) give it.
    mask : array_like, optional
        [R, C] bool, True = valid taxel [the Session's, else all valid].
    **params
        The keywords of knotmap.process (PROCESS_PARAMS, STAGE_PARAMS; the
        same mapping).  calibration="header" needs a file: use process().

    The C calls release the GIL; one thread at a time per Pipeline.  Use
    it as a context manager, or call close().
    """

    def __init__(self, session: Union[None, Session, Mapping[str, Any]] = None,
                 mask: Optional[ArrayLike] = None, **params: Any) -> None:
        self._keep: list = []
        self._e = None
        self._failed = False
        self._last_time = -np.inf  # the last time pushed (times must not go back)
        meta = session.metadata if isinstance(session, Session) else session

        def shape_of(p):
            if meta is not None:
                return int(meta["rows"]), int(meta["cols"])
            return int(p.read.rows), int(p.read.cols)

        p = _build_params(params, self._keep, shape_of, "Pipeline()")
        info = _session_info(p, meta)
        self._shape = (int(info.rows), int(info.cols))
        if mask is None and isinstance(session, Session):
            mask = session.mask
        mptr = ffi.NULL
        if mask is not None:
            m = np.ascontiguousarray(mask, dtype=np.uint8)
            if m.shape != self._shape:
                raise invalid("mask must have shape %r, got %r" % (self._shape, m.shape))
            self._keep.append(m)
            mptr = ffi.cast("uint8_t *", m.ctypes.data)
        out = ffi.new("km_engine **")
        c = ctx()
        check(c, lib.km_engine_create(c, info, mptr, p, out))
        self._e = ffi.gc(out[0], lib.km_engine_free)

    def _engine(self):
        if self._e is None:
            raise invalid("Pipeline is closed")
        return self._e

    def push(self, frames: ArrayLike, times: Optional[ArrayLike] = None) -> None:
        """Push frames [T, R, C] (or one [R, C] frame) in session units,
        taken at `times` ([T] s, non-decreasing and never before the times
        pushed earlier: else ValueError naming the first that goes back;
        None = index / rate)."""
        e = self._engine()
        a = np.asarray(frames)
        a = real_array("frames", a)  # complex, text, objects: checked first
        a = np.ascontiguousarray(a, dtype=np.float32)
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3 or a.shape[1:] != self._shape:
            raise invalid("frames must be [T, %d, %d], got %r" % (self._shape + (a.shape,)))
        tptr = ffi.NULL
        if times is not None:
            t = np.ascontiguousarray(real_array("times", np.atleast_1d(times)),
                                     dtype=np.float64)
            if t.shape != (a.shape[0],):
                raise invalid("times has %d entries for %d frames" % (t.size, a.shape[0]))
            before = np.concatenate([[self._last_time], t[:-1]])
            back = np.flatnonzero(~(t >= before))  # NaN too
            if back.size and np.isfinite(t[back[0]]) and np.isfinite(before[back[0]]):
                k = int(back[0])
                raise invalid("times[%d] = %r is before the time pushed before it, %r (times "
                              "must be finite and non-decreasing, as in a session file)"
                              % (k, float(t[k]), float(before[k])))
            tptr = ffi.cast("double *", t.ctypes.data)
        c = ctx()
        self._call(c, lib.km_engine_push(c, e, ffi.cast("float *", a.ctypes.data), tptr,
                                         a.shape[0]))
        if times is not None and len(t):
            self._last_time = float(t[-1])

    def _call(self, c, status) -> None:
        # A push or finish that fails may have taken part of the frames: the
        # engine refuses every later call with that failure (close() then
        # only frees it).
        try:
            check(c, status)
        except Exception:
            self._failed = True
            raise

    def finish(self) -> None:
        """End of the stream: frames held back by conditioning are
        processed; no push afterwards.  close() calls it."""
        c = ctx()
        self._call(c, lib.km_engine_finish(c, self._engine()))

    def bodymap(self) -> Dict[str, Any]:
        """The body map so far: pressure (max), mean, coverage and excess
        (the candidate map), [Ny, Nx] each, with y0_mm, y_pitch_mm,
        x_pitch_mm (the /bodymap group of a result)."""
        e, c = self._engine(), ctx()
        m = ffi.new("km_engine_map *")
        check(c, lib.km_engine_bodymap(c, e, m, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, 0))
        shape = (int(m.ny), int(m.nx))
        mx, mean = np.empty(shape, np.float32), np.empty(shape, np.float32)
        cov, ex = np.empty(shape, np.int32), np.empty(shape, np.float32)
        if mx.size:
            check(c, lib.km_engine_bodymap(c, e, m, ffi.cast("float *", mx.ctypes.data),
                                           ffi.cast("float *", mean.ctypes.data),
                                           ffi.cast("int32_t *", cov.ctypes.data),
                                           ffi.cast("float *", ex.ctypes.data), mx.size))
        return {"pressure": mx, "mean": mean, "coverage": cov, "excess": ex,
                "y0_mm": float(m.y0_mm), "y_pitch_mm": float(m.y_pitch_mm),
                "x_pitch_mm": float(m.x_pitch_mm)}

    def candidates(self) -> Dict[str, Any]:
        """The knot candidates found so far, best first: the /candidates
        columns (candidate rank and the km_candidate fields), plus
        "cand_map_noise" (the candidate map's global noise, result units)
        and "cand_seen_threshold_used" (the seen threshold the candidates'
        n_passes counted: cand_seen_threshold, or with cand_seen_noise C > 0
        the ladder's rung for min(cand_seen_threshold, C x cand_map_noise);
        docs/ALGORITHMS.md 10 step 3).  After close(), these are the values
        process() returns and a result's /params hold for the same frames
        (`knotmap info RESULT`, line "seen:")."""
        e, c = self._engine(), ctx()
        m = ffi.new("km_engine_map *")
        check(c, lib.km_engine_bodymap(c, e, m, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, 0))
        cap = max(1, int(m.ny) * int(m.nx))
        buf, n = ffi.new("km_candidate[]", cap), ffi.new("size_t *")
        seen = ffi.new("km_candidate_seen *")
        check(c, lib.km_engine_candidates_seen(c, e, buf, cap, n, seen))
        k = int(n[0])
        out: Dict[str, Any] = {"candidate": np.arange(k, dtype=np.int32)}
        for name, dt in _CAND_COLUMNS:
            out[name] = np.array([getattr(buf[i], name) for i in range(k)], dtype=dt)
        out.update(seen_dict(seen, CAND_PREFIX))
        return out

    def info(self) -> Dict[str, Any]:
        """The session as the results see it (units after calibration,
        n_frames = frames processed so far), as read_session's metadata."""
        i = ffi.new("km_session_info *")
        lib.km_engine_info(self._engine(), i)
        return info_dict(i)

    def close(self) -> None:
        """Finish and free the engine; snapshots are no longer possible.
        Closing twice is harmless."""
        if self._e is None:
            return
        try:
            if not self._failed:
                self.finish()
        finally:
            ffi.release(self._e)
            self._e = None

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None and self._e is not None:
            ffi.release(self._e)  # an error is on its way: do not finish
            self._e = None
        self.close()
