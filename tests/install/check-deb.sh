#!/usr/bin/env bash
# The .deb as a host gets it: `cpack -G DEB` from BUILD, its control data
# (dependencies, conffiles, maintainer scripts) and contents; then, as root on
# a host that does not have permsentry installed, a real dpkg install, an
# upgrade over a modified config, a removal and a purge, leaving the host as
# it was (the permsentry group is removed again if the install made it).
# Usage: check-deb.sh BUILD
set -euo pipefail
build=$1
work=$(mktemp -d /tmp/permsentry-deb-XXXXXX)
fail() { echo "check-deb: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$work"/permsentry_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libbpf1 libsystemd0 libcurl4 libyaml-cpp init-system-helpers; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
[[ $(dpkg-deb -f "$deb" Section) == admin ]] || fail "not in section admin"
ctrl=$work/control
mkdir "$ctrl" && dpkg-deb -e "$deb" "$ctrl"
[[ $(cat "$ctrl/conffiles") == /etc/permsentry/permsentry.yaml ]] || fail "conffiles: $(cat "$ctrl/conffiles")"
for s in postinst prerm postrm; do [[ -x $ctrl/$s ]] || fail "no $s"; done
files=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for f in ./usr/sbin/permsentry ./usr/lib/systemd/system/permsentry.service \
  ./etc/permsentry/permsentry.yaml ./etc/permsentry/rules.d/ ./usr/lib/sysusers.d/permsentry.conf \
  ./usr/share/man/man8/permsentry.8; do
  grep -qxF "$f" <<<"$files" || fail "$f not in the package"
done
tree=$work/tree
dpkg-deb -x "$deb" "$tree"
grep -q '^ExecStart=/usr/sbin/permsentry run --config /etc/permsentry/permsentry.yaml$' \
  "$tree/usr/lib/systemd/system/permsentry.service" || fail "the unit does not run /usr/sbin/permsentry"
echo "check-deb: $(basename "$deb"): Depends: $depends"

if [[ $(id -u) != 0 ]]; then
  echo "check-deb: not root: the package is not installed"
  rm -rf "$work"
  exit 0
fi
if dpkg-query -W -f='${Status}' permsentry 2>/dev/null | grep -q installed; then
  echo "check-deb: permsentry is installed on this host: not touched, not installed again"
  rm -rf "$work"
  exit 0
fi
had_group=0
getent group permsentry >/dev/null && had_group=1
wants=/etc/systemd/system/multi-user.target.wants/permsentry.service
cleanup() {
  dpkg --purge permsentry >/dev/null 2>&1 || true
  ((had_group)) || groupdel permsentry 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
dpkg -i "$deb" </dev/null >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "dpkg -i failed"; }
/usr/sbin/permsentry --version >/dev/null || fail "the installed binary does not run"
/usr/sbin/permsentry check-config /etc/permsentry/permsentry.yaml >/dev/null ||
  fail "the installed config does not pass check-config"
[[ -L $wants ]] || fail "postinst did not enable the unit"
getent group permsentry >/dev/null || fail "postinst did not make the permsentry group"
if [[ ! -d /run/systemd/system ]]; then
  ! pgrep -x -f '/usr/sbin/permsentry run --config /etc/permsentry/permsentry.yaml' >/dev/null ||
    fail "postinst started the sensor without a running systemd"
fi
# An upgrade over a modified config keeps the modification.
echo "# changed by this host's admin" >>/etc/permsentry/permsentry.yaml
dpkg -i "$deb" </dev/null >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log" >&2; fail "the upgrade failed"; }
grep -q "changed by this host's admin" /etc/permsentry/permsentry.yaml || fail "the upgrade replaced a modified config"
# Removal: the program goes, the config stays; purge: nothing stays.
dpkg --remove permsentry </dev/null >/dev/null 2>&1 || fail "dpkg --remove failed"
[[ ! -e /usr/sbin/permsentry && -e /etc/permsentry/permsentry.yaml ]] || fail "remove: wrong files left"
dpkg --purge permsentry </dev/null >/dev/null 2>&1 || fail "dpkg --purge failed"
[[ ! -e /etc/permsentry && ! -L $wants ]] || fail "purge left /etc/permsentry or the enablement"
echo "check-deb: installed, upgraded over a modified config (kept), removed and purged"
