package cross_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stubTool logs its name and arguments to $STUB_LOG; "systemctl is-active"
// exits with $STUB_ACTIVE (0 running, 3 not), "systemctl try-restart" with
// $STUB_RESTART (default 0).
const stubTool = `#!/bin/sh
echo "$(basename "$0") $*" >>"$STUB_LOG"
if [ "$(basename "$0")" = systemctl ]; then
	case "$1" in
	is-active) exit "${STUB_ACTIVE:-3}" ;;
	try-restart) exit "${STUB_RESTART:-0}" ;;
	esac
fi
exit 0
`

// scriptRun is one maintainer script run against stubbed systemd tools.
type scriptRun struct {
	out  string   // combined output
	log  []string // stub calls, "systemctl daemon-reload" etc.
	root string   // $DPKG_ROOT
	err  error
}

// newDpkgRoot returns a fresh $DPKG_ROOT; with systemd it has
// /run/systemd/system, the sign that systemd is running.
func newDpkgRoot(t *testing.T, systemd bool) string {
	t.Helper()
	root := t.TempDir()
	if systemd {
		if err := os.MkdirAll(filepath.Join(root, "run/systemd/system"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// runMaintainerScript runs cross/debian/<script> with args under root,
// with systemctl and systemd-sysusers replaced by logging stubs.
func runMaintainerScript(t *testing.T, root, script string, env []string, args ...string) scriptRun {
	t.Helper()
	stubs := t.TempDir()
	for _, name := range []string{"systemctl", "systemd-sysusers", "udevadm"} {
		if err := os.WriteFile(filepath.Join(stubs, name), []byte(stubTool), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logFile := filepath.Join(stubs, "calls.log")
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{filepath.Join(repoRoot, maintainerDir, script)}, args...)...)
	cmd.Env = append([]string{"PATH=" + stubs + ":/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
		"STUB_LOG=" + logFile, "DPKG_ROOT=" + root}, env...)
	out, err := cmd.CombinedOutput()
	r := scriptRun{out: string(out), root: root, err: err}
	if b, err := os.ReadFile(logFile); err == nil {
		r.log = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	return r
}

// called reports whether the stub log has a call starting with prefix.
func (r scriptRun) called(prefix string) bool {
	return slices.ContainsFunc(r.log, func(l string) bool { return strings.HasPrefix(l, prefix) })
}

// TestMaintainerScripts runs the maintainer scripts the way dpkg calls them,
// against stub systemctl and systemd-sysusers, under a temporary $DPKG_ROOT.
func TestMaintainerScripts(t *testing.T) {
	requireTool(t, "sh")
	// Nothing may ever enable or start the service: the token and the
	// config have to be set first.
	forbidden := []string{"systemctl enable", "systemctl start", "systemctl restart", "systemctl reenable"}
	noStart := func(t *testing.T, r scriptRun) {
		t.Helper()
		for _, f := range forbidden {
			if r.called(f) {
				t.Errorf("script ran %q; calls: %q", f, r.log)
			}
		}
	}
	ok := func(t *testing.T, r scriptRun) {
		t.Helper()
		if r.err != nil {
			t.Fatalf("script failed: %v\n%s", r.err, r.out)
		}
		noStart(t, r)
	}

	t.Run("install", func(t *testing.T) {
		root := newDpkgRoot(t, true)
		r := runMaintainerScript(t, root, "postinst", nil, "configure", "")
		ok(t, r)
		want := []string{"systemd-sysusers --root=" + root + " sioagent.conf", "systemctl daemon-reload"}
		if !slices.Equal(r.log, want) {
			t.Errorf("calls %q, want %q", r.log, want)
		}
		for _, s := range []string{"/etc/sioagent/token", "systemctl enable --now sioagent"} {
			if !strings.Contains(r.out, s) {
				t.Errorf("install note does not mention %q:\n%s", s, r.out)
			}
		}
	})
	t.Run("install with udev running", func(t *testing.T) {
		root := newDpkgRoot(t, true)
		ctl := filepath.Join(root, "run/udev/control")
		if err := os.MkdirAll(filepath.Dir(ctl), 0o755); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("unix", ctl)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		r := runMaintainerScript(t, root, "postinst", nil, "configure", "")
		ok(t, r)
		if !r.called("udevadm control --reload-rules") {
			t.Errorf("udev rules not reloaded; calls %q", r.log)
		}
		i := slices.IndexFunc(r.log, func(l string) bool { return strings.HasPrefix(l, "udevadm trigger ") })
		if i < 0 {
			t.Fatalf("existing device nodes not re-triggered; calls %q", r.log)
		}
		args := strings.Fields(r.log[i])
		for _, sub := range []string{"gpio", "i2c-dev", "bcm2835-gpiomem", "rpi-gpiomem"} {
			if !slices.Contains(args, "--subsystem-match="+sub) {
				t.Errorf("%s nodes not re-triggered: %q", sub, r.log[i])
			}
		}
	})
	t.Run("install in a chroot", func(t *testing.T) {
		r := runMaintainerScript(t, newDpkgRoot(t, false), "postinst", nil, "configure", "")
		ok(t, r)
		if r.called("systemctl") || r.called("udevadm") || !r.called("systemd-sysusers") {
			t.Errorf("without a running systemd and udev: calls %q, want systemd-sysusers only", r.log)
		}
	})
	t.Run("upgrade while running", func(t *testing.T) {
		r := runMaintainerScript(t, newDpkgRoot(t, true), "postinst", []string{"STUB_ACTIVE=0"}, "configure", "1.0.0")
		ok(t, r)
		if !r.called("systemctl daemon-reload") || !r.called("systemctl try-restart sioagent.service") {
			t.Errorf("calls %q, want daemon-reload and try-restart", r.log)
		}
		if strings.Contains(r.out, "not enabled") {
			t.Errorf("upgrade printed the first-install note:\n%s", r.out)
		}
	})
	t.Run("upgrade while stopped", func(t *testing.T) {
		r := runMaintainerScript(t, newDpkgRoot(t, true), "postinst", []string{"STUB_ACTIVE=3"}, "configure", "1.0.0")
		ok(t, r)
		if r.called("systemctl try-restart") {
			t.Errorf("restarted a stopped service; calls %q", r.log)
		}
	})
	t.Run("upgrade with a failing restart", func(t *testing.T) {
		r := runMaintainerScript(t, newDpkgRoot(t, true), "postinst",
			[]string{"STUB_ACTIVE=0", "STUB_RESTART=1"}, "configure", "1.0.0")
		ok(t, r) // dpkg must still configure the package
		if !strings.Contains(r.out, "journalctl -u sioagent") {
			t.Errorf("failed restart not reported:\n%s", r.out)
		}
	})
	t.Run("remove", func(t *testing.T) {
		r := runMaintainerScript(t, newDpkgRoot(t, true), "prerm", []string{"STUB_ACTIVE=0"}, "remove")
		ok(t, r)
		if !r.called("systemctl stop sioagent.service") {
			t.Errorf("running service not stopped on remove; calls %q", r.log)
		}
	})
	t.Run("prerm upgrade", func(t *testing.T) {
		r := runMaintainerScript(t, newDpkgRoot(t, true), "prerm", []string{"STUB_ACTIVE=0"}, "upgrade", "1.1.0")
		ok(t, r)
		if r.called("systemctl stop") {
			t.Errorf("service stopped for an upgrade; calls %q", r.log)
		}
	})
	t.Run("purge keeps the outbox", func(t *testing.T) {
		root := newDpkgRoot(t, true)
		outbox := filepath.Join(root, stateDir, "outbox.db")
		wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/sioagent.service")
		for _, dir := range []string{filepath.Dir(outbox), filepath.Dir(wants)} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(outbox, []byte("undelivered"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/lib/systemd/system/sioagent.service", wants); err != nil {
			t.Fatal(err)
		}
		for _, action := range []string{"remove", "purge"} {
			r := runMaintainerScript(t, root, "postrm", nil, action)
			ok(t, r)
			if !r.called("systemctl daemon-reload") {
				t.Errorf("postrm %s: no daemon-reload; calls %q", action, r.log)
			}
			if action == "purge" && !strings.Contains(r.out, stateDir) {
				t.Errorf("purge does not say %s was kept:\n%s", stateDir, r.out)
			}
		}
		if b, err := os.ReadFile(outbox); err != nil || string(b) != "undelivered" {
			t.Errorf("outbox after purge: %q, %v; want it untouched", b, err)
		}
		if _, err := os.Lstat(wants); err == nil {
			t.Errorf("purge left the enablement link %s", wants)
		}
	})
	t.Run("unknown action", func(t *testing.T) {
		for _, s := range []string{"postinst", "prerm", "postrm"} {
			if r := runMaintainerScript(t, newDpkgRoot(t, true), s, nil, "bogus"); r.err == nil {
				t.Errorf("%s bogus succeeded", s)
			}
		}
	})
}
