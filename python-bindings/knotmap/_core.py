"""Shared plumbing: the extension, per-thread contexts, errors, array views."""
import threading

import numpy as np

from ._knotmap import ffi, lib

__all__ = ["ffi", "lib", "Error", "ctx", "check", "frame_view", "mask_view",
           "out_frame", "data_ptr", "STATUS_NAMES"]

STATUS_NAMES = {
    getattr(lib, name): name
    for name in ("KM_OK", "KM_ERR_INVALID", "KM_ERR_NOMEM", "KM_ERR_CAPACITY",
                 "KM_ERR_FORMAT", "KM_ERR_IO", "KM_ERR_NOT_FOUND",
                 "KM_ERR_UNSUPPORTED", "KM_ERR_LIMIT", "KM_ERR_CREATE",
                 "KM_ERR_CANCELLED", "KM_ERR_INTERNAL")
}


class Error(RuntimeError):
    """A knotmap C call failed.

    Attributes: ``status`` (the km_status code, negative int), ``status_name``
    (e.g. ``"KM_ERR_FORMAT"``), ``reason`` (km_strerror text) and ``detail``
    (km_ctx_last_error: for file errors it names the file and where).
    """

    def __init__(self, status, detail=""):
        self.status = int(status)
        self.status_name = STATUS_NAMES.get(self.status, "KM_ERR_%d" % self.status)
        self.reason = ffi.string(lib.km_strerror(self.status)).decode("utf-8", "replace")
        self.detail = detail
        text = detail if detail else self.reason
        super().__init__("%s (%s)" % (text, self.status_name))


class _ThreadState(threading.local):
    """One km_ctx per Python thread, freed when the thread's state goes."""

    def __init__(self):
        out = ffi.new("km_ctx **")
        status = lib.km_ctx_create(out)
        if status != lib.KM_OK:
            raise MemoryError("km_ctx_create failed: %d" % status)
        self.ctx = ffi.gc(out[0], lib.km_ctx_free)


_state = _ThreadState()


def ctx():
    """The calling thread's km_ctx."""
    return _state.ctx


def raise_error(c, status):
    """Raise Error for `status` with the context's detail (when the detail
    belongs to this failure: a stale one from an earlier call is dropped)."""
    detail = ""
    if lib.km_ctx_last_status(c) == status:
        detail = ffi.string(lib.km_ctx_last_error(c)).decode("utf-8", "replace")
    lib.km_ctx_clear_error(c)
    raise Error(status, detail)


def check(c, status):
    """Raise Error with the detail of context `c` when status is not KM_OK."""
    if status != 0:
        raise_error(c, status)


def _as_2d(name, a, dtype):
    """`a` as a 2-D array of `dtype` that C can read through (data, row
    stride in elements): returned unchanged when its layout allows (C order,
    or rows at any positive multiple of the item size with unit column
    step), else converted once."""
    arr = a if type(a) is np.ndarray else np.asarray(a)
    if arr.ndim != 2:
        raise ValueError("%s must be 2-D, got shape %r" % (name, arr.shape))
    if arr.dtype != dtype:
        if dtype is np.uint8 and arr.dtype == np.bool_:
            arr = arr.view(np.uint8)
        elif dtype is np.uint8:
            arr = (arr != 0).view(np.uint8)
        else:
            arr = np.ascontiguousarray(arr, dtype=dtype)
    rows, cols = arr.shape
    if arr.flags.c_contiguous:
        return arr, cols
    item = arr.itemsize
    s0, s1 = arr.strides
    if ((s1 != item and cols > 1) or s0 % item != 0 or (s0 < cols * item and rows > 1)
            or not arr.flags.aligned):
        return np.ascontiguousarray(arr), cols
    return arr, (s0 // item if rows > 1 else cols)


def data_ptr(arr, ctype):
    """A `ctype` pointer to arr's first element.  For C-contiguous arrays
    the cdata also keeps `arr` alive; otherwise the caller keeps it."""
    if arr.flags.c_contiguous:
        return ffi.from_buffer(ctype, arr)
    return ffi.cast(ctype, arr.__array_interface__["data"][0])


_FRAME_P = ffi.typeof("km_frame *")
if [n for n, _ in ffi.typeof("km_frame").fields] != ["data", "rows", "cols", "row_stride"]:
    raise ImportError("knotmap: km_frame fields changed; update frame_view")


def frame_view(name, a):
    """(km_frame *, keepalive array) for a 2-D array, zero-copy for float32
    with unit column stride; other dtypes/layouts converted once."""
    arr, stride = _as_2d(name, a, np.float32)
    # positional initialiser with a pre-parsed type: this runs once per call
    # of every frame function, where microseconds count (bench/python_bench.py)
    rows, cols = arr.shape
    return ffi.new(_FRAME_P, [data_ptr(arr, "float *"), rows, cols, stride]), arr


def mask_view(mask, shape):
    """(km_mask * or NULL, keepalive) for an optional validity mask."""
    if mask is None:
        return ffi.NULL, None
    arr, stride = _as_2d("mask", mask, np.uint8)
    if arr.shape != tuple(shape):
        raise ValueError("mask shape %r differs from the frame shape %r"
                         % (arr.shape, tuple(shape)))
    m = ffi.new("km_mask *")
    m.data = data_ptr(arr, "uint8_t *")
    m.rows, m.cols = arr.shape
    m.row_stride = stride
    return m, arr


def out_frame(arr):
    """km_frame_mut * over a C-contiguous float32 array owned by the caller."""
    fr = ffi.new("km_frame_mut *")
    fr.data = ffi.cast("float *", arr.__array_interface__["data"][0])
    fr.rows, fr.cols = arr.shape
    fr.row_stride = arr.strides[0] // 4 if arr.shape[0] > 1 else arr.shape[1]
    return fr
