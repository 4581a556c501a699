#!/usr/bin/env bash
# Runs the integration suites inside qemu VMs on Debian kernels other than the
# host's, once per capture backend: CO-RE relocations, helpers, program types,
# verifiers and the functions the rich backend hooks differ between kernels,
# and a sensor that loads on one can be refused by another.
#
# usage: run-vm-tests.sh BUILD_DIR KERNEL_SERIES [GTEST_FILTER] [BACKENDS]
#   KERNEL_SERIES e.g. 6.1 or 6.12 (see tests/vm/vm.sh); BACKENDS space-separated,
#   default "tracepoint rich".
#
# Per backend it first loads the sensor with the verifier's statistics and
# fails when a program takes more than 70% of the verifier's budget (a small
# change can push it over on one kernel only), then runs the suites. It prints
# one line per kernel and backend, e.g.
#   6.12.117+deb12-cloud-amd64 rich: PASS 97/97 (verifier: ps_sys_exit 13% ...)
# and for a failure the tests that failed with their assertions.
set -euo pipefail

# All in a function: bash parses it whole before running it, so editing this
# file while a VM runs cannot change what the running copy does.
main() {
build=$(cd "$1" && pwd)
series=$2
filter=${3:-*}
backends=${4:-tracepoint rich}
here=$(cd "$(dirname "$0")" && pwd)
# One backend's suites take 4-6 minutes in these VMs.
suite_timeout=${PERMSENTRY_VM_SUITE_TIMEOUT_S:-900}

job=$(mktemp)
trap 'rm -f "$job"' EXIT
cat >"$job" <<JOB
for backend in $backends; do
  echo "VM-RUN \$backend"
  # The verifier's instruction count per program (libbpf's log at level 4).
  rm -f /tmp/ready
  $build/permsentry run --backend \$backend --verbose --ready-file /tmp/ready \\
    >/dev/null 2>/tmp/verifier.log &
  pid=\$!
  i=0
  while [ ! -f /tmp/ready ] && [ \$i -lt 900 ] && kill -0 \$pid 2>/dev/null; do
    sleep 1; i=\$((i + 1))
  done
  kill -INT \$pid 2>/dev/null; wait \$pid 2>/dev/null
  grep -E "BEGIN PROG LOAD LOG|^processed [0-9]+ insns" /tmp/verifier.log | sed 's/^/VM-VLOG /'
  # Bounded, so that a test that hangs is named and the other backend still
  # runs; each test's start goes to the console as it happens, so that even a
  # VM that stops answering shows where it was.
  rm -f /tmp/gtest.code
  { PERMSENTRY_TEST_VM=1 PERMSENTRY_TEST_READY_TIMEOUT_S=600 PERMSENTRY_TEST_BACKEND=\$backend \\
      timeout -k 20 $suite_timeout $build/tests/integration_tests --gtest_color=no \\
      --gtest_filter='$filter' 2>&1; echo \$? >/tmp/gtest.code; } |
    tee /tmp/gtest.out | grep --line-buffered '^\[ RUN ' | sed -u 's/^/VM-LIVE /'
  echo "VM-EXIT \$backend \$(cat /tmp/gtest.code) uptime \$(cut -d' ' -f1 /proc/uptime)"
  # A suite that did not pass: what the kernel logged below the console's level.
  if [ "\$(cat /tmp/gtest.code)" != 0 ]; then
    { echo "uptime \$(cat /proc/uptime)"; free -m | sed -n 2p
      dmesg | grep -iE 'oom|killed process|out of memory|segfault|blocked for|lockup|bug:|warning:|clocksource' |
        tail -n 20; } | sed 's/^/VM-DMESG /'
  fi
  sed 's/^/VM-OUT /' /tmp/gtest.out
done
exit 0
JOB

# The whole VM: every suite's bound and boot, so that a kernel that stops
# answering costs minutes, not the CI run.
nbackends=$(wc -w <<<"$backends")
vm_start=$(date +%s)
console=$(PERMSENTRY_VM_TIMEOUT_S=${PERMSENTRY_VM_TIMEOUT_S:-$((nbackends * suite_timeout + 300))} \
  "$here/vm.sh" "$build" "$series" "$job") || true
# A run with extra kernel parameters is a row of its own, in a file of its own.
extra=${PERMSENTRY_VM_CMDLINE:-}
summary="$build/vm/summary-$series${extra:+-${extra//[^a-z0-9]/_}}.txt"
: >"$summary"
# Each line on stdout and in the summary file scripts/test.sh prints.
say() { echo "$*" | tee -a "$summary"; }
release=$(sed -n 's/^VM-KERNEL \(.*\)/\1/p' <<<"$console" | head -n 1)
[[ -n "$release" ]] || release="linux $series"
release="$release${extra:+ ($extra)}"
status=0
for backend in $backends; do
  section=$(awk -v b="$backend" '/^VM-RUN /{on = ($2 == b)} on' <<<"$console")
  out=$(sed -n 's/^VM-OUT //p' <<<"$section")
  code=$(sed -n "s/^VM-EXIT $backend \([0-9]*\).*/\1/p" <<<"$section" | tail -n 1)
  # The program that took most of the verifier's budget.
  read -r insns worst < <(sed -n 's/^VM-VLOG //p' <<<"$section" | awk '
    /BEGIN PROG LOAD LOG/ { p = $3; gsub(/[^A-Za-z0-9_]/, "", p) }
    /^processed/ { if ($2 + 0 > max) { max = $2 + 0; worst = p } }
    END { print max + 0, (worst == "" ? "none" : worst) }')
  ran=$(sed -n 's/^\[==========\] \([0-9]*\) tests\? from .* ran\..*/\1/p' <<<"$out" | tail -n 1)
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?.*/\1/p' <<<"$out" | tail -n 1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\?.*/\1/p' <<<"$out" | tail -n 1)
  failed=$(sed -n -e 's/^\[  FAILED  \] \([A-Za-z0-9_./]*\): SetUpTestSuite or TearDownTestSuite$/\1(suite set-up or tear-down)/p' \
    -e 's/^\[  FAILED  \] \([A-Za-z0-9_./:]*\)\( (.*\)\{0,1\}$/\1/p' <<<"$out" |
    { grep -v '^[0-9]' || true; } | sort -u | tr '\n' ' ')
  pct=$((insns / 10000))
  note="verifier: ${worst:-?} ${insns} insns, ${pct}% of the limit"
  [[ -n "${skipped:-}" ]] && note="$note; $skipped skipped"
  if ((insns > 700000)); then
    status=1
    say "$release $backend: FAIL: $worst takes $insns of the verifier's 1000000 instructions" \
      "(more than 70%: one small change from refused on this kernel)"
  fi
  # A test that started and never ended: the suite timed out in it, or the VM
  # stopped answering during it.
  last=$(sed -n 's/^VM-LIVE \[ RUN      \] //p' <<<"$section" | tail -n 1)
  if [[ -n "$last" ]] && ! grep -qE "^\[ *(OK|FAILED|SKIPPED) *\] ${last//./\\.}( |\$)" <<<"$out"; then
    # timeout(1) says 124 when its bound passed; 137 is a SIGKILL: its -k
    # after the bound, or the kernel's (the OOM killer), whose words follow.
    case "$code" in
      124) failed="${failed:-}(timed out after ${suite_timeout}s in $last) " ;;
      137) failed="${failed:-}(killed, SIGKILL, in $last) " ;;
      "") failed="${failed:-}(the VM stopped during $last) " ;;
    esac
  fi
  if [[ "$code" == "0" ]]; then
    say "$release $backend: PASS ${passed:-0}/${ran:-0} ($note)"
  else
    status=1
    say "$release $backend: FAIL ${passed:-0}/${ran:-?} ($note): ${failed:-exit ${code:-none}}"
    # What failed, with its assertions, for the CI log. (Under pipefail a grep
    # that finds nothing would end this script before the next backend's row.)
    { grep -E '^(\[  FAILED|/.*Failure|Expected|  Actual|Which is|Value of|permsentry:)' <<<"$out" ||
      true; } | head -n 80 | sed 's/^/    /'
    # The guest's clock against the host's: a suite's bounds are the guest's.
    echo "    guest uptime at the suite's end: $(sed -n "s/^VM-EXIT $backend [0-9]* uptime \([0-9.]*\).*/\1/p" <<<"$section" | tail -n 1) s; host time since the VM started: $(($(date +%s) - vm_start)) s"
    sed -n 's/^VM-DMESG /    dmesg: /p' <<<"$section"
    # The kernel's words, for a suite that hung, was killed or lost its VM.
    { grep -E '(BUG|WARNING|Oops|lockup|hung_task|blocked for more|RCU|panic|Call Trace|Out of memory|oom-kill|Killed process|TSC unstable|clocksource.*unstable)' \
      <<<"$section" || true; } | head -n 40 | sed 's/^/    console: /'
  fi
done
if ((status != 0)); then
  echo "run-vm-tests: $release: the suites did not pass in the VM (console in $build/vm/)" >&2
fi
exit $status
}

main "$@"
