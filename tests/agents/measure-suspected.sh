#!/usr/bin/env bash
# Measures the `suspected` heuristic: how often it fires on what it should
# (the real agent CLIs with the signature table, the generic markers and the
# declared sessions all turned off, run on a terminal as a person runs them),
# and how often on what it must not (a person's work on a terminal: shells,
# scripts, package managers, build tools, detached jobs). Prints one line per
# scenario and the totals; the README's figures come from this.
#
# usage: measure-suspected.sh BUILD   (as root; the agents from install.sh)
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cache=${PERMSENTRY_AGENT_CACHE:-/var/cache/permsentry-test-agents}
work=$(mktemp -d /var/tmp/permsentry-suspect-XXXXXX)
sensor=
mocks=()
cleanup() {
  for m in "${mocks[@]}"; do kill "$m" 2>/dev/null || true; done
  [[ -n $sensor ]] && kill -INT "$sensor" 2>/dev/null && wait "$sensor" 2>/dev/null
  dpkg --purge permsentry-measure-pkg >/dev/null 2>&1 || true
  [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
command -v script >/dev/null || { echo "measure-suspected: needs script(1) (bsdutils)"; exit 1; }

cat >"$work/permsentry.yaml" <<EOF
ai:
  defaults: false
  generic_env: []
  suspect_min_age_s: ${MIN_AGE_S:-0}
  status_file: $work/status.json
EOF
"$build/permsentry" run --config "$work/permsentry.yaml" --format json \
  --ready-file "$work/ready" >"$work/events.json" 2>"$work/sensor.err" &
sensor=$!
for _ in $(seq 600); do [[ -f $work/ready ]] && break; sleep 0.1; done
[[ -f $work/ready ]] || { cat "$work/sensor.err"; exit 1; }

# Each scenario: a name, whether it is an agent, and a command run on a fresh
# terminal (script(1) gives it one) that changes $work/<name>'s mode.
declare -a names kinds
run() {
  local name=$1 kind=$2 cmd=$3
  names+=("$name")
  kinds+=("$kind")
  echo x >"$work/$name"
  chmod 0644 "$work/$name"
  (cd "$work" && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home-$name" TERM=xterm \
    script -qec "$cmd" /dev/null >"$work/$name.log" 2>&1) || true
}
mock() { # mock NAME COMMAND: start the vendor mock for one agent run, print its port
  # (not in a command substitution: that would wait for the mock to end)
  python3 "$here/mock_api.py" --port-file "$work/$1.port" --command "$2" --max-seconds 300 \
    >"$work/$1.mock.log" 2>&1 &
  mocks+=($!)
  for _ in $(seq 300); do [[ -f $work/$1.port ]] && break; sleep 0.05; done
  cat "$work/$1.port"
}

if [[ -x $cache/node_modules/.bin/claude ]]; then
  mock claude "chmod 0640 $work/agent-claude" >"$work/port"
  p=$(cat "$work/port")
  run agent-claude agent "ANTHROPIC_BASE_URL=http://127.0.0.1:$p ANTHROPIC_API_KEY=x \
    DISABLE_AUTOUPDATER=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
    $cache/node_modules/.bin/claude -p go --allowedTools Bash </dev/null"
  mkdir -p "$work/home-agent-codex/.codex"
  mock codex "chmod 0640 $work/agent-codex" >"$work/port"
  p=$(cat "$work/port")
  printf 'model = "m"\nmodel_provider = "mock"\n[model_providers.mock]\nname = "mock"\nbase_url = "http://127.0.0.1:%s/v1"\nenv_key = "OPENAI_API_KEY"\nwire_api = "responses"\n' \
    "$p" >"$work/home-agent-codex/.codex/config.toml"
  run agent-codex agent "CODEX_HOME=$work/home-agent-codex/.codex OPENAI_API_KEY=x \
    $cache/node_modules/.bin/codex exec --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox go </dev/null"
  mkdir -p "$work/home-agent-gemini/.gemini"
  echo '{"security":{"auth":{"selectedType":"gemini-api-key"}}}' >"$work/home-agent-gemini/.gemini/settings.json"
  mock gemini "chmod 0640 $work/agent-gemini" >"$work/port"
  p=$(cat "$work/port")
  run agent-gemini agent "GEMINI_API_KEY=x GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:$p \
    GEMINI_CLI_TRUST_WORKSPACE=true $cache/node_modules/.bin/gemini -p go --yolo </dev/null"
fi

# A person's work.
run human-chmod human "chmod 0640 $work/human-chmod"
run human-bash-c human "bash -c 'chmod 0640 $work/human-bash-c; true'"
run human-setsid human "setsid -w sh -c 'chmod 0640 $work/human-setsid'"
run human-nohup human "nohup sh -c 'chmod 0640 $work/human-nohup' >/dev/null 2>&1"
run human-python human "python3 -c \"import subprocess; subprocess.run('chmod 0640 $work/human-python', shell=True)\""
run human-node human "node -e \"require('child_process').execSync('chmod 0640 $work/human-node')\""
run human-find human "find $work -maxdepth 1 -name human-find -exec chmod 0640 {} +"
printf 'all:\n\tchmod 0640 %s\n' "$work/human-make" >"$work/Makefile"
run human-make human "make -s -C $work"
mkdir -p "$work/pkg/DEBIAN"
printf 'Package: permsentry-measure-pkg\nVersion: 1\nArchitecture: all\nMaintainer: x <x@x>\nDescription: x\n' >"$work/pkg/DEBIAN/control"
printf '#!/bin/sh\nchmod 0640 %s\n' "$work/human-dpkg" >"$work/pkg/DEBIAN/postinst"
chmod 0755 "$work/pkg/DEBIAN/postinst"
dpkg-deb --build --root-owner-group "$work/pkg" "$work/pkg.deb" >/dev/null
run human-dpkg human "dpkg -i $work/pkg.deb"
# A script that detaches its worker on purpose: the shape the heuristic keys
# on, from a person (what it cannot tell from an agent).
run human-detaching-script human "python3 -c \"import subprocess; subprocess.run(['sh','-c','chmod 0640 $work/human-detaching-script'], start_new_session=True)\""

# A barrier: every event above is in before this one.
touch "$work/barrier"
chmod 0600 "$work/barrier"
for _ in $(seq 200); do grep -q "\"$work/barrier\"" "$work/events.json" && break; sleep 0.05; done

tp=0 fn=0 fp=0 tn=0
printf '%-26s %-6s %s\n' scenario kind attribution
for i in "${!names[@]}"; do
  n=${names[$i]} k=${kinds[$i]}
  a=$({ grep -F "\"$work/$n\"" "$work/events.json" || true; } | { grep -F '"0640"' || true; } |
    tail -n 1 |
    python3 -c 'import json,sys; l=sys.stdin.read(); print(json.loads(l)["permsentry"]["ai"]["attribution"] if l else "no-event")')
  printf '%-26s %-6s %s\n' "$n" "$k" "$a"
  if [[ $k == agent ]]; then [[ $a == suspected ]] && tp=$((tp + 1)) || fn=$((fn + 1))
  else [[ $a == suspected ]] && fp=$((fp + 1)) || tn=$((tn + 1)); fi
done
echo "agents suspected: $tp of $((tp + fn)); human scenarios suspected: $fp of $((fp + tn))"
