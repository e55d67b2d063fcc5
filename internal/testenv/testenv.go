// Package testenv turns a test's skip for a missing capability of the
// machine into a failure where the environment promises that capability.
//
// A test that cannot run here (no mount permission, no git work tree, no
// boot id) skips, so that `go test ./...` works anywhere. A skip in CI,
// though, would hide a regression as quietly as a pass: `make test` sets
// the SIOAGENT_REQUIRE_* variables below for what it can guarantee, and
// with one set to 1 the matching skip becomes a failure.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// The variables; each is honoured when set to "1".
const (
	// RequireMount promises the tests may mount file systems (root or
	// CAP_SYS_ADMIN): the store's disk-full test on a tmpfs.
	RequireMount = "SIOAGENT_REQUIRE_MOUNT"
	// RequireGit promises the source tree is a git work tree git can read
	// (the .deb version test).
	RequireGit = "SIOAGENT_REQUIRE_GIT"
	// RequireBootID promises the kernel's boot id is readable
	// (/proc/sys/kernel/random/boot_id): the checks that depend on
	// knowing the boot.
	RequireBootID = "SIOAGENT_REQUIRE_BOOTID"
	// RequireSystemd promises the systemd and Debian tools the unit and
	// package checks run (systemd-analyze, systemd-sysusers, dpkg-deb):
	// systemd/ and cross/.
	RequireSystemd = "SIOAGENT_REQUIRE_SYSTEMD"
)

// Required reports whether the variable env is set to "1".
func Required(env string) bool { return os.Getenv(env) == "1" }

// SkipUnlessRequired skips t with the message, or fails it (Fatal) when
// env is set to "1".
func SkipUnlessRequired(t testing.TB, env, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required(env) {
		t.Fatalf("%s, and %s=1 requires it", msg, env)
		return // Fatalf ends a real test; a stand-in TB may return
	}
	t.Skipf("%s (set %s=1 to make this a failure)", msg, env)
}
