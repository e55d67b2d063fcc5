package systemd_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/store"
)

const (
	// unitName is the shipped service.
	unitName = "sioagent.service"
	// dropInPath is the test's drop-in: a short watchdog and restart delay
	// so the watchdog and restart steps take seconds, not minutes. The unit
	// itself stays as shipped.
	dropInPath = "/etc/systemd/system/sioagent.service.d/boot-test.conf"
	dropIn     = "[Service]\nWatchdogSec=3s\nRestartSec=500ms\n"
	// emulationDropInPath is the arm64 test's drop-in (see
	// configureWithoutCredentials).
	emulationDropInPath = "/etc/systemd/system/sioagent.service.d/qemu-user.conf"
	// configPath and tokenPath are where the package's instructions put
	// the configuration and the token.
	configPath = "/etc/sioagent/sioagent.toml"
	tokenPath  = "/etc/sioagent/token"
	// udevRules is the package's udev rules file.
	udevRules = "/lib/udev/rules.d/60-sioagent.rules"
	// debDir is where the packages are copied inside the container.
	debDir = "/root/debs"

	// shippedStopTimeout is the unit's TimeoutStopSec=.
	shippedStopTimeout = 20 * time.Second
	// agentWait bounds every wait for the agent or systemd to reach a state.
	agentWait = 60 * time.Second
	// noRestartWait is how long a failed unit is watched for a restart it
	// must not make (many times the drop-in's RestartSec).
	noRestartWait = 3 * time.Second
	// backlogBatches is the outbox depth the offline steps wait for.
	backlogBatches = 3
	// exitConfig is the agent's exit status for an unusable config.
	exitConfig = "78"
	// httpTimeout bounds one request to the server's HTTP API.
	httpTimeout = 10 * time.Second
	// journalTail is how many journal lines a failed test logs.
	journalTail = "200"
)

// agentConfig is the configuration the boot tests install: a simulated
// counter sampled every 100 ms, small batches, quick reconnects, every
// other key (outbox path, token from LoadCredential=) left to its default.
func agentConfig(device, url string) string {
	return fmt.Sprintf(`[device]
id = %q
[server]
url = %q
reconnect_delay = "200ms"
reconnect_delay_max = "1s"
ack_timeout = "2s"
[telemetry]
batch_max_records = 5
batch_max_delay = "200ms"
[[sensors]]
name = "counter"
driver = "sim"
signal = "counter"
interval = "100ms"
`, device, url)
}

// bootRun is one agent package under test in a booted container, with the
// Node server behind the fault proxy.
type bootRun struct {
	t      *testing.T
	c      *container
	srv    *nodeserver.Server
	proxy  *faultproxy.Proxy
	device string
}

// newBootRun starts the server and the proxy and boots the container.
func newBootRun(t *testing.T, lower, arch string) *bootRun {
	t.Helper()
	srv := nodeserver.Start(t, nodeserver.Options{})
	b := &bootRun{t: t, srv: srv, device: "boot-" + arch,
		proxy: faultproxy.Start(t, "127.0.0.1:"+strconv.Itoa(srv.Port()))}
	b.c = bootContainer(t, lower, "sioagent-"+arch)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := b.c.exec("journalctl", "--no-pager", "-n", journalTail, "-u", unitName)
			t.Logf("journal of %s:\n%s", unitName, out)
		}
	})
	return b
}

// show returns systemctl show's properties of the unit.
func (b *bootRun) show(props ...string) map[string]string {
	b.t.Helper()
	args := []string{"systemctl", "show", unitName}
	for _, p := range props {
		args = append(args, "--property="+p)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(b.c.must(args...)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// waitFor polls cond until it holds, failing the test after agentWait.
func (b *bootRun) waitFor(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(agentWait)
	for !cond() {
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not within %v; unit: %v", what, agentWait,
				b.show("ActiveState", "SubState", "Result", "MainPID", "NRestarts", "ExecMainStatus", "StatusText"))
		}
		time.Sleep(pollEvery)
	}
}

// agentStatus is the part of `sioagent status --json` the tests read.
type agentStatus struct {
	Version string `json:"version"`
	Conn    struct {
		Connected bool   `json:"connected"`
		Server    string `json:"server"`
	} `json:"connection"`
	Outbox struct {
		Depth   uint64 `json:"depth"`
		NextSeq uint64 `json:"nextSeq"`
	} `json:"outbox"`
}

// status asks the running agent through its status socket; ok is false
// while it does not answer.
func (b *bootRun) status() (agentStatus, bool) {
	var st agentStatus
	out, err := b.c.exec("sioagent", "status", "--json")
	if err != nil {
		return st, false
	}
	return st, json.Unmarshal([]byte(out), &st) == nil
}

// waitStatus waits until the agent's status satisfies cond.
func (b *bootRun) waitStatus(what string, cond func(agentStatus) bool) agentStatus {
	b.t.Helper()
	var st agentStatus
	b.waitFor(what, func() bool {
		var ok bool
		st, ok = b.status()
		return ok && cond(st)
	})
	return st
}

// journal returns the unit's journal as plain messages.
func (b *bootRun) journal() string {
	b.t.Helper()
	return b.c.must("journalctl", "--no-pager", "-o", "cat", "-u", unitName)
}

// serverSeqs returns the seqs the server stored for the device, sorted.
func (b *bootRun) serverSeqs() []uint64 {
	b.t.Helper()
	c := &http.Client{Timeout: httpTimeout}
	resp, err := c.Get(b.srv.URL() + "/api/devices/" + b.device + "/telemetry?limit=0")
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var body struct {
		Seqs []uint64 `json:"seqs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		b.t.Fatalf("telemetry of %s: %v", b.device, err)
	}
	return body.Seqs
}

// gapFree checks that the server holds exactly seqs 1..n and returns n.
func (b *bootRun) gapFree() uint64 {
	b.t.Helper()
	seqs := b.serverSeqs()
	for i, s := range seqs {
		if s != uint64(i+1) {
			b.t.Fatalf("server seqs are not one run from 1: seq %d at position %d (%d stored)", s, i, len(seqs))
		}
	}
	return uint64(len(seqs))
}

// storeStats opens a copy of the stopped agent's outbox (the agent's own
// files stay untouched, owned by sioagent) and returns its statistics.
func (b *bootRun) storeStats() store.Stats {
	b.t.Helper()
	dir := b.t.TempDir()
	src := filepath.Join(b.c.root, "var/lib/sioagent")
	entries, err := os.ReadDir(src)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			b.t.Fatal(err)
		}
	}
	s, err := store.Open(filepath.Join(dir, "outbox.db"), nil)
	if err != nil {
		b.t.Fatalf("open the copied outbox: %v", err)
	}
	defer s.Close()
	return s.Stats()
}

// install installs a package with dpkg -i, as a fleet's unattended upgrade
// would (the configured sioagent.toml is a modified conffile: keep it,
// without asking, when the package ships a new example), and checks the
// user and the groups it must create.
func (b *bootRun) install(deb string) string {
	b.t.Helper()
	out := b.c.must("dpkg", "--force-confdef", "--force-confold", "-i", b.c.copyIn(deb, debDir))
	passwd := b.c.must("getent", "passwd", "sioagent")
	if !strings.Contains(passwd, ":/var/lib/sioagent:") {
		b.t.Errorf("sioagent user: %q", passwd)
	}
	for _, g := range []string{"gpio", "i2c"} {
		out, _ := b.c.exec("getent", "group", g)
		if rec := strings.TrimSpace(out); !slices.Contains(strings.Split(rec[strings.LastIndex(rec, ":")+1:], ","), "sioagent") {
			b.t.Errorf("group %s after install: %q; want sioagent a member", g, rec)
		}
	}
	b.checkUdevRules()
	return out
}

// checkUdevRules has udevadm read every rules file for a simulated event:
// the package's rules must parse and name groups that exist (udev ignores
// GROUP= of an unknown group, which would leave the nodes root-only). The
// container has no GPIO or I2C devices, so this is as far as it goes.
func (b *bootRun) checkUdevRules() {
	b.t.Helper()
	out, _ := b.c.exec("udevadm", "test", "/sys/class/mem/null")
	read := false
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, udevRules) {
			continue
		}
		if strings.HasPrefix(l, "Reading rules file") {
			read = true
			continue
		}
		b.t.Errorf("udevadm on %s: %s", udevRules, l)
	}
	if !read {
		b.t.Errorf("udevadm test did not read %s:\n%s", udevRules, out)
	}
}

// configure writes the configuration and the token as the package's
// install note says: token root-only, read through LoadCredential=.
func (b *bootRun) configure() {
	b.t.Helper()
	b.c.writeFile(configPath, agentConfig(b.device, b.proxy.URL()), 0o644)
	b.c.writeFile(tokenPath, "boot-test-token\n", 0o600)
	b.c.must("sioagent", "check", "--config", configPath)
}

// configureWithoutCredentials is configure for qemu user emulation, where
// systemd cannot set up credentials (status=243/CREDENTIALS, "Failed to set
// up credentials: Invalid argument") nor a user namespace (status=217/USER,
// "Failed to set up user namespacing: Invalid argument"): a drop-in empties
// LoadCredential= and sets PrivateUsers=no, and the agent reads the token
// file itself, readable by group sioagent. A real arm64 kernel does both
// (the amd64 boot test runs the unit with them).
func (b *bootRun) configureWithoutCredentials() {
	b.t.Helper()
	b.c.writeFile(emulationDropInPath, "[Service]\nLoadCredential=\nPrivateUsers=no\n", 0o644)
	b.c.must("systemctl", "daemon-reload")
	cfg := strings.Replace(agentConfig(b.device, b.proxy.URL()), "[server]\n", "[server]\ntoken_file = \""+tokenPath+"\"\n", 1)
	b.c.writeFile(configPath, cfg, 0o644)
	b.c.writeFile(tokenPath, "boot-test-token\n", 0o640)
	b.c.must("chgrp", "sioagent", tokenPath)
	b.c.must("sioagent", "check", "--config", configPath)
}

// enableNow starts the service as shipped and checks readiness, the
// groups of the running agent and delivery.
func (b *bootRun) enableNow() {
	b.t.Helper()
	start := time.Now()
	b.c.must("systemctl", "enable", "--now", unitName)
	// Type=notify: enable --now returns once the agent sent READY=1.
	p := b.show("ActiveState", "SubState", "StatusText", "MainPID")
	if p["ActiveState"] != "active" || p["SubState"] != "running" {
		b.t.Fatalf("after enable --now: %v", p)
	}
	if !strings.Contains(p["StatusText"], "outbox") {
		b.t.Errorf("STATUS text %q does not give the outbox depth", p["StatusText"])
	}
	b.t.Logf("enable --now: ready in %v, STATUS=%q", time.Since(start).Round(time.Millisecond), p["StatusText"])
	b.checkGroups(p["MainPID"])
	b.waitFor("telemetry reaches the server", func() bool { return len(b.serverSeqs()) >= 2 })
	b.waitFor("STATUS= says connected", func() bool {
		return strings.Contains(b.show("StatusText")["StatusText"], "connected")
	})
}

// checkGroups checks that the running agent holds the gpio and i2c groups.
func (b *bootRun) checkGroups(mainPID string) {
	b.t.Helper()
	procStatus := b.c.must("cat", "/proc/"+mainPID+"/status")
	var groups []string
	for _, l := range strings.Split(procStatus, "\n") {
		if rest, ok := strings.CutPrefix(l, "Groups:"); ok {
			groups = strings.Fields(rest)
		}
	}
	for _, g := range []string{"gpio", "i2c"} {
		rec := strings.Split(strings.TrimSpace(b.c.must("getent", "group", g)), ":")
		if !slices.Contains(groups, rec[2]) {
			b.t.Errorf("running agent's groups %v lack %s (gid %s)", groups, g, rec[2])
		}
	}
}

// goOffline makes the server unreachable and waits for a backlog.
func (b *bootRun) goOffline() agentStatus {
	b.t.Helper()
	b.proxy.SetRefuse(true)
	b.proxy.Cut()
	return b.waitStatus("a backlog while offline", func(st agentStatus) bool {
		return !st.Conn.Connected && st.Outbox.Depth >= backlogBatches
	})
}

// goOnline makes the server reachable again and waits until the agent has
// delivered everything.
func (b *bootRun) goOnline() {
	b.t.Helper()
	b.proxy.SetRefuse(false)
	b.waitStatus("the backlog delivered", func(st agentStatus) bool { return st.Conn.Connected && st.Outbox.Depth == 0 })
}

// restarted waits until systemd restarted the agent after the restart
// count was before and its main pid was old, and returns the new pid.
func (b *bootRun) restarted(what string, before int, old string) string {
	b.t.Helper()
	var p map[string]string
	b.waitFor(what, func() bool {
		p = b.show("ActiveState", "SubState", "NRestarts", "MainPID")
		n, _ := strconv.Atoi(p["NRestarts"])
		return n > before && p["SubState"] == "running" && p["MainPID"] != old && p["MainPID"] != "0"
	})
	return p["MainPID"]
}

// nRestarts returns the unit's restart count.
func (b *bootRun) nRestarts() int {
	b.t.Helper()
	n, err := strconv.Atoi(b.show("NRestarts")["NRestarts"])
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}
