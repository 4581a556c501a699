# Shared by run.sh, test.sh and bench.sh: install what the build needs, build.
# shellcheck shell=bash

PERMSENTRY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian 12 packages the build and tests need.
PERMSENTRY_BUILD_PACKAGES=(
  cmake make g++ pkg-config clang llvm libclang-rt-14-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libabsl-dev rapidjson-dev libyaml-cpp-dev libgtest-dev libgmock-dev liburing-dev
  libsystemd-dev libcurl4-openssl-dev
  qemu-system-x86 busybox-static cpio
)

# Real peers for the sink tests: rsyslogd (syslog collector), python3 (an HTTP
# server for the webhook), systemd-journald. The tests start their own on
# loopback and stop them after; none is started as a service.
# ansible-core and ansible-lint: the deploy role is run and linted (tests/install);
# prometheus: a real server scrapes the metrics (Service.PrometheusScrapesTheMetrics).
PERMSENTRY_TEST_PACKAGES=(rsyslog python3 systemd ansible-core ansible-lint prometheus)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_root() {
  [[ $(id -u) -eq 0 ]] || die "run this as root (sudo $0): permsentry loads BPF programs and installs packages"
}

# The packages of "$@" that are not installed, one per line.
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

# Install the packages that are missing (apt-get, non-interactive).
ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
}

# build DIR [cmake args...]: configure (once) and build.
build() {
  local dir=$1
  shift
  log "building in $dir"
  cmake -S "$PERMSENTRY_ROOT" -B "$dir" "$@" >/dev/null || die "cmake configure failed ($dir)"
  cmake --build "$dir" -j"$(nproc)" -- --no-print-directory >/dev/null 2>"$dir/build.log" || {
    cat "$dir/build.log" >&2
    die "build failed ($dir)"
  }
}

# ensure_packages, with every service the packages bring kept from starting
# (auditd, rsyslog: the benchmark and the tests start their own). An existing
# policy-rc.d is put back afterwards, also when the install fails.
ensure_packages_nostart() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  ((${#missing[@]} == 0)) && return 0
  PERMSENTRY_SAVED_POLICY=""
  if [[ -e /usr/sbin/policy-rc.d ]]; then
    PERMSENTRY_SAVED_POLICY=$(mktemp)
    cp -p /usr/sbin/policy-rc.d "$PERMSENTRY_SAVED_POLICY"
  fi
  trap restore_policy_rc EXIT
  # exit 101: "action forbidden", to every maintainer script.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  ensure_packages "${missing[@]}"
  restore_policy_rc
  trap - EXIT
}

restore_policy_rc() {
  if [[ -n "${PERMSENTRY_SAVED_POLICY:-}" ]]; then
    mv "$PERMSENTRY_SAVED_POLICY" /usr/sbin/policy-rc.d
  else
    rm -f /usr/sbin/policy-rc.d
  fi
  PERMSENTRY_SAVED_POLICY=""
}
