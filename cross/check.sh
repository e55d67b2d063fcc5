#!/usr/bin/env bash
# Compiles every package of the module for each Raspberry Pi target (arm/6,
# arm/7, arm64: cross/lib.sh), without cgo, and runs go vet for ARMv6, the
# 32-bit target where int is 32 bits wide (make cross).
#
#   cross/check.sh
#
# GO is the go command (default go).
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$cross_root"
for t in "${ARM_TARGETS[@]}"; do
  goenv=$(target_env "$t")
  echo "$goenv CGO_ENABLED=0 $GO build ./..."
  # shellcheck disable=SC2086 # goenv is a list of assignments
  env -u GOARM -u GOARM64 $goenv CGO_ENABLED=0 "$GO" build ./...
done
goenv=$(target_env arm/6)
echo "$goenv CGO_ENABLED=0 $GO vet ./..."
# shellcheck disable=SC2086
env -u GOARM $goenv CGO_ENABLED=0 "$GO" vet ./...
