#!/usr/bin/env bash
# Cross-compile cltrace's native shim for AArch64 Linux (glibc), e.g. Arm boards with Mali GPUs.
#
#   scripts/cross_build.sh [OUTDIR]        (default: build/aarch64)
#
# Runs setup.py's own BuildNative (build_ext) with CC=aarch64-linux-gnu-gcc, so the sources and flags are
# exactly those of the host build. The OpenCL headers are taken from a private include directory holding
# only a copy of $CL_INCLUDE/CL (default /usr/include/CL, Debian's opencl-c-headers): adding -I/usr/include
# itself would let the host's glibc headers shadow the cross toolchain's.
#
# OUTDIR gets the same layout as cltrace/_native/ (copy it to the board):
#   libcltrace_layer.so  libcltrace_preload.so  shadow/libOpenCL.so.1  cltrace.h  cltrace_format.h  cltrace_options.def
#
# Environment: CROSS_CC (default aarch64-linux-gnu-gcc), CL_INCLUDE (default /usr/include),
#              PYTHON (default .venv/bin/python, else python3; needs setuptools).
# Debian/Ubuntu: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross opencl-c-headers
#                (./dev setup installs them).
set -euo pipefail

die() { printf 'cross_build.sh: error: %s\n' "$*" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=${1:-$ROOT/build/aarch64}
case $OUTDIR in /*) ;; *) OUTDIR=$PWD/$OUTDIR ;; esac
CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
CL_INCLUDE=${CL_INCLUDE:-/usr/include}
INSTALL_HINT="on Debian/Ubuntu: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross (or run ./dev setup)"

command -v "${CROSS_CC%% *}" >/dev/null 2>&1 \
  || die "the AArch64 cross compiler '$CROSS_CC' was not found on PATH; $INSTALL_HINT"

for h in cl.h cl_icd.h cl_layer.h cl_ext.h; do
  [ -f "$CL_INCLUDE/CL/$h" ] || die "OpenCL header $CL_INCLUDE/CL/$h is missing; install opencl-c-headers or set CL_INCLUDE"
done

if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python
else PY=python3; fi
"$PY" -c 'import setuptools' 2>/dev/null || die "'$PY' cannot import setuptools (set PYTHON, or run ./dev setup)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cltrace-cross.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/include"
cp -rL "$CL_INCLUDE/CL" "$WORK/include/"

# The cross toolchain must come with its own C library headers (libc6-dev-arm64-cross).
printf '#include <stdio.h>\n#include <pthread.h>\nint main(void){return 0;}\n' > "$WORK/probe.c"
$CROSS_CC -c "$WORK/probe.c" -o "$WORK/probe.o" 2>"$WORK/probe.err" \
  || die "'$CROSS_CC' cannot compile against its C library ($(head -n1 "$WORK/probe.err")); $INSTALL_HINT"

# CFLAGS="" replaces the host interpreter's own CFLAGS (which may hold x86-only options); the include
# directory goes in through CPPFLAGS. setup.py links with "<CC> -shared" plus its own flags.
echo "cross_build.sh: building the shim with $CROSS_CC into $OUTDIR" >&2
(cd "$ROOT" && env CLTRACE_GUEST_SHIMS=0 CC="$CROSS_CC" CFLAGS="" CPPFLAGS="-I$WORK/include" LDFLAGS="" LDSHARED="$CROSS_CC -shared" \
   "$PY" setup.py -q build_ext --force --build-lib "$WORK/lib" --build-temp "$WORK/tmp" >"$WORK/build.log" 2>&1) \
  || { cat "$WORK/build.log" >&2; die "the cross build failed (log above)"; }

# Each file is replaced by a rename, never rewritten in place: a program running under qemu may have the old
# library mapped (a sweep in progress), and truncating a mapped file crashes it.
mkdir -p "$OUTDIR"
(cd "$WORK/lib/cltrace/_native" && find . -type f) | while read -r f; do
  mkdir -p "$(dirname "$OUTDIR/$f")"
  cp "$WORK/lib/cltrace/_native/$f" "$OUTDIR/$f.tmp.$$" && mv -f "$OUTDIR/$f.tmp.$$" "$OUTDIR/$f"
done
for f in libcltrace_layer.so libcltrace_preload.so shadow/libOpenCL.so.1; do
  [ -f "$OUTDIR/$f" ] || die "build finished but $OUTDIR/$f is missing"
done
if command -v readelf >/dev/null 2>&1; then
  machine=$(readelf -h "$OUTDIR/libcltrace_layer.so" | sed -n 's/^ *Machine: *//p')
  [ "$machine" = AArch64 ] || die "built $OUTDIR/libcltrace_layer.so for '$machine', not AArch64 (is CROSS_CC a cross compiler?)"
fi
echo "cltrace: aarch64 shim in $OUTDIR:" >&2
(cd "$OUTDIR" && ls -1 libcltrace_layer.so libcltrace_preload.so shadow/libOpenCL.so.1) >&2
