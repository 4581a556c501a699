#!/usr/bin/env bash
# Write vmlinux.h for CO-RE: from the running kernel's BTF when it has one,
# otherwise from the committed fallback (CO-RE relocates against the target
# kernel's BTF at load time either way).
set -euo pipefail
bpftool=$1 out=$2 fallback=$3
if [[ -r /sys/kernel/btf/vmlinux ]] && "$bpftool" btf dump file /sys/kernel/btf/vmlinux format c >"$out.tmp" 2>/dev/null; then
  mv "$out.tmp" "$out"
else
  echo "gen-vmlinux: no readable /sys/kernel/btf/vmlinux, using $fallback" >&2
  rm -f "$out.tmp"
  cp "$fallback" "$out"
fi
