#!/usr/bin/env bash
# Runs the capture integration suite inside a qemu VM on a Debian kernel other
# than the host's: CO-RE relocations, helpers and program types differ between
# kernels, and a sensor that loads on one can be refused by another.
#
# usage: run-vm-tests.sh BUILD_DIR KERNEL_SERIES [GTEST_FILTER]
#   KERNEL_SERIES e.g. 6.1 or 6.12: the newest Debian cloud kernel image of that
#   series in the apt lists (fetched with apt-get download and unpacked; never
#   installed: that would change the host's boot setup).
# The VM boots the kernel with a busybox initramfs holding the sensor and the
# test binary, runs the suite on tmpfs, and prints its result on the console.
# Software emulation (TCG): slow, but the only accelerator that runs stock
# kernels on these hosts.
set -euo pipefail
build=$(cd "$1" && pwd)
series=$2
filter=${3:-Capture.*:Credfile.*:IoUring.*}
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

# Initramfs: busybox, the two binaries, the libraries they link, users and groups.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,var/tmp,lib64,lib/x86_64-linux-gnu,run}
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount umount mkdir rm cat echo poweroff sleep uname ls sed; do
  ln -s busybox "$root/bin/$applet"
done
cp "$build/permsentry" "$build/tests/integration_tests" "$root/bin/"
for lib in $(ldd "$build/permsentry" "$build/tests/integration_tests" | awk '/=>/ {print $3}' | sort -u); do
  cp -L "$lib" "$root/lib/x86_64-linux-gnu/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
cp /etc/passwd /etc/group "$root/etc/"
: >"$root/etc/shadow"  # the real-list test opens it for append; no hashes copied
chmod 0640 "$root/etc/shadow"
cat >"$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /var/tmp
echo "VM-KERNEL \$(uname -r)"
/bin/permsentry probe | sed 's/^/VM-PROBE /'
cd /tmp
PERMSENTRY_TEST_READY_TIMEOUT_S=400 PERMSENTRY_BIN=/bin/permsentry /bin/integration_tests --gtest_color=no --gtest_filter='$filter' 2>&1
echo "VM-EXIT \$?"
poweroff -f
INIT
chmod +x "$root/init"
initrd="$cache/initrd-$pkg.cpio.gz"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd")

log="$cache/console-$pkg.log"
# Two vCPUs (per-CPU maps and ring producers on two CPUs), emulated on one host
# thread: with multi-threaded TCG, a guest CPU can run code translated while
# the kernel was patching it (attaching a tracepoint flips a static key with
# int3-based text poking) and the 6.12 guest took an "Oops: int3" in
# syscall_exit_to_user_mode_prepare, an emulator race no real CPU has.
timeout 900 qemu-system-x86_64 -accel tcg,thread=single -cpu max -m 2048 -smp 2 -nographic -no-reboot \
  -kernel "$vmlinuz" -initrd "$initrd" \
  -append "console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1 quiet" \
  </dev/null >"$log" 2>&1 || true
tr -d '\r' <"$log" | grep -E '^(VM-|\[ |\[==|/.*Failure|Expected|  Actual|Which is)' || true
code=$(tr -d '\r' <"$log" | sed -n 's/^VM-EXIT \([0-9]*\).*/\1/p' | tail -n 1)
if [[ "$code" != "0" ]]; then
  echo "run-vm-tests: $pkg: the suite did not pass in the VM (exit '${code:-none}'); console: $log" >&2
  exit 1
fi
