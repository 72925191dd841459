"""Pictures and reports of a result: render, report (src/pipeline/render.c,
report.c; docs/FORMAT.md 2.2 and 2.3)."""
from __future__ import annotations

import math
import os
from typing import Any, Dict, Optional, Union

from ._core import (PathLike, check_files, ctx, ffi, flag, fspath, integer, invalid, lib,
                    real)
from ._params import RENDER_PARAMS, TABLE_DEFAULT, table_defaults

__all__ = ["render", "report", "RENDER_MAPS", "IMAGE_FORMATS"]

#: map names of render() (km_render_map, as km_render_param_table names them).
RENDER_MAPS = {name: i for i, name in
               enumerate(next(r for r in RENDER_PARAMS if r.option == "map").names)}

#: picture formats of render() (km_image_format).
IMAGE_FORMATS = {"png": lib.KM_IMAGE_PNG, "svg": lib.KM_IMAGE_SVG, "pdf": lib.KM_IMAGE_PDF}


def _params(map, cell_px, vmin, vmax, percentile, candidates, overwrite, format,  # noqa: A002
            max_memory=None):
    """km_render_params from the keywords, checked as every knotmap function
    checks its numbers (_core's integer, real, flag): a number given as a
    string, a count that is not whole or a switch that is not a bool is
    knotmap's TypeError naming the keyword, an unknown name its ValueError
    (both knotmap.Error); the ranges are the C library's (KM_ERR_INVALID)."""
    p = ffi.new("km_render_params *")
    lib.km_render_params_default(p)
    if isinstance(map, str):
        if map not in RENDER_MAPS:
            raise invalid("map must be one of %s, got %r" % (", ".join(RENDER_MAPS), map))
        p.map = RENDER_MAPS[map]
    else:
        p.map = integer("map", map)
    if format is not None:
        key = format.lower().lstrip(".") if isinstance(format, str) else None
        if key not in IMAGE_FORMATS:
            raise invalid("format must be one of %s, got %r" % (", ".join(IMAGE_FORMATS), format),
                          type_error=not isinstance(format, str))
        p.format = IMAGE_FORMATS[key]
    p.cell_px = integer("cell_px", cell_px)
    p.vmin = math.nan if vmin is None else real("vmin", vmin)
    p.vmax = math.nan if vmax is None else real("vmax", vmax)
    if percentile is not None:
        p.vmax_percentile = real("percentile", percentile)
    p.max_candidates = integer("candidates", candidates)
    p.overwrite = flag("overwrite", overwrite)
    if max_memory is not None:
        p.max_memory = max(min(integer("max_memory", max_memory), 2 ** 63 - 1), -1)
    return p


def _take(c, data, size):
    try:
        return bytes(ffi.buffer(data[0], size[0]))
    finally:
        lib.km_buffer_free(c, data[0])


def render(result: PathLike, out: Optional[PathLike] = None,
           map: Union[str, int] = TABLE_DEFAULT,  # noqa: A002
           cell_px: int = TABLE_DEFAULT, vmin: Optional[float] = None,
           vmax: Optional[float] = None, candidates: int = TABLE_DEFAULT,
           overwrite: bool = True, format: Optional[str] = None,  # noqa: A002
           percentile: Optional[float] = TABLE_DEFAULT, info: Optional[Dict[str, Any]] = None,
           max_memory: Optional[int] = TABLE_DEFAULT) -> Union[Dict[str, Any], bytes]:
    """Draw a result's body map (roller) or maximum map (mat) with its knot
    candidates, as `knotmap render` does (km_render; docs/FORMAT.md 2.2).

    The defaults in the signature are km_render_params_default()'s, as
    `knotmap render --help` prints them.

    Parameters
    ----------
    result : str or os.PathLike
        The knotmap result HDF5.
    out : str or os.PathLike or None, optional
        The picture to write; its extension (.png, .svg, .pdf) sets the
        format unless `format` is given.  None: nothing is written and the
        picture is returned as bytes, in `format` ["png"].
    map : {"auto", "bodymap", "max", "excess"}, optional
        The map drawn (as --map).
    cell_px : int, optional
        Pixels per cell along the finer pitch, 1..64; 0 = fit within 480 px.
    vmin, vmax : float or None, optional
        Colour range in result units [None = 0 (or the minimum when a value
        is negative) and the `percentile` of the cells with data].
    candidates : int, optional
        Candidates ringed and numbered, best first; -1 = all, 0 = none.
    overwrite : bool, optional
        Replace an existing picture of the same format that knotmap drew
        [True] (any other file, a photo or a plot from elsewhere included,
        is never replaced).
    format : {"png", "svg", "pdf"} or None, optional
        The picture's format [from the extension of `out`].
    percentile : float or None, optional
        The automatic vmax: this percentile of the cells with data, 50..100
        (None = the default).
    info : dict or None, optional
        Receives km_render_info (width, height, map_x, map_y, ..., vmin,
        vmax, n_marked, clipped_above).
    max_memory : int or None, optional
        The picture's memory budget in bytes: a map whose picture would take
        more is refused before the map is read, and so are the tables read
        with it (/candidates) when their declared size goes beyond it
        (None or <= 0: the default).

    Returns
    -------
    dict or bytes
        The km_render_info dict when `out` is given, else the picture.

    Raises
    ------
    knotmap.Error
        FileNotFoundError for a missing result, ValueError for a file that
        is not a result, an unknown extension, name or a value out of range
        (also beyond `max_memory`), TypeError for a value of the wrong type
        (a number given as a string, 2.5 pixels, a switch that is not a
        bool), OSError for a picture that cannot be written.

    Examples
    --------
    From the repository's root: the bundled example's body map, as
    `knotmap render r.knotmap.h5 -o map.png`, and as SVG text in memory.

    >>> import os, tempfile, knotmap
    >>> d = tempfile.mkdtemp()
    >>> _ = knotmap.process("datasets/example/roller_example.h5", os.path.join(d, "r.h5"))
    >>> info = knotmap.render(os.path.join(d, "r.h5"), os.path.join(d, "map.png"))
    >>> info["n_marked"], info["format"] == knotmap.IMAGE_FORMATS["png"]
    (3, True)
    >>> knotmap.render(os.path.join(d, "r.h5"), format="svg")[:5]
    b'<?xml'
    """
    p = _params(map, cell_px, vmin, vmax, percentile, candidates, overwrite, format, max_memory)
    r = ffi.new("km_render_info *")
    c = ctx()
    if out is None:
        if format is None:
            p.format = lib.KM_IMAGE_PNG
        data, size = ffi.new("uint8_t **"), ffi.new("size_t *")
        check_files(c, lib.km_render_to_memory(c, fspath("result", result), p, r, data, size),
                    (result,))
        blob = _take(c, data, size)
    else:
        check_files(c, lib.km_render(c, fspath("result", result), fspath("out", out), p, r),
                    (result,), out)
        blob = None
    d = {name: getattr(r, name) for name, _ in ffi.typeof("km_render_info").fields}
    if info is not None:
        info.update(d)
    return d if blob is None else blob


def report(result: PathLike, out: Optional[PathLike] = None,
           map: Union[str, int] = TABLE_DEFAULT,  # noqa: A002
           candidates: int = TABLE_DEFAULT, overwrite: bool = True,
           max_memory: Optional[int] = TABLE_DEFAULT) -> str:
    """One self-contained HTML report of a result, as `knotmap report` writes
    it (km_report; docs/FORMAT.md 2.3): the map with the candidates, the
    candidate table, the passes over each candidate, the pressure over time,
    the parameters and what was assumed; nothing in it is fetched.

    Parameters
    ----------
    result : str or os.PathLike
        The knotmap result HDF5.
    out : str or os.PathLike or None, optional
        The .html file to write (an existing file is replaced only when it
        is a report knotmap wrote and `overwrite` is True; a picture's name, .png/.svg/.pdf,
        is a ValueError: render() draws pictures).  None: nothing is written.
    map, candidates, max_memory : optional
        As render() (the report's /metrics is held to `max_memory` too).
    overwrite : bool, optional
        Replace an existing report knotmap wrote [True] (any other file,
        an HTML page from elsewhere included, is never replaced).

    Returns
    -------
    str
        The path written, or the HTML itself when `out` is None.

    Raises
    ------
    knotmap.Error
        As render().

    Examples
    --------
    >>> import os, tempfile, knotmap
    >>> d = tempfile.mkdtemp()
    >>> _ = knotmap.process("datasets/example/roller_example.h5", os.path.join(d, "r.h5"))
    >>> knotmap.report(os.path.join(d, "r.h5"), os.path.join(d, "r.html")).endswith("r.html")
    True
    >>> knotmap.report(os.path.join(d, "r.h5"))[:15]
    '<!DOCTYPE html>'
    """
    p = _params(map, 0, None, None, None, candidates, overwrite, None, max_memory)
    c = ctx()
    if out is not None:
        check_files(c, lib.km_report(c, fspath("result", result), fspath("out", out), p,
                                     1 if overwrite else 0), (result,), out)
        return os.fsdecode(out)
    data, size = ffi.new("uint8_t **"), ffi.new("size_t *")
    check_files(c, lib.km_report_to_memory(c, fspath("result", result), p, data, size), (result,))
    return _take(c, data, size).decode("utf-8")


# map, cell_px, candidates, percentile, max_memory: km_render_params_default()'s values,
# as `knotmap render --help` prints them (km_render_param_table).
table_defaults(render, RENDER_PARAMS)
table_defaults(report, RENDER_PARAMS)
