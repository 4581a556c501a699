#!/usr/bin/env bash
# Write permsentry(8) from the binary's own --help texts: the top-level help,
# then every command's, verbatim. Usage: make-man.sh BINARY OUTPUT
set -euo pipefail
bin=$1
out=$2
version=$("$bin" --version | awk '{print $NF}')
commands=$("$bin" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{if (seen) exit} on{seen=1}')
# roff: a leading dot or quote would be a request; backslashes are escapes.
verbatim() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
{
  echo ".TH PERMSENTRY 8 \"\" \"permsentry $version\" \"System Administration\""
  echo ".SH NAME"
  echo "permsentry \\- see permission, ownership and credential changes, attributed to AI agents"
  echo ".SH SYNOPSIS"
  echo ".B permsentry"
  echo ".I command"
  echo "[options]"
  echo ".SH DESCRIPTION"
  echo ".nf"
  "$bin" --help | verbatim
  echo ".fi"
  echo ".SH COMMANDS"
  for c in $commands; do
    echo ".SS $c"
    echo ".nf"
    "$bin" "$c" --help | verbatim
    echo ".fi"
  done
  echo ".SH FILES"
  echo ".TP"
  echo ".I /etc/permsentry/permsentry.yaml"
  echo "the service's configuration (every key, commented)"
  echo ".TP"
  echo ".I /etc/permsentry/rules.d/*.yaml"
  echo "rule files, merged in name order"
  echo ".TP"
  echo ".I /run/permsentry/"
  echo "the tail socket and the status file"
  echo ".SH SEE ALSO"
  echo ".BR systemctl (1),"
  echo ".BR journalctl (1)"
} >"$out"
