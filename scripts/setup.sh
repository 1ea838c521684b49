#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 machine (as root): Debian packages the harness
# drives for real, and a virtualenv with the Python dependencies. It starts no service:
# tests and commands start the daemons they need and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  # runtimes and what they need
  containerd runc crun docker.io containernetworking-plugins iptables iproute2 tini catatonit
  # nodes: sshd for the SSH transport, nspawn machines built with debootstrap
  openssh-server openssh-client systemd-container debootstrap
  # registry and control-plane store
  docker-registry etcd-server etcd-client
  # kubeadm's kube-proxy image carries the host's conntrack (it clears stale UDP flows with it)
  conntrack
  # fixture images: static binaries and a C compiler for the pause and probe programs
  busybox-static gcc libc6-dev
  # image tooling used as an independent check of what we build
  skopeo umoci
  # Go 1.19: builds Kubernetes 1.23/1.24 and CoreDNS from their Go modules (harness/kube)
  golang-1.19-go
  # python venv, and tools tests use to look at the host
  python3-venv procps psmisc git ca-certificates
  # the headless browser the report test opens report.html in (Playwright drives it; its own
  # browser download is not used)
  chromium
)

log() { printf '[setup] %s\n' "$*"; }

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "setup: missing Debian packages (${missing[*]}); run this script as root" >&2
    exit 2
  fi
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # policy-rc.d keeps Debian's maintainer scripts from starting daemons where an init exists.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  rm -f /usr/sbin/policy-rc.d
else
  log "Debian packages present"
fi

PYTHON=${PYTHON:-python3}
# A venv whose creation was cut short has python but no pip: made again, never half-used.
if [[ ! -x .venv/bin/python || ! -x .venv/bin/pip ]]; then
  log "creating .venv"
  "$PYTHON" -m venv --clear .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -f $stamp ]]; then
  log "installing Python dependencies into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev,bench]'  # bench: its curve-drawing test runs too
  rm -f .venv/.installed-* && touch "$stamp"
else
  log "Python dependencies present"
fi
log "done: activate with 'source .venv/bin/activate' or call .venv/bin/harness"
