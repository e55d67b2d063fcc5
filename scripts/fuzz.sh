#!/usr/bin/env bash
# Runs every Go fuzz target of FUZZPKGS (default ./...) for FUZZTIME
# (default 30s), one target at a time (go test -fuzz accepts only one target
# per run).
# New crashers are written to the package's testdata/fuzz/<Target>/ by go
# test; commit them once fixed, they become regression cases.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-30s}
read -r -a pkgs <<<"${FUZZPKGS:-./...}"

# `go test -list` prints the matching names of a package, then a line
# "ok  <package> <time>".
targets=$("$GO" test -list '^Fuzz' "${pkgs[@]}" | awk '
  /^Fuzz/ { names[n++] = $1; next }
  /^ok/   { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }
')

if [ -z "$targets" ]; then
  echo "no fuzz targets found"
  exit 0
fi

count=$(wc -l <<<"$targets")
echo "running $count fuzz target(s) for $FUZZTIME each"
while read -r pkg name; do
  echo "=== $pkg $name"
  "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"
done <<<"$targets"
