#!/usr/bin/env bash
# The benchmark, in one run: the pipeline's instructions per plain event and per
# alert (callgrind over recorded records), the overhead of permission and
# unrelated syscall storms with no sensor, with permsentry and with auditd, the
# sustained storm (calls made / events + repeats delivered / lost, RSS, map
# memory; the run fails if the sensor loses any), and alert latency idle and
# under the storm. Installs auditd without starting it and valgrind, and leaves
# the kernel's audit state as it found it. Arguments go to permsentry_bench
# (see --help).
#
#   scripts/bench.sh [ARGS...]              on this host (its kernel picks the backend)
#   scripts/bench.sh --vm 6.12 [ARGS...]    in a qemu VM on Debian's 6.12 (or 6.1)
#                                           kernel: no sensor, the tracepoint backend
#                                           and the rich backend side by side. Software
#                                           emulation distorts absolute times; the
#                                           ratios are what it measures.
#   scripts/bench.sh [--vm 6.12] --prog-cost  the BPF programs' own cost per call
#                                           (bench/prog_cost.py: run counts and
#                                           kernel-timed ns, per backend)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
ensure_packages "${PERMSENTRY_BUILD_PACKAGES[@]}"
build "$PERMSENTRY_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
bench="$PERMSENTRY_ROOT/build/bench/permsentry_bench"
sensor="$PERMSENTRY_ROOT/build/permsentry"

prog_cost="$PERMSENTRY_ROOT/bench/prog_cost.py"
if [[ "${1:-}" == "--prog-cost" ]]; then
  shift
  ensure_packages bpftool python3
  exec python3 "$prog_cost" --sensor "$sensor" --backends auto "$@"
fi

if [[ "${1:-}" == "--vm" ]]; then
  [[ $# -ge 2 ]] || die "usage: scripts/bench.sh --vm KERNEL_SERIES [--prog-cost] [ARGS...]"
  series=$2
  shift 2
  job=$(mktemp)
  trap 'rm -f "$job"' EXIT
  if [[ "${1:-}" == "--prog-cost" ]]; then
    shift
    printf '%q ' python3 "$prog_cost" --sensor "$sensor" --backends tracepoint,rich "$@" >"$job"
  else
    # Fewer cycles than on the host: emulation makes each call ~50x slower.
    args=(--backends tracepoint,rich --no-auditd --latency-probes 0 --no-instructions
      --storm-seconds 0 --reps 5 --perm-cycles 2000 --unrelated-cycles 20000 --write-cycles 2000
      --spawn-cycles 200 "$@")
    printf '%q ' "$bench" --sensor "$sensor" "${args[@]}" >"$job"
  fi
  printf '\n' >>"$job"
  log "benchmark in a VM on Debian's $series kernel (takes a while under emulation)"
  out=$("$PERMSENTRY_ROOT/tests/vm/vm.sh" "$PERMSENTRY_ROOT/build" "$series" "$job") || {
    printf '%s\n' "$out" >&2
    die "the benchmark did not finish in the VM"
  }
  sed -n '/^\(permsentry benchmark:\|BPF cost per call\)/,/^VM-JOB-EXIT/p' <<<"$out" |
    grep -v '^VM-JOB-EXIT'
  exit 0
fi

# auditd's maintainer scripts would start it (and enable audit for every
# process started afterwards): the benchmark starts it itself. valgrind
# (callgrind) counts the pipeline's instructions per record.
ensure_packages_nostart auditd
ensure_packages valgrind
exec "$bench" --sensor "$sensor" "$@"
