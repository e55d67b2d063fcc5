// Package systemd holds sioagent's systemd unit and the tests that check
// it: sioagent.service (the hardened Type=notify unit) and
// sioagent.sysusers (the systemd-sysusers entry for the sioagent system user
// and group and its membership of gpio and i2c) and 60-sioagent.rules (udev
// rules for the GPIO and I2C device nodes). The package has no Go API; see
// README.md in this directory for installing the agent on a Raspberry Pi.
// The Debian package that ships these files is built and checked in cross/.
//
// The tests run "systemd-analyze verify" and "systemd-analyze security
// --offline=yes" on the unit, "systemd-sysusers" on the sysusers file, and
// check the settings the agent depends on. Where systemd-analyze is not
// installed they are skipped, unless SIOAGENT_REQUIRE_SYSTEMD=1 is set,
// which turns the missing tool into a failure (CI sets it).
//
// The boot tests (boot_test.go, bootsteps_test.go, container_test.go) run
// only with SIOAGENT_BOOT=1 (make test-boot): they check the unit under a
// real systemd. They take the package as cross/deb.sh builds it
// (internal/debbuild), install it in a Debian 12 booted with
// systemd-nspawn, amd64 and, under qemu user emulation, arm64, and run the
// agent there against the Node server.
package systemd
