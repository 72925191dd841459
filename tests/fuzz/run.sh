#!/usr/bin/env bash
# Build the fuzz targets with clang (-fsanitize=fuzzer,address,undefined),
# fuzz each for a bounded time, then replay every regression file and the
# seed corpus once as a plain test.  Exit 0 only when nothing was found.
#
#   tests/fuzz/run.sh                 every target, 30 s each, at most 210 s in
#                                     all (CI budget: the whole step < 5 min)
#   tests/fuzz/run.sh -t 10 text      one target, 10 s
#   tests/fuzz/run.sh -t 0            no fuzzing: build and replay only
#   tests/fuzz/run.sh -c              CI mode: deterministic, every target
#                                     -runs=N inputs (not a time) from a
#                                     fixed -seed, single job, starting from
#                                     tests/fuzz/corpus only (the grown corpus
#                                     is not used), then the replay.  The same
#                                     checkout always runs the same inputs, so
#                                     CI never fails by chance; about 2-3 min
#                                     with the clang build on 2 cores.
#   tests/fuzz/run.sh -n 5000 -s 7 text   the same for one target, own N/seed
#   tests/fuzz/run.sh -b              build the targets and stop (.ci/dev builds
#                                     while other steps run, then runs -c)
#
# Environment: KM_FUZZ_BUILD (build dir [build-fuzz]), KM_FUZZ_SECONDS
# (per-target time [30, or 210 s shared out when more than 7 targets]),
# KM_FUZZ_JOBS (cmake -j [2]), KM_FUZZ_RUNS (-c: inputs per target [8000]),
# KM_FUZZ_SEED (-c/-n: libFuzzer -seed [1]), KM_FUZZ_TIMEOUT (timed mode:
# per-input -timeout in seconds [10]; raise it for long campaigns on a loaded
# machine, where ASan's quarantine work alone can pass 10 s).
#
# Findings: libFuzzer writes crash-*/leak-*/timeout-*/oom-* files into
# $KM_FUZZ_BUILD/fuzz-artifacts/<target>/; copy the reproducer to
# tests/fuzz/regressions/<target>/ (name it after the bug) once it is fixed,
# so the replay step keeps it fixed.  The grown corpus stays in the build
# dir ($KM_FUZZ_BUILD/fuzz-corpus/<target>); merge interesting inputs into
# tests/fuzz/corpus/ with -merge=1 by hand, keeping it small.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=$PWD
BUILD=${KM_FUZZ_BUILD:-build-fuzz}
SECONDS_EACH=${KM_FUZZ_SECONDS:-}
JOBS=${KM_FUZZ_JOBS:-2}
RUNS=             # set: deterministic mode, this many inputs per target
BUILD_ONLY=
SEED=${KM_FUZZ_SEED:-1}
TIMEOUT=${KM_FUZZ_TIMEOUT:-10}

while getopts "t:n:s:cbh" o; do
  case $o in
    b) BUILD_ONLY=1 ;;
    t) SECONDS_EACH=$OPTARG ;;
    n) RUNS=$OPTARG ;;
    s) SEED=$OPTARG ;;
    c) RUNS=${KM_FUZZ_RUNS:-8000} ;;
    *) sed -n '2,34p' "$0"; exit 64 ;;
  esac
done
[ -n "$RUNS" ] && SECONDS_EACH=0
shift $((OPTIND - 1))

if ! command -v clang >/dev/null; then
  echo "fuzz: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 77
fi

CC=clang cmake -S "$SRC" -B "$BUILD" -DPython3_EXECUTABLE=/usr/bin/python3 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKM_BUILD_FUZZ=ON -DKM_BUILD_PYTHON=OFF -DKM_BUILD_TESTS=OFF >/dev/null

# The target list comes from tests/fuzz/CMakeLists.txt (it adds `geometry`
# when the CLI's option parser exists).
ALL=$(sed -n 's/^set(KM_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
[ -f src/cli/options.c ] && ALL="$ALL geometry"
TARGETS=${*:-$ALL}
if [ -z "$SECONDS_EACH" ]; then
  n=$(echo $TARGETS | wc -w)
  SECONDS_EACH=$((210 / n))
  [ "$SECONDS_EACH" -gt 30 ] && SECONDS_EACH=30
fi

build_targets=()
for t in $TARGETS; do build_targets+=("fuzz_$t" "replay_$t"); done
t0=$SECONDS
cmake --build "$BUILD" -j"$JOBS" --target "${build_targets[@]}" >"$BUILD/fuzz-build.log" 2>&1 || {
  tail -40 "$BUILD/fuzz-build.log" >&2; echo "fuzz: build failed (log: $BUILD/fuzz-build.log)" >&2; exit 1; }
if [ -n "$BUILD_ONLY" ]; then
  echo "fuzz: built $(echo $TARGETS | wc -w) targets in $((SECONDS - t0))s ($BUILD)"
  exit 0
fi
echo "fuzz: build $((SECONDS - t0))s ($BUILD)" >&2

# max_allocation_size_mb: one allocation over the RSS limit fails at once
# (NULL, as allocator_may_return_null asks) instead of ASan first writing its
# shadow (an eighth of the size: libhdf5's H5C_protect asks malloc for a 16
# GiB object header a damaged session declares, whose 2 GiB of shadow
# crossed -rss_limit_mb before the malloc hook could name libhdf5; session
# 42, seed 1).  knotmap's own allocations stay under its memory budget.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:max_allocation_size_mb=2048}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# libhdf5 1.10.8 leaks part of its metadata cache when H5Fopen fails on a
# damaged file: not knotmap's to fix, and it would stop every session run.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SRC/tests/fuzz/lsan.supp:print_suppressions=0}

# Where a finding's fault lies: the innermost stack frame that is neither
# the sanitizer, libFuzzer, libc nor an allocator (libc's frames by its
# shared object, or by its source folders when symbolised: abort, raise,
# pthread_kill and the stack protector's __stack_chk_fail).  libhdf5 or
# libsndfile there means a bug of that library itself (both have open parser
# CVEs; tests/fuzz/libhdf5/, tests/fuzz/libsndfile/): reported apart, the
# input kept in $BUILD/fuzz-libhdf5/ (every library's), and fuzzing goes on.
culprit() {
  sed -n '/ERROR: \(AddressSanitizer\|libFuzzer\|UndefinedBehaviorSanitizer\|LeakSanitizer\)\|runtime error\|contract violated/,$p' "$1" |
    grep -E '^ *#[0-9]+ ' |
    grep -vE 'libclang_rt|fuzzer::|__sanitizer|__asan|__ubsan|__lsan|__interceptor|libc\.so|sysdeps/|(nptl|stdlib|libio|debug|signal)/|in (malloc|calloc|realloc|free|abort|raise|__mem[a-z_0-9]*|mem[a-z]*|str[a-z]*|__pthread_kill[a-z_]*|__libc_message|__fortify_fail|__stack_chk_fail) ' |
    head -1 || true # pipefail: head closing early (SIGPIPE) or no match must not stop the script
}

# glibc's stack protector fired ("stack smashing detected") and the
# sanitizer's report then crashed, so neither a stack nor the input was kept.
# knotmap's fuzz build has no stack protector (no __stack_chk_fail in the
# binary), so the canary that fired guards a system library's frame: libhdf5,
# which parses the damaged file.  Seen once in CI (session target, 2026-12-02).
canary_in_library() { # LOG BINARY
  local u
  grep -q 'stack smashing detected' "$1" && [ -z "$(culprit "$1")" ] &&
    u=$(nm -D -u "$2" 2>/dev/null) && [[ $u == *malloc* && $u != *__stack_chk_fail* ]]
}

rc=0
summary=()
for t in $TARGETS; do
  bin="$BUILD/tests/fuzz/fuzz_$t"
  art="$BUILD/fuzz-artifacts/$t/"
  work="$BUILD/fuzz-corpus/$t"
  mkdir -p "$art" "$work" "$BUILD/fuzz-libhdf5"
  opts=()
  # Stacks through libhdf5 (built without frame pointers) need the slow
  # unwinder, or the suppression above cannot see H5F_open (matlab: v7.3
  # MAT-files are HDF5).
  case $t in session|auto|result|matlab) opts=(env ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0") ;; esac
  # Results are about 110 KiB even for a tiny session (one object header
  # and chunk index per table): a shorter limit would cut every seed.
  maxlen=65536
  [ "$t" = result ] && maxlen=262144
  left=$SECONDS_EACH
  runs=0
  verdict="nothing found"
  if [ -n "$RUNS" ]; then
    # Deterministic: a fresh, empty work dir first (libFuzzer writes new
    # inputs into the first dir; never into tests/fuzz/corpus), the seeds,
    # a fixed seed and -runs.  -timeout=20 s against a few ms per input:
    # on a loaded machine an input must be really stuck to count (libhdf5's
    # own hangs cost those 20 s each).  A libhdf5
    # finding is not knotmap's bug and the same seed finds it every time:
    # keep it, and spend the runs left on the next seed (still the same
    # inputs on every CI run).
    rm -rf "$work"; mkdir -p "$work"
    t0=$(date +%s)
    left_runs=$RUNS done_runs=0 s=$SEED n_hdf5=0
    # Results are 100-200 KiB each (a few execs/s under ASan): a 40th of the
    # runs keeps this target to seconds in CI.
    [ "$t" = result ] && left_runs=$(( (RUNS + 39) / 40 ))
    for attempt in 1 2 3 4 5; do
      [ "$left_runs" -gt 0 ] || break
      rm -f "$art"* 2>/dev/null || true
      echo "== fuzz $t: $left_runs runs, seed $s" >&2
      ok=1
      "${opts[@]}" "$bin" -seed="$s" -runs="$left_runs" -timeout=20 -rss_limit_mb=2048 -max_len="$maxlen" \
        -print_final_stats=1 -artifact_prefix="$art" "$work" "tests/fuzz/corpus/$t" \
        >"$BUILD/fuzz-$t.log" 2>&1 || ok=0
      # libFuzzer prints its final stats again when it dies: the last count
      n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/fuzz-$t.log" | grep -o '[0-9]*$' | tail -1 || true)
      n=${n:-0}
      done_runs=$((done_runs + n))
      [ "$ok" = 1 ] && break
      where=$(culprit "$BUILD/fuzz-$t.log")
      finding=$(ls "$art" | head -1)
      if [ -n "$finding" ] && echo "$where" | grep -qE 'libhdf5|libsndfile'; then
        cp "$art$finding" "$BUILD/fuzz-libhdf5/$t-$finding"
        n_hdf5=$((n_hdf5 + 1))
        left_runs=$((left_runs - (n > 0 ? n : 1)))
        s=$((s + 1000))
        continue
      fi
      if [ -z "$finding" ] && canary_in_library "$BUILD/fuzz-$t.log" "$bin"; then
        cp "$BUILD/fuzz-$t.log" "$BUILD/fuzz-libhdf5/$t-stack-protector-seed$s.log"
        n_hdf5=$((n_hdf5 + 1))
        left_runs=$((left_runs - (n > 0 ? n : 1)))
        s=$((s + 1000))
        continue
      fi
      rc=1
      verdict="FOUND ${finding:-?} with seed $s (log: $BUILD/fuzz-$t.log)"
      grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error|contract violated' "$BUILD/fuzz-$t.log" >&2 || true
      echo "   at: $where" >&2
      break
    done
    note=""
    [ "$n_hdf5" -eq 0 ] || note=" ($n_hdf5 libhdf5/libsndfile findings, not knotmap's: $BUILD/fuzz-libhdf5/)"
    summary+=("$t: fuzzed $done_runs runs from seed $SEED in $(($(date +%s) - t0))s: $verdict$note")
  fi
  while [ "$left" -ge 3 ]; do
    echo "== fuzz $t for ${left}s" >&2
    t0=$(date +%s)
    rm -f "$art"* 2>/dev/null || true
    # -rss_limit_mb: a reader that trusts a header count for an allocation
    # shows up as an OOM here, which is a finding too.
    if "${opts[@]}" "$bin" -max_total_time="$left" -timeout="$TIMEOUT" -rss_limit_mb=2048 -max_len="$maxlen" \
         -print_final_stats=1 -artifact_prefix="$art" "$work" "tests/fuzz/corpus/$t" \
         >"$BUILD/fuzz-$t.log" 2>&1; then
      runs=$((runs + $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/fuzz-$t.log" | grep -o '[0-9]*$' | tail -1 || echo 0)))
      break
    fi
    where=$(culprit "$BUILD/fuzz-$t.log")
    finding=$(ls "$art" | grep -v '^slow-unit-' | head -1 || true)
    # A timeout whose input then replays within the per-input limit (same
    # sanitizers, same machine) is not a hang: under load, ASan returning its
    # quarantine to the OS (madvise under free) has passed 30 s.  Kept in
    # $BUILD/fuzz-load-timeouts/, and fuzzing goes on.
    if [ -n "$finding" ] && [ "${finding#timeout-}" != "$finding" ]; then
      r0=$(date +%s)
      if timeout "$TIMEOUT" "$BUILD/tests/fuzz/replay_$t" "$art$finding" >/dev/null 2>&1; then
        mkdir -p "$BUILD/fuzz-load-timeouts"
        cp "$art$finding" "$BUILD/fuzz-load-timeouts/$t-$finding"
        cp "$BUILD/fuzz-$t.log" "$BUILD/fuzz-load-timeouts/$t-$finding.log"
        summary+=("$t: timeout under load, not a hang: $finding replays in $(($(date +%s) - r0)) s (at:$(echo "$where" | sed 's/(BuildId.*//'))")
        left=$((left - ($(date +%s) - t0)))
        continue
      fi
    fi
    if [ -n "$finding" ] && echo "$where" | grep -qE 'libhdf5|libsndfile'; then
      cp "$art$finding" "$BUILD/fuzz-libhdf5/$t-$finding"
      cp "$BUILD/fuzz-$t.log" "$BUILD/fuzz-libhdf5/$t-$finding.log"
      summary+=("$t: libhdf5/libsndfile finding (not knotmap): $BUILD/fuzz-libhdf5/$t-$finding at:$(echo "$where" | sed 's/(BuildId.*//')")
      left=$((left - ($(date +%s) - t0)))
      continue
    fi
    rc=1
    verdict="FOUND ${finding:-?} (log: $BUILD/fuzz-$t.log)"
    grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error|contract violated' "$BUILD/fuzz-$t.log" >&2 || true
    echo "   at: $where" >&2
    break
  done
  [ "$SECONDS_EACH" -gt 0 ] && summary+=("$t: fuzzed ${SECONDS_EACH}s ($runs runs in the last round): $verdict")
  echo "== replay $t: regressions and seed corpus" >&2
  if timeout 300 "$BUILD/tests/fuzz/replay_$t" "tests/fuzz/regressions/$t" "tests/fuzz/corpus/$t" \
       >"$BUILD/replay-$t.log" 2>&1; then
    summary+=("$t: replay $(tail -1 "$BUILD/replay-$t.log" | sed 's/^replay: //')")
  else
    rc=1
    summary+=("$t: REPLAY FAILED (log: $BUILD/replay-$t.log)")
    tail -30 "$BUILD/replay-$t.log" >&2
  fi
done
# Scratch files of fuzz processes that stopped at a crash (their own are removed at exit);
# a live fuzzer (another target run at the same time) touches its own every run.
find /dev/shm /tmp -maxdepth 1 -name 'knotmap-fuzz-*' -user "$(id -u)" -mmin +10 -delete 2>/dev/null || true
printf '%s\n' "${summary[@]}"
exit $rc
