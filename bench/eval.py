#!/usr/bin/python3
"""Knot detection quality: knotmap candidates against a baseline, on synthetic sessions.

For every preset (easy, moderate, hard) and seed 1..N:

  knotmap synth --preset P --seed S -o S.h5        (roller by default; --mode mat)
  knotmap process S.h5 -o R.h5
  knotmap eval R.h5 --truth S.h5 --json            -> knotmap's row

  (--modes roller,mat: both acquisition modes, one table each)

  --equilibrate adds a third row per preset, "knotmap + equilibration":
  knotmap synth ... --equilibration -o E.h5   (the same sensor under a uniform load)
  knotmap process S.h5 --equilibrate E.h5 -o R.h5

The baseline is measured on the same session and result: scikit-image's
peak_local_max on the per-taxel maximum map /frames/max (min_distance 2,
threshold_rel 0.5, edges kept), peaks converted to mm as x = col * col_pitch,
y = row * row_pitch and ranked by value; they are written as the /candidates of a
small result file and scored by the same `knotmap eval` (same matching, same
tolerance: one taxel pitch unless --tolerance).

Prints a Markdown table (means over seeds; RMS error over all matched pairs) and,
with --write-readme, writes it with the command into bench/README.md (replacing
its "Knot detection quality" section).

Usage: /usr/bin/python3 bench/eval.py [--bin build/knotmap] [--seeds 20]
                                      [--presets easy,moderate,hard] [--modes roller,mat]
                                      [--equilibrate]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
from skimage.feature import peak_local_max

REPO = Path(__file__).resolve().parents[1]


def run(binary, *args):
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("%s %s: exit %d\n%s" % (binary, " ".join(map(str, args)), r.returncode, r.stderr))
    return r.stdout


def baseline_result(result, out, min_distance, threshold_rel):
    """peak_local_max on /frames/max, written as a minimal result with /candidates."""
    with h5py.File(result) as f:
        m = f["frames/max"][:].astype(np.float64)
        rp, cp = f["session"].attrs["row_pitch_mm"], f["session"].attrs["col_pitch_mm"]
    m = np.where(np.isfinite(m), m, np.nanmin(m))  # one NaN would make it return nothing
    pk = peak_local_max(m, min_distance=min_distance, threshold_rel=threshold_rel,
                        exclude_border=False)
    if len(pk):
        pk = pk[np.argsort(-m[pk[:, 0], pk[:, 1]], kind="stable")]
    with h5py.File(out, "w") as g:
        g.attrs["schema"] = "knotmap-result"
        s = g.create_group("session")
        s.attrs["row_pitch_mm"], s.attrs["col_pitch_mm"] = rp, cp
        c = g.create_group("candidates")
        c["x_mm"] = pk[:, 1] * cp if len(pk) else np.zeros(0)
        c["y_mm"] = pk[:, 0] * rp if len(pk) else np.zeros(0)


def evaluate(binary, result, session, tolerance):
    args = ["eval", result, "--truth", session, "--json"]
    if tolerance:
        args += ["--tolerance", tolerance]
    return json.loads(run(binary, *args))


def summarise(rows):
    """Means of P, R, F1 over sessions; RMS and mean error over all matched pairs."""
    n_pairs = sum(r["n_matched"] for r in rows)
    sq = sum(r["error_rms_mm"] ** 2 * r["n_matched"] for r in rows if r["n_matched"])
    ab = sum(r["error_mean_mm"] * r["n_matched"] for r in rows if r["n_matched"])
    return {
        "precision": np.mean([r["precision"] for r in rows]),
        "recall": np.mean([r["recall"] for r in rows]),
        "f1": np.mean([r["f1"] for r in rows]),
        "f1_min": np.min([r["f1"] for r in rows]),
        "rms": math.sqrt(sq / n_pairs) if n_pairs else float("nan"),
        "mean": ab / n_pairs if n_pairs else float("nan"),
        "tol": rows[0]["tolerance_mm"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=str(REPO / "build" / "knotmap"))
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--presets", default="easy,moderate,hard")
    ap.add_argument("--modes", default="roller,mat")
    ap.add_argument("--tolerance", default=None, help="mm [one taxel pitch]")
    ap.add_argument("--min-distance", type=int, default=2)
    ap.add_argument("--threshold-rel", type=float, default=0.5)
    ap.add_argument("--equilibrate", action="store_true",
                    help="also process each session with its equilibration recording")
    ap.add_argument("--write-readme", action="store_true",
                    help="append the table to bench/README.md")
    a = ap.parse_args()

    tables, pitch = {}, {}
    with tempfile.TemporaryDirectory(prefix="km_eval_") as tmp:
        for mode in a.modes.split(","):
            lines = ["| preset | method | precision | recall | F1 (mean) | F1 (worst seed) "
                     "| error mean (mm) | error RMS (mm) | tolerance (mm) |",
                     "|---|---|---|---|---|---|---|---|---|"]
            for preset in a.presets.split(","):
                methods = ["knotmap", "baseline"] + (["knotmap + equilibration"]
                                                     if a.equilibrate else [])
                got = {m: [] for m in methods}
                for seed in range(1, a.seeds + 1):
                    s, r, b, e, re_ = (os.path.join(tmp, n)
                                       for n in ("s.h5", "r.h5", "b.h5", "e.h5", "re.h5"))
                    run(a.bin, "synth", "--mode", mode, "--preset", preset, "--seed", seed, "-o", s)
                    run(a.bin, "process", "-q", s, "-o", r)
                    baseline_result(r, b, a.min_distance, a.threshold_rel)
                    got["knotmap"].append(evaluate(a.bin, r, s, a.tolerance))
                    got["baseline"].append(evaluate(a.bin, b, s, a.tolerance))
                    if a.equilibrate:
                        run(a.bin, "synth", "--mode", mode, "--preset", preset, "--seed", seed,
                            "--equilibration", "-o", e)
                        run(a.bin, "process", "-q", s, "--equilibrate", e, "-o", re_)
                        got["knotmap + equilibration"].append(
                            evaluate(a.bin, re_, s, a.tolerance))
                    with h5py.File(r) as f:
                        pitch[mode] = (f["session"].attrs["row_pitch_mm"],
                                       f["session"].attrs["col_pitch_mm"])
                    print("%s %s seed %d: knotmap F1 %.3f, baseline F1 %.3f" % (
                        mode, preset, seed, got["knotmap"][-1]["f1"], got["baseline"][-1]["f1"]),
                        file=sys.stderr)
                for method in methods:
                    m = summarise(got[method])
                    lines.append("| %s | %s | %.3f | %.3f | **%.3f** | %.3f | %.2f | %.2f | %.2f |" % (
                        preset, method, m["precision"], m["recall"], m["f1"], m["f1_min"],
                        m["mean"], m["rms"], m["tol"]))
            tables[mode] = "\n".join(lines)
            print("%s sessions:\n%s\n" % (mode, tables[mode]))
    if a.write_readme:
        cmd = "/usr/bin/python3 bench/eval.py --seeds %d --presets %s --modes %s%s%s --write-readme" % (
            a.seeds, a.presets, a.modes, " --tolerance %s" % a.tolerance if a.tolerance else "",
            " --equilibrate" if a.equilibrate else "")
        text = (
            "\n## Knot detection quality\n\n"
            "Knot candidates (`/candidates` of `knotmap process`, default parameters) scored "
            "against the ground truth of synthetic sessions (`knotmap synth`, default geometry: "
            "32 x 32 taxels, 6 knots, 30 s at 100 Hz) by `knotmap eval`: one-to-one matching, "
            "nearest pairs first, within one taxel pitch (the larger of row and column pitch); "
            "precision, recall and F1 averaged over seeds 1-%d, errors over all matched pairs. "
            "Baseline: scikit-image 0.19.3 `peak_local_max` on the per-taxel maximum map "
            "`/frames/max` of the same result (min_distance %d, threshold_rel %.2g, edges kept), "
            "positions in grid mm (x = col * col pitch, y = row * row pitch), scored by the same "
            "`knotmap eval`. On a roller the grid turns with the roller, so grid positions are "
            "not body positions: the baseline cannot localise knots there, which is what the "
            "odometry and body map are for; on a mat grid and body coincide.\n" % (
                a.seeds, a.min_distance, a.threshold_rel))
        if a.equilibrate:
            text += (
                "\nRows \"knotmap + equilibration\": the same session processed with "
                "`--equilibrate E.h5`, E.h5 the uniform-load recording of the same synthetic "
                "sensor (`knotmap synth ... --equilibration`: 5 s, 50 kPa, the session's "
                "per-taxel gains, drift, hum, noise, dead and stuck taxels); its gain map "
                "(docs/ALGORITHMS.md 1.4) scales each taxel and masks the dead and stuck ones. "
                "The rows without it are the default processing.\n")
        for mode, table in tables.items():
            text += "\n### %s sessions (row pitch %.2f mm, column pitch %.2f mm)\n\n%s\n" % (
                mode.capitalize(), pitch[mode][0], pitch[mode][1], table)
        text += "\nProduced by:\n\n```\n%s\n```\n" % cmd
        readme = REPO / "bench" / "README.md"
        old = readme.read_text(encoding="utf-8")
        head = "\n## Knot detection quality\n"
        start = old.find(head)
        if start < 0:
            new = old + text
        else:  # replace the section, up to the next level-2 heading
            end = old.find("\n## ", start + len(head))
            new = old[:start] + text + (old[end:] if end >= 0 else "")
        readme.write_text(new, encoding="utf-8")
        print("wrote the section to %s" % readme, file=sys.stderr)


if __name__ == "__main__":
    main()
