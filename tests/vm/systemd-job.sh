# The real-systemd test, run in the VM as permsentry-vm-job.service with
# systemd as PID 1 (tests/vm/run-systemd-vm.sh fills @DEB@ @SOURCE@).
# Each step prints SYSTEMD-STEP; the first failure SYSTEMD-FAIL and exit 1.
deb=@DEB@
src=@SOURCE@
step() { echo "SYSTEMD-STEP $*"; }
fail() {
  echo "SYSTEMD-FAIL $*"
  systemctl status permsentry --no-pager 2>&1 | sed 's/^/  | /' | head -n 20
  journalctl -u permsentry --no-pager -n 30 2>&1 | sed 's/^/  | /'
  exit 1
}
# Until the command succeeds, at most $1 seconds (emulated CPUs are slow).
until_ok() {
  limit=$1
  shift
  i=0
  while ! "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -ge $((limit * 5)) ] && return 1
    sleep 0.2
  done
}
active() { [ "$(systemctl is-active permsentry)" = active ]; }
ours() { bpftool prog show 2>/dev/null | grep -c ' name ps_'; }

step "systemd $(systemctl --version | head -n 1 | awk '{print $2}') is PID 1: $(cat /proc/1/comm)"
# Loading under an emulated CPU takes minutes, not the unit's seconds.
mkdir -p /etc/systemd/system/permsentry.service.d
printf '[Service]\nTimeoutStartSec=900\n' >/etc/systemd/system/permsentry.service.d/vm.conf

step "dpkg -i $(basename "$deb")"
dpkg -i "$deb" </dev/null >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "dpkg -i"; }
[ "$(systemctl is-enabled permsentry)" = enabled ] || fail "not enabled by the postinst"
until_ok 900 active || fail "the postinst's start did not make it active (READY=1)"
step "active: $(systemctl show permsentry -p StatusText --value)"
[ "$(ours)" -gt 0 ] || fail "no ps_ programs attached while active"
step "$(ours) programs attached; MainPID $(systemctl show permsentry -p MainPID --value)"

touch /var/tmp/agent-made && chmod 0755 /var/tmp/agent-made
chmod u+s /var/tmp/agent-made
alert() { journalctl -u permsentry -o json --no-pager | grep '"PERMSENTRY_RULE":"setid-bit-added"' | grep -q agent-made; }
until_ok 120 alert || fail "no setid-bit-added alert in journalctl -u permsentry"
step "journalctl -u permsentry -o json: $(journalctl -u permsentry -o json --no-pager |
  grep '"PERMSENTRY_RULE":"setid-bit-added"' | grep agent-made | head -n 1 |
  python3 -c 'import json,sys; e=json.loads(sys.stdin.read()); print({k: e[k] for k in ("_SYSTEMD_UNIT","PRIORITY","PERMSENTRY_RULE","PERMSENTRY_SEVERITY","PERMSENTRY_PATH","MESSAGE")})')"

# Metrics on (a restart-only key): then scraped.
cfg=/etc/permsentry/permsentry.yaml
sed -i 's/^  enabled: false$/  enabled: true/' "$cfg"
grep -A2 '^metrics:' "$cfg" | grep -q 'enabled: true' || fail "could not turn metrics on"
systemctl restart permsentry || fail "restart"
until_ok 900 active || fail "not active after the restart"
scrape() { python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode())'; }
until_ok 60 scrape || fail "no metrics on 127.0.0.1:9464"
step "metrics: $(scrape | grep -E '^permsentry_(build_info|programs_attached|config_generation)' | tr '\n' ' ')"

# A bad config: reload refused, the old one kept, the service running.
cp "$cfg" /tmp/good.yaml
printf 'bogus_key: 1\n' >>"$cfg"
systemctl reload permsentry || fail "systemctl reload"
refused() { permsentry status | grep -q 'last reload refused'; }
until_ok 60 refused || fail "status does not say the reload was refused"
active || fail "not active after a refused reload"
step "bad reload: $(permsentry status | grep -A1 '^config:' | tr '\n' ' ')"
cp /tmp/good.yaml "$cfg"

systemctl stop permsentry || fail "stop"
[ "$(ours)" -eq 0 ] || fail "$(ours) ps_ programs left after stop"
step "stopped: bpftool prog shows no permsentry program"

# The Ansible role, for real, on this host, twice: the second run changes
# nothing. Ansible under an emulated CPU takes ten minutes and more: CI runs
# without it (run-systemd-vm.sh --ansible runs it).
if [ "@ANSIBLE@" != 1 ]; then
  echo "SYSTEMD-STEP the Ansible role not applied (reduced form: run-systemd-vm.sh --ansible)"
  echo "SYSTEMD-PASS"
  exit 0
fi
inv=/tmp/inventory
printf '[sensors]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n' >"$inv"
for run in 1 2; do
  (cd "$src/deploy/ansible" && ANSIBLE_LOCAL_TEMP=/tmp/ans ANSIBLE_HOME=/tmp/ansh \
    ansible-playbook -i "$inv" site.yml -e ansible_become=false -e "permsentry_deb=$deb") \
    >/tmp/ansible-$run.log 2>&1 || { tail -n 30 /tmp/ansible-$run.log; fail "ansible run $run"; }
  recap=$(grep -A1 'PLAY RECAP' /tmp/ansible-$run.log | tail -n 1)
  step "ansible run $run: $recap"
done
echo "$recap" | grep -q 'changed=0' || fail "the second ansible run changed something"
until_ok 900 active || fail "not active after the role"
step "the role left it active: $(systemctl show permsentry -p StatusText --value)"
systemctl stop permsentry
echo "SYSTEMD-PASS"
