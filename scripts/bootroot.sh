#!/usr/bin/env bash
# Prints the path of a pristine Debian 12 (bookworm) root file system for
# the boot tests (systemd/bootsteps_test.go), building it first with debootstrap
# when it is not cached yet:
#
#   scripts/bootroot.sh ARCH [CACHEDIR]
#
# ARCH is amd64 or arm64 (arm64 needs qemu-aarch64 registered with
# binfmt_misc: cross/binfmt.sh). The tree is debootstrap's minbase variant
# with systemd, systemd-sysv, dbus, procps and udev: the smallest Debian that
# boots under systemd-nspawn --boot, has what the package depends on, and
# can check its udev rules. It is cached in CACHEDIR (default
# $SIOAGENT_CACHE, else /var/cache/sioagent-test; outside the repository)
# as CACHEDIR/bookworm-ARCH, built under a temporary name and renamed, so an
# interrupted build is never taken for a cached one. Tests never change it:
# they boot an overlay of it. Delete the directory to rebuild.
#
# The packages come from the Debian mirror this machine's apt uses (the
# first Debian URI of /etc/apt/sources.list.d/*.sources or
# /etc/apt/sources.list), or from $SIOAGENT_DEBIAN_MIRROR, through the proxy
# apt is configured with, if any. Needs root and debootstrap.
set -euo pipefail

readonly SUITE=bookworm
readonly VARIANT=minbase
# procps: /bin/kill, which the unit's ExecReload= runs (every Debian but
# minbase has it; the package depends on it). udev: udevadm, to check that
# the package's rules parse and name groups that exist.
readonly INCLUDE=systemd,systemd-sysv,dbus,procps,udev
# Debian's archive signing keys (Debian package debian-archive-keyring).
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
  echo "bootroot.sh: $*" >&2
  exit 1
}

# mirror prints the Debian archive URI apt uses on this machine.
mirror() {
  if [ -n "${SIOAGENT_DEBIAN_MIRROR:-}" ]; then
    echo "$SIOAGENT_DEBIAN_MIRROR"
    return
  fi
  local uri
  # deb822 sources: the URIs of a stanza whose URI ends in /debian.
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i ~ /\/debian\/?$/) { print $i; exit } }' \
      /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "no Debian mirror in apt's sources; set SIOAGENT_DEBIAN_MIRROR"
  echo "$uri"
}

main() {
  [ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: scripts/bootroot.sh amd64|arm64 [CACHEDIR]" >&2; exit 2; }
  local arch=$1 cache=${2:-${SIOAGENT_CACHE:-/var/cache/sioagent-test}}
  case "$arch" in amd64 | arm64) ;; *) die "unknown architecture $arch (want amd64 or arm64)" ;; esac
  local dir=$cache/$SUITE-$arch stamp="$SUITE $VARIANT $INCLUDE"
  # The stamp records what the tree was built with: a change rebuilds it.
  if [ -x "$dir/usr/lib/systemd/systemd" ] && [ "$(cat "$dir/.sioagent-complete" 2>/dev/null)" = "$stamp" ]; then
    echo "$dir"
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found (Debian package debootstrap)"
  [ -f "$KEYRING" ] || die "$KEYRING not found (Debian package debian-archive-keyring)"
  local uri proxy
  uri=$(mirror)
  # debootstrap fetches with wget, which reads http_proxy.
  if [ -z "${http_proxy:-}" ] && command -v apt-config >/dev/null 2>&1; then
    proxy=$(apt-config shell p Acquire::http::Proxy | sed -n "s/^p='\(.*\)'$/\1/p")
    if [ -n "$proxy" ]; then export http_proxy=$proxy; fi
  fi
  mkdir -p "$cache"
  local tmp
  tmp=$(mktemp -d "$cache/.$SUITE-$arch.XXXXXX")
  # shellcheck disable=SC2064 # expand tmp now
  trap "rm -rf '$tmp'" EXIT
  local start=$SECONDS log=$tmp.log
  echo "bootroot.sh: debootstrap $SUITE $arch ($VARIANT + $INCLUDE) into $dir" >&2
  if ! debootstrap --arch="$arch" --variant="$VARIANT" --include="$INCLUDE" --keyring="$KEYRING" \
    "$SUITE" "$tmp" "$uri" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "debootstrap failed (log above)"
  fi
  rm -f "$log"
  # An empty machine-id: systemd makes a fresh one at every boot.
  : >"$tmp/etc/machine-id"
  # apt caches of the build are not needed to boot.
  rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*_Packages
  echo "$stamp" >"$tmp/.sioagent-complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  trap - EXIT
  echo "bootroot.sh: $dir built in $((SECONDS - start)) s" >&2
  echo "$dir"
}

main "$@"
