"""Folders of sessions: knotmap.batch, one task per session, on a Dask
cluster or a local process pool."""
import glob
import os
import socket
import sys
import time

from ._core import Error
from ._process import check_params, process
from ._result import is_complete

__all__ = ["batch", "output_path", "MAX_ATTEMPTS"]

#: Attempts per session in the local pool when worker processes die (Dask
#: has its own setting: distributed.scheduler.allowed-failures, default 3).
MAX_ATTEMPTS = 3


def output_path(input, out_dir):
    """The result path `knotmap process INPUT... -o OUT_DIR/` writes:
    OUT_DIR/<input basename without its last extension>.knotmap.h5."""
    base = os.path.basename(os.fspath(input))
    stem = base
    dot = base.rfind(".")
    if dot > 0:
        stem = base[:dot]
    return os.path.join(os.fspath(out_dir), stem + ".knotmap.h5")


def _expand(inputs):
    """A list of input paths: an iterable of paths, a folder (its visible
    regular files, sorted) or a glob pattern."""
    if isinstance(inputs, (str, bytes, os.PathLike)):
        p = os.fsdecode(inputs)
        if os.path.isdir(p):
            return sorted(os.path.join(p, n) for n in os.listdir(p)
                          if not n.startswith(".") and os.path.isfile(os.path.join(p, n)))
        if glob.has_magic(p):
            return sorted(glob.glob(p))
        return [p]
    return [os.fsdecode(x) for x in inputs]


def _record(input, output, status, detail="", **extra):
    rec = {"input": input, "output": output, "status": status, "detail": detail,
           "n_frames": None, "n_peaks": None, "n_candidates": None, "seconds": 0.0,
           "host": socket.gethostname(), "pid": os.getpid(), "attempts": 1}
    rec.update(extra)
    return rec


def _run_one(input, output, params, force):
    """One session (runs in the worker): skip a complete result unless
    forced, else process; every failure becomes a summary record."""
    t0 = time.perf_counter()
    if not force and is_complete(output):
        return _record(input, output, "skipped", "complete result exists")
    try:
        s = process(input, output, **params)
    except Error as e:
        return _record(input, output, e.status_name, e.detail or e.reason,
                       seconds=time.perf_counter() - t0)
    except Exception as e:  # noqa: BLE001 - reported, never stops the batch
        return _record(input, output, type(e).__name__, str(e),
                       seconds=time.perf_counter() - t0)
    return _record(input, output, "ok", "", n_frames=s["n_frames"], n_peaks=s["n_peaks"],
                   n_candidates=s["n_candidates"], seconds=time.perf_counter() - t0)


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


def _run_dask(client, tasks, params, force, bar):
    from distributed import as_completed
    import uuid
    token = uuid.uuid4().hex[:8]
    keys = ["knotmap-process-%s-%d-%s" % (token, i, os.path.basename(t[0]))
            for i, t in enumerate(tasks)]
    futures = client.map(_run_one, [t[0] for t in tasks], [t[1] for t in tasks],
                         params=params, force=force, key=keys, pure=False)
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
    finally:
        for f in futures:
            f.release()
    return results


def _run_pool(tasks, params, force, max_workers, bar):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    # forkserver: children start from a clean single-threaded server, never
    # from a fork of this (possibly threaded) process.
    mp = multiprocessing.get_context("forkserver")
    results = [None] * len(tasks)
    attempts = [0] * len(tasks)
    pending = list(range(len(tasks)))
    while pending:
        retry = []
        with ProcessPoolExecutor(max_workers=max_workers, mp_context=mp) as ex:
            futs = {ex.submit(_run_one, tasks[i][0], tasks[i][1], params, force): i
                    for i in pending}
            for fut in as_completed(futs):
                i = futs[fut]
                attempts[i] += 1
                try:
                    results[i] = fut.result()
                    results[i]["attempts"] = attempts[i]
                except BrokenProcessPool as e:
                    # A worker died (crash in native code, OOM kill): the whole
                    # pool is gone; sessions not done yet run again in a new one.
                    if attempts[i] < MAX_ATTEMPTS:
                        retry.append(i)
                        continue
                    results[i] = _record(tasks[i][0], tasks[i][1], "BrokenProcessPool",
                                         "worker process died %d times: %s"
                                         % (attempts[i], e), attempts=attempts[i])
                except Exception as e:  # noqa: BLE001
                    results[i] = _record(tasks[i][0], tasks[i][1], type(e).__name__, str(e),
                                         attempts=attempts[i])
                bar.update(1)
        pending = sorted(retry)
    return results


def batch(inputs, out_dir, client=None, force=False, progress=True, max_workers=None,
          **params):
    """Process many sessions, one task per session (knotmap.process each).

    inputs: paths (an iterable), a folder (its visible files) or a glob
    pattern.  out_dir: folder for the results, made if missing; each
    session writes out_dir/<input stem>.knotmap.h5, as `knotmap process
    INPUT... -o OUT_DIR/` (two inputs with the same stem raise ValueError
    before any work).  Paths are made absolute here: with a cluster, the
    workers must see the same paths (a shared filesystem).

    client: a dask.distributed.Client (or a scheduler address such as
    "tcp://10.0.0.5:8786", connected and closed here): the sessions run on
    its workers, each worker reading its input and writing its output
    itself; a worker that dies is replaced and its task retried by Dask
    (distributed.scheduler.allowed-failures, default 3), then reported as
    KilledWorker.  None: a local process pool (forkserver processes,
    max_workers [os.cpu_count()]), where sessions whose worker died are
    retried up to MAX_ATTEMPTS times in a new pool.

    force: process sessions whose output is already a complete result
    (root attribute complete = 1, written last) [False: skipped]; partial
    or foreign files are never taken as done.  progress: a tqdm bar on
    stderr when tqdm is installed [True].  params: knotmap.process keywords
    (the `knotmap process` options, '-' -> '_'; checked here).

    Returns the summary, one dict per input in input order: input, output,
    status ("ok", "skipped", or the failure: a km status name such as
    "KM_ERR_FORMAT", or an exception class name), detail (the C library's
    error detail), n_frames, n_peaks, n_candidates, seconds, host, pid,
    attempts.  pandas.DataFrame(summary) makes it a table.  A failing
    session never stops the others.
    """
    check_params(params)
    if "progress" in params:
        raise TypeError("batch() takes progress=True/False; per-frame callbacks are not "
                        "supported in a batch")
    paths = [os.path.abspath(p) for p in _expand(inputs)]
    out_dir = os.path.abspath(os.fspath(out_dir))
    tasks = [(p, output_path(p, out_dir)) for p in paths]
    seen = {}
    for p, o in tasks:
        if o in seen:
            raise ValueError("%s and %s would both write %s" % (seen[o], p, o))
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
            return _run_dask(client, tasks, params, bool(force), bar)
        return _run_pool(tasks, params, bool(force), max_workers or os.cpu_count() or 1, bar)
    finally:
        bar.close()
        if own_client is not None:
            own_client.close()
