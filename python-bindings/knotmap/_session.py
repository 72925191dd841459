"""Reading sessions: knotmap.read_session."""
from __future__ import annotations

import numbers
import os

import numpy as np
from typing import Optional, Tuple, Union

from ._core import (Error, PathLike, check, choice, ctx, ffi, flag, fspath, integer, invalid,
                    lib, parse_enum, real, refuse_folder_input, warn_assumed,
                    warn_nonfinite)

__all__ = ["Session", "read_session", "read_options"]

_MODES = {"mat": lib.KM_MODE_MAT, "roller": lib.KM_MODE_ROLLER}
_MODE_NAMES = {v: k for k, v in _MODES.items()}


class Session:
    """A session read into memory.

    frames: [T, R, C] float32 in the session's units.  time: [T] float64
    seconds from the start.  mask: [R, C] bool, True = valid taxel.
    metadata: dict with format, rows, cols, n_frames, frame_rate_hz,
    row_pitch_mm, col_pitch_mm, units, mode, roller_radius_mm, saturation,
    n_valid, assumed (the names of the values the file lacked and no
    argument gave, comma-separated: said by knotmap.AssumedWarnings),
    n_nonfinite and nonfinite_at (the file's nan and inf values, kept, and
    the first one's place: a knotmap.NonFiniteWarning when any), n_fill
    (how many of them were an HDF5 session's _FillValue), path
    and source_header (dict of the file's header keys, in file order).
    Also readable as a mapping: session["frames"], ``"frames" in session``,
    ``dict(session)``; iterating gives the four keys.  ``len(session)`` is the
    number of frames (len(session.frames), len(session.time)), as a pandas
    DataFrame's len is its rows while iterating it gives its columns.  A
    session is always true, as a mapping of four keys is: ``if session:``
    does not ask whether it holds frames (``len(session) > 0`` does), so a
    session of no frames is not taken for a missing one.

    Examples
    --------
    >>> import knotmap
    >>> s = knotmap.read_session("datasets/example/roller_example.h5")
    >>> len(s), s.frames.shape, s.frames.dtype, "mask" in s, list(s)
    (1500, (1500, 32, 16), dtype('float32'), True, ['frames', 'time', 'mask', 'metadata'])
    >>> s.metadata["frame_rate_hz"], s.metadata["units"], s.metadata["mode"]
    (100.0, 'kPa', 'roller')
    """

    __slots__ = ("frames", "time", "mask", "metadata")

    def __init__(self, frames, time, mask, metadata):
        self.frames = frames
        self.time = time
        self.mask = mask
        self.metadata = metadata

    def keys(self):
        return list(self.__slots__)

    def __getitem__(self, key):
        if key not in self.__slots__:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self.__slots__)

    def __contains__(self, key):
        return key in self.__slots__

    def __len__(self):
        return len(self.frames)

    def __bool__(self):
        return True  # its four keys, whatever len() (its frames) says

    def __repr__(self):
        m = self.metadata
        return "<knotmap.Session %s %dx%d, %d frames at %g Hz, %s>" % (
            m.get("format"), m.get("rows"), m.get("cols"), self.frames.shape[0],
            m.get("frame_rate_hz"), m.get("units"))


def _header_text(p):
    """A header key or value as text: UTF-8, else (an old export's Latin-1, such as
    N/cm with byte B2) Latin-1, as the result file stores it and `knotmap info`
    shows it."""
    if p == ffi.NULL:
        return ""
    raw = ffi.string(p)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _pair(name, v, conv):
    """A scalar, (a, b), or "AxB" string as a pair; conv is int or float.
    Numbers are held to _core's integer/real checks (2.5 rows or a bool
    string is a TypeError naming the argument); the "AxB" string is the
    CLI's spelling, parsed as the CLI does."""
    if isinstance(v, str):
        parts = v.lower().split("x")
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise invalid("%s must be N or AxB, got %r" % (name, v))
        try:
            return conv(parts[0]), conv(parts[1])
        except ValueError:
            raise invalid("%s must be N or AxB, got %r" % (name, v)) from None
    check_number = integer if conv is int else real
    if isinstance(v, numbers.Number) or (isinstance(v, np.ndarray) and v.ndim == 0):
        return check_number(name, v), check_number(name, v)
    try:
        a, b = v
    except (TypeError, ValueError):
        raise invalid("%s must be N or AxB, got %r" % (name, v)) from None
    return check_number(name, a), check_number(name, b)


def _number(name, v, conv=float):
    """_core's real(v) or integer(v) (conv float or int): knotmap's
    TypeError naming the argument for a string, a list, None or (int) 2.5."""
    return (integer if conv is int else real)(name, v)


def _units_bytes(units):
    s = str(units)
    if "\0" in s:
        raise invalid("units=%r contains a NUL character" % (units,))
    return s.encode()


def read_options(format="auto", grid=None, rate=None, pitch=None, units=None, mode=None,
                 roller_radius=None, sensor=None, text_frame_per_file=None, _keep=None,
                 text_layout=None, override=None, max_memory=None, time_axis=None):
    """A filled km_read_options * (the keyword names of the CLI options).
    text_layout "matrix"/"line" is the CLI's --text-layout (text_frame_per_file
    True/False); override=True lets the options replace the file's own rate,
    pitch, units, mode and roller radius (else a conflict raises).
    Strings it points to are appended to `_keep`, which the caller holds."""
    opt = ffi.new("km_read_options *")
    lib.km_read_options_default(opt)
    opt.format = parse_enum("format", format, lib.km_format_parse, "km_format", "KM_FORMAT_")
    if grid is not None:
        opt.rows, opt.cols = _pair("grid", grid, int)
    if rate is not None:
        opt.frame_rate_hz = _number("rate", rate)
    if pitch is not None:
        opt.row_pitch_mm, opt.col_pitch_mm = _pair("pitch", pitch, float)
    if units is not None:
        s = ffi.new("char[]", _units_bytes(units))
        if _keep is not None:
            _keep.append(s)
        opt.units = s
    if mode is not None:
        opt.mode = choice("mode", mode, _MODES)
    if roller_radius is not None:
        opt.roller_radius_mm = _number("roller_radius", roller_radius)
    if sensor is not None:
        opt.sensor = _number("sensor", sensor, int)
    if text_frame_per_file is not None:
        opt.text_frame_per_file = flag("text_frame_per_file", text_frame_per_file)
    if text_layout is not None:
        if text_layout not in ("matrix", "line"):
            raise invalid("text_layout must be 'matrix' or 'line', got %r" % (text_layout,))
        opt.text_frame_per_file = 1 if text_layout == "matrix" else 0
    if time_axis is not None:
        if time_axis not in ("first", "last"):
            raise invalid("time_axis must be 'first' or 'last', got %r" % (time_axis,))
        opt.time_axis = 1 if time_axis == "last" else 0
    if override is not None:
        opt.override = flag("override", override)
    if max_memory is not None:
        # bytes; the C library refuses a grid, block or HDF5 chunk beyond it
        opt.max_memory = _number("max_memory", max_memory, int)
    return opt


def info_dict(info):
    """A km_session_info as a dict."""
    name = lib.km_format_name(info.format)
    return {
        "format": ffi.string(name).decode() if name != ffi.NULL else int(info.format),
        "rows": int(info.rows),
        "cols": int(info.cols),
        "n_frames": int(info.n_frames),
        "frame_rate_hz": float(info.frame_rate_hz),
        "row_pitch_mm": float(info.row_pitch_mm),
        "col_pitch_mm": float(info.col_pitch_mm),
        "units": ffi.string(info.units).decode("utf-8", "replace"),
        "mode": _MODE_NAMES.get(int(info.mode), int(info.mode)),
        "roller_radius_mm": float(info.roller_radius_mm),
        "saturation": float(info.saturation),
        "n_valid": int(info.n_valid),
        "assumed": ffi.string(info.assumed).decode("utf-8", "replace"),
        "n_nonfinite": int(info.n_nonfinite),
        "n_fill": int(info.n_fill),
        "nonfinite_at": ffi.string(info.nonfinite_at).decode("utf-8", "replace"),
    }


def read_session(path: PathLike, format: str = "auto",
                 grid: Union[None, int, str, Tuple[int, int]] = None,
                 rate: Optional[float] = None,
                 pitch: Union[None, float, str, Tuple[float, float]] = None,
                 units: Optional[str] = None, mode: Optional[str] = None,
                 roller_radius: Optional[float] = None, sensor: Optional[int] = None,
                 text_frame_per_file: Optional[bool] = None,
                 block_frames: int = 256, text_layout: Optional[str] = None,
                 override: Optional[bool] = None, max_memory: Optional[int] = None,
                 time_axis: Optional[str] = None) -> Session:
    """Read a whole session file into memory (the readers of knotmap info).

    Parameters
    ----------
    path : str or os.PathLike
        The session file.
    format : str, optional
        "auto" (by content), "session", "tekscan", "xsensor", "text",
        "audio", "matlab" (a MAT-file, level 5 or v7.3), "npy" (numpy.save) or "npz"
        (numpy.savez, savez_compressed) [auto].
    grid : (int, int) or str, optional
        (rows, cols) or "RxC", for files that do not carry it.
    rate : float, optional
        Frame rate in Hz, a frame a day to 1e6 a second (else ValueError).
    pitch : float, (float, float) or str, optional
        Taxel pitch in mm: scalar, (row, col) or "RxC"; 0.01 mm to 1000 mm.
    units : str, optional
        "kPa", "mmHg", "N/cm2", "raw"; "psi", "Pa", "MPa" read converted to
        kPa (knotmap's one list: ``km_units_name``).
    mode : {"mat", "roller"}, optional
    roller_radius : float, optional
        In mm.
    sensor : int, optional
        XSENSOR: which of two sensors, 0 the first [the first, with an
        AssumedWarning ("sensor") when the file has two].
    text_frame_per_file : bool, optional
        Text: the file is one frame of R lines.
    block_frames : int, optional
        Frames pulled from C per call [256].
    text_layout : {"matrix", "line"}, optional
        Text: one frame in the whole file ("matrix") or one frame per line
        ("line", with `grid`): the CLI's --text-layout, for the files whose
        layout is ambiguous [from `grid`; without it a long thin file is
        refused, another read as one frame with an AssumedWarning,
        "text_layout"].
    override : bool, optional
        Let rate, pitch, units, mode and roller_radius replace the file's own
        values (else a conflict raises ValueError) [False]; a rate given so
        replaces the file's times too: frame k at k / rate.
    max_memory : int, optional
        Bytes: a grid, block or HDF5 chunk beyond it is refused [1 GiB].
    time_axis : {"first", "last"}, optional
        HDF5 session: /frames stored [T, R, C] ("first") or time-last
        [R, C, T] ("last", as an h5py array or xarray may keep it): the
        CLI's --time-axis [from /time's length, else "first"]. MAT-file:
        frames(t, r, c) ("first") or frames(r, c, t) ("last") [from the
        time vector's length, else the longer end dimension, assumed].
        .npy: [T, R, C] ("first") or [R, C, T] ("last") [the longer end
        dimension, assumed]. .npz: as .npy [from the time array's length,
        else the longer end dimension, assumed].

    A number of the wrong type (rate="100", grid=(60.5, 21), a list) or a
    switch that is not True/False (override="no") raises TypeError (+
    knotmap.Error) naming the keyword; "RxC" strings are the CLI's spelling
    of grid and pitch.

    Errors and AssumedWarnings name what to pass as these keywords
    (``grid=(R, C)``, ``text_layout='matrix'``, ``override=True``) where
    ``knotmap`` says ``--grid RxC``, ``--text-layout matrix``, ``--override``:
    one text, in the C library, spelled for each front end.

    Returns
    -------
    Session
        frames [T, R, C] float32, time [T] float64 s, mask [R, C] bool,
        metadata dict.

    Warns
    -----
    knotmap.AssumedWarning
        For the values the file lacks and no argument gave (metadata
        "assumed"), with what was assumed and the argument to pass: one
        for two or more of pitch, rate, units and mode, as the CLI's
        line, one for each other value.
    knotmap.NonFiniteWarning
        When the frames hold nan or inf values (metadata "n_nonfinite" and
        "nonfinite_at"; counted as the frames are read, as `knotmap info`
        and `process` count them).

    Raises
    ------
    knotmap.Error
        FileNotFoundError, IsADirectoryError, PermissionError for the file;
        OSError for I/O (KM_ERR_IO: a file another program holds open for
        writing is "in use"; a text, Tekscan or XSENSOR export that changed
        while it was read says so); ValueError for malformed data
        (KM_ERR_FORMAT, the file and line in the detail) or bad arguments;
        MemoryError when memory runs out (libhdf5's own included).

    Examples
    --------
    From the repository's root (mode= gives what the file does not say, so
    nothing is assumed):

    >>> import knotmap
    >>> s = knotmap.read_session("datasets/real/tekscan_fscan/FrasP01L.asf", mode="mat")
    >>> s
    <knotmap.Session tekscan 60x21, 205 frames at 31.25 Hz, kPa>
    >>> s.frames.shape, s.frames.dtype, s.metadata["row_pitch_mm"]
    ((205, 60, 21), dtype('float32'), 5.08)
    """
    keep = []
    opt = read_options(format, grid, rate, pitch, units, mode, roller_radius, sensor,
                       text_frame_per_file, _keep=keep, text_layout=text_layout,
                       override=override, max_memory=max_memory, time_axis=time_axis)
    block_frames = integer("block_frames", block_frames)
    if block_frames < 1:
        raise invalid("block_frames=%r must be >= 1" % (block_frames,))
    c = ctx()
    out = ffi.new("km_reader **")
    status = lib.km_reader_open(c, fspath("path", path), opt, out)
    refuse_folder_input(c, status, path, "read_session() reads one file")
    check(c, status, path)
    reader = ffi.gc(out[0], lib.km_reader_free)
    try:
        info = ffi.new("km_session_info *")
        lib.km_reader_info(reader, info)
        meta = info_dict(info)
        warn_assumed(path, meta["assumed"], info=info)
        rows, cols = meta["rows"], meta["cols"]
        mptr = lib.km_reader_mask(reader)
        if mptr == ffi.NULL:
            mask = np.ones((rows, cols), dtype=bool)
        else:
            mask = np.frombuffer(ffi.buffer(mptr, rows * cols), dtype=np.uint8) \
                .reshape(rows, cols).astype(bool)
        header = {}
        key = ffi.new("const char **")
        value = ffi.new("const char **")
        for i in range(lib.km_reader_header_count(reader)):
            lib.km_reader_header_get(reader, i, key, value)
            k = _header_text(key[0])
            v = _header_text(value[0])
            header[k] = v
        meta["source_header"] = header
        meta["path"] = os.fspath(path)
        try:
            frames, times = _read_all(c, reader, meta["n_frames"], rows, cols, block_frames)
        except Error as e:  # malformed data found while reading: the file it is in
            if e.filename is None:
                e.filename = os.fsdecode(path) if isinstance(path, bytes) else path
            raise
        meta["n_frames"] = int(frames.shape[0])
        lib.km_reader_info(reader, info)  # the nan and inf values, counted as read
        meta["n_nonfinite"] = int(info.n_nonfinite)
        meta["n_fill"] = int(info.n_fill)
        meta["nonfinite_at"] = ffi.string(info.nonfinite_at).decode("utf-8", "replace")
        warn_nonfinite(path, info)
    finally:
        ffi.release(reader)
    return Session(frames, times, mask, meta)


def _read_all(c, reader, n_known, rows, cols, block):
    """Pull every frame in blocks; read straight into the result when the
    frame count is known up front."""
    n_read = ffi.new("int64_t *")
    if n_known >= 0:
        frames = np.empty((n_known, rows, cols), dtype=np.float32)
        times = np.empty(n_known, dtype=np.float64)
        done = 0
        while done < n_known:
            k = min(block, n_known - done)
            check(c, lib.km_reader_read(
                c, reader, ffi.cast("float *", frames[done:].ctypes.data),
                ffi.cast("double *", times[done:].ctypes.data), k, n_read))
            if n_read[0] == 0:
                break
            done += int(n_read[0])
        if done == n_known:
            # A reader that miscounted must not silently lose frames.
            extra_f, extra_t = _read_blocks(c, reader, rows, cols, block)
            if len(extra_t):
                return (np.concatenate([frames, extra_f]),
                        np.concatenate([times, extra_t]))
        return frames[:done], times[:done]
    return _read_blocks(c, reader, rows, cols, block)


def _read_blocks(c, reader, rows, cols, block):
    n_read = ffi.new("int64_t *")
    fs, ts = [], []
    while True:
        f = np.empty((block, rows, cols), dtype=np.float32)
        t = np.empty(block, dtype=np.float64)
        check(c, lib.km_reader_read(c, reader, ffi.cast("float *", f.ctypes.data),
                                    ffi.cast("double *", t.ctypes.data), block, n_read))
        k = int(n_read[0])
        if k == 0:
            break
        fs.append(f[:k])
        ts.append(t[:k])
    if not fs:
        return (np.empty((0, rows, cols), dtype=np.float32), np.empty(0, dtype=np.float64))
    return np.concatenate(fs), np.concatenate(ts)
