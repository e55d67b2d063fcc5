// Package systemd holds sioagent's systemd packaging and the tests that
// check it: sioagent.service (the hardened Type=notify unit) and
// sioagent.sysusers (the systemd-sysusers entry for the sioagent system user
// and group). The package has no Go API; see README.md in this directory for
// installing the agent on a Raspberry Pi.
//
// The tests run "systemd-analyze verify" and "systemd-analyze security
// --offline=yes" on the unit, "systemd-sysusers" on the sysusers file, and
// check the settings the agent depends on. deb_test.go builds the Debian
// packages (scripts/deb.sh, packaging/debian/) and checks their control
// fields, contents, maintainer scripts and reproducibility. Where
// systemd-analyze (or dpkg-deb) is not
// installed they are skipped, unless SIOAGENT_REQUIRE_SYSTEMD=1 is set, which
// turns the missing tool into a failure (CI sets it).
package systemd
