"""Folders of sessions: knotmap.batch, one task per session, on a Dask
cluster or a local pool.  Every session runs in a child process of its own
with a deadline, so a hostile file (a crash or a hang inside libhdf5) costs
that session only, never a worker."""
import errno
import glob
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterable, List, Optional, Union

from ._core import Error, PathLike, ffi, flag, integer, invalid, lib, make_error, real
from ._process import check_params, output_path, process
from ._result import is_complete

__all__ = ["batch", "output_path", "MAX_ATTEMPTS", "DEFAULT_DEADLINE"]

#: Attempts per session whose process dies (a crash, an OOM kill).  Dask
#: retries tasks whose *worker* dies on its own (distributed.scheduler.
#: allowed-failures, default 3).
MAX_ATTEMPTS = 3

#: Seconds a session may run in a batch before its process is killed and the
#: session reported with status "timeout" [3600]; batch(deadline=None) lifts it.
DEFAULT_DEADLINE = 3600.0

# The interpreter a session runs in: this one, importing this very package.
_PKG_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CHILD = "import knotmap._batch as b; b._child_main()"


def _expand(inputs):
    """A list of input paths: an iterable of paths, a folder (its visible
    regular files, sorted) or a glob pattern.  One path that does not exist,
    or a pattern that matches nothing, is FileNotFoundError (as `knotmap
    process` refuses it, exit 66): a mistyped folder is no batch of one
    failed session, nor an empty one."""
    if isinstance(inputs, (str, bytes, os.PathLike)):
        p = os.fsdecode(inputs)
        if os.path.isdir(p):
            return sorted(os.path.join(p, n) for n in os.listdir(p)
                          if not n.startswith(".") and os.path.isfile(os.path.join(p, n)))
        found = sorted(glob.glob(p)) if glob.has_magic(p) else []
        if found or os.path.lexists(p):
            return found or [p]
        raise make_error(lib.KM_ERR_NOT_FOUND, "%s: %s" % (
            p, "no file matches this pattern" if glob.has_magic(p)
            else "no such file or folder"), errno_=errno.ENOENT, filename=p)
    return [os.fsdecode(x) for x in inputs]


def _record(input, output, status, detail="", **extra):
    rec = {"input": input, "output": output, "status": status, "detail": detail,
           "n_frames": None, "n_peaks": None, "n_candidates": None, "assumed": None,
           "seconds": 0.0,
           "host": socket.gethostname(), "pid": os.getpid(), "attempts": 1}
    rec.update(extra)
    return rec


#: The details of the two kinds of "skipped" records.
_NOT_AN_INPUT = "a knotmap result, not a session: not an input"
_DONE = "complete result exists"


def _outcome(rec):
    """A record as a km_batch_outcome: ran (a result is there, made now or
    kept), skipped (a knotmap result given as an input) or failed."""
    if rec["status"] == "ok" or (rec["status"] == "skipped" and rec["detail"] == _DONE):
        return lib.KM_BATCH_RAN
    return lib.KM_BATCH_SKIPPED if rec["status"] == "skipped" else lib.KM_BATCH_FAILED


def _say_failures(results, out_dir, file=None):
    """What `knotmap process A B C -o DIR/` says on stderr of a batch where
    not every input gave a result: each failure's message, then the tally
    line in km_batch_tally's words (the command's own)."""
    file = sys.stderr if file is None else file
    failed = [r for r in results if _outcome(r) == lib.KM_BATCH_FAILED]
    for r in failed:
        detail = r["detail"] or r["status"]
        said = detail if detail.startswith(r["input"] + ":") else "%s: %s" % (r["input"], detail)
        print("knotmap: %s" % said, file=file)
    names = [ffi.new("char[]", os.fsencode(r["input"])) for r in results]
    outcomes = ffi.new("signed char[]", [_outcome(r) for r in results])
    out = ffi.new("char[]", os.fsencode(out_dir))
    n = lib.km_batch_tally(ffi.NULL, 0, names, outcomes, len(results), out)
    if n > 0:
        buf = ffi.new("char[]", n + 1)
        lib.km_batch_tally(buf, n + 1, names, outcomes, len(results), out)
        print("knotmap: %s" % ffi.string(buf).decode("utf-8", "replace"), file=file)
    if file is sys.stderr:
        file.flush()


def _run_one(input, output, params, force):
    """One session, in its child process: skip a knotmap result given as
    input, and a complete output unless forced; else process; every
    failure becomes a summary record."""
    t0 = time.perf_counter()
    if is_complete(input):
        return _record(input, output, "skipped", _NOT_AN_INPUT)
    if not force and is_complete(output):
        return _record(input, output, "skipped", _DONE)
    try:
        s = process(input, output, **params)
    except Error as e:
        return _record(input, output, e.status_name, e.detail or e.reason,
                       seconds=time.perf_counter() - t0)
    except Exception as e:  # noqa: BLE001 - reported, never stops the batch
        return _record(input, output, type(e).__name__, str(e),
                       seconds=time.perf_counter() - t0)
    return _record(input, output, "ok", "", n_frames=s["n_frames"], n_peaks=s["n_peaks"],
                   n_candidates=s["n_candidates"], assumed=s["info"]["assumed"],
                   seconds=time.perf_counter() - t0)


def _child_main():
    """Entry point of a session's process: the task (pickled) on stdin, the
    record (pickled) on the descriptor named by argv[1]."""
    fd = int(sys.argv[1])
    input, output, params, force = pickle.load(sys.stdin.buffer)
    rec = _run_one(input, output, params, force)
    with os.fdopen(fd, "wb") as f:
        pickle.dump(rec, f)


def _temporaries(output):
    """Temporary files of `output` (the writers' ".<name>.tmp-XXXXXX", the
    name cut to its first 243 bytes, whole UTF-8 characters, when longer:
    src/io/atomic_out.c)."""
    d, base = os.path.split(output)
    raw = os.fsencode(base)
    if len(raw) > 243:
        keep = 243
        while keep > 0 and (raw[keep] & 0xC0) == 0x80:
            keep -= 1
        base = os.fsdecode(raw[:keep])
    return set(glob.glob(os.path.join(glob.escape(d), "." + glob.escape(base) + ".tmp-*")))


def _signal_name(code):
    try:
        return signal.Signals(-code).name
    except ValueError:
        return "signal %d" % -code


class _Runs:
    """The sessions' processes of a local batch, so that a Ctrl-C (or any
    exception) in the caller's thread ends them at once (stop()): no new
    one starts, those in work are killed (their temporaries removed by
    _run_isolated) and none is tried again."""

    #: Seconds between looks at `stopped` while a session runs: None, stop()
    #: kills the children itself.
    poll = None

    def __init__(self):
        self.lock = threading.Lock()
        self.children = set()
        self.stopped = False

    def add(self, child):
        with self.lock:
            self.children.add(child)
            if self.stopped:
                child.kill()

    def discard(self, child):
        with self.lock:
            self.children.discard(child)

    def stop(self):
        with self.lock:
            self.stopped = True
            for child in self.children:
                child.kill()


class _DaskRuns:
    """The stop of a batch on a Dask cluster, seen from a worker: the
    caller's Ctrl-C sets the distributed.Event `name` (_run_dask), and each
    task looks at it before a session starts and every `poll` seconds while
    its process runs, then kills it (its temporaries removed by
    _run_isolated).  A worker cannot be reached otherwise: Dask neither
    interrupts a running task nor tells it that its future was released."""

    poll = 0.25

    def __init__(self, name):
        self.name = name
        self.event = None
        self.seen = False

    @property
    def stopped(self):
        if not self.seen:
            if self.event is None:
                from distributed import Event
                self.event = Event(self.name)
            self.seen = self.event.is_set()
        return self.seen

    def add(self, child):
        pass

    def discard(self, child):
        pass


def _communicate(child, data, deadline, runs):
    """child.communicate(data) within `deadline` seconds (None: no limit),
    looking at runs.stopped every runs.poll seconds when it has a poll:
    (stderr, "timeout" / "interrupted" / None), the child killed and reaped
    in the first two cases."""
    end = None if deadline is None else time.monotonic() + deadline
    poll = getattr(runs, "poll", None)
    while True:
        step = None if end is None else max(end - time.monotonic(), 0.0)
        if poll is not None:
            step = poll if step is None else min(step, poll)
        try:
            return child.communicate(data, timeout=step)[1], None
        except subprocess.TimeoutExpired:
            data = None  # sent once: communicate() goes on where it was
        why = ("timeout" if end is not None and time.monotonic() >= end
               else "interrupted" if poll is not None and runs.stopped else None)
        if why is not None:
            child.kill()
            return child.communicate()[1], why


def _run_isolated(input, output, params, force, deadline, runs=None):
    """Run one session in a child process (a fresh interpreter importing
    this package), killed after `deadline` seconds (or by runs.stop()).  A
    crash or a kill is reported, never raised; the temporaries the child
    left are removed."""
    t0 = time.perf_counter()
    before = _temporaries(output)
    r, w = os.pipe()
    env = dict(os.environ)
    env["PYTHONPATH"] = _PKG_PARENT + (os.pathsep + env["PYTHONPATH"]
                                       if env.get("PYTHONPATH") else "")
    try:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(w)], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 pass_fds=(w,), env=env)
    finally:
        os.close(w)
    if runs is not None:
        runs.add(child)
    try:
        err, why = _communicate(child, pickle.dumps((input, output, params, force)), deadline,
                                runs)
        with os.fdopen(r, "rb") as f:
            r = -1
            data = f.read()
    finally:
        if r >= 0:
            os.close(r)
        if runs is not None:
            runs.discard(child)
    seconds = time.perf_counter() - t0
    for t in _temporaries(output) - before:
        try:
            os.unlink(t)
        except OSError:
            pass
    if why is None and child.returncode == 0 and data:
        rec = pickle.loads(data)
        rec["host"], rec["pid"] = socket.gethostname(), child.pid
        return rec
    if why == "interrupted":
        return _record(input, output, "interrupted",
                       "the batch was stopped: its process was killed", seconds=seconds,
                       pid=child.pid)
    if why == "timeout":
        return _record(input, output, "timeout",
                       "no result after %g s (batch deadline): its process was killed"
                       % deadline, seconds=seconds, pid=child.pid)
    code = child.returncode
    why = ("killed by %s" % _signal_name(code)) if code < 0 else "exit code %d" % code
    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] if err else []
    return _record(input, output, "crashed",
                   "its process died (%s)%s" % (why, (": " + tail[0]) if tail else ""),
                   seconds=seconds, pid=child.pid)


def _run_task(input, output, params, force, deadline, runs=None, stop=None):
    """One session with its retries (where a Dask worker or a pool thread
    runs it): a crashed process is tried again up to MAX_ATTEMPTS times, a
    timeout is not, nor anything once the batch is stopped (runs: a local
    batch's _Runs; stop: the name of a Dask batch's stop Event)."""
    if stop is not None:
        runs = _DaskRuns(stop)
    rec = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if runs is not None and runs.stopped:
            return _record(input, output, "interrupted", "the batch was stopped",
                           attempts=attempt - 1)
        rec = (_run_isolated(input, output, params, force, deadline) if runs is None
               else _run_isolated(input, output, params, force, deadline, runs))
        rec["attempts"] = attempt
        if rec["status"] != "crashed":
            break
    return rec


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _bar(progress, total):
    if not progress:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc="knotmap batch", unit="session", file=sys.stderr)


#: Seconds a stopped Dask batch waits for its tasks to end their sessions
#: (each looks at the stop every _DaskRuns.poll seconds) before it raises.
_DASK_STOP_WAIT = 30.0


def _stop_dask(client, name, futures):
    """Ctrl-C (or any exception) in the caller: set the stop Event the
    tasks look at, so that the sessions in work are killed and their
    temporaries removed and no queued one starts, and wait for that."""
    from distributed import Event, wait
    event = Event(name, client=client)
    event.set()
    try:
        wait(futures, timeout=_DASK_STOP_WAIT)
    except Exception:  # noqa: BLE001 - a timeout: the futures are released anyway
        pass
    event.clear()


def _run_dask(client, tasks, params, force, deadline, bar):
    from distributed import as_completed
    import uuid
    token = uuid.uuid4().hex[:8]
    keys = ["knotmap-process-%s-%d-%s" % (token, i, os.path.basename(t[0]))
            for i, t in enumerate(tasks)]
    stop = "knotmap-batch-stop-%s" % token
    futures = client.map(_run_task, [t[0] for t in tasks], [t[1] for t in tasks],
                         params=params, force=force, deadline=deadline, stop=stop, key=keys,
                         pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    results = [None] * len(tasks)
    try:
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as e:  # noqa: BLE001 - e.g. KilledWorker after retries
                results[i] = _record(tasks[i][0], tasks[i][1], type(e).__name__, str(e),
                                     host=None, pid=None)
            bar.update(1)
    except BaseException:
        _stop_dask(client, stop, futures)
        raise
    finally:
        for f in futures:
            f.release()
    return results


def _run_pool(tasks, params, force, deadline, max_workers, bar):
    # Threads only wait: each session runs in its own process.  A Ctrl-C
    # (KeyboardInterrupt) lands in this thread: the sessions in work are
    # killed and the queued ones dropped before it is raised (left to the
    # executor, every queued session would still run, and be retried).
    from concurrent.futures import ThreadPoolExecutor, as_completed
    results = [None] * len(tasks)
    runs = _Runs()
    ex = ThreadPoolExecutor(max_workers=max_workers)
    try:
        futs = {ex.submit(_run_task, t[0], t[1], params, force, deadline, runs): i
                for i, t in enumerate(tasks)}
        for fut in as_completed(futs):
            results[futs[fut]] = fut.result()
            bar.update(1)
    except BaseException:
        runs.stop()
        ex.shutdown(wait=True, cancel_futures=True)
        raise
    ex.shutdown(wait=True)
    return results


def batch(inputs: Union[PathLike, Iterable[PathLike]], out_dir: PathLike,
          client: Any = None, force: bool = False, progress: bool = True,
          max_workers: Optional[int] = None, deadline: Optional[float] = DEFAULT_DEADLINE,
          **params: Any) -> List[Dict[str, Any]]:
    """Process many sessions, one task per session (knotmap.process each).

    Each session runs in a child process of its own (a fresh interpreter
    importing this package), so a file that crashes or hangs the readers
    (a hostile HDF5 file can hang libhdf5) costs that session only: a
    process that dies is reported ("crashed", with the signal) after
    MAX_ATTEMPTS tries, one that is still running after `deadline` seconds
    is killed and reported ("timeout"); either way its temporary output is
    removed.  A failing session never stops the others.  Ctrl-C
    (KeyboardInterrupt) stops a batch at once, local or on a Dask cluster:
    the sessions in work are killed (their temporaries removed), no other
    starts, and KeyboardInterrupt is raised; the results finished before
    stay, and a new batch() skips them.  On a cluster each task looks at a
    stop (a distributed.Event) every 0.25 s, and the caller waits up to
    30 s for the tasks to end.

    Parameters
    ----------
    inputs : path, iterable of paths, folder or glob pattern
        The sessions: paths, a folder (its visible files) or a glob pattern.
        Paths are made absolute here: with a cluster, the workers must see
        the same paths (a shared filesystem).
    out_dir : str or os.PathLike
        Folder for the results, made if missing; each session writes
        out_dir/<input stem>.knotmap.h5 (output_path), as `knotmap process
        INPUT... -o OUT_DIR/` (two inputs with the same stem raise
        ValueError before any work).
    client : dask.distributed.Client or str or None, optional
        A Client, or a scheduler address such as "tcp://10.0.0.5:8786"
        (connected and closed here): the sessions run on its workers, each
        worker reading its input and writing its output itself (through its
        child process); a worker that dies is replaced and its task retried
        by Dask (distributed.scheduler.allowed-failures, default 3), then
        reported as KilledWorker.  None: here, at most `max_workers`
        sessions at a time [None].
    force : bool, optional
        Process sessions whose output is already a complete result (root
        attribute complete = 1, written last) [False: skipped]; partial or
        foreign files are never taken as done.  A knotmap result among the
        inputs is never processed: skipped, with a note in its detail (so
        batch(d, d) works, and runs again over its own results).
    progress : bool, optional
        Speak on stderr [True]: a tqdm bar when tqdm is installed, and at
        the end, when a session gave no result, what `knotmap process A B C
        -o DIR/` says: each failure's message ("knotmap: PATH: ...") and,
        with two sessions or more, its tally line ("knotmap: 4 of 6 inputs
        processed (results in DIR); 2 failed, said above: ...").  False:
        nothing is said; the summary holds it all.
    max_workers : int or None, optional
        Sessions at a time without a client [None = os.cpu_count()].
    deadline : float or None, optional
        Seconds a session may run [DEFAULT_DEADLINE, 3600; None = no limit].
    **params
        knotmap.process keywords (the `knotmap process` options, '-' -> '_';
        checked here, before any work).

    Returns
    -------
    list of dict
        One per input in input order: input, output, status ("ok",
        "skipped", "timeout", "crashed", or the failure: a km status name
        such as "KM_ERR_FORMAT", or an exception class name), detail (the C
        library's error detail), n_frames, n_peaks, n_candidates, assumed
        (what the session lacked and was assumed, read_session's metadata
        "assumed"; each child also warns it on stderr), seconds, host, pid,
        attempts.  pandas.DataFrame(summary) makes it a table.

    Raises
    ------
    FileNotFoundError
        (a knotmap.Error) before any work, when `inputs` is one path that
        does not exist or a pattern that matches no file.
    knotmap.Error
        Before any work: TypeError for a keyword of the wrong type (a number
        given as a string, a switch that is not a bool) or a `progress`
        callback among `params`, ValueError for a deadline that is not > 0,
        max_workers < 1, or two inputs with the same stem.

    Examples
    --------
    From the repository's root: a folder with a session and a file that is
    none; the failure is in its record, the other session is processed.

    >>> import os, shutil, tempfile, knotmap
    >>> d = tempfile.mkdtemp()
    >>> os.mkdir(os.path.join(d, "sessions"))
    >>> _ = shutil.copy("datasets/example/roller_example.h5", os.path.join(d, "sessions"))
    >>> _ = open(os.path.join(d, "sessions", "notes.txt"), "w").write("not a session")
    >>> summary = knotmap.batch(os.path.join(d, "sessions"), os.path.join(d, "results"),
    ...                         progress=False, max_workers=1)
    >>> [(os.path.basename(r["input"]), r["status"]) for r in summary]
    [('notes.txt', 'KM_ERR_FORMAT'), ('roller_example.h5', 'ok')]
    >>> os.listdir(os.path.join(d, "results"))
    ['roller_example.knotmap.h5']
    """
    check_params(params, "batch()")
    if deadline is not None and not real("deadline", deadline) > 0:
        raise invalid("deadline must be > 0 seconds or None, got %r" % (deadline,))
    if max_workers is not None and integer("max_workers", max_workers) < 1:
        raise invalid("max_workers must be >= 1 or None, got %r" % (max_workers,))
    force, progress = flag("force", force), flag("progress", progress)
    if "progress" in params:
        raise invalid("batch() takes progress=True/False; per-frame callbacks are not "
                      "supported in a batch", type_error=True)
    paths = [os.path.abspath(p) for p in _expand(inputs)]
    out_dir = os.path.abspath(os.fspath(out_dir))
    tasks = [(p, output_path(p, out_dir)) for p in paths]
    seen = {}
    for p, o in tasks:
        if o in seen:
            raise invalid("%s and %s would both write %s" % (seen[o], p, o))
        seen[o] = p
    if not tasks:
        return []
    os.makedirs(out_dir, exist_ok=True)
    bar = _bar(progress, len(tasks))
    own_client = None
    try:
        if isinstance(client, str):
            from distributed import Client
            client = own_client = Client(client)
        if client is not None:
            results = _run_dask(client, tasks, params, bool(force), deadline, bar)
        else:
            results = _run_pool(tasks, params, bool(force), deadline,
                                max_workers or os.cpu_count() or 1, bar)
    finally:
        bar.close()
        if own_client is not None:
            own_client.close()
    if progress:
        _say_failures(results, out_dir)
    return results
