#!/usr/bin/env bash
# Overhead benchmark: permission and unrelated syscall storms with no sensor,
# with permsentry and with auditd, in one run. Installs auditd without starting
# it, and leaves the kernel's audit state as it found it. Arguments go to
# permsentry_bench (see --help).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
ensure_packages "${PERMSENTRY_BUILD_PACKAGES[@]}"
# auditd's maintainer scripts would start it (and enable audit for every
# process started afterwards): the benchmark starts it itself.
ensure_packages_nostart auditd
build "$PERMSENTRY_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
exec "$PERMSENTRY_ROOT/build/bench/permsentry_bench" --sensor "$PERMSENTRY_ROOT/build/permsentry" "$@"
