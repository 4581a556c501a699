#!/usr/bin/env bash
# Runs the integration suites inside a qemu VM on a Debian kernel other than
# the host's, once per capture backend: CO-RE relocations, helpers, program
# types and the functions the rich backend hooks differ between kernels, and a
# sensor that loads on one can be refused by another.
#
# usage: run-vm-tests.sh BUILD_DIR KERNEL_SERIES [GTEST_FILTER] [BACKENDS]
#   KERNEL_SERIES e.g. 6.1 or 6.12: the newest Debian cloud kernel image of that
#   series in the apt lists (fetched with apt-get download and unpacked; never
#   installed: that would change the host's boot setup).
#   BACKENDS: space-separated, default "tracepoint rich".
#
# The VM sees the host's userland read-only through virtiofs (so the suites run
# the same bash, sed, python3, rsyslogd and systemd-journald as on the host),
# with /etc copied and /tmp, /var/tmp, /run on tmpfs inside the VM: nothing the
# tests change reaches the host. It prints one line per kernel and backend,
# "6.12.117+deb12-cloud-amd64 rich: PASS 97/97", naming the tests that failed.
# Software emulation (TCG): slow, but the only accelerator that runs stock
# kernels on these hosts.
set -euo pipefail
build=$(cd "$1" && pwd)
series=$2
filter=${3:-*}
backends=${4:-tracepoint rich}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cache="$build/vm"
mkdir -p "$cache"

# Debian replaces kernel ABI packages as it updates them: look the name up.
newest() {
  apt-cache search --names-only "^linux-image-${series//./\\.}\\.[0-9]+[-+][^ ]*-cloud-amd64\$" |
    awk '{print $1}' | grep -v -e unsigned -e dbg | sort -V | tail -n 1
}
pkg=$(newest)
if [[ -z "$pkg" ]]; then
  apt-get update -qq >/dev/null 2>&1 || true
  pkg=$(newest)
fi
if [[ -z "$pkg" ]]; then
  echo "run-vm-tests: no Debian cloud kernel image of series $series in the apt lists" >&2
  exit 1
fi
echo "VM-PACKAGE $pkg"

deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
if [[ -z "$deb" ]]; then
  (cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1) || {
    echo "run-vm-tests: cannot download $pkg" >&2
    exit 1
  }
  deb=$(ls "$cache"/"${pkg}"_*.deb | head -n 1)
fi
kdir="$cache/$pkg"
[[ -d "$kdir" ]] || dpkg-deb -x "$deb" "$kdir"
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n 1)
virtiofsd=/usr/lib/qemu/virtiofsd
[[ -x $virtiofsd ]] || { echo "run-vm-tests: $virtiofsd missing (qemu-system-common)" >&2; exit 1; }

work=$(mktemp -d)
vfsd_pid=""
cleanup() {
  [[ -n "$vfsd_pid" ]] && kill "$vfsd_pid" 2>/dev/null && wait "$vfsd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Initramfs: busybox and the modules virtiofs needs where it is not built in.
root="$work/initrd"
mkdir -p "$root"/{bin,proc,sys,dev,host,newroot,modules}
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount umount mkdir cp ln cat echo poweroff insmod chroot sed uname ls; do
  ln -s busybox "$root/bin/$applet"
done
for m in fs/fuse/fuse.ko fs/fuse/virtiofs.ko; do
  f=$(ls "$kdir"/lib/modules/*/kernel/$m 2>/dev/null | head -n 1 || true)
  [[ -n "$f" ]] && cp "$f" "$root/modules/"
done
# The job run in the new root: each backend in turn, the sensor's own binary.
cat >"$root/job.sh" <<JOB
#!/bin/sh
cd /tmp
for backend in $backends; do
  echo "VM-RUN \$backend"
  PERMSENTRY_TEST_VM=1 PERMSENTRY_TEST_READY_TIMEOUT_S=400 PERMSENTRY_TEST_BACKEND=\$backend \\
    $build/tests/integration_tests --gtest_color=no --gtest_filter='$filter' >/tmp/gtest.out 2>&1
  echo "VM-EXIT \$backend \$?"
  sed 's/^/VM-OUT /' /tmp/gtest.out
done
JOB
chmod +x "$root/job.sh"
cat >"$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in /modules/fuse.ko /modules/virtiofs.ko; do [ -f \$m ] && insmod \$m; done
echo "VM-KERNEL \$(uname -r)"
mount -t virtiofs -o ro hostroot /host || { echo "VM-EXIT mount 1"; poweroff -f; }
# The new root: the host's /usr and the build read-only, everything else the
# VM's own.
mount -t tmpfs -o mode=0755 tmpfs /newroot
cd /newroot
mkdir -p usr proc sys dev tmp var/tmp var/log var/lib run root home
ln -s usr/bin bin; ln -s usr/sbin sbin; ln -s usr/lib lib; ln -s usr/lib64 lib64
mount --bind /host/usr usr
cp -a /host/etc etc
mount -t proc proc proc
mount -t sysfs sysfs sys
mount -t devtmpfs devtmpfs dev
mount -t tmpfs tmpfs tmp
mount -t tmpfs tmpfs var/tmp
mount -t tmpfs tmpfs run
chmod 1777 tmp var/tmp
for d in "$source_dir" "$build"; do mkdir -p .\$d; mount --bind /host\$d .\$d; done
cp /job.sh tmp/job.sh
chroot /newroot /bin/sh /tmp/job.sh
echo "VM-DONE"
poweroff -f
INIT
chmod +x "$root/init"
initrd="$work/initrd.cpio.gz"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd")

"$virtiofsd" --socket-path="$work/vfsd.sock" -o source=/ -o cache=auto -o sandbox=chroot \
  >"$work/virtiofsd.log" 2>&1 &
vfsd_pid=$!
for _ in $(seq 100); do [[ -S "$work/vfsd.sock" ]] && break; sleep 0.1; done

log="$cache/console-$pkg.log"
mem=3072
# Two vCPUs (per-CPU maps and ring producers on two CPUs), emulated on one host
# thread: with multi-threaded TCG, a guest CPU can run code translated while
# the kernel was patching it (attaching a tracepoint flips a static key with
# int3-based text poking) and the 6.12 guest took an "Oops: int3" in
# syscall_exit_to_user_mode_prepare, an emulator race no real CPU has.
timeout 2400 qemu-system-x86_64 -accel tcg,thread=single -cpu max -m $mem -smp 2 -nographic \
  -no-reboot -kernel "$vmlinuz" -initrd "$initrd" \
  -object memory-backend-memfd,id=mem,size=${mem}M,share=on -numa node,memdev=mem \
  -chardev socket,id=vfs,path="$work/vfsd.sock" -device vhost-user-fs-pci,chardev=vfs,tag=hostroot \
  -append "console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1 quiet" \
  </dev/null >"$log" 2>&1 || true

console=$(tr -d '\r' <"$log")
release=$(sed -n 's/^VM-KERNEL \(.*\)/\1/p' <<<"$console" | head -n 1)
status=0
for backend in $backends; do
  out=$(awk -v b="$backend" '/^VM-RUN /{on = ($2 == b)} on && /^VM-OUT /{sub(/^VM-OUT /, ""); print}' \
    <<<"$console")
  code=$(sed -n "s/^VM-EXIT $backend \([0-9]*\).*/\1/p" <<<"$console" | tail -n 1)
  ran=$(sed -n 's/^\[==========\] \([0-9]*\) tests\? from .* ran\..*/\1/p' <<<"$out" | tail -n 1)
  passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\?.*/\1/p' <<<"$out" | tail -n 1)
  skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\?.*/\1/p' <<<"$out" | tail -n 1)
  failed=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_./]*\)$/\1/p; s/^\[  FAILED  \] \([A-Za-z0-9_./]*\) (.*/\1/p' \
    <<<"$out" | sort -u | tr '\n' ' ')
  note=""
  [[ -n "${skipped:-}" ]] && note=" ($skipped skipped)"
  if [[ "$code" == "0" ]]; then
    echo "${release:-$pkg} $backend: PASS ${passed:-0}/${ran:-0}$note"
  else
    status=1
    echo "${release:-$pkg} $backend: FAIL ${passed:-0}/${ran:-?}$note: ${failed:-exit ${code:-none}}"
    # What failed, with the assertions, for the CI log.
    grep -E '^(\[  FAILED|/.*Failure|Expected|  Actual|Which is|Value of|permsentry:)' <<<"$out" |
      head -n 60 | sed 's/^/    /'
  fi
done
if ((status != 0)); then
  echo "run-vm-tests: $pkg: the suites did not pass in the VM; console: $log" >&2
fi
exit $status
