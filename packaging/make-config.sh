#!/usr/bin/env bash
# Write the installed configuration: the built-in defaults with every key,
# commented, the rule files of CONFIG_DIR/rules.d and the agent signature
# packs of CONFIG_DIR/agents.d merged in name order, and
# alerts to the journal (the service keeps no stdout: every event would be
# copied there beside them).
# Usage: make-config.sh BINARY CONFIG_DIR OUTPUT
set -euo pipefail
"$1" run --print-default-config |
  sed -e "/^rules:/,/^[a-z]/s|^  files: \[\] |  files: [\"$2/rules.d/*.yaml\"]|" \
    -e "/^ai:/,/^[a-z]/s|^  files: \[\] |  files: [\"$2/agents.d/*.yaml\"]|" \
    -e "s|^sinks: \[\]  |sinks: [{type: journald, min_severity: low}]|" >"$3"
grep -q "rules.d/\*.yaml\"\]" "$3" || { echo "make-config.sh: no rules.files line to set" >&2; exit 1; }
grep -q "agents.d/\*.yaml\"\]" "$3" || { echo "make-config.sh: no ai.files line to set" >&2; exit 1; }
grep -q "^sinks: \[{type: journald" "$3" || { echo "make-config.sh: no sinks line to set" >&2; exit 1; }
