// Package cross holds how sioagent is built for and tested on its targets:
// the release binaries for the Raspberry Pi (ARMv6, ARMv7, arm64) and
// amd64, the Debian packages, and the ARM test run under qemu user
// emulation. The package has no Go API; its scripts are the interface:
//
//	build.sh TARGET OUT   one release binary (the only home of the build flags)
//	dist.sh OUTDIR        every release binary and SHA256SUMS (make dist)
//	check.sh              every package compiled for each ARM target (make cross)
//	test-arm.sh           tests built for ARMv6 run under qemu-arm (make test-arm)
//	binfmt.sh             registers qemu with binfmt_misc
//	deb.sh ARCH [OUTDIR]  one .deb, with the maintainer scripts of debian/ (make deb)
//	lib.sh                the targets and the build, sourced by the others
//
// The tests check what the scripts make: build_test.go the flags, names and
// checksums of build.sh and dist.sh; deb_test.go the packages' control
// fields, contents, binaries and reproducibility; maintainer_test.go the
// maintainer scripts run against stub systemd tools. Where dpkg-deb is not
// installed the package tests are skipped, unless SIOAGENT_REQUIRE_SYSTEMD=1
// is set (make test sets it), which turns the missing tool into a failure.
package cross
