#!/usr/bin/env bash
# Installs the Debian packages `make test` needs when their commands are
# missing: systemd (systemd-analyze, systemd-sysusers: the systemd/ unit
# checks; systemd need not run as PID 1), qemu-user (qemu-arm: the ARMv6
# tests of make test-arm), and for the boot tests (make test-boot)
# systemd-container (systemd-nspawn), debootstrap with
# debian-archive-keyring, and qemu-user-static (the interpreters
# cross/binfmt.sh registers for arm64 and ARMv6 binaries), and fuse3
# (fusermount3, with which the power-cut filesystem of internal/powercut
# mounts where it cannot mount directly), and redis-server (the Redis
# store tests of server/node, make test-node-package). Uses apt-get
# as root, or through sudo.
set -euo pipefail

need=()
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v qemu-arm >/dev/null 2>&1 || need+=(qemu-user)
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
[ -x /usr/bin/qemu-aarch64-static ] && [ -x /usr/bin/qemu-arm-static ] || need+=(qemu-user-static)
command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "system-deps: missing Debian packages ${need[*]}; install them as root (apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
echo "system-deps: installing with apt-get: ${need[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${need[@]}"
