#!/usr/bin/env bash
# What tests/test_team.py's remotes need on the machine, installed once before the tests:
# Debian's openssh-server (the test starts its own sshd on a loopback port, with keys it
# generates) and sshd's privilege-separation directory. The S3 server (moto) is a Python
# dependency of the dev extra, installed by scripts/setup.sh.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else echo "ci-services: '$*' needs root (or passwordless sudo)" >&2; return 1
  fi
}

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
  command -v apt-get >/dev/null \
    || { echo "ci-services: no /usr/sbin/sshd and no apt-get to install openssh-server" >&2; exit 1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openssh-server openssh-client >/dev/null
fi
# sshd refuses to start as root without it; a container has no init to create it.
[ -d /run/sshd ] || as_root install -d -m 0755 /run/sshd
echo "ci-services: $(/usr/sbin/sshd -V 2>&1 | head -n 1 || true) ready"
