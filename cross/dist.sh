#!/usr/bin/env bash
# Builds the release binaries (cross/build.sh) into a directory:
#
#   cross/dist.sh OUTDIR [TARGET...]
#
# writes OUTDIR/sioagent-linux-<name> for each TARGET (armv6, armv7, arm64,
# amd64; see cross/lib.sh). Without targets it builds all four and writes
# OUTDIR/SHA256SUMS of them. VERSION and GO as for cross/build.sh.
set -euo pipefail
# shellcheck source=cross/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ $# -lt 1 ]; then
  echo "usage: cross/dist.sh OUTDIR [arm/6|arm/7|arm64|amd64...]" >&2
  exit 2
fi
outdir=$1
shift
targets=("$@")
sums=""
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${RELEASE_TARGETS[@]}")
  sums=1
fi
# One version for every binary, even if the tree changes meanwhile.
version=${VERSION:-$(default_version)}
mkdir -p "$outdir"
names=()
for t in "${targets[@]}"; do
  name=sioagent-linux-$(target_name "$t")
  echo "cross/dist.sh: $t -> $outdir/$name (version $version)" >&2
  go_build "$t" "$version" "$outdir/$name"
  names+=("$name")
done
if [ -n "$sums" ]; then
  (cd "$outdir" && sha256sum "${names[@]}" >SHA256SUMS)
fi
