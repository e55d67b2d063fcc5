#!/usr/bin/env bash
# Registers qemu user emulation for ARM executables with the kernel's
# binfmt_misc, so that arm64 and 32-bit ARM binaries run as if native:
#
#   cross/binfmt.sh [aarch64] [arm]     (default: both)
#
# Used by the arm64 boot test (an arm64 Debian booted with systemd-nspawn)
# and by make test-arm (ARM test binaries that re-execute themselves).
# Mounts /proc/sys/fs/binfmt_misc if needed and registers each emulator
# from Debian's qemu-user-static (/usr/lib/binfmt.d/qemu-NAME.conf: the
# static interpreter with the fix-binary flag F, so it works inside another
# root), only where no entry of that name is registered already: an existing
# entry (binfmt-support's, a systemd-binfmt one) is left as it is.
#
# Exit status: 0 when every requested entry is registered and enabled; 1 on
# bad usage or a missing package; 3 when this machine cannot register them
# (not root, binfmt_misc not mountable, or the kernel refused), with the
# reason on stderr: callers skip what needs emulation then.
set -euo pipefail

readonly BINFMT=/proc/sys/fs/binfmt_misc
readonly CONF_DIR=/usr/lib/binfmt.d

cannot() {
  echo "binfmt.sh: $*" >&2
  exit 3
}

register() {
  local name=qemu-$1 conf=$CONF_DIR/qemu-$1.conf
  if [ -e "$BINFMT/$name" ]; then
    grep -qx enabled "$BINFMT/$name" || cannot "$name is registered but disabled ($BINFMT/$name)"
    return
  fi
  [ -f "$conf" ] || { echo "binfmt.sh: $conf not found (Debian package qemu-user-static)" >&2; exit 1; }
  local line interp
  line=$(grep -v '^#' "$conf" | head -n 1)
  interp=$(echo "$line" | awk -F: '{ print $(NF-1) }')
  [ -x "$interp" ] || { echo "binfmt.sh: interpreter $interp of $conf not found" >&2; exit 1; }
  printf '%s' "$line" >"$BINFMT/register" 2>/dev/null || cannot "the kernel refused to register $name"
  echo "binfmt.sh: registered $name ($interp)" >&2
}

main() {
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=(aarch64 arm)
  for n in "${names[@]}"; do
    case "$n" in aarch64 | arm) ;; *) echo "usage: cross/binfmt.sh [aarch64] [arm]" >&2; exit 1 ;; esac
  done
  [ "$(id -u)" -eq 0 ] || cannot "registering binfmt_misc entries needs root"
  if [ ! -e "$BINFMT/register" ]; then
    mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null || cannot "cannot mount binfmt_misc on $BINFMT"
  fi
  grep -qx enabled "$BINFMT/status" || cannot "binfmt_misc is disabled ($BINFMT/status)"
  for n in "${names[@]}"; do
    register "$n"
  done
}

main "$@"
