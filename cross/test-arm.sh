#!/usr/bin/env bash
# Runs tests built for a Pi Zero/1 (ARMv6, 32-bit) under qemu user
# emulation (Debian package qemu-user), without -race (not available on
# arm): make test-arm.
#
#   cross/test-arm.sh
#
# ARM_TEST_PKGS run with go test -exec qemu-arm. ARM_REEXEC_PKGS re-execute
# their test binary (crash and end-to-end tests), so they run through
# binfmt_misc instead (cross/binfmt.sh registers qemu-arm from
# qemu-user-static); QEMU_CPU reaches the re-executed children too. Where
# binfmt_misc cannot be used they are skipped with a SKIPPED line.
#
# Environment (defaults in brackets):
#   ARM_TEST_PKGS    [./store/... ./sensors/... ./protocol/... ./config/... ./telemetry/... ./wire/... ./internal/backoff/... ./agent/...]
#   ARM_REEXEC_PKGS  [./cmd/sioagent/... ./outbox/...]
#   QEMU_ARM         the qemu-arm command [qemu-arm]
#   GO               the go command [go]
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ARM1176 is the Pi Zero/1 CPU: an ARMv7 instruction dies with SIGILL.
readonly QEMU_CPU_ARMV6=arm1176
# binfmt.sh's exit status when this machine cannot register an emulator.
readonly BINFMT_CANNOT=3

ARM_TEST_PKGS=${ARM_TEST_PKGS:-./store/... ./sensors/... ./protocol/... ./config/... ./telemetry/... ./wire/... ./internal/backoff/... ./agent/...}
ARM_REEXEC_PKGS=${ARM_REEXEC_PKGS:-./cmd/sioagent/... ./outbox/...}
QEMU_ARM=${QEMU_ARM:-qemu-arm}

command -v "$QEMU_ARM" >/dev/null || {
  echo "test-arm: $QEMU_ARM not found (Debian: apt-get install qemu-user)" >&2
  exit 1
}
cd "$cross_root"
goenv=$(target_env arm/6)
echo "$goenv CGO_ENABLED=0 $GO test -count=1 -exec '$QEMU_ARM -cpu $QEMU_CPU_ARMV6' $ARM_TEST_PKGS"
# shellcheck disable=SC2086 # goenv and the package lists are word lists
env -u GOARM $goenv CGO_ENABLED=0 "$GO" test -count=1 -exec "$QEMU_ARM -cpu $QEMU_CPU_ARMV6" $ARM_TEST_PKGS

rc=0
"$cross_root/cross/binfmt.sh" arm || rc=$?
if [ $rc -eq $BINFMT_CANNOT ]; then
  echo "test-arm: SKIPPED $ARM_REEXEC_PKGS: qemu-arm cannot be registered with binfmt_misc here"
  exit 0
fi
[ $rc -eq 0 ] || exit $rc
echo "QEMU_CPU=$QEMU_CPU_ARMV6 $goenv CGO_ENABLED=0 $GO test -count=1 $ARM_REEXEC_PKGS"
# shellcheck disable=SC2086
QEMU_CPU=$QEMU_CPU_ARMV6 env -u GOARM $goenv CGO_ENABLED=0 "$GO" test -count=1 $ARM_REEXEC_PKGS
