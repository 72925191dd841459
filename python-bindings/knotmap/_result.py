"""Result files: read_result, is_complete, eval, eval_points (render and
report: _render.py)."""
from __future__ import annotations

import errno
import os

import numpy as np
from numpy.typing import ArrayLike
from typing import Any, Dict, Optional

from ._core import (PathLike, check, check_files, ctx, ffi, flag, fspath, integer, invalid, lib,
                    make_error, real)

__all__ = ["read_result", "is_complete", "evaluate", "eval_points", "Table", "RESULT_TABLES"]

#: Groups of a result that are tables (one 1-D dataset per column).
RESULT_TABLES = ("metrics", "peaks", "tracks", "candidates")

def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    return v


def _attrs(obj):
    return {k: _text(v) for k, v in obj.attrs.items()}


def is_complete(path: PathLike) -> bool:
    """Whether `path` is a knotmap result whose writer finished.

    Its root attribute ``complete`` is 1 (written last, docs/FORMAT.md 2.1;
    km_result_is_complete, the check `knotmap process --resume` makes).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    bool
        False for a missing, unreadable, foreign or unfinished file.

    Raises
    ------
    knotmap.Error (also OSError)
        When another program holds the file open for writing (HDF5's file
        lock): "in use", neither complete nor unfinished yet.

    Examples
    --------
    >>> import knotmap
    >>> knotmap.is_complete("datasets/example/roller_example.h5")  # a session
    False
    """
    out = ffi.new("int *")
    c = ctx()
    check(c, lib.km_result_is_complete(c, fspath("path", path), out), path)
    return out[0] == 1


class Table(dict):
    """A result table as a dict of 1-D numpy columns in the file's column
    order, with ``attrs`` as pandas' ``DataFrame.attrs``: ``attrs["units"]``
    and ``attrs["description"]`` map each column to its string attribute
    in the file ("" when the file has none)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.attrs = {}


_MIB = 1 << 20
#: read_result's default memory budget: the C library's, KM_MAX_MEMORY_DEFAULT
#: (1 GiB), as render() and report() take theirs from km_render_params_default.
_BUDGET = int(lib.km_read_max_memory(ffi.NULL))


def _budget(max_memory):
    """The memory budget in bytes: km_read_max_memory's (the C side's
    default, KM_MAX_MEMORY_DEFAULT, for None or a value <= 0)."""
    opt = ffi.new("km_read_options *")
    lib.km_read_options_default(opt)
    if max_memory is not None:
        opt.max_memory = max(min(integer("max_memory", max_memory), 2 ** 63 - 1), -1)
    return int(lib.km_read_max_memory(opt))


def _nbytes(d):
    """What reading the h5py dataset `d` whole allocates, from its declared
    shape and type (nothing of it read)."""
    return int(d.size or 0) * d.dtype.itemsize


def _declared(what, d, hint=""):
    shape = " x ".join(str(n) for n in d.shape) or "1"
    return ("%s declares %s %s" % (what, shape, d.dtype), _nbytes(d), hint)


def _plan(f, frames):
    """Everything read_result reads, in its order, as (what, bytes, hint):
    `what` names the dataset, or the table and its columns, as declared."""
    import h5py

    def datasets(g):
        return [(k, g[k]) for k in g if isinstance(g[k], h5py.Dataset)]

    plan = [_declared("/session/" + k, d) for k, d in datasets(f["session"])
            if k in ("time", "mask")] if "session" in f else []
    for name in RESULT_TABLES:
        if isinstance(f.get(name), h5py.Group) and datasets(f[name]):
            cols = [d for _, d in datasets(f[name])]
            plan.append(("/%s declares %d columns of %d rows"
                         % (name, len(cols), max(int(d.size or 0) for d in cols)),
                         sum(_nbytes(d) for d in cols), ""))
    for group in ("frames", "bodymap"):
        if isinstance(f.get(group), h5py.Group):
            plan += [_declared("/%s/%s" % (group, k), d, _FRAMES_HINT if k == "conditioned"
                               else "") for k, d in datasets(f[group])
                     if frames or k != "conditioned"]
    return plan


#: What a refusal of /frames/conditioned adds: the rest is read without it,
#: the frames themselves a block at a time.
_FRAMES_HINT = ("; or read the rest with frames=False, and these frames (--save-frames) a "
                "block at a time with h5py: h5py.File(%r)['frames/conditioned'][t0:t1]")


def _check_budget(path, plan, budget):
    """KM_ERR_LIMIT (a ValueError) naming the first dataset or table whose
    declared size goes beyond what is left of the budget, before anything
    of that size is read (a small crafted file may declare gigabytes of
    unwritten values: h5py would allocate them as fill values)."""
    left = budget
    for k, (what, nbytes, hint) in enumerate(plan):
        if nbytes > left:
            before = budget - left
            need = sum(n for _, n, _ in plan[k:]) + before  # everything, rounded up to a MiB
            raise make_error(
                lib.KM_ERR_LIMIT,
                "%s: %s: about %.0f MiB to read, beyond the memory budget of %.0f MiB%s. "
                "Raise it: max_memory=%d (%.0f MiB) reads the whole result%s"
                % (path, what, nbytes / _MIB, budget / _MIB,
                   " (%.0f MiB of it taken by what is read before)" % (before / _MIB)
                   if before >= _MIB else "", -(-need // _MIB) * _MIB, -(-need // _MIB),
                   hint.replace("%r", repr(path))), filename=path)
        left -= nbytes


def _table(group, pd):
    """One table group: columns in the file's order (the writer tracks link
    creation order; h5py iterates in it), with units and descriptions."""
    names = list(group)
    cols = {k: group[k][()] for k in names}
    meta = {"units": {k: str(_text(group[k].attrs.get("units", ""))) for k in names},
            "description": {k: str(_text(group[k].attrs.get("description", "")))
                            for k in names}}
    table = pd.DataFrame(cols, columns=names) if pd is not None else Table(cols)
    table.attrs.update(meta)
    return table


def read_result(path: PathLike, as_pandas: Optional[bool] = False,
                frames: bool = True, max_memory: Optional[int] = _BUDGET) -> Dict[str, Any]:
    """Read a knotmap result HDF5 (docs/FORMAT.md 2.1) into memory.

    Parameters
    ----------
    path : str or os.PathLike
        The result file.
    as_pandas : bool or None, optional
        Tables as pandas DataFrames (True), as dicts of numpy columns
        (False, the default: the result types never depend on what else is
        installed), or DataFrames when pandas imports (None).
    frames : bool, optional
        Also read /frames/conditioned [T, R, C] when saved (default True).
    max_memory : int or None, optional
        Memory budget in bytes of everything read, as `knotmap render` and
        `knotmap report` hold a result's tables to their --max-memory:
        each dataset's and table's declared size (elements x item size) is
        added up in reading order before any of it is read, and the first
        one beyond what is left raises ValueError naming it, its size and
        the budget [KM_MAX_MEMORY_DEFAULT, 1 GiB, as the commands'; None
        or <= 0 the same].  The message gives the budget that reads the
        whole result.  A long session saved with --save-frames may need more
        (a 32 x 32 sensor at 100 Hz: 1 GiB in about 44 minutes): then
        frames=False reads everything else, and h5py reads the frames a
        block at a time (``h5py.File(path)["frames/conditioned"][t0:t1]``).

    Returns
    -------
    dict
        "attrs": root attributes (schema, knotmap_version, created_utc,
        command_line, source_path, ...); "params": the /params attributes;
        "session": the /session attributes plus "time" [T] (s), "mask" [R, C]
        bool and "source_header" (dict); "metrics", "peaks", "tracks",
        "candidates": the tables present, columns in the file's order, each a
        DataFrame or a Table (a dict of 1-D numpy columns), both with
        ``.attrs["units"]`` and ``.attrs["description"]`` (column -> the
        file's string attribute); "frames": "max", "mean" [R, C] float32 with
        their coordinates "row" [R] and "col" [C] int32 (the dimension
        scales), and with --save-frames "conditioned" [T, R, C] float32 and
        "frame" [T] int64; "bodymap": "pressure", "mean", "excess", "spread"
        [Ny, Nx] float32, "coverage" int32, their coordinates "y_mm" [Ny]
        and "x_mm" [Nx] float64 (mm), plus the group's attributes (mode,
        units, y0_mm, x0_mm, y_pitch_mm, x_pitch_mm).

    Raises
    ------
    FileNotFoundError
        (a knotmap.Error) for a missing file; ValueError (KM_ERR_FORMAT) for
        a file that is not a complete knotmap result, (KM_ERR_LIMIT) for
        one that declares more than `max_memory`, (KM_ERR_FORMAT) for a
        stored chunk that does not decode to its size (checked before h5py
        decodes it: km_result_check_chunks).  Needs h5py.

    Examples
    --------
    From the repository's root: the bundled example processed, then read.

    >>> import os, tempfile, knotmap
    >>> out = os.path.join(tempfile.mkdtemp(), "r.knotmap.h5")
    >>> _ = knotmap.process("datasets/example/roller_example.h5", out)
    >>> knotmap.is_complete(out)
    True
    >>> res = knotmap.read_result(out)
    >>> [k for k in res if k in knotmap.RESULT_TABLES]
    ['metrics', 'peaks', 'tracks', 'candidates']
    >>> res["candidates"]["score"].round(1), res["candidates"].attrs["units"]["x_mm"]
    (array([487.1, 419.5, 213.7]), 'mm')
    >>> res["bodymap"]["pressure"].shape, res["session"]["mode"]
    ((34, 16), 'roller')
    """
    import h5py
    path = os.fspath(path)
    frames = flag("frames", frames)
    if as_pandas is not None:
        as_pandas = flag("as_pandas", as_pandas)
    if as_pandas is None:
        try:
            import pandas  # noqa: F401
            as_pandas = True
        except ImportError:
            as_pandas = False
    if as_pandas:
        import pandas as pd
    fspath("path", path)
    budget = _budget(max_memory)
    try:
        os.stat(path)
    except OSError as e:
        raise make_error(lib.KM_ERR_NOT_FOUND, "%s: %s" % (path, e.strerror), errno_=e.errno,
                         filename=path) from None
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        if e.errno == errno.EWOULDBLOCK:  # HDF5's lock: another program writes it
            is_complete(path)  # raises C's "in use: ..." (BlockingIOError), one text
        raise make_error(lib.KM_ERR_FORMAT, "%s: not an HDF5 file (%s)" % (path, e),
                         filename=path) from None
    with f:
        attrs = _attrs(f)
        if attrs.get("schema") != "knotmap-result":
            raise make_error(lib.KM_ERR_FORMAT, "%s: not a knotmap result%s" % (
                path, " but a session: knotmap.process(%r, OUTPUT) makes its result, "
                "knotmap.read_session(%r) reads its frames" % (path, path)
                if attrs.get("schema") == "knotmap-session" else ""), filename=path)
        if int(attrs.get("complete", 0)) != 1:
            raise make_error(lib.KM_ERR_FORMAT, "%s: incomplete result (no complete = 1)"
                             % path, filename=path)
        _check_budget(path, _plan(f, frames), budget)
        # every chunk h5py will decode checked first (km_result_check_chunks)
        c = ctx()
        check(c, lib.km_result_check_chunks(c, fspath("path", path), int(frames)), path)
        out = {"attrs": attrs, "params": _attrs(f["params"]) if "params" in f else {}}
        sess = _attrs(f["session"])
        sess["time"] = f["session/time"][()]
        sess["mask"] = f["session/mask"][()].astype(bool)
        sess["source_header"] = _attrs(f["session/source_header"]) \
            if "session/source_header" in f else {}
        out["session"] = sess
        for name in RESULT_TABLES:
            if name in f:
                out[name] = _table(f[name], pd if as_pandas else None)
        if "frames" in f:
            out["frames"] = {k: f["frames"][k][()] for k in f["frames"]
                             if frames or k != "conditioned"}
        if "bodymap" in f:
            bm = _attrs(f["bodymap"])
            bm.update({k: f["bodymap"][k][()] for k in f["bodymap"]})
            out["bodymap"] = bm
    return out


def _eval_dict(r):
    return {"tolerance_mm": r.tolerance_mm, "n_truth": int(r.n_truth),
            "n_candidates": int(r.n_candidates), "n_matched": int(r.n_matched),
            "precision": r.precision, "recall": r.recall, "f1": r.f1,
            "error_mean_mm": r.error_mean_mm, "error_rms_mm": r.error_rms_mm,
            "error_max_mm": r.error_max_mm}


def eval(result_path: PathLike, truth_path: PathLike,  # noqa: A001 - knotmap.eval
         tolerance_mm: Optional[float] = None, top: Optional[int] = None) -> Dict[str, Any]:
    """Score the /candidates of a result against the true knots of the
    synthetic session it came from (km_eval; as `knotmap eval`).

    Also available as ``knotmap.evaluate`` (``from knotmap import *`` gives
    ``evaluate``, never shadowing the built-in ``eval``).

    Parameters
    ----------
    result_path : str or os.PathLike
        The result file.
    truth_path : str or os.PathLike
        The synthetic session with /truth/knots.
    tolerance_mm : float or None, optional
        Largest matching distance in mm [None = one taxel pitch, the larger
        of the result's row and column pitch].
    top : int or None, optional
        Evaluate only the best N candidates [None = all].

    Returns
    -------
    dict
        tolerance_mm, n_truth, n_candidates, n_matched, precision, recall,
        f1, error_mean_mm, error_rms_mm, error_max_mm (mm; NaN when nothing
        matched).

    Examples
    --------
    >>> import os, tempfile, knotmap
    >>> d = tempfile.mkdtemp()
    >>> s = knotmap.synth(os.path.join(d, "s.h5"), mode="mat", seed=1, duration=5)
    >>> _ = knotmap.process(s, os.path.join(d, "r.h5"))
    >>> score = knotmap.evaluate(os.path.join(d, "r.h5"), s, top=3)
    >>> score["n_candidates"], score["tolerance_mm"]
    (3, 10.0)
    """
    c = ctx()
    r = ffi.new("km_eval_result *")
    tol = 0.0 if tolerance_mm is None else real("tolerance_mm", tolerance_mm)
    if tolerance_mm is not None and not tol > 0:
        raise invalid("tolerance_mm must be > 0, got %r" % (tolerance_mm,))
    check_files(c, lib.km_eval(c, fspath("result_path", result_path),
                               fspath("truth_path", truth_path), tol,
                               -1 if top is None else integer("top", top), r),
                (result_path, truth_path))
    return _eval_dict(r)


def eval_points(candidates_xy: ArrayLike, truth_xy: ArrayLike,
                tolerance_mm: float) -> Dict[str, Any]:
    """Match candidate positions (best first) to true positions one to one
    within tolerance_mm (km_eval_points).

    Parameters
    ----------
    candidates_xy, truth_xy : array_like
        [N, 2] arrays of (x_mm, y_mm).
    tolerance_mm : float
        Largest matching distance, > 0, mm.

    Returns
    -------
    dict
        The dict of eval() plus "truth_match": [len(truth)] int32, the
        candidate index matched to each true knot or -1.
    """
    cxy = np.asarray(candidates_xy, dtype=np.float64).reshape(-1, 2)
    txy = np.asarray(truth_xy, dtype=np.float64).reshape(-1, 2)
    cx, cy = np.ascontiguousarray(cxy[:, 0]), np.ascontiguousarray(cxy[:, 1])
    tx, ty = np.ascontiguousarray(txy[:, 0]), np.ascontiguousarray(txy[:, 1])
    match = np.empty(len(txy), np.int32)
    r = ffi.new("km_eval_result *")
    c = ctx()

    def p(a, t):
        return ffi.cast(t, a.ctypes.data) if len(a) else ffi.NULL

    check(c, lib.km_eval_points(c, p(cx, "double *"), p(cy, "double *"), len(cx),
                                p(tx, "double *"), p(ty, "double *"), len(tx),
                                real("tolerance_mm", tolerance_mm), p(match, "int32_t *"), r))
    out = _eval_dict(r)
    out["truth_match"] = match
    return out


#: knotmap.eval under a name that shadows no built-in.
evaluate = eval

