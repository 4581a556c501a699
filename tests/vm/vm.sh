#!/usr/bin/env bash
# Boots a Debian cloud kernel under qemu and runs a job in it, for the suites
# (tests/vm/run-vm-tests.sh) and the benchmark (scripts/bench.sh --vm).
#
# usage: vm.sh BUILD_DIR KERNEL_SERIES JOB_SCRIPT
#   KERNEL_SERIES e.g. 6.1 or 6.12: the newest Debian cloud kernel image of that
#   series in the apt lists (fetched with apt-get download and unpacked into
#   BUILD_DIR/vm; never installed: that would change the host's boot setup).
#   JOB_SCRIPT runs as root with /bin/sh in /tmp of the VM.
#
# The VM sees the host's /usr read-only through virtiofs (the same bash, sed,
# python3, rsyslogd and systemd-journald as on the host) and the source and
# build trees read-only at their own paths; /etc is a copy, /tmp, /var/tmp,
# /run are the VM's own tmpfs: nothing a job changes reaches the host.
# Prints the console from "VM-KERNEL <release>" on, then "VM-JOB-EXIT <code>";
# exits with the job's status (1 when it never finished).
# PERMSENTRY_VM_CMDLINE adds kernel parameters (ia32_emulation=0: a machine
# booted with the ia32 syscall table off).
# PERMSENTRY_VM_SYSTEMD=1 boots systemd as PID 1 instead (the host's, from its
# /usr), with /usr writable through an overlay and the host's dpkg database
# copied, so that a job can install a package and drive real units: the job
# runs as permsentry-vm-job.service on the console, in permsentry-vm.target
# (sysinit and journald, none of the host's other services).
# Software emulation (TCG): slow, but the only accelerator that runs stock
# kernels on these hosts.
set -euo pipefail

# All in a function: bash parses it whole before running it, so editing this
# file while a VM runs cannot change what the running copy does.
main() {
build=$(cd "$1" && pwd)
series=$2
job=$3
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
  echo "vm.sh: no Debian cloud kernel image of series $series in the apt lists" >&2
  exit 1
fi
echo "VM-PACKAGE $pkg"

deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
if [[ -z "$deb" ]]; then
  (cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1) || {
    echo "vm.sh: cannot download $pkg" >&2
    exit 1
  }
  deb=$(ls "$cache"/"${pkg}"_*.deb | head -n 1)
fi
kdir="$cache/$pkg"
[[ -d "$kdir" ]] || dpkg-deb -x "$deb" "$kdir"
vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n 1)
virtiofsd=/usr/lib/qemu/virtiofsd
[[ -x $virtiofsd ]] || { echo "vm.sh: $virtiofsd missing (qemu-system-common)" >&2; exit 1; }

work=$(mktemp -d)
vfsd_pid=""
cleanup() {
  if [[ -n "$vfsd_pid" ]]; then
    kill "$vfsd_pid" 2>/dev/null || true
    wait "$vfsd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Initramfs: busybox, the job, and the modules virtiofs needs where it is not
# built in (6.1).
root="$work/initrd"
mkdir -p "$root"/{bin,proc,sys,dev,host,newroot,modules}
cp /bin/busybox "$root/bin/busybox"
for applet in sh mount umount mkdir cp ln cat echo poweroff insmod switch_root sed uname ls ip; do
  ln -s busybox "$root/bin/$applet"
done
# In load order; 6.1's cloud kernel has virtio itself as modules too.
modules="drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko
  drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci_legacy_dev.ko
  drivers/virtio/virtio_pci.ko fs/fuse/fuse.ko fs/fuse/virtiofs.ko"
load=""
for m in $modules; do
  f=$(ls "$kdir"/lib/modules/*/kernel/$m 2>/dev/null | head -n 1 || true)
  [[ -n "$f" ]] || continue
  cp "$f" "$root/modules/"
  load="$load /modules/$(basename "$m")"
done
cp "$job" "$root/job.sh"
systemd_mode=${PERMSENTRY_VM_SYSTEMD:-0}
if [[ $systemd_mode == 1 ]]; then
  # The overlay over /usr: a module on these kernels, compressed on 6.12.
  ov=$(ls "$kdir"/lib/modules/*/kernel/fs/overlayfs/overlay.ko* 2>/dev/null | head -n 1 || true)
  if [[ $ov == *.xz ]]; then
    xz -dc "$ov" >"$root/modules/overlay.ko"
  elif [[ -n $ov ]]; then
    cp "$ov" "$root/modules/overlay.ko"
  fi
  [[ -n $ov ]] && load="$load /modules/overlay.ko"
fi
cat >"$root/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# Twice: a module whose dependency comes later in the list loads the second time.
for pass in 1 2; do for m in$load; do insmod \$m 2>/dev/null; done; done
echo "VM-KERNEL \$(uname -r)"
# Loopback, for the sink tests' peers (rsyslogd, the webhook server).
ip link set lo up
mount -t virtiofs -o ro hostroot /host || { echo "VM-JOB-EXIT mount"; poweroff -f; }
# The new root: the host's /usr and the trees read-only, everything else the
# VM's own.
mount -t tmpfs -o mode=0755 tmpfs /newroot
cd /newroot
mkdir -p usr proc sys dev tmp var/tmp var/log var/lib run root home
ln -s usr/bin bin; ln -s usr/sbin sbin; ln -s usr/lib lib; ln -s usr/lib64 lib64
if [ "$systemd_mode" = 1 ]; then
  mkdir -p .ovl/upper .ovl/work var/lib
  mount -t overlay overlay -o lowerdir=/host/usr,upperdir=/newroot/.ovl/upper,workdir=/newroot/.ovl/work usr ||
    { echo "VM-JOB-EXIT overlay"; poweroff -f; }
  cp -a /host/var/lib/dpkg var/lib/dpkg
  mkdir -p var/lib/apt/lists/partial var/cache/apt/archives/partial var/cache
else
  mount --bind /host/usr usr
fi
cp -a /host/etc etc
mount -t proc proc proc
mount -t sysfs sysfs sys
mount -t cgroup2 cgroup2 sys/fs/cgroup
mount -t devtmpfs devtmpfs dev
mkdir -p dev/pts dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts dev/pts
mount -t tmpfs tmpfs dev/shm
mount -t tmpfs tmpfs tmp
mount -t tmpfs tmpfs var/tmp
mount -t tmpfs tmpfs run
chmod 1777 tmp var/tmp
for d in "$source_dir" "$build"; do mkdir -p .\$d; mount --bind /host\$d .\$d; done
cp /job.sh tmp/job.sh
if [ "$systemd_mode" = 1 ]; then
  # No host disk to mount, no host service to start: only the job's target.
  : >etc/fstab
  # Out of /tmp, which systemd may mount anew.
  cp /job.sh permsentry-vm-job.sh
  cat >etc/systemd/system/permsentry-vm.target <<UNIT
[Unit]
Description=permsentry VM test
Requires=sysinit.target systemd-journald.service permsentry-vm-job.service
After=sysinit.target systemd-journald.service
AllowIsolate=yes
UNIT
  cat >etc/systemd/system/permsentry-vm-job.service <<UNIT
[Unit]
Description=permsentry VM test job
After=sysinit.target systemd-journald.service
[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
ExecStart=/bin/sh -c 'cd /tmp && /bin/sh /permsentry-vm-job.sh; echo "VM-JOB-EXIT \\\$\\\$?"; echo o >/proc/sysrq-trigger'
UNIT
  cd /
  exec switch_root /newroot /lib/systemd/systemd
fi
cd /
# switch_root, not chroot: a chrooted caller may not create a user namespace
# (unshare(CLONE_NEWUSER) is EPERM), and a test does. The job's shell is PID 1
# of the new root; sysrq powers the VM off when it ends.
exec switch_root /newroot /bin/sh -c \
  'cd /tmp && /bin/sh /tmp/job.sh; echo "VM-JOB-EXIT \$?"; echo o >/proc/sysrq-trigger; sleep 600'
INIT
chmod +x "$root/init"
initrd="$work/initrd.cpio.gz"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd")

"$virtiofsd" --socket-path="$work/vfsd.sock" -o source=/ -o cache=auto -o sandbox=chroot \
  >"$work/virtiofsd.log" 2>&1 &
vfsd_pid=$!
for _ in $(seq 100); do [[ -S "$work/vfsd.sock" ]] && break; sleep 0.1; done

# Its own name for a second VM of the same kernel at once.
log="${PERMSENTRY_VM_CONSOLE:-$cache/console-$pkg.log}"
mem=3072
# Two vCPUs (per-CPU maps and ring producers on two CPUs), emulated on one host
# thread: with multi-threaded TCG, a guest CPU can run code translated while
# the kernel was patching it (attaching a tracepoint flips a static key with
# int3-based text poking) and the 6.12 guest took an "Oops: int3" in
# syscall_exit_to_user_mode_prepare, an emulator race no real CPU has.
timeout "${PERMSENTRY_VM_TIMEOUT_S:-2400}" qemu-system-x86_64 -accel tcg,thread=single -cpu max \
  -m $mem -smp 2 -nographic -no-reboot -kernel "$vmlinuz" -initrd "$initrd" \
  -object memory-backend-memfd,id=mem,size=${mem}M,share=on -numa node,memdev=mem \
  -chardev socket,id=vfs,path="$work/vfsd.sock" \
  -device vhost-user-fs-pci,chardev=vfs,tag=hostroot \
  -append "console=ttyS0 lsm=lockdown,capability,landlock,yama,bpf panic=-1 quiet ${PERMSENTRY_VM_CMDLINE:-}$([[ $systemd_mode == 1 ]] && echo " systemd.unit=permsentry-vm.target")" \
  </dev/null >"$log" 2>&1 || true

# The firmware's terminal escapes can share a line with the first marker.
console=$(tr -d '\r' <"$log" | sed 's/^.*\(VM-KERNEL \)/\1/' | sed -n '/^VM-KERNEL /,$p')
printf '%s\n' "$console"
code=$(sed -n 's/^VM-JOB-EXIT \([0-9]*\).*/\1/p' <<<"$console" | tail -n 1)
if [[ -z "$code" ]]; then
  echo "vm.sh: the job never finished in the VM; console: $log" >&2
  exit 1
fi
exit "$code"
}

main "$@"
