#!/usr/bin/env bash
# The whole test suite, as root: unit and integration tests on the normal build
# (with the real agent CLIs, Claude Code, Codex and Gemini CLI, installed from
# npm into a cache), the integration suites in qemu VMs on Debian's 6.1 and
# 6.12 kernels on both capture backends, then the host suites again with
# AddressSanitizer + UBSan (clang) plus a libFuzzer run of the decoder. Prints
# ctest's summary for each.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
ensure_packages "${PERMSENTRY_BUILD_PACKAGES[@]}"
ensure_packages_nostart "${PERMSENTRY_TEST_PACKAGES[@]}"

build "$PERMSENTRY_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
build "$PERMSENTRY_ROOT/build-asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DPERMSENTRY_SANITIZE=ON -DPERMSENTRY_FUZZ=ON -DPERMSENTRY_BENCH=OFF

# The real agent CLIs (npm) the RealAgents tests run; without the registry
# those tests skip with the reason this leaves in the cache.
log "real agent CLIs for the attribution tests"
"$PERMSENTRY_ROOT/tests/agents/install.sh" || true

status=0
log "tests (RelWithDebInfo)"
(cd "$PERMSENTRY_ROOT/build" && ctest --output-on-failure -LE vm) || status=1
# The two kernels' VMs side by side: each is one emulated host thread.
log "tests in qemu VMs (Debian 6.1 and 6.12, tracepoint and rich backends)"
(cd "$PERMSENTRY_ROOT/build" && ctest --output-on-failure -L vm -j2) || status=1
cat "$PERMSENTRY_ROOT"/build/vm/summary-*.txt 2>/dev/null || true
log "tests (ASan + UBSan, libFuzzer)"
(cd "$PERMSENTRY_ROOT/build-asan" && ctest --output-on-failure) || status=1
if ((status == 0)); then log "all tests passed"; else log "SOME TESTS FAILED"; fi
exit $status
