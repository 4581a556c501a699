#!/usr/bin/env bash
# Overhead benchmark: permission and unrelated syscall storms with no sensor,
# with permsentry and with auditd, in one run. Installs auditd without starting
# it, and leaves the kernel's audit state as it found it. Arguments go to
# permsentry_bench (see --help).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
ensure_packages "${PERMSENTRY_BUILD_PACKAGES[@]}"
if ! dpkg-query -W -f='${Status}' auditd 2>/dev/null | grep -q 'install ok installed'; then
  # Keep the package's maintainer scripts from starting auditd (and enabling
  # audit for every process started afterwards): the benchmark starts it itself.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  ensure_packages auditd
  rm -f /usr/sbin/policy-rc.d
fi
build "$PERMSENTRY_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
exec "$PERMSENTRY_ROOT/build/bench/permsentry_bench" --sensor "$PERMSENTRY_ROOT/build/permsentry" "$@"
