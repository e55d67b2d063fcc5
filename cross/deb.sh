#!/usr/bin/env bash
# Builds the Debian package of sioagent for one architecture, offline and
# reproducibly (same source, same VERSION and SOURCE_DATE_EPOCH: the same
# bytes), with dpkg-deb only.
#
#   cross/deb.sh ARCH [OUTDIR]    writes OUTDIR/sioagent_<version>_<ARCH>.deb
#   cross/deb.sh --print-version  prints "<VERSION> <Debian version>"
#
# ARCH is a Debian architecture; the binary is cross/build.sh's for the
# target in brackets:
#   armhf  [arm/6] one binary for every 32-bit Raspberry Pi OS, Pi Zero and
#          1 (ARMv6) included
#   arm64  [arm64] 64-bit Raspberry Pi OS (Pi 3, 4, 5, Zero 2)
#   amd64  [amd64] PCs, for tests
# OUTDIR defaults to dist/.
#
# Environment:
#   VERSION            the agent's version (sioagent version); default
#                      `git describe --tags --always --dirty`, else 0.0.0~dev.
#                      The Debian version is derived from it: v1.2.3 -> 1.2.3,
#                      v1.2.3-4-gabc1234 -> 1.2.3+4.gabc1234, v1.3.0-rc1 ->
#                      1.3.0~rc1, an untagged abc1234 ->
#                      0.0.0~git<YYYYMMDD>.abc1234, -dirty -> +dirty.
#   SOURCE_DATE_EPOCH  timestamp of every file and of the archive; default
#                      the last commit's time, else go.mod's mtime.
#   GO                 the go command (default go).
#
# Package contents: /usr/bin/sioagent, /lib/systemd/system/sioagent.service,
# /usr/lib/sysusers.d/sioagent.conf (user, gpio and i2c groups),
# /lib/udev/rules.d/60-sioagent.rules (GPIO and I2C nodes to those groups), /etc/sioagent/sioagent.toml (a conffile,
# from configs/example.toml) and /usr/share/doc/sioagent/; the maintainer
# scripts and the control template are in cross/debian/.
set -euo pipefail
umask 022

readonly PKG=sioagent
# Debian upstream versions: a digit first, then alphanumerics and . + ~ (no
# hyphen: the package has no Debian revision).
readonly DEB_VERSION_RE='^[0-9][A-Za-z0-9.+~]*$'
# What git describe --always prints when there is no tag.
readonly HASH_RE='^[0-9a-f]{7,40}$'

# shellcheck source=cross/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$cross_root

die() {
  echo "deb.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: cross/deb.sh armhf|arm64|amd64 [OUTDIR]" >&2
  echo "       cross/deb.sh --print-version" >&2
  exit 2
}

# in_git succeeds when the repository root is a git work tree's top level.
in_git() {
  command -v git >/dev/null 2>&1 || return 1
  local top
  top=$(git -C "$root" rev-parse --show-toplevel 2>/dev/null) || return 1
  [ "$(cd "$top" && pwd -P)" = "$(cd "$root" && pwd -P)" ]
}

source_date_epoch() {
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    echo "$SOURCE_DATE_EPOCH"
  elif in_git; then
    git -C "$root" log -1 --format=%ct
  else
    echo "deb.sh: not in git and SOURCE_DATE_EPOCH unset; using go.mod's mtime" >&2
    stat -c %Y "$root/go.mod"
  fi
}

agent_version() {
  if [ -n "${VERSION:-}" ]; then
    echo "$VERSION"
  elif in_git; then
    git -C "$root" describe --tags --always --dirty
  else
    echo "0.0.0~dev"
  fi
}

# deb_version VERSION EPOCH prints the Debian version for an agent version.
deb_version() {
  local v=${1#v} date dirty=""
  date=$(date -u -d "@$2" +%Y%m%d)
  if [[ $v == *-dirty ]]; then
    dirty=1
    v=${v%-dirty}
  fi
  if [[ $v =~ $HASH_RE ]]; then
    v="0.0.0~git${date}.${v}"
  elif [[ $v =~ ^(.+)-([0-9]+)-g([0-9a-f]+)$ ]]; then
    v="${BASH_REMATCH[1]}+${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
  fi
  [ -n "$dirty" ] && v="${v}+dirty"
  # A pre-release suffix (1.3.0-rc1) must sort before the release: ~.
  v=${v//-/\~}
  v=${v//_/.}
  [[ $v =~ $DEB_VERSION_RE ]] ||
    die "cannot make a Debian version of VERSION=$1 (got $v); set VERSION, e.g. VERSION=1.2.3"
  echo "$v"
}

# build_target ARCH prints the cross/lib.sh target of a Debian architecture.
build_target() {
  case "$1" in
  armhf) echo "arm/6" ;;
  arm64 | amd64) echo "$1" ;;
  *) return 1 ;;
  esac
}

# installed_size DIR prints dpkg's Installed-Size in KiB: each file rounded
# up to a KiB, one per directory or other entry (as dpkg-gencontrol counts).
installed_size() {
  find "$1" -mindepth 1 -path "$1/DEBIAN" -prune -o \
    \( -type f -printf 'f %s\n' \) -o -printf 'o 0\n' |
    awk '$1 == "f" { kib += int(($2 + 1023) / 1024); next } { kib += 1 } END { print kib + 0 }'
}

copyright() {
  local lic
  echo "sioagent: Socket.IO device agent for Raspberry Pi sensors"
  echo
  for lic in LICENSE LICENSE.md LICENSE.txt COPYING; do
    if [ -f "$root/$lic" ]; then
      echo "License ($lic of the source):"
      echo
      cat "$root/$lic"
      return
    fi
  done
  echo "Copyright and license: see the project repository."
}

build() {
  local arch=$1 outdir=$2 epoch version debver target tmp pkgroot deb
  target=$(build_target "$arch") || die "unknown architecture $arch (want armhf, arm64 or amd64)"
  command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found (Debian package dpkg)"
  epoch=$(source_date_epoch)
  [[ $epoch =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH=$epoch is not a number of seconds"
  version=$(agent_version)
  debver=$(deb_version "$version" "$epoch")

  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand tmp now
  trap "rm -rf '$tmp'" EXIT
  pkgroot=$tmp/root
  install -d -m 0755 "$pkgroot/DEBIAN" "$pkgroot/usr/bin" "$pkgroot/lib/systemd/system" \
    "$pkgroot/lib/udev/rules.d" "$pkgroot/usr/lib/sysusers.d" "$pkgroot/etc/sioagent" "$pkgroot/usr/share/doc/$PKG"

  echo "deb.sh: go build for $target (version $version)" >&2
  go_build "$target" "$version" "$pkgroot/usr/bin/$PKG"
  chmod 0755 "$pkgroot/usr/bin/$PKG"

  install -m 0644 "$root/systemd/sioagent.service" "$pkgroot/lib/systemd/system/sioagent.service"
  install -m 0644 "$root/systemd/sioagent.sysusers" "$pkgroot/usr/lib/sysusers.d/sioagent.conf"
  install -m 0644 "$root/systemd/60-sioagent.rules" "$pkgroot/lib/udev/rules.d/60-sioagent.rules"
  install -m 0644 "$root/configs/example.toml" "$pkgroot/etc/sioagent/sioagent.toml"
  local doc=$pkgroot/usr/share/doc/$PKG
  install -m 0644 "$root/README.md" "$doc/README.md"
  install -m 0644 "$root/docs/PROTOCOL.md" "$doc/PROTOCOL.md"
  install -m 0644 "$root/systemd/README.md" "$doc/systemd-README.md"
  copyright >"$doc/copyright"
  chmod 0644 "$doc/copyright"

  local deb_src=$root/cross/debian s
  for s in postinst prerm postrm; do
    install -m 0755 "$deb_src/$s" "$pkgroot/DEBIAN/$s"
  done
  install -m 0644 "$deb_src/conffiles" "$pkgroot/DEBIAN/conffiles"
  # md5sums of everything but the conffiles (dpkg --verify uses it).
  (cd "$pkgroot" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
    grep -vxF -f <(sed 's|^/||' "$deb_src/conffiles") | xargs -r md5sum) >"$pkgroot/DEBIAN/md5sums"
  chmod 0644 "$pkgroot/DEBIAN/md5sums"
  sed -e "s|@VERSION@|$debver|" -e "s|@ARCH@|$arch|" \
    -e "s|@INSTALLED_SIZE@|$(installed_size "$pkgroot")|" \
    "$deb_src/control.in" >"$pkgroot/DEBIAN/control"
  chmod 0644 "$pkgroot/DEBIAN/control"
  if grep -q '@[A-Z_]*@' "$pkgroot/DEBIAN/control"; then
    die "unreplaced placeholder in $deb_src/control.in"
  fi

  # Every timestamp is SOURCE_DATE_EPOCH (dpkg-deb also clamps to it).
  find "$pkgroot" -exec touch -h -d "@$epoch" {} +

  mkdir -p "$outdir"
  deb=$outdir/${PKG}_${debver}_${arch}.deb
  local threads=()
  # One xz thread: the stream then does not depend on the number of CPUs.
  if dpkg-deb --help 2>&1 | grep -q -- --threads-max; then
    threads=(--threads-max=1)
  fi
  SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz "${threads[@]}" \
    --build "$pkgroot" "$deb" >&2
  echo "$deb"
}

main() {
  if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
  if [ "$1" = --print-version ]; then
    [ $# -eq 1 ] || usage
    local version epoch debver
    version=$(agent_version)
    epoch=$(source_date_epoch)
    debver=$(deb_version "$version" "$epoch")
    echo "$version $debver"
    return
  fi
  build "$1" "${2:-$root/dist}"
}

main "$@"
