package systemd_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/debbuild"
)

// TestBootDebianAMD64 installs the amd64 package in a booted Debian 12 and
// runs it as a user would: first the latest release (the last v* tag), with
// a backlog upgraded to this tree's package; then the shipped unit's
// readiness and live security score; then, with a drop-in shortening the
// watchdog and the restart delay, SIGKILL, a hung agent, reload, an offline
// stop, a broken config and purge. Every batch the agent committed reaches
// the server: its seqs are one run from 1 to the outbox's last seq.
func TestBootDebianAMD64(t *testing.T) {
	requireBoot(t)
	lower := bootRoot(t, "amd64")
	src := debbuild.SnapshotSource(t, repoRoot)
	newDeb := debbuild.Build(t, src, "amd64", t.TempDir())
	release, releaseDeb := buildReleaseDeb(t, "amd64")
	b := newBootRun(t, lower, "amd64")

	first := newDeb
	if releaseDeb != "" {
		first = releaseDeb
	}
	b.install(first)
	b.configure()
	b.enableNow()
	if releaseDeb != "" {
		if st, _ := b.status(); st.Version != release {
			t.Errorf("release package runs version %q, want %q", st.Version, release)
		}
		b.upgrade(newDeb)
	}
	b.checkLiveSecurity()
	b.checkPrivateUsersDeviceAccess()

	b.c.writeFile(dropInPath, dropIn, 0o644)
	b.c.must("systemctl", "daemon-reload")
	b.c.must("systemctl", "restart", unitName)
	b.killAndRestart()
	b.watchdog()
	b.reload()
	b.stopOffline()
	b.brokenConfig()
	b.allDelivered()
	b.purge()
}

// TestBootDebianARM64 boots an arm64 Debian 12 under qemu user emulation
// (binfmt_misc): the closest thing to 64-bit Raspberry Pi OS on this
// machine. It installs the arm64 package, starts the unit (as shipped but
// for LoadCredential= and PrivateUsers=, which systemd cannot set up under qemu user
// emulation) and checks readiness, the groups and delivery.
func TestBootDebianARM64(t *testing.T) {
	requireBoot(t)
	if _, errOut, err := runScript(t, scriptTimeout, binfmtScript, "aarch64"); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == binfmtCannot {
			t.Skipf("arm64 boot skipped: qemu-aarch64 cannot be registered with binfmt_misc here: %s", strings.TrimSpace(errOut))
		}
		t.Fatalf("%s aarch64: %v\n%s", binfmtScript, err, errOut)
	}
	lower := bootRoot(t, "arm64")
	deb := debbuild.Build(t, debbuild.SnapshotSource(t, repoRoot), "arm64", t.TempDir())
	b := newBootRun(t, lower, "arm64")
	if arch := strings.TrimSpace(b.c.must("dpkg", "--print-architecture")); arch != "arm64" {
		t.Fatalf("container architecture %q, want arm64", arch)
	}
	b.install(deb)
	b.configureWithoutCredentials()
	b.enableNow()
	b.stopOnline()
}

// buildReleaseDeb builds the package of the latest release tag reachable
// from HEAD, from `git archive` of that tag, and returns the tag and the
// .deb; both are empty (logged) when the clone has no release tag.
func buildReleaseDeb(t *testing.T, arch string) (tag, deb string) {
	t.Helper()
	tag, rev := releaseRev(t)
	if rev == "" {
		return "", ""
	}
	epoch, err := exec.Command("git", "-C", repoRoot, "log", "-1", "--format=%ct", rev).Output()
	if err != nil {
		t.Fatalf("git log %s: %v", rev, err)
	}
	tree := t.TempDir()
	archive := exec.Command("bash", "-c", `git -C "$1" archive --format=tar "$2" | tar -x -C "$3"`, "archive", repoRoot, rev, tree)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("git archive %s: %v\n%s", tag, err, out)
	}
	// The release's own modules may not be in the cache: the proxy is
	// allowed here (debbuild.Env turns it off).
	var env []string
	for _, kv := range debbuild.Env() {
		if !strings.HasPrefix(kv, "GOPROXY=") {
			env = append(env, kv)
		}
	}
	env = append(env, "VERSION="+tag, "SOURCE_DATE_EPOCH="+strings.TrimSpace(string(epoch)))
	start := time.Now()
	stdout, errOut, err := debbuild.Run(t, tree, env, debbuild.BuildTimeout, arch, t.TempDir())
	if err != nil {
		t.Fatalf("release %s: %s %s: %v\n%s", tag, debbuild.Script, arch, err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	deb = lines[len(lines)-1]
	t.Logf("release %s: %s built in %v", tag, filepath.Base(deb), time.Since(start).Round(100*time.Millisecond))
	return tag, deb
}

// releaseFile names the release to upgrade from in a clone without tags.
const releaseFile = "testdata/release"

// releaseRev returns the latest release: the v* tag reachable from HEAD,
// or else the tag and commit of releaseFile (a clone may come without
// tags; the commit is in the history all the same). rev is empty
// (logged) when neither is there.
func releaseRev(t *testing.T) (tag, rev string) {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD").Output()
	if err == nil {
		tag = strings.TrimSpace(string(out))
		return tag, tag
	}
	b, ferr := os.ReadFile(releaseFile)
	if ferr != nil {
		t.Fatalf("no release tag reachable from HEAD (%v), and %v", err, ferr)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && !strings.HasPrefix(line, "#") {
			tag, rev = f[0], f[1]
		}
	}
	if out, err := exec.Command("git", "-C", repoRoot, "cat-file", "-e", rev+"^{commit}").CombinedOutput(); err != nil || rev == "" {
		t.Logf("no release tag reachable from HEAD, and the commit %q of %s is not in this clone (%v %s): the upgrade step is left out", rev, releaseFile, err, out)
		return "", ""
	}
	t.Logf("no release tag reachable from HEAD: upgrading from %s as %s names it (%.12s)", tag, releaseFile, rev)
	return tag, rev
}

// upgrade installs the new package over a running agent with a backlog:
// the postinst restarts it onto the new binary, which delivers the backlog.
func (b *bootRun) upgrade(deb string) {
	b.t.Helper()
	backlog := b.goOffline()
	oldPID := b.show("MainPID")["MainPID"]
	out := b.install(deb)
	if !strings.Contains(out, "restarting the running service") {
		b.t.Errorf("dpkg -i of the new version did not restart the agent:\n%s", out)
	}
	st := b.waitStatus("the new version running", func(st agentStatus) bool {
		return st.Version == debbuild.TestVersion && st.Outbox.Depth >= backlog.Outbox.Depth
	})
	// Still offline: every seq after the server's last is queued (a batch
	// whose ack the cut lost is both stored and queued, hence >=).
	if delivered := b.gapFree(); delivered+st.Outbox.Depth < st.Outbox.NextSeq-1 {
		b.t.Errorf("after the upgrade: server has 1..%d, outbox %d queued, next seq %d: batches were lost",
			delivered, st.Outbox.Depth, st.Outbox.NextSeq)
	}
	if pid := b.show("MainPID")["MainPID"]; pid == oldPID {
		b.t.Errorf("main pid %s unchanged by the upgrade", pid)
	}
	b.goOnline()
	b.t.Logf("upgrade: %d queued batches delivered by %s", backlog.Outbox.Depth, debbuild.TestVersion)
}

// checkLiveSecurity compares systemd-analyze security of the loaded unit
// in the booted system with the offline score of the shipped file.
func (b *bootRun) checkLiveSecurity() {
	b.t.Helper()
	live, _ := b.c.exec("systemd-analyze", "security", "--no-pager", unitName)
	offline, _ := b.c.exec("systemd-analyze", "security", "--no-pager", "--offline=yes", "/lib/systemd/system/"+unitName)
	l, err := parseExposure(live)
	if err != nil {
		b.t.Fatalf("live security: %v\n%s", err, live)
	}
	o, err := parseExposure(offline)
	if err != nil {
		b.t.Fatalf("offline security: %v\n%s", err, offline)
	}
	if l != o || l > maxExposure {
		b.t.Errorf("live exposure %.1f, offline %.1f: want the same, at most %.1f", l, o, maxExposure)
	}
	b.t.Logf("systemd-analyze security: live %.1f, offline %.1f", l, o)
}

// checkPrivateUsersDeviceAccess shows that the unit's PrivateUsers=yes
// keeps the device access the gpio group gives: a file standing in for
// /dev/gpiochip0 (root:gpio, 0660) is readable by a service run as
// sioagent with PrivateUsers=yes, and not by one run without the group.
func (b *bootRun) checkPrivateUsersDeviceAccess() {
	b.t.Helper()
	const probe = "/var/lib/sioagent-probe/gpiochip"
	b.c.writeFile(probe, "gpio\n", 0o660)
	b.c.must("chgrp", "gpio", probe)
	run := func(props ...string) (string, error) {
		args := append([]string{"systemd-run", "--wait", "--pipe", "--quiet", "-p", "User=sioagent", "-p", "PrivateUsers=yes"}, props...)
		return b.c.exec(append(args, "cat", probe)...)
	}
	if out, err := run(); err != nil || !strings.Contains(out, "gpio") {
		b.t.Errorf("with PrivateUsers=yes, sioagent cannot read a root:gpio 0660 file: %v\n%s", err, out)
	}
	// The control: nobody, who is not in gpio, cannot read it.
	if out, err := b.c.exec("systemd-run", "--wait", "--pipe", "--quiet", "-p", "User=nobody", "-p", "PrivateUsers=yes", "cat", probe); err == nil {
		b.t.Errorf("nobody read the root:gpio 0660 file: the probe proves nothing\n%s", out)
	}
	b.c.must("rm", "-r", "/var/lib/sioagent-probe")
}

// killAndRestart SIGKILLs the agent: systemd restarts it.
func (b *bootRun) killAndRestart() {
	b.t.Helper()
	n, pid := b.nRestarts(), b.show("MainPID")["MainPID"]
	b.c.must("systemctl", "kill", "--signal=KILL", unitName)
	b.restarted("restart after SIGKILL", n, pid)
	b.waitStatus("connected after SIGKILL", func(st agentStatus) bool { return st.Conn.Connected })
}

// watchdog stops the agent with SIGSTOP: it misses its watchdog pings,
// systemd aborts it (its goroutine stacks land in the journal) and
// restarts it.
func (b *bootRun) watchdog() {
	b.t.Helper()
	n, pid := b.nRestarts(), b.show("MainPID")["MainPID"]
	b.c.must("systemctl", "kill", "--kill-who=main", "--signal=STOP", unitName)
	b.restarted("restart by the watchdog", n, pid)
	j := b.journal()
	for _, want := range []string{"Watchdog timeout", "SIGABRT", "goroutine "} {
		if !strings.Contains(j, want) {
			b.t.Errorf("journal after the watchdog lacks %q", want)
		}
	}
	b.waitStatus("connected after the watchdog", func(st agentStatus) bool { return st.Conn.Connected })
}

// reload sends systemctl reload: the agent reloads its sensors in place.
func (b *bootRun) reload() {
	b.t.Helper()
	const line = "reloaded sensors"
	before, pid := strings.Count(b.journal(), line), b.show("MainPID")["MainPID"]
	b.c.must("systemctl", "reload", unitName)
	b.waitFor("the reload log line", func() bool { return strings.Count(b.journal(), line) > before })
	if now := b.show("MainPID")["MainPID"]; now != pid {
		b.t.Errorf("reload replaced the agent (pid %s -> %s)", pid, now)
	}
}

// stopOffline stops the agent while the server is unreachable: it exits
// cleanly within TimeoutStopSec and every queued batch stays in the outbox.
func (b *bootRun) stopOffline() {
	b.t.Helper()
	backlog := b.goOffline()
	start := time.Now()
	b.c.must("systemctl", "stop", unitName)
	took := time.Since(start)
	p := b.show("ActiveState", "Result", "ExecMainStatus")
	if p["ActiveState"] != "inactive" || p["Result"] != "success" || p["ExecMainStatus"] != "0" {
		b.t.Errorf("after an offline stop: %v", p)
	}
	if took >= shippedStopTimeout {
		b.t.Errorf("offline stop took %v, TimeoutStopSec is %v", took, shippedStopTimeout)
	}
	delivered := b.gapFree()
	st := b.storeStats()
	if st.Count < backlog.Outbox.Depth || delivered+st.Count < st.NextSeq-1 {
		b.t.Errorf("outbox after the stop: %d batches, next seq %d; server has 1..%d; want %d+ batches from seq %d",
			st.Count, st.NextSeq, delivered, backlog.Outbox.Depth, delivered+1)
	}
	b.t.Logf("offline stop in %v; %d batches kept", took.Round(time.Millisecond), st.Count)
}

// brokenConfig starts the agent with an unknown key: exit 78, no restart.
func (b *bootRun) brokenConfig() {
	b.t.Helper()
	good, err := os.ReadFile(filepath.Join(b.c.root, configPath))
	if err != nil {
		b.t.Fatal(err)
	}
	b.c.writeFile(configPath, strings.Replace(string(good), "[device]\n", "[device]\ncolour = \"blue\"\n", 1), 0o644)
	if out, err := b.c.exec("systemctl", "start", unitName); err == nil {
		b.t.Errorf("start with a broken config succeeded:\n%s", out)
	}
	// A manual start resets the restart count; none may follow the failure.
	n := b.nRestarts()
	time.Sleep(noRestartWait)
	p := b.show("ActiveState", "ExecMainStatus", "NRestarts")
	if p["ActiveState"] != "failed" || p["ExecMainStatus"] != exitConfig || p["NRestarts"] != strconv.Itoa(n) {
		b.t.Errorf("broken config: %v; want failed, exit %s, no restart (NRestarts=%d)", p, exitConfig, n)
	}
	if j := b.journal(); !strings.Contains(j, configPath) || !strings.Contains(j, "colour") {
		b.t.Errorf("journal does not name the file and the key")
	}
	b.c.writeFile(configPath, string(good), 0o644)
	b.c.must("systemctl", "reset-failed", unitName)
}

// allDelivered starts the agent online, lets it drain and stops it: the
// server holds exactly seqs 1..the outbox's last, and nothing is queued.
func (b *bootRun) allDelivered() {
	b.t.Helper()
	b.proxy.SetRefuse(false)
	b.c.must("systemctl", "start", unitName)
	b.goOnline()
	b.stopOnline()
}

// stopOnline stops a connected agent: everything it committed is on the
// server, in one run of seqs from 1.
func (b *bootRun) stopOnline() {
	b.t.Helper()
	b.waitStatus("connected", func(st agentStatus) bool { return st.Conn.Connected })
	b.c.must("systemctl", "stop", unitName)
	delivered := b.gapFree()
	if st := b.storeStats(); st.Count != 0 || st.NextSeq-1 != delivered {
		b.t.Fatalf("after the last stop: %d queued, next seq %d; server has 1..%d", st.Count, st.NextSeq, delivered)
	}
	b.t.Logf("%d batches, seqs 1..%d, all on the server", delivered, delivered)
}

// purge runs apt purge: the package's files and the config go, the outbox,
// the token and the user stay, as systemd/README.md says.
func (b *bootRun) purge() {
	b.t.Helper()
	out := b.c.must("apt-get", "purge", "-y", "sioagent")
	if !strings.Contains(out, "/var/lib/sioagent was kept") {
		b.t.Errorf("purge does not say the outbox was kept:\n%s", out)
	}
	exists := func(p string) bool { _, err := os.Lstat(filepath.Join(b.c.root, p)); return err == nil }
	for _, p := range []string{"/var/lib/sioagent/outbox.db", tokenPath} {
		if !exists(p) {
			b.t.Errorf("purge deleted %s", p)
		}
	}
	for _, p := range []string{configPath, "/usr/bin/sioagent", "/lib/systemd/system/" + unitName,
		"/usr/lib/sysusers.d/sioagent.conf", udevRules,
		"/etc/systemd/system/multi-user.target.wants/" + unitName} {
		if exists(p) {
			b.t.Errorf("purge left %s", p)
		}
	}
	if _, err := b.c.exec("getent", "passwd", "sioagent"); err != nil {
		b.t.Errorf("purge removed the sioagent user")
	}
}
