#!/usr/bin/env bash
# ./dev sanitize [PYTEST ARGS]: the shim and the native store/scan libraries under sanitizers, in .sanitize/
# (cltrace/_native is never touched). docs/capture.md ("The shim under sanitizers") says what runs and why.
#  1. ASan+UBSan: a copy of the cltrace package whose _native holds the libraries built with
#     -fsanitize=address,undefined (scripts/sanitize_build.py: setup.py's sources and flags), and the
#     threaded capture tests run with it, libasan preloaded into pytest and so into every program it traces
#     (both capture modes; the store and scan libraries run inside pytest itself). Then the threaded test
#     programs as plain C processes (scripts/sanitize_run.py).
#  2. TSan: the libraries built with -fsanitize=thread and the same C processes, the programs built with
#     -fsanitize=thread too (a libtsan only preloaded into an uninstrumented program crashes in GCC 12's
#     __tls_get_addr interceptor, which is also why Python cannot host it).
# Every report lands in .sanitize/{asan,tsan}/logs/; the run fails when a test fails or any report exists.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-$ROOT/.venv/bin/python}
CC=${CC:-cc}
OUT=$ROOT/.sanitize
TESTS=(tests/integration/test_sync_patterns.py tests/integration/test_capture_robustness.py
       tests/integration/test_faults.py tests/integration/test_hardening.py)
PROG_CFLAGS="-O1 -g -Wall -Wno-deprecated-declarations -DCL_TARGET_OPENCL_VERSION=300"
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$ROOT/.pocl-cache}
# A TSan suppression file, when PoCL or the ICD loader need one (none did on PoCL 3.1 / ocl-icd 2.3: the
# driver's threads are not instrumented, and the shim's handoffs to them go through pthread calls TSan sees)
TSAN_SUPP=$ROOT/scripts/tsan.supp

say() { printf '\033[1m[sanitize]\033[0m %s\n' "$*" >&2; }
failed=()

runtime() {   # the compiler's sanitizer runtime, or nothing
  local p; p=$("$CC" -print-file-name="$1")
  [ -f "$p" ] && echo "$p"
}

reports() {   # print and count the sanitizer reports in $1
  local n=0 f
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    say "report $f:"
    grep -E "^(SUMMARY|WARNING|ERROR)|runtime error|^    #[0-4] " "$f" | head -40 >&2
  done
  echo "$n"
}

# 1. ASan + UBSan --------------------------------------------------------------------------------------------
A=$OUT/asan
rm -rf "$A" && mkdir -p "$A/pkg" "$A/logs" "$A/run" "$A/tmp"
LIBASAN=$(runtime libasan.so)
if [ -z "$LIBASAN" ]; then
  say "no libasan.so for $CC: ASan+UBSan not run"; failed+=("asan: no runtime")
else
  say "building the ASan+UBSan libraries into $A/pkg/cltrace/_native"
  cp -r cltrace "$A/pkg/" && rm -rf "$A/pkg/cltrace/_native" && find "$A/pkg" -name __pycache__ -prune -exec rm -rf {} +
  "$PY" scripts/sanitize_build.py "$A/pkg/cltrace/_native" address,undefined || exit 1
  # detect_leaks=0: the traced programs and Python leave memory to exit by design; the leak checker would
  # report theirs (and PoCL's), not the shim's. handle_segv/sigbus=0: the tests kill programs with SIGSEGV on
  # purpose (tests/programs/crash.c) and check that they die of it with their launches kept; a segfault of
  # the shim itself still fails its test (the program dies), only without ASan's stack
  ASAN_ENV=(ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0:handle_segv=0:handle_sigbus=0:log_path=$A/logs/asan"
            UBSAN_OPTIONS="print_stacktrace=1:handle_segv=0:handle_sigbus=0:log_path=$A/logs/ubsan")
  say "pytest ${TESTS[*]} under ASan+UBSan (from $A/run, so that the sanitized copy is the cltrace imported)"
  # TMPDIR of its own: `cltrace run` notes capture directories other runs left in the temporary directory, and
  # on a shared machine another user's would change the exact messages these tests compare
  (cd "$A/run" && env "${ASAN_ENV[@]}" TMPDIR="$A/tmp" PYTHONPATH="$A/pkg:$ROOT/scripts" SANITIZE_NATIVE="$A/pkg/cltrace/_native" \
     LD_PRELOAD="$LIBASAN" "$PY" -m pytest -q -p no:cacheprovider -p sanitize_check --rootdir "$ROOT" \
     "${TESTS[@]/#/$ROOT/}" "$@") || failed+=("asan: pytest")
  say "threaded test programs under ASan+UBSan (C processes)"
  "$PY" scripts/sanitize_run.py "$A/pkg/cltrace/_native" tests/programs/bin "$A/logs" "$LIBASAN" \
    || failed+=("asan: programs")
  n=$(reports "$A/logs"); [ "$n" = 0 ] || failed+=("asan: $n reports")
  say "ASan+UBSan: $n reports"
fi

# 2. TSan ----------------------------------------------------------------------------------------------------
T=$OUT/tsan
rm -rf "$T" && mkdir -p "$T/logs"
if [ -z "$(runtime libtsan.so)" ]; then
  say "no libtsan.so for $CC: TSan not run"
elif ! printf 'int main(void){return 0;}\n' | "$CC" -fsanitize=thread -x c -o "$T/probe" - 2>/dev/null \
     || ! msg=$("$T/probe" 2>&1); then
  say "TSan does not run on this machine, not run: ${msg:-the probe did not build}"
else
  say "building the TSan libraries and test programs into $T"
  "$PY" scripts/sanitize_build.py "$T/native" thread || exit 1
  make -s -C tests/programs BIN="$T/bin" CFLAGS="$PROG_CFLAGS -fsanitize=thread" \
    "$T/bin/threads" "$T/bin/linked" "$T/bin/loop" >/dev/null || exit 1
  supp=""; [ -f "$TSAN_SUPP" ] && supp=":suppressions=$TSAN_SUPP"
  say "threaded test programs under TSan"
  TSAN_OPTIONS="second_deadlock_stack=1$supp" "$PY" scripts/sanitize_run.py "$T/native" "$T/bin" "$T/logs" \
    || failed+=("tsan: programs")
  n=$(reports "$T/logs"); [ "$n" = 0 ] || failed+=("tsan: $n reports")
  say "TSan: $n reports"

  # The canary: a set-up that cannot report anything proves nothing. pending.c's owner publishes a ring's new
  # tail with a release store that claim_walk (another thread's clFinish) reads with acquire; made a plain
  # store, TSan must report the race when threads claim from rings still being written. It sees a race only
  # when nothing else (PoCL's own locks) orders the two accesses: about one run in two here, so 6 runs a round
  # (scripts/sanitize_run.py --canary), up to 3 rounds.
  C=$OUT/canary
  rm -rf "$C" && mkdir -p "$C/src" "$C/logs" && cp -r native/. "$C/src/"
  sed -i 's/__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);/r->tail = tail + 1;/' "$C/src/pending.c"
  if cmp -s native/pending.c "$C/src/pending.c"; then
    say "canary: its patch no longer applies to native/pending.c (update scripts/sanitize.sh)"
    failed+=("tsan: canary stale")
  else
    say "canary: TSan must report the tail store of native/pending.c made plain"
    SANITIZE_SRC="$C/src" "$PY" scripts/sanitize_build.py "$C/native" thread || exit 1
    for try in 1 2 3; do
      TSAN_OPTIONS="$supp" "$PY" scripts/sanitize_run.py "$C/native" "$T/bin" "$C/logs" --canary >>"$C/runs.txt" 2>&1
      n=$(ls "$C/logs" | wc -l)
      [ "$n" -gt 0 ] && break
    done
    if [ "$n" -gt 0 ] && grep -q "data race" "$C"/logs/*; then
      say "canary: reported ($n reports, e.g. $(grep -m1 -h -A2 'data race' "$C"/logs/* | tail -1 | sed 's/^ *//'))"
    else
      say "canary: NOT reported: TSan would miss a race in pending.c here"; failed+=("tsan: canary missed")
    fi
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "clean: no sanitizer reports, every test and program run passed"
