# shellcheck shell=bash
# Shared by the scripts of cross/ (sourced, not run): the release targets
# and the one definition of how a release binary is built.
#
# A target is GOARCH, or arm/GOARM for 32-bit ARM:
#   arm/6   Pi Zero and 1 (ARMv6); runs on every 32-bit Raspberry Pi OS
#   arm/7   Pi 2 and 3 on a 32-bit OS (dies with SIGILL on a Pi Zero or 1)
#   arm64   64-bit Raspberry Pi OS (Pi 3, 4, 5, Zero 2)
#   amd64   PCs, for tests
#   native  this machine's GOOS and GOARCH, as go env reports them

# ARM_TARGETS are the Raspberry Pi targets every package must compile for.
readonly ARM_TARGETS=(arm/6 arm/7 arm64)
# RELEASE_TARGETS are the targets of the release binaries in dist/.
readonly RELEASE_TARGETS=("${ARM_TARGETS[@]}" amd64)
# AGENT_PKG is the package of the agent's binary.
readonly AGENT_PKG=./cmd/sioagent

# cross_root is the repository root.
cross_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO=${GO:-go}

# target_env TARGET prints the go environment of a target, one NAME=VALUE
# a word. The micro-architecture levels are pinned, so the environment of
# the caller cannot change what a release binary runs on.
target_env() {
  case "$1" in
  arm/6 | arm/7) echo "GOOS=linux GOARCH=arm GOARM=${1#arm/}" ;;
  arm64) echo "GOOS=linux GOARCH=arm64 GOARM64=v8.0" ;;
  amd64) echo "GOOS=linux GOARCH=amd64 GOAMD64=v1" ;;
  native) echo "" ;;
  *) return 1 ;;
  esac
}

# target_name TARGET prints the suffix of its release binary's name:
# sioagent-linux-<suffix>.
target_name() {
  case "$1" in
  arm/*) echo "armv${1#arm/}" ;;
  *) echo "$1" ;;
  esac
}

# default_version prints the agent's version when VERSION is unset: git
# describe of the repository, else "dev".
default_version() {
  git -C "$cross_root" describe --tags --always --dirty 2>/dev/null || echo dev
}

# go_build TARGET VERSION OUT [DIR PKG] builds the agent for a target to the
# file OUT (relative to the current directory): static (CGO_ENABLED=0),
# stripped, without paths or build id (-trimpath, -buildid=), VERSION stamped
# in (sioagent version). DIR and PKG build another main package the same way
# (cross/size builds its floor program so).
go_build() {
  local target=$1 version=$2 out goenv dir=${4:-$cross_root} pkg=${5:-$AGENT_PKG}
  out=$(realpath -m -- "$3")
  goenv=$(target_env "$target") || {
    echo "cross: unknown target $target (want arm/6, arm/7, arm64, amd64 or native)" >&2
    return 2
  }
  if [ "$target" != native ]; then
    # The target fixes these; values from the caller's environment must not
    # leak into the build.
    goenv="-u GOARM -u GOARM64 -u GOAMD64 $goenv"
  fi
  # shellcheck disable=SC2086 # goenv is a list of env arguments
  (cd "$dir" && env $goenv CGO_ENABLED=0 \
    "$GO" build -trimpath -ldflags "-s -w -buildid= -X main.version=$version" \
    -o "$out" "$pkg")
}
