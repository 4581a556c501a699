#!/usr/bin/env bash
# The real-systemd test: the .deb built from BUILD (cpack), installed with dpkg
# in a VM whose PID 1 is systemd, driven with systemctl and journalctl, then
# (with --ansible) the Ansible role applied to it twice (tests/vm/systemd-job.sh).
# Usage: run-systemd-vm.sh [--ansible] BUILD [KERNEL_SERIES]
#   --ansible  also apply the role, twice (ten minutes and more emulated; CI
#              runs the reduced form without it)
set -euo pipefail

# In a function: bash parses it whole before running it.
main() {
ansible=0
if [[ ${1:-} == --ansible ]]; then
  ansible=1
  shift
fi
build=$(cd "$1" && pwd)
series=${2:-6.12}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out="$build/vm/deb"
rm -rf "$out" && mkdir -p "$out"
(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log"; exit 1; }
deb=$(ls "$out"/permsentry_*.deb)
job="$out/job.sh"
sed -e "s|@DEB@|$deb|" -e "s|@SOURCE@|$src|" -e "s|@ANSIBLE@|$ansible|" "$here/systemd-job.sh" >"$job"
PERMSENTRY_VM_SYSTEMD=1 PERMSENTRY_VM_CONSOLE="$build/vm/console-systemd-$series.log" \
  "$here/vm.sh" "$build" "$series" "$job" | tee "$out/console.txt" | grep -E '^(SYSTEMD-|VM-JOB-EXIT|VM-KERNEL)' || true
# test.sh prints the summaries at the end.
{
  grep -m1 '^VM-KERNEL' "$out/console.txt" | sed 's/^VM-KERNEL /systemd VM, kernel /'
  grep -E '^SYSTEMD-' "$out/console.txt" || echo "SYSTEMD-FAIL the job printed nothing"
} >"$build/vm/summary-systemd-$series.txt"
grep -q '^SYSTEMD-PASS' "$out/console.txt"
}

main "$@"
