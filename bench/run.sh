#!/bin/sh
# The one benchmark command: build knotmap-bench (Release), run it, then the
# peer comparison on the same session.  A few minutes on 2 cores.
#
#   bench/run.sh [--quick | --full | --build-only] [OUT_DIR]   [--quick, /tmp/knotmap-bench-results]
#
# Writes OUT_DIR/bench.txt, bench.jsonl (knotmap-bench), compare.txt,
# compare.jsonl (bench/compare.py), machine.txt, the session they share and
# summary.txt (end to end, the floor line, the peer ratio).  --build-only
# stops after the build (CI runs it from a clean folder: KM_BENCH_BUILD).
set -eu
mode=--quick
case "${1:-}" in --quick|--full|--build-only) mode=$1; shift ;; esac
out=${1:-/tmp/knotmap-bench-results}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${KM_BENCH_BUILD:-$src/build-bench}
secs=60
[ "$mode" = --full ] && secs=600

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DKM_BUILD_BENCH=ON \
      -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
# knotmap_cli is the command (built as "knotmap"); the target "knotmap" is the library.
cmake --build "$build" -j2 --target knotmap_cli knotmap-bench >/dev/null
for b in "$build/knotmap" "$build/bench/knotmap-bench"; do
  [ -x "$b" ] || { echo "bench/run.sh: the build did not produce $b" >&2; exit 1; }
done
[ "$mode" = --build-only ] && { echo "built $build/knotmap $build/bench/knotmap-bench"; exit 0; }
mkdir -p "$out"
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$src" diff --quiet 2>/dev/null; then commit="$commit+dirty"; fi
session="$out/roller32_${secs}s_seed1.h5"
[ -f "$session" ] || "$build/knotmap" synth --mode roller --grid 32x32 --rate 100 \
      --duration "$secs" --seed 1 -o "$session"
{ lscpu | grep -E '^(Model name|CPU family|Model|CPU\(s\)|Thread|Core)'; uptime; } | tee "$out/machine.txt"
"$build/bench/knotmap-bench" "$mode" --commit "$commit" --session "$session" \
      --tmp "$out/tmp" --json "$out/bench.jsonl" | tee "$out/bench.txt"
/usr/bin/python3 "$src/bench/compare.py" --session "$session" --knotmap "$build/knotmap" \
      --bench-json "$out/bench.jsonl" --json "$out/compare.jsonl" | tee "$out/compare.txt"
{ echo "== summary ($(uptime))"
  grep -E '^(e2e/process|e2e/floor|e2e/memory_10x|threads/2 |threads/2same ) ' "$out/bench.txt" || true
  grep -E '^(knotmap process|reference|peer / knotmap)' "$out/compare.txt" || true
} | tee "$out/summary.txt"
echo "results in $out"
