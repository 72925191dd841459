#!/usr/bin/python3
"""What knotmap's defaults would find with a perfect flat field (issue 11).

For knotmap's model 2 sessions (TUNING seeds, default 1-20; 20 s) the frames are written
again with the sensor's per-taxel gain divided out ("gain"), and also its offsets (hot
taxels) taken off first ("gain+offset"), from the simulator's truth (km_synth_truth.gain
and .offset; model 2 applies them after the crosstalk, before drift and noise, 6.7).
Each copy goes through `knotmap process` at the defaults and opened (bench/eval.py's
OPEN_ARGS) and is scored as bench/param_sweep.py scores a cell: mean F1, mean AP, false
candidates and missed knots pooled.  The "gain" row is what any estimate of the gain
from the session itself (docs/ALGORITHMS.md 7.5), or an equilibration recording, could
at best give the detector; the rest of the gap to the truth is noise, sampling and the
detector.

Usage: /usr/bin/python3 bench/gain_oracle.py [--bin build/knotmap] [--seeds 1-20]
           [--cells 2/roller/hard,2/mat/hard] [--jobs 2] [--cache DIR]
Needs the Python bindings on PYTHONPATH (build/python).
"""
import argparse
import concurrent.futures as cf
import os
import shutil
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import param_sweep as ps  # noqa: E402

VARIANTS = ("as recorded", "gain", "gain+offset")


def corrected(a, m, mo, p, s, variant):
    f = ps.session(a, m, mo, p, s)
    if variant == "as recorded":
        return f
    d = os.path.join(a.cache, "oracle_" + variant.replace("+", "_"))
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, os.path.basename(f))
    if os.path.exists(out):
        return out
    import knotmap
    _, t = knotmap.synth(None, model=int(m), mode=mo, preset=p, seed=s, duration=20)
    g = np.asarray(t["gain"], np.float32)
    off = np.asarray(t["offset"], np.float32) if variant == "gain+offset" else 0.0 * g
    ok = (t["taxel_state"] == 0) & (g > 0)
    tmp = out + ".tmp"
    shutil.copyfile(f, tmp)
    with h5py.File(tmp, "r+") as h:
        fr = h["frames"][...]
        v = np.where(ok, np.maximum(fr - off, 0.0) / np.where(ok, g, 1.0), fr)
        h["frames"][...] = v.astype(np.float32)
    os.replace(tmp, out)
    return out


def one(a, m, mo, p, s, variant, tmp):
    """param_sweep's cell figures on the corrected copy (its cache is the variant's)."""
    f = corrected(a, m, mo, p, s, variant)
    b = argparse.Namespace(**{**vars(a), "cache": os.path.dirname(f)})
    return ps.one(b, m, mo, p, s, "", tmp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(ps.kev.REPO / "build" / "knotmap"))
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "knotmap_sweep"))
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--cells", default="2/roller/moderate,2/roller/hard,2/mat/moderate,2/mat/hard")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    lo, hi = (int(v) for v in a.seeds.split("-"))
    if hi >= 100:
        sys.exit("gain_oracle.py: seeds from 1000 are held back")
    os.makedirs(a.cache, exist_ok=True)
    cells = [tuple(c.split("/")) for c in a.cells.split(",")]
    # synthesise the sessions once, before the threads share the cache
    for c in cells:
        for s in range(lo, hi + 1):
            for v in VARIANTS:
                corrected(a, *c, s, v)
    print("| cell | " + " | ".join("%s F1 / AP (false, missed)" % v for v in VARIANTS) + " |")
    print("|---" * (len(VARIANTS) + 1) + "|")
    with tempfile.TemporaryDirectory() as tmp, cf.ThreadPoolExecutor(a.jobs) as ex:
        for c in cells:
            row = []
            for v in VARIANTS:
                res = list(ex.map(lambda s: one(a, *c, s, v, tmp), range(lo, hi + 1)))
                row.append("%.3f / %.3f (%d, %d)" % (
                    np.mean([r[1] for r in res]), np.nanmean([r[2] for r in res]),
                    sum(r[3] for r in res), sum(r[4] for r in res)))
            print("| %s | %s |" % ("/".join(c), " | ".join(row)))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
