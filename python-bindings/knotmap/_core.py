"""Shared plumbing: the extension, per-thread contexts, errors, array views."""
import errno as _errno
import numbers
import os
import stat
import threading
import warnings
from typing import Union

import numpy as np

from ._knotmap import ffi, lib

__all__ = ["ffi", "lib", "Error", "AssumedWarning", "warn_assumed", "namesake_call", "NonFiniteWarning", "warn_nonfinite", "ctx", "check",
           "frame_view", "mask_view", "real_array", "out_frame", "data_ptr", "STATUS_NAMES", "PathLike",
           "invalid", "fspath", "choice", "error_class", "make_error", "enum_names", "invalid_type", "parse_enum",
           "real", "integer"]

#: What every path argument accepts (a NUL inside is refused: fspath).
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

STATUS_NAMES = {
    getattr(lib, name): name
    for name in ("KM_OK", "KM_ERR_INVALID", "KM_ERR_NOMEM", "KM_ERR_CAPACITY",
                 "KM_ERR_FORMAT", "KM_ERR_IO", "KM_ERR_NOT_FOUND",
                 "KM_ERR_UNSUPPORTED", "KM_ERR_LIMIT", "KM_ERR_CREATE",
                 "KM_ERR_CANCELLED", "KM_ERR_INTERNAL")
}


class AssumedWarning(UserWarning):
    """A value the file lacks and no argument gave was assumed (1 Hz, 1 mm,
    raw units, a mat, ...): the warning `knotmap info` and `knotmap process`
    print on stderr.  The names are in the metadata's "assumed" (a result's
    /session attribute "assumed").  Pass the value (rate=, pitch=, units=,
    mode=, roller_radius=) to silence it, or filter AssumedWarning."""


def warn_assumed(path, assumed, stacklevel=3, info=None):
    """The AssumedWarnings of a km_session_info.assumed list, with the
    sentences the CLI prints naming the keyword to pass (rate=HZ where the
    CLI says --rate HZ): one for two or more of pitch, rate, units and mode
    (km_assumed_combined, with `info`, a km_session_info pointer), one per
    other name (km_assumed_sentence, with the values of `info` where it has
    them); returns how many names were said."""
    names = [n for n in assumed.split(",") if n]
    buf = ffi.new("char[]", 512)
    rest = ffi.new("char[]", 512)
    said = []
    if info is not None and lib.km_assumed_combined(info, buf, len(buf), rest, len(rest)) > 0:
        said.append(ffi.string(buf).decode("utf-8", "replace"))
        names_left = [n for n in ffi.string(rest).decode("utf-8", "replace").split(",") if n]
    else:
        names_left = names
    for name in names_left:
        b = name.encode()
        lib.km_assumed_sentence(info if info is not None else ffi.NULL, b, len(b), buf, len(buf))
        said.append(ffi.string(buf).decode("utf-8", "replace"))
    for what in said:
        warnings.warn("%s: %s" % (os.fsdecode(path), python_spelling(what)), AssumedWarning,
                      stacklevel=stacklevel)
    return len(names)


class NonFiniteWarning(UserWarning):
    """The file holds nan or inf values (a text matrix's `nan`, `inf`): kept
    as they are, passed over by detection and metrics in their frames; the
    warning `knotmap info` and `knotmap process` print on stderr, with the
    count and the first one's place (metadata "n_nonfinite" and
    "nonfinite_at"; a result's /session attributes of those names)."""


def warn_nonfinite(path, info, stacklevel=3):
    """A NonFiniteWarning when the km_session_info * `info` counts nan or inf
    values, with the sentence the CLI prints (km_nonfinite_text)."""
    buf = ffi.new("char[]", 512)
    lib.km_nonfinite_text(info, buf, len(buf))
    text = ffi.string(buf).decode("utf-8", "replace")
    if text:
        warnings.warn("%s: %s" % (os.fsdecode(path), text), NonFiniteWarning, stacklevel=stacklevel)


def python_spelling(text):
    """The C library's text with its options spelled as Python's keywords
    (_params.python_spelling; imported here when first needed, as _params
    is built on this module)."""
    from ._params import python_spelling as spell
    return spell(text)


class Error(RuntimeError):
    """Base of every exception knotmap raises.

    Each one raised is also an instance of the matching built-in exception
    (see :func:`error_class`): ``FileNotFoundError``, ``PermissionError``,
    ``IsADirectoryError``, ``FileExistsError``, ``BlockingIOError`` (a file
    in use: another program has it open for writing) or ``OSError`` for
    file and I/O failures (with ``errno``, ``strerror`` and ``filename``
    set; the class is the one Python gives the errno),
    ``ValueError`` for bad arguments and malformed data, ``TypeError`` for
    arguments of the wrong type, ``MemoryError``, ``NotImplementedError``.
    ``except knotmap.Error`` catches them all; ``except FileNotFoundError``
    catches the missing file.

    Attributes: ``status`` (the km_status code, a negative int),
    ``status_name`` (e.g. ``"KM_ERR_FORMAT"``), ``reason`` (km_strerror
    text), ``detail`` (km_ctx_last_error: for file errors it names the
    file and where; for argument errors, the argument) and ``filename``
    (the file the failing call was reading or writing, as given, for
    malformed data too; None when the failure is not about a file).
    """

    def __init__(self, status, detail=""):
        self.filename = None
        self.status = int(status)
        self.status_name = STATUS_NAMES.get(self.status, "KM_ERR_%d" % self.status)
        self.reason = ffi.string(lib.km_strerror(self.status)).decode("utf-8", "replace")
        self.detail = detail
        text = detail if detail else self.reason
        self._message = "%s (%s)" % (text, self.status_name)
        super().__init__(self._message)

    def __str__(self):
        return self._message

    def __reduce__(self):
        return (_rebuild_error, (type(self).__name__, self.status, self.detail,
                                 getattr(self, "errno", None), getattr(self, "filename", None)))


# The built-in each C status means.  OS-level statuses are refined by errno.
_STATUS_BUILTIN = {
    lib.KM_ERR_INVALID: ValueError,
    lib.KM_ERR_NOMEM: MemoryError,
    lib.KM_ERR_FORMAT: ValueError,
    lib.KM_ERR_LIMIT: ValueError,
    lib.KM_ERR_UNSUPPORTED: NotImplementedError,
    lib.KM_ERR_NOT_FOUND: FileNotFoundError,
    lib.KM_ERR_IO: OSError,
    lib.KM_ERR_CREATE: OSError,
}


def _errno_builtin(err, default):
    """The OSError subclass Python itself gives errno `err` (OSError(ENOENT,
    ...) is a FileNotFoundError, EWOULDBLOCK a BlockingIOError), else
    `default`: Python's own errno -> class mapping, not a copy of it."""
    cls = type(OSError(err, os.strerror(err)))
    return cls if cls is not OSError else default
_CLASSES = {}


def error_class(builtin):
    """The knotmap exception class that is both knotmap.Error and
    `builtin` (one class per built-in, made on first use)."""
    if builtin is None or builtin is RuntimeError:
        return Error
    cls = _CLASSES.get(builtin)
    if cls is None:
        cls = type(builtin.__name__, (Error, builtin),
                   {"__module__": "knotmap", "__doc__": "knotmap.Error that is also a %s."
                    % builtin.__name__})
        _CLASSES[builtin] = cls
    return cls


def namesake_call(fn, *args, **kwargs):
    """A namesake's call (scipy, scikit-image) made by a drop-in: its result,
    or its exception as the knotmap.Error of the same built-in class
    (ValueError stays a ValueError, RuntimeError a RuntimeError) and the
    same text; an exception of a class not built in is raised as it is."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        cls = type(e)
        if cls.__module__ != "builtins" or isinstance(e, Error) or issubclass(cls, OSError):
            raise
        status = lib.KM_ERR_NOMEM if issubclass(cls, MemoryError) else lib.KM_ERR_INVALID
        err = error_class(cls)(status, str(e))
        err._message = str(e)  # the namesake's text, word for word
        raise err from e


def _rebuild_error(name, status, detail, errno_, filename):
    builtin = {c.__name__: b for b, c in _CLASSES.items()}.get(name)
    return make_error(status, detail, errno_=errno_, filename=filename, builtin=builtin)


def make_error(status, detail="", errno_=None, filename=None, builtin=None):
    """The knotmap exception for a C status (and errno, when known)."""
    status = int(status)
    if builtin is None:
        builtin = _STATUS_BUILTIN.get(status)
        if errno_ and builtin is not None and issubclass(builtin, OSError):
            builtin = _errno_builtin(errno_, builtin)
    e = error_class(builtin)(status, detail)
    if isinstance(e, OSError):
        e.errno = errno_ or None
        e.strerror = os.strerror(errno_) if errno_ else e.reason
    if filename is not None:
        e.filename = os.fsdecode(filename) if isinstance(filename, bytes) else filename
    return e


def invalid(message, *, type_error=False):
    """An argument error (knotmap.Error and ValueError, or TypeError):
    `message` names the argument, its value and what is allowed."""
    builtin = TypeError if type_error else ValueError
    return error_class(builtin)(lib.KM_ERR_INVALID, message)


def _path_errno(status, path):
    """errno for a file failure the C detail gives no errno for, from what
    is at `path` now (input: NOT_FOUND; output: CREATE)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if status == lib.KM_ERR_CREATE:
            parent = os.path.dirname(os.path.abspath(path))
            return None if os.path.isdir(parent) else _errno.ENOENT
        return _errno.ENOENT
    except NotADirectoryError:
        return _errno.ENOTDIR
    except PermissionError:
        return _errno.EACCES
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(st.st_mode):
        return _errno.EISDIR
    if status == lib.KM_ERR_NOT_FOUND and not os.access(path, os.R_OK):
        return _errno.EACCES
    if status == lib.KM_ERR_CREATE and stat.S_ISREG(st.st_mode):
        return _errno.EEXIST  # an existing result kept: overwrite was not asked
    return None


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


def raise_error(c, status, path=None):
    """Raise the knotmap exception for `status` with the context's detail
    (when the detail belongs to this failure: a stale one from an earlier
    call is dropped).  The built-in it also is comes from the status and,
    for file failures, the errno C recorded (km_ctx_last_errno: the
    failure's own or 0), else from what is at `path` (the file the failing
    call was given)."""
    detail = ""
    err = 0
    if lib.km_ctx_last_status(c) == status:
        detail = python_spelling(ffi.string(lib.km_ctx_last_error(c)).decode("utf-8", "replace"))
        err = lib.km_ctx_last_errno(c)  # the failure's own (C keeps no stale one)
    lib.km_ctx_clear_error(c)
    if not err and path is not None and status in (lib.KM_ERR_NOT_FOUND, lib.KM_ERR_CREATE):
        err = _path_errno(status, path)
    raise make_error(status, detail, errno_=err or None, filename=path)


def refuse_folder_input(c, status, path, what):
    """A folder given where a session file goes (read_session, process): an
    IsADirectoryError that says `what` to do, as `knotmap process sessions/`
    says; nothing when `path` is no folder or the call did not fail on it."""
    if status != lib.KM_ERR_NOT_FOUND or not os.path.isdir(path):
        return
    lib.km_ctx_clear_error(c)
    p = os.fsdecode(path)
    raise make_error(status, "%s: is a folder: %s (knotmap.batch(%r, OUT) processes every file "
                     "in it)" % (p, what, p), errno_=_errno.EISDIR, filename=path)


def check(c, status, path=None):
    """Raise the knotmap exception with the detail of context `c` when
    status is not KM_OK (`path`: the file the call was given, if any)."""
    if status != 0:
        raise_error(c, status, path)


def check_files(c, status, inputs, output=None):
    """check() for a call given files: the exception's filename is the file
    the C detail begins with (every detail about a file begins with its
    path), else the output for a failure to create or write it, else the
    only input.  So `except FileNotFoundError as e: e.filename` names the
    missing one among several (a result or the truth of eval)."""
    if status == 0:
        return
    detail = ""
    if lib.km_ctx_last_status(c) == status:
        detail = ffi.string(lib.km_ctx_last_error(c)).decode("utf-8", "replace")
    named = [q for q in (*inputs, output)
             if q is not None and detail.startswith(os.fsdecode(q) + ":")]
    if named:
        path = named[0]
    elif output is not None and status in (lib.KM_ERR_CREATE, lib.KM_ERR_IO):
        path = output
    else:
        path = inputs[0] if len(inputs) == 1 else None
    raise_error(c, status, path)


def fspath(name, path):
    """`path` (str, bytes or os.PathLike) as bytes for C; a NUL inside it
    is an error (C would silently cut the name there)."""
    try:
        b = os.fsencode(path)
    except TypeError:
        raise invalid("%s must be a path (str, bytes or os.PathLike), got %r"
                      % (name, type(path).__name__), type_error=True) from None
    if b"\0" in b:
        raise invalid("%s=%r contains a NUL character" % (name, path))
    return b


def choice(name, value, allowed):
    """allowed[value] for a named choice, else an argument error naming
    `name`, the value and the allowed names."""
    try:
        return allowed[value]
    except (KeyError, TypeError):
        raise invalid("%s=%r is not one of %s" % (name, value, ", ".join(
            repr(k) for k in allowed))) from None


def invalid_type(message):
    """An argument of the wrong type: knotmap.Error and TypeError."""
    return invalid(message, type_error=True)


def real(name, value):
    """float(value) for an argument that must be a real number (a Python or
    numpy number, or a 0-d numeric array); anything else (a string, None, a
    list) is knotmap's TypeError naming the argument, as scipy and
    scikit-image raise TypeError there (float('5') would pass a string)."""
    if isinstance(value, numbers.Real) or (
            isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf"):
        return float(value)
    raise invalid_type("%s=%r must be a real number, not %s" % (name, value, type(value).__name__))


def integer(name, value):
    """int(value) for an argument that must be a whole number (an int, a
    numpy integer, or a float that is whole); anything else is knotmap's
    TypeError naming the argument (int() would cut 4.5 to 4 and read "4")."""
    if isinstance(value, numbers.Integral) or (
            isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biu"):
        return int(value)
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return int(value)
    raise invalid_type("%s=%r must be an integer, not %s" % (name, value, type(value).__name__))


def flag(name, value):
    """1 or 0 for an on/off argument: a bool (Python or numpy) or the
    integers 0 and 1; anything else is knotmap's TypeError naming the
    argument (a plain truth test would take "no" or "false" for on)."""
    if isinstance(value, (bool, np.bool_)):
        return 1 if value else 0
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return int(value)
    raise invalid_type("%s=%r must be True or False, not %s"
                       % (name, value, type(value).__name__))


def parse_enum(name, value, parse, ctype, prefix):
    """A C enum value from its name through the C parser `parse`; an
    argument error naming `name` and the allowed names otherwise."""
    out = ffi.new(ctype + " *")
    if not isinstance(value, str) or "\0" in value or parse(value.encode(), out) != 0:
        raise invalid("%s=%r is not one of %s" % (name, value, ", ".join(
            repr(n) for n in enum_names(ctype, prefix))))
    return out[0]


def enum_names(ctype, prefix):
    """{lower-case name: value} of a C enum, from the header (one source)."""
    return {name[len(prefix):].lower(): value
            for value, name in sorted(ffi.typeof(ctype).elements.items())}


def real_array(name, a):
    """`a` as an array of real numbers: unchanged when it holds numbers, else
    (complex, text, objects that are not numbers) knotmap's TypeError naming
    the argument: complex values are never cut to their real part."""
    arr = a if type(a) is np.ndarray else np.asarray(a)
    if arr.dtype.kind not in "cSUO":
        return arr
    try:
        if arr.dtype.kind == "c":
            raise TypeError
        return np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise invalid_type("%s must be real numbers, got dtype %s" % (name, arr.dtype)) from None


def _as_2d(name, a, dtype):
    """`a` as a 2-D array of `dtype` that C can read through (data, row
    stride in elements): returned unchanged when its layout allows (C order,
    or rows at any positive multiple of the item size with unit column
    step), else converted once."""
    arr = a if type(a) is np.ndarray else np.asarray(a)
    if arr.ndim != 2:
        raise invalid("%s must be 2-D, got shape %r%s" % (
            name, arr.shape, " (a session's frames are [T, R, C]: pass one, frames[t])"
            if arr.ndim == 3 and name == "frame" else ""))
    arr = real_array(name, arr)  # numpy would drop the imaginary part with a warning
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
        raise invalid("mask shape %r differs from the frame shape %r"
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
