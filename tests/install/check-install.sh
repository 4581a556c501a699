#!/usr/bin/env bash
# `cmake --install` from BUILD into a scratch root, then what a host would do
# with it: the unit passes `systemd-analyze verify`, the installed config (and
# a rule file dropped into rules.d) passes check-config, the man page names
# every command, the sysusers entry makes the tail's group.
# Usage: check-install.sh BUILD
set -euo pipefail
build=$1
root=$(mktemp -d /tmp/permsentry-install-XXXXXX)
trap 'rm -rf "$root"' EXIT
fail() { echo "check-install: $*" >&2; exit 1; }

DESTDIR=$root cmake --install "$build" --prefix /usr >/dev/null
for f in usr/sbin/permsentry usr/lib/systemd/system/permsentry.service \
  etc/permsentry/permsentry.yaml usr/lib/sysusers.d/permsentry.conf \
  usr/share/man/man8/permsentry.8; do
  [[ -s $root/$f ]] || fail "$f not installed"
done
[[ -d $root/etc/permsentry/rules.d ]] || fail "etc/permsentry/rules.d not installed"
[[ -d $root/etc/permsentry/agents.d ]] || fail "etc/permsentry/agents.d not installed"
bin=$root/usr/sbin/permsentry

# The unit as installed, pointed at the scratch root's binary and config
# (verify checks that the commands exist). The man page is checked below:
# verify would look for it in the host's man path.
unit=$root/permsentry.service
sed -E -e "s#^(ExecStart(Pre)?=)[^ ]*/permsentry #\1$bin #" -e "s#/etc/permsentry/#$root/etc/permsentry/#g" \
  "$root/usr/lib/systemd/system/permsentry.service" >"$unit"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify --man=no "$unit" 2>&1) || fail "systemd-analyze verify: $out"
  [[ -z $out ]] || fail "systemd-analyze verify is not clean: $out"
  echo "check-install: systemd-analyze verify: clean"
else
  echo "check-install: systemd-analyze not installed: unit not verified"
fi
grep -q '^Type=notify$' "$unit" || fail "the unit is not Type=notify"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$unit" || fail "no SIGHUP reload"

# The installed config and the rules.d it names: the service's config dir is
# /etc/permsentry, so a copy whose rule glob points into the scratch root.
cfg=$root/check.yaml
sed -e "s|\"/etc/permsentry/rules.d/\*.yaml\"|\"$root/etc/permsentry/rules.d/*.yaml\"|" \
  -e "s|\"/etc/permsentry/agents.d/\*.yaml\"|\"$root/etc/permsentry/agents.d/*.yaml\"|" \
  "$root/etc/permsentry/permsentry.yaml" >"$cfg"
before=$("$bin" check-config "$cfg")
cat >"$root/etc/permsentry/rules.d/50-site.yaml" <<'RULES'
rules:
  - id: site-shadow-touched
    name: the shadow file was touched
    severity: high
    match:
      watch_class: shadow
RULES
after=$("$bin" check-config "$cfg")
[[ $before == *"17 rules"* && $after == *"18 rules"* ]] ||
  fail "rules.d not merged: \"$before\" then \"$after\""
[[ $after == *"sinks: journald"* ]] || fail "the installed config sends no alerts to the journal: $after"
# An agent signature pack dropped into agents.d: checked alone, then merged.
cat >"$root/etc/permsentry/agents.d/50-inhouse.yaml" <<'PACK'
agents:
  - name: inhouse-bot
    executables: [opt/inhouse/bin/bot]
    env: [INHOUSE_BOT_SESSION]
PACK
pack=$("$bin" check-config "$root/etc/permsentry/agents.d/50-inhouse.yaml") ||
  fail "the pack does not check: $pack"
[[ $pack == *"ok (agent signature pack: 1 agents: inhouse-bot)" ]] || fail "pack: $pack"
with=$("$bin" check-config "$cfg")
n_before=$(sed -n 's/.* \([0-9]*\) agent signatures.*/\1/p' <<<"$after")
n_with=$(sed -n 's/.* \([0-9]*\) agent signatures.*/\1/p' <<<"$with")
[[ -n $n_before && $n_with == $((n_before + 1)) ]] ||
  fail "agents.d not merged: \"$after\" then \"$with\""
echo "check-install: config: $after"

for c in run tail probe exec status check-config; do
  grep -q "^\.SS $c\$" "$root/usr/share/man/man8/permsentry.8" || fail "man page lacks $c"
done
grep -q '^g permsentry ' "$root/usr/lib/sysusers.d/permsentry.conf" || fail "no permsentry group"
echo "check-install: ok"
