#!/usr/bin/env bash
# The Ansible role as a fleet would run it, short of a real systemd: lint
# (ansible-lint), the playbook's syntax, then the role's own config tasks run
# for every host of the sample inventory (connection local, into a scratch
# directory, validated by the built binary's check-config; rule files and
# agent signature packs), and a bad rule
# file refused by that validation without replacing the good one.
# Usage: check-ansible.sh SOURCE BUILD
set -euo pipefail
src=$1/deploy/ansible
bin=$2/permsentry
if ! command -v ansible-playbook >/dev/null; then
  echo "check-ansible: SKIP: ansible-playbook not installed (apt-get install ansible-core ansible-lint)"
  exit 0
fi
work=$(mktemp -d /tmp/permsentry-ansible-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-ansible: $*" >&2; exit 1; }
export ANSIBLE_CONFIG=$src/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$work/tmp \
  ANSIBLE_REMOTE_TEMP=$work/tmp ANSIBLE_HOME=$work/home
cd "$src"
if command -v ansible-lint >/dev/null; then
  ansible-lint --offline site.yml roles/permsentry >"$work/lint.log" 2>&1 ||
    { cat "$work/lint.log" >&2; fail "ansible-lint is not clean"; }
  echo "check-ansible: ansible-lint: clean"
else
  echo "check-ansible: ansible-lint not installed: not linted"
fi
ansible-playbook --syntax-check site.yml >/dev/null || fail "syntax"
common=(-e ansible_connection=local -e ansible_become=false -e permsentry_manage_service=false
  -e "permsentry_binary=$bin")
for h in web1.example.com db1.example.com; do
  mkdir -p "$work/$h"
  ansible-playbook site.yml --tags config --limit "$h" "${common[@]}" \
    -e "permsentry_config_dir=$work/$h" >"$work/$h.log" 2>&1 ||
    { cat "$work/$h.log" >&2; fail "the role's config tasks failed for $h"; }
  "$bin" check-config "$work/$h/permsentry.yaml" >"$work/$h.check" ||
    fail "$h: the written config does not pass check-config"
  grep -q "18 rules" "$work/$h.check" || fail "$h: rules.d not merged: $(cat "$work/$h.check")"
  grep -q "sinks: journald, syslog" "$work/$h.check" || fail "$h: sinks: $(cat "$work/$h.check")"
  "$bin" check-config "$work/$h/agents.d/50-inhouse.yaml" | grep -q "1 agents: inhouse-bot" ||
    fail "$h: the agent signature pack was not written"
done
echo "check-ansible: config for both hosts: $(cat "$work/web1.example.com.check")"
# A bad rule file: the validation refuses it, the good one stays.
good=$(cat "$work/web1.example.com/rules.d/50-site.yaml")
if ansible-playbook site.yml --tags config --limit web1.example.com "${common[@]}" \
  -e "permsentry_config_dir=$work/web1.example.com" \
  -e '{"permsentry_rule_files": [{"name": "50-site", "rules": [{"id": "x", "severity": "catastrophic", "match": {}}]}]}' \
  >"$work/bad.log" 2>&1; then
  fail "a bad rule file went live"
fi
grep -q "failed to validate" "$work/bad.log" || { cat "$work/bad.log" >&2; fail "not refused by validation"; }
[[ $(cat "$work/web1.example.com/rules.d/50-site.yaml") == "$good" ]] || fail "the good rule file was replaced"
echo "check-ansible: a bad rule file is refused by check-config and the good one kept"
