#!/usr/bin/env bash
# A private arm64 sysroot with Arm Compute Library 20.08 and PoCL, from Debian 12's own packages, for running
# ACL programs on an x86_64 host under qemu-user (./dev acl, docs/acl.md).
#
#   scripts/acl_sysroot.sh [DIR]          (default: .acl; idempotent, ~1 minute when nothing is there yet)
#
# DIR/sysroot   the unpacked arm64 packages (ACL, PoCL, ocl-icd and their libraries), ~380 MB
# DIR/vendors   an ICD directory naming the sysroot's libpocl.so.2 by its host path (PoCL finds its kernel
#               library next to itself, and qemu -L does not remap the path PoCL computes), for OCL_ICD_VENDORS
# DIR/env       the environment for running a guest program (source it, or let ./dev acl do it)
#
# Never installs a foreign-architecture package: that would replace the host's own PoCL (amd64 and arm64
# pocl-opencl-icd conflict) and break OpenCL on the machine. apt runs with a private state directory and
# APT::Architecture=arm64, downloads into DIR, and `dpkg-deb -x` unpacks; /etc/apt and dpkg's database are
# not touched. Host packages (qemu-user-static, the aarch64 cross compilers) are installed by ./dev acl.
set -euo pipefail

die() { printf 'acl_sysroot.sh: error: %s\n' "$*" >&2; exit 2; }
say() { printf '\033[1m[acl]\033[0m %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$ROOT/.acl}
case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
SYSROOT=$DIR/sysroot
MIRROR=${ACL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${ACL_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
SUITE=${ACL_DEBIAN_SUITE:-bookworm}
KEYRING=${ACL_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

# What ACL 20.08 with PoCL 3.1 needs at run time (the closure of their NEEDED entries in bookworm).
PACKAGES="libarm-compute20 libarm-compute-dev pocl-opencl-icd libpocl2 libpocl2-common ocl-icd-libopencl1 clinfo
          libllvm15 libclang-cpp15 libclang-common-15-dev libhwloc15 libudev1 libc6 libgcc-s1 libstdc++6 libedit2
          libffi8 libtinfo6 libxml2 libz3-4 zlib1g libicu72 liblzma5 libbsd0 libmd0"

command -v apt-get >/dev/null || die "apt-get not found: the sysroot is built from Debian packages (Debian 12 or later)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
[ -f "$KEYRING" ] || die "Debian archive keyring $KEYRING is missing (apt-get install debian-archive-keyring)"

STAMP=$DIR/.sysroot-done
want=$(printf '%s\n' $PACKAGES "$SUITE" | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$SYSROOT/usr/lib/aarch64-linux-gnu/libarm_compute.so.20" ]; then
  exit 0
fi

APT=$DIR/apt
mkdir -p "$APT/state/lists/partial" "$APT/cache/archives/partial" "$APT/etc" "$DIR/debs"
: > "$APT/state/status"
cat > "$APT/etc/sources.list" <<EOF
deb [arch=arm64 signed-by=$KEYRING] $MIRROR $SUITE main
deb [arch=arm64 signed-by=$KEYRING] $SECURITY $SUITE-security main
EOF
APTOPTS=(-o "Dir::State=$APT/state" -o "Dir::State::status=$APT/state/status" -o "Dir::Cache=$APT/cache"
         -o "Dir::Etc::SourceList=$APT/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
         -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
         -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Debug::NoLocking=1
         -o APT::Sandbox::User=root)

say "fetching the arm64 package lists (private apt state in $APT)"
apt-get "${APTOPTS[@]}" -qq update || die "apt-get update of the arm64 lists failed (is $MIRROR reachable?)"
say "downloading $(echo $PACKAGES | wc -w) arm64 packages into $DIR/debs"
rm -f "$DIR"/debs/*.deb
(cd "$DIR/debs" && apt-get "${APTOPTS[@]}" -qq download $PACKAGES) || die "apt-get download failed"

say "unpacking into $SYSROOT"
rm -rf "$SYSROOT.tmp"
mkdir -p "$SYSROOT.tmp"
for deb in "$DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$SYSROOT.tmp"; done
# Static archives are 150 MB of nothing we link.
rm -f "$SYSROOT.tmp"/usr/lib/aarch64-linux-gnu/libarm_compute*-static.a
# ACL dlopen()s the unversioned name (the -dev symlink of ocl-icd is not needed otherwise).
ln -sf libOpenCL.so.1 "$SYSROOT.tmp/usr/lib/aarch64-linux-gnu/libOpenCL.so"
rm -rf "$SYSROOT"
mv "$SYSROOT.tmp" "$SYSROOT"

mkdir -p "$DIR/vendors"
echo "$SYSROOT/usr/lib/aarch64-linux-gnu/libpocl.so.2" > "$DIR/vendors/pocl-arm64.icd"
cat > "$DIR/env" <<EOF
# Source this to run aarch64 OpenCL programs from $SYSROOT under qemu (written by scripts/acl_sysroot.sh).
export QEMU_LD_PREFIX=$SYSROOT
export OCL_ICD_VENDORS=$DIR/vendors
EOF
echo "$want" > "$STAMP"
say "sysroot ready: $(du -sh "$SYSROOT" | cut -f1) in $SYSROOT"
