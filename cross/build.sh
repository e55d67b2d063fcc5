#!/usr/bin/env bash
# Builds the release binary of sioagent for one target: the one place the
# release build flags are defined (make build, build-arm*, dist and deb all
# come here).
#
#   cross/build.sh TARGET OUT
#
# TARGET is arm/6, arm/7, arm64, amd64 or native (see cross/lib.sh); OUT is
# the file to write, relative to the current directory. The binary is
# static (CGO_ENABLED=0), stripped (-s -w), reproducible (-trimpath,
# -buildid=, micro-architecture levels pinned) and says VERSION in
# `sioagent version`.
#
# Environment:
#   VERSION  the agent's version; default `git describe --tags --always
#            --dirty`, else dev
#   GO       the go command (default go)
#
# Exit status: 0 built, 2 bad usage or unknown target, else go build's.
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ $# -ne 2 ] || [ -z "$2" ]; then
  echo "usage: cross/build.sh arm/6|arm/7|arm64|amd64|native OUT" >&2
  exit 2
fi
version=${VERSION:-$(default_version)}
mkdir -p "$(dirname "$2")"
go_build "$1" "$version" "$2"
