#!/usr/bin/env bash
# Installs the pinned releases of the real agent CLIs the RealAgents tests run
# (tests/integration/real_agents_test.cc) from the npm registry into a cache
# outside the repository, once per machine:
#   PERMSENTRY_AGENT_CACHE (default /var/cache/permsentry-test-agents)
# When npm or the registry is not there, it says so in CACHE/.status and exits
# 0: the tests then skip with that reason instead of failing.
set -euo pipefail
cache=${PERMSENTRY_AGENT_CACHE:-/var/cache/permsentry-test-agents}
# Pinned: a new release changes what its shell tool puts in the environment
# and how it spawns, which is what the tests check. Bump together with the
# README's table of verified agents.
pins=(@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0 @google/gemini-cli@0.61.0)
mkdir -p "$cache"
say() { echo "agents: $*"; echo "$*" >"$cache/.status"; }
if [[ -f $cache/.pins && $(cat "$cache/.pins") == "${pins[*]}" ]]; then
  echo "agents: ${pins[*]} already in $cache"
  exit 0
fi
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  say "not installed: npm and node are not on this machine (apt-get install nodejs npm)"
  exit 0
fi
# Gemini CLI needs Node.js 20 or later (Debian 12's own is 18).
node_major=$(node --version | sed -n 's/^v\([0-9]*\)\..*/\1/p')
if ((${node_major:-0} < 20)); then
  say "not installed: node $(node --version) is older than the agent CLIs need (20 or later)"
  exit 0
fi
echo "agents: installing ${pins[*]} into $cache (node $(node --version))"
rm -f "$cache/.pins"
if ! out=$(timeout 900 npm install --prefix "$cache" --no-audit --no-fund --no-update-notifier \
  --fetch-retries=2 --fetch-timeout=60000 "${pins[@]}" 2>&1); then
  say "not installed: npm install failed (is the npm registry reachable?): $(tail -n 3 <<<"$out" | tr '\n' ' ')"
  exit 0
fi
for b in claude codex gemini; do
  [[ -x $cache/node_modules/.bin/$b ]] || { say "not installed: npm left no $b in $cache"; exit 0; }
done
echo "${pins[*]}" >"$cache/.pins"
say "installed: ${pins[*]}"
