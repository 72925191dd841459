"""Pictures and reports of a result: render, report (src/pipeline/render.c,
report.c; docs/FORMAT.md 2.2 and 2.3)."""
import math
import os

from ._core import check, check_files, ctx, ffi, fspath, lib
from ._params import RENDER_PARAMS, TABLE_DEFAULT, table_defaults

__all__ = ["render", "report", "RENDER_MAPS", "IMAGE_FORMATS"]

#: map names of render() (km_render_map, as km_render_param_table names them).
RENDER_MAPS = {name: i for i, name in
               enumerate(next(r for r in RENDER_PARAMS if r.option == "map").names)}

#: picture formats of render() (km_image_format).
IMAGE_FORMATS = {"png": lib.KM_IMAGE_PNG, "svg": lib.KM_IMAGE_SVG, "pdf": lib.KM_IMAGE_PDF}


def _params(map, cell_px, vmin, vmax, percentile, candidates, overwrite, format,  # noqa: A002
            max_memory=None):
    p = ffi.new("km_render_params *")
    lib.km_render_params_default(p)
    try:
        p.map = RENDER_MAPS[map] if isinstance(map, str) else int(map)
    except KeyError:
        raise ValueError("map must be one of %s, got %r" % (", ".join(RENDER_MAPS), map)) \
            from None
    if format is not None:
        try:
            p.format = IMAGE_FORMATS[str(format).lower().lstrip(".")]
        except KeyError:
            raise ValueError("format must be one of %s, got %r"
                             % (", ".join(IMAGE_FORMATS), format)) from None
    p.cell_px = int(cell_px)
    p.vmin = math.nan if vmin is None else float(vmin)
    p.vmax = math.nan if vmax is None else float(vmax)
    if percentile is not None:
        p.vmax_percentile = float(percentile)
    p.max_candidates = int(candidates)
    p.overwrite = 1 if overwrite else 0
    if max_memory is not None:
        p.max_memory = int(max_memory)
    return p


def _take(c, data, size):
    try:
        return bytes(ffi.buffer(data[0], size[0]))
    finally:
        lib.km_buffer_free(c, data[0])


def render(result, out=None, map=TABLE_DEFAULT, cell_px=TABLE_DEFAULT,  # noqa: A002
           vmin=None, vmax=None, candidates=TABLE_DEFAULT, overwrite=True, format=None,
           percentile=TABLE_DEFAULT, info=None, max_memory=TABLE_DEFAULT):
    """Draw a result's body map (roller) or maximum map (mat) with its knot
    candidates, as `knotmap render` does (km_render; docs/FORMAT.md 2.2).

    out: the file to write; its extension (.png, .svg, .pdf) sets the format
    unless `format` is given.  out None: nothing is written and the picture
    is returned as bytes, in `format` ["png"].  map: "auto", "bodymap",
    "max" or "excess".  cell_px: pixels per cell along the finer pitch,
    1..64, 0 = fit within 480 px.  vmin, vmax: colour range in result units
    [None = 0 (or the minimum when negative) and the `percentile` of the
    cells with data].  percentile: 50..100 (None = the default).
    candidates: candidates ringed and numbered, -1 = all, 0 = none.
    overwrite: replace an existing picture of the same format [True].
    info: a dict to receive km_render_info (width, height, map_x, map_y,
    ..., vmin, vmax, n_marked, clipped_above).  max_memory: the picture's
    memory budget in bytes; a map whose picture would take more is refused
    (knotmap.Error, before the map is read), and so are the tables read
    with it (/candidates; the report's /metrics) when their declared size
    goes beyond it.  The defaults in the
    signature are km_render_params_default()'s, as `knotmap render --help`
    prints them.

    Returns the dict of km_render_info when out is given, else the bytes.
    Raises knotmap.Error (ValueError for an unknown extension or bad
    parameters, FileNotFoundError for a missing result, ...).
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


def report(result, out=None, map=TABLE_DEFAULT, candidates=TABLE_DEFAULT,  # noqa: A002
           overwrite=True, max_memory=TABLE_DEFAULT):
    """One self-contained HTML report of a result, as `knotmap report` writes
    it (km_report; docs/FORMAT.md 2.3): the map with the candidates, the
    candidate table, the passes over each candidate, the pressure over time,
    the parameters and what was assumed; nothing in it is fetched.

    out: the .html file to write (an existing file is replaced only when it
    is HTML and overwrite is True; a picture's name, .png/.svg/.pdf, is a
    ValueError: render() draws pictures).  out None: the report is returned as a
    str.  map, candidates, max_memory: as render().  Returns the path written (str) or
    the HTML.  Raises knotmap.Error.
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
