#!/usr/bin/env bash
# Quick start: install what is missing, build, run the sensor in the foreground
# on its built-in default configuration. Extra arguments go to `permsentry run`
# (e.g. --format text). Stop with Ctrl-C.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
ensure_packages "${PERMSENTRY_BUILD_PACKAGES[@]}"
build "$PERMSENTRY_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
exec "$PERMSENTRY_ROOT/build/permsentry" run "$@"
