package systemd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/testenv"
)

const (
	// unitFile and sysusersFile are the shipped files, relative to this package.
	unitFile     = "sioagent.service"
	sysusersFile = "sioagent.sysusers"

	// installedBinary is where the packages install the agent; tests rewrite
	// it to a freshly built stand-in because verify checks the file exists.
	installedBinary = "/usr/bin/sioagent"
	// agentPackage is built as the stand-in executable.
	agentPackage = "github.com/sioagent/sioagent/cmd/sioagent"

	// requireSystemdEnv set to "1" turns a missing systemd tool into a failure.
	requireSystemdEnv = testenv.RequireSystemd

	// maxExposure is the highest acceptable "systemd-analyze security" score
	// (0.0 = locked down, 10.0 = unprotected): a ratchet at the shipped
	// unit's score; systemd/README.md says why each remaining item stays.
	maxExposure = 1.7
	// securityThreshold is maxExposure on systemd's 0-100 --threshold scale.
	securityThreshold = 17

	// agentFlushDeadline is the agent's default shutdown flush deadline;
	// TimeoutStopSec must leave room above it.
	agentFlushDeadline = 10 * time.Second
	// wantWatchdog is the WatchdogSec= the agent is designed for.
	wantWatchdog = 30 * time.Second

	// toolTimeout bounds every external command (go build, systemd-analyze).
	toolTimeout = 5 * time.Minute
)

// requireTool returns the path of an external tool, skipping the test when it
// is missing unless SIOAGENT_REQUIRE_SYSTEMD=1.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(requireSystemdEnv) == "1" {
		t.Fatalf("%s not found (%v) and %s=1; install Debian's systemd package", name, err, requireSystemdEnv)
	}
	t.Skipf("%s not found (%v); set %s=1 to make this a failure", name, err, requireSystemdEnv)
	return ""
}

// runTool runs a command with a timeout, plain C-locale uncoloured output,
// and returns its combined output and error.
func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=", "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// readShipped reads a file of this package.
func readShipped(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// buildStandIn builds the agent into a temporary directory and returns the path.
func buildStandIn(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sioagent")
	if out, err := runTool(t, "go", "build", "-o", bin, agentPackage); err != nil {
		t.Fatalf("go build %s: %v\n%s", agentPackage, err, out)
	}
	return bin
}

// rewriteExec replaces the installed binary path on Exec*= lines by bin and
// reports how many lines it changed.
func rewriteExec(text, bin string) (string, int) {
	lines := strings.Split(text, "\n")
	n := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "Exec") && strings.Contains(l, installedBinary) {
			lines[i] = strings.ReplaceAll(l, installedBinary, bin)
			n++
		}
	}
	return strings.Join(lines, "\n"), n
}

// stageUnit writes text as sioagent.service into a fresh temporary directory.
func stageUnit(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), unitFile)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatalf("write staged unit: %v", err)
	}
	return path
}

// verifyProblems runs systemd-analyze verify on a unit file and returns the
// output lines about that unit (warnings included) plus any exit error.
func verifyProblems(t *testing.T, analyze, unitPath string) (problems []string, out string) {
	t.Helper()
	out, err := runTool(t, analyze, "verify", "--man=no", unitPath)
	if err != nil {
		problems = append(problems, fmt.Sprintf("systemd-analyze verify: %v", err))
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, unitFile) || strings.Contains(l, filepath.Dir(unitPath)) {
			problems = append(problems, l)
		}
	}
	return problems, out
}

func TestVerify(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze")
	bin := buildStandIn(t)
	text, n := rewriteExec(readShipped(t, unitFile), bin)
	if n == 0 {
		t.Fatalf("%s: no Exec line runs %s", unitFile, installedBinary)
	}
	problems, out := verifyProblems(t, analyze, stageUnit(t, text))
	if len(problems) > 0 {
		t.Errorf("systemd-analyze verify reported %d problem(s):\n%s\nfull output:\n%s",
			len(problems), strings.Join(problems, "\n"), out)
	}
}

// TestVerifyCatchesBrokenUnits makes sure TestVerify's check can fail: each
// deliberately broken unit must be reported.
func TestVerifyCatchesBrokenUnits(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze")
	bin := buildStandIn(t)
	good, _ := rewriteExec(readShipped(t, unitFile), bin)
	cases := map[string]string{
		"unknown key":      strings.Replace(good, "Restart=on-failure\n", "Restart=on-failure\nRestartt=always\n", 1),
		"trailing comment": strings.Replace(good, "Restart=on-failure\n", "Restart=on-failure  # keep going\n", 1),
		"missing binary":   strings.ReplaceAll(good, bin, filepath.Join(t.TempDir(), "absent")),
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			if text == good {
				t.Fatal("mutation did not change the unit")
			}
			if problems, out := verifyProblems(t, analyze, stageUnit(t, text)); len(problems) == 0 {
				t.Errorf("broken unit passed verify; output:\n%s", out)
			}
		})
	}
}

// exposureRe matches systemd-analyze security's summary line.
var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: ([0-9]+(?:\.[0-9]+)?)`)

// parseExposure extracts the overall exposure figure (0.0-10.0).
func parseExposure(out string) (float64, error) {
	m := exposureRe.FindStringSubmatch(out)
	if m == nil {
		return 0, errors.New("no \"Overall exposure level\" line in systemd-analyze security output")
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("parse exposure %q: %w", m[1], err)
	}
	return v, nil
}

func TestParseExposure(t *testing.T) {
	v, err := parseExposure("✗ UMask= ...  0.1\n\n→ Overall exposure level for sioagent.service: 2.0 OK 🙂\n")
	if err != nil || v != 2.0 {
		t.Errorf("parseExposure = %v, %v; want 2.0, nil", v, err)
	}
	v, err = parseExposure("→ Overall exposure level for x.service: 9.6 UNSAFE 😨\n")
	if err != nil || v != 9.6 {
		t.Errorf("parseExposure = %v, %v; want 9.6, nil", v, err)
	}
	if _, err := parseExposure("Failed to load unit\n"); err == nil {
		t.Error("parseExposure accepted output without a summary line")
	}
}

func TestSecurityExposure(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze")
	unit := stageUnit(t, readShipped(t, unitFile))
	out, runErr := runTool(t, analyze, "security", "--offline=yes",
		"--threshold="+strconv.Itoa(securityThreshold), unit)
	exposure, err := parseExposure(out)
	if err != nil {
		t.Fatalf("%v (run error: %v); output:\n%s", err, runErr, out)
	}
	t.Logf("systemd-analyze security --offline=yes: overall exposure %.1f (limit %.1f)", exposure, maxExposure)
	if exposure > maxExposure {
		t.Errorf("exposure %.1f above %.1f; output:\n%s", exposure, maxExposure, out)
	}
	if runErr != nil {
		t.Errorf("systemd-analyze security --threshold=%d: %v; output:\n%s", securityThreshold, runErr, out)
	}
}

// timesyncdDropIn is the drop-in systemd/README.md offers for boards whose
// clock only systemd-timesyncd sets, and timesyncdExposure its score.
const (
	timesyncdDropIn   = "ProtectClock=yes\nSystemCallFilter=~@clock\n"
	timesyncdExposure = 1.2
)

// The drop-in the README offers lowers the score to what it says.
func TestSecurityExposureTimesyncdDropIn(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze")
	text := readShipped(t, unitFile)
	if !strings.Contains(readShipped(t, "README.md"), timesyncdDropIn) {
		t.Fatalf("README.md no longer offers the drop-in %q", timesyncdDropIn)
	}
	unit := stageUnit(t, strings.Replace(text, "\n[Install]", "\n"+timesyncdDropIn+"\n[Install]", 1))
	out, _ := runTool(t, analyze, "security", "--offline=yes", unit)
	exposure, err := parseExposure(out)
	if err != nil {
		t.Fatalf("%v; output:\n%s", err, out)
	}
	if exposure > timesyncdExposure {
		t.Errorf("with the timesyncd drop-in: exposure %.1f, README says %.1f; output:\n%s", exposure, timesyncdExposure, out)
	}
}

func TestSysusers(t *testing.T) {
	sysusers := requireTool(t, "systemd-sysusers")
	src, err := filepath.Abs(sysusersFile)
	if err != nil {
		t.Fatalf("abs %s: %v", sysusersFile, err)
	}
	// fresh is stock Debian: no gpio or i2c group. raspios has both, as
	// Raspberry Pi OS creates them, with the login user pi in i2c.
	raspiosGroup := "root:x:0:\ngpio:x:997:\ni2c:x:998:pi\n"
	for _, c := range []struct{ name, group string }{{"fresh", ""}, {"raspios", raspiosGroup}} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
				t.Fatalf("mkdir etc: %v", err)
			}
			if c.group != "" {
				if err := os.WriteFile(filepath.Join(root, "etc", "group"), []byte(c.group), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, err := runTool(t, sysusers, "--root="+root, src)
			if err != nil {
				t.Fatalf("systemd-sysusers: %v\n%s", err, out)
			}
			if strings.Contains(out, sysusersFile) {
				t.Errorf("systemd-sysusers complained about %s:\n%s", sysusersFile, out)
			}
			checkSysusersResult(t, root, c.group != "")
		})
	}
}

// checkSysusersResult checks the passwd and group files sysusers wrote under
// root: the system user, its group, and its membership of gpio and i2c
// (with the gids of an existing Raspberry Pi OS group file kept).
func checkSysusersResult(t *testing.T, root string, raspios bool) {
	t.Helper()
	passwd := readShipped(t, filepath.Join(root, "etc", "passwd"))
	group := readShipped(t, filepath.Join(root, "etc", "group"))
	user := findColonRecord(passwd, "sioagent")
	if len(user) != 7 {
		t.Fatalf("no sioagent user in generated passwd:\n%s", passwd)
	}
	if uid, err := strconv.Atoi(user[2]); err != nil || uid == 0 || uid >= 1000 {
		t.Errorf("sioagent uid %q: want a system uid (1-999)", user[2])
	}
	if user[5] != "/var/lib/sioagent" {
		t.Errorf("sioagent home %q, want /var/lib/sioagent", user[5])
	}
	if !strings.HasSuffix(user[6], "nologin") {
		t.Errorf("sioagent shell %q, want nologin", user[6])
	}
	grp := findColonRecord(group, "sioagent")
	if len(grp) < 3 || grp[2] != user[3] {
		t.Errorf("group sioagent %q does not match the user's primary gid %q:\n%s", grp, user[3], group)
	}
	wantGID := map[string]string{"gpio": "997", "i2c": "998"}
	for _, name := range []string{"gpio", "i2c"} {
		g := findColonRecord(group, name)
		if len(g) != 4 {
			t.Errorf("no group %s:\n%s", name, group)
			continue
		}
		if gid, err := strconv.Atoi(g[2]); err != nil || gid == 0 || gid >= 1000 {
			t.Errorf("group %s gid %q: want a system gid (1-999)", name, g[2])
		}
		if raspios && g[2] != wantGID[name] {
			t.Errorf("existing group %s got gid %s, want %s kept", name, g[2], wantGID[name])
		}
		members := strings.Split(g[3], ",")
		if !slices.Contains(members, "sioagent") {
			t.Errorf("sioagent is not a member of %s: %q", name, g)
		}
		if raspios && name == "i2c" && !slices.Contains(members, "pi") {
			t.Errorf("existing member pi of i2c was dropped: %q", g)
		}
	}
}

// findColonRecord returns the fields of the /etc/passwd-style line for name.
func findColonRecord(text, name string) []string {
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Split(l, ":"); f[0] == name {
			return f
		}
	}
	return nil
}

// entry is one key=value assignment of a unit file.
type entry struct {
	section, key, value string
	line                int
}

// unitFileData is a parsed unit file: assignments in file order.
type unitFileData struct {
	entries []entry
}

// parseUnit is a small reader for the subset of the systemd unit syntax the
// shipped unit uses: sections, key=value lines and whole-line comments. Line
// continuations are rejected so the reader cannot misparse them.
func parseUnit(text string) (unitFileData, error) {
	var u unitFileData
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
			continue
		case strings.HasSuffix(l, `\`):
			return u, fmt.Errorf("line %d: line continuations are not supported", n)
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			continue
		}
		key, value, ok := strings.Cut(l, "=")
		if !ok {
			return u, fmt.Errorf("line %d: %q is not key=value", n, l)
		}
		if section == "" {
			return u, fmt.Errorf("line %d: %q outside a section", n, l)
		}
		u.entries = append(u.entries, entry{section, strings.TrimSpace(key), strings.TrimSpace(value), n})
	}
	return u, sc.Err()
}

// all returns every value assigned to section/key, in order.
func (u unitFileData) all(section, key string) []string {
	var vs []string
	for _, e := range u.entries {
		if e.section == section && e.key == key {
			vs = append(vs, e.value)
		}
	}
	return vs
}

// last returns the effective (last) value of a single-valued setting.
func (u unitFileData) last(section, key string) (string, bool) {
	vs := u.all(section, key)
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// required lists settings that must have exactly this effective value.
var required = []struct{ section, key, value string }{
	{"Unit", "StartLimitIntervalSec", "0"},
	{"Service", "Type", "notify"},
	{"Service", "NotifyAccess", "main"},
	{"Service", "ExecStart", installedBinary + " run --config /etc/sioagent/sioagent.toml"},
	{"Service", "ExecReload", "/bin/kill -HUP $MAINPID"},
	{"Service", "Restart", "on-failure"},
	{"Service", "Environment", "GOTRACEBACK=all"},
	{"Service", "User", "sioagent"},
	{"Service", "Group", "sioagent"},
	{"Service", "StateDirectory", "sioagent"},
	{"Service", "RuntimeDirectory", "sioagent"},
	{"Service", "RuntimeDirectoryMode", "0750"},
	{"Service", "ConfigurationDirectory", "sioagent"},
	{"Service", "LoadCredential", "token:/etc/sioagent/token"},
	{"Service", "DevicePolicy", "closed"},
	{"Service", "NoNewPrivileges", "yes"},
	{"Service", "CapabilityBoundingSet", ""},
	{"Service", "ProtectSystem", "strict"},
	{"Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
	{"Service", "SystemCallErrorNumber", "EPERM"},
	{"Service", "PrivateUsers", "yes"},
	{"Service", "UMask", "0077"},
	{"Service", "ReadWritePaths", "-/var/lib/node_exporter/textfile_collector -/var/lib/prometheus/node-exporter"},
	{"Install", "WantedBy", "multi-user.target"},
}

// wantDeviceAllow is the complete device allow-list: GPIO and I2C only.
var wantDeviceAllow = []string{"char-gpiochip rw", "char-i2c rw", "/dev/gpiomem rw"}

// forbidden lists settings that break the agent, with the reason.
var forbidden = []struct{ section, key, value, why string }{
	{"Service", "ProtectClock", "yes", "blocks the read-only adjtimex clock-sync check"},
	{"Service", "PrivateDevices", "yes", "hides /dev/gpiochip*"},
	{"Service", "ProcSubset", "pid", "hides /proc/device-tree and /proc/cpuinfo from periph"},
}

// unitProblems returns every way the unit text misses the agent's requirements.
func unitProblems(text string) []string {
	u, err := parseUnit(text)
	if err != nil {
		return []string{err.Error()}
	}
	var p []string
	for _, e := range u.entries {
		if strings.Contains(e.value, "#") {
			p = append(p, fmt.Sprintf("line %d: %s= has a trailing comment; systemd rejects it", e.line, e.key))
		}
	}
	for _, r := range required {
		if got, ok := u.last(r.section, r.key); !ok || got != r.value {
			p = append(p, fmt.Sprintf("[%s] %s=%q, want %q (present: %v)", r.section, r.key, got, r.value, ok))
		}
	}
	for _, f := range forbidden {
		if got, _ := u.last(f.section, f.key); got == f.value {
			p = append(p, fmt.Sprintf("[%s] %s=%s: %s", f.section, f.key, got, f.why))
		}
	}
	if got := u.all("Service", "DeviceAllow"); !slices.Equal(got, wantDeviceAllow) {
		p = append(p, fmt.Sprintf("DeviceAllow=%q, want exactly %q", got, wantDeviceAllow))
	}
	if g, ok := u.last("Service", "SupplementaryGroups"); ok && g != "" {
		p = append(p, fmt.Sprintf("SupplementaryGroups=%s: a group missing on the system stops the service from starting (216/GROUP); membership comes from the sysusers m lines", g))
	}
	if sig, ok := u.last("Service", "KillSignal"); ok && sig != "SIGTERM" {
		p = append(p, fmt.Sprintf("KillSignal=%s, the agent flushes on SIGTERM", sig))
	}
	p = append(p, durationProblems(u)...)
	p = append(p, syscallFilterProblems(u.all("Service", "SystemCallFilter"))...)
	return p
}

// durationProblems checks WatchdogSec and TimeoutStopSec.
func durationProblems(u unitFileData) []string {
	var p []string
	wd, _ := u.last("Service", "WatchdogSec")
	if d, err := parseSystemdDuration(wd); err != nil || d != wantWatchdog {
		p = append(p, fmt.Sprintf("WatchdogSec=%q, want %v", wd, wantWatchdog))
	}
	stop, _ := u.last("Service", "TimeoutStopSec")
	if d, err := parseSystemdDuration(stop); err != nil || d <= agentFlushDeadline {
		p = append(p, fmt.Sprintf("TimeoutStopSec=%q, want above the agent's %v flush deadline", stop, agentFlushDeadline))
	}
	return p
}

// parseSystemdDuration parses the time spans used here: a bare number of
// seconds, or Go-style units with systemd's "min" for minutes.
func parseSystemdDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(strings.ReplaceAll(s, "min", "m"))
	if err != nil {
		return 0, fmt.Errorf("time span %q: %w", s, err)
	}
	return d, nil
}

// syscallFilterProblems replays SystemCallFilter= lines in order (an empty
// value resets, "~" removes) and checks that adjtimex stays allowed inside an
// allow-list based on @system-service.
func syscallFilterProblems(lines []string) []string {
	if len(lines) == 0 || strings.HasPrefix(lines[0], "~") {
		return []string{"SystemCallFilter must start with an allow-list (@system-service adjtimex)"}
	}
	adjtimex, base := false, false
	for _, l := range lines {
		deny := strings.HasPrefix(l, "~")
		for _, f := range strings.Fields(strings.TrimPrefix(l, "~")) {
			switch {
			case !deny && f == "@system-service":
				base = true
			case f == "adjtimex":
				adjtimex = !deny
			case deny && (f == "@clock" || f == "@privileged"):
				adjtimex = false
			}
		}
		if l == "" {
			adjtimex, base = false, false
		}
	}
	var p []string
	if !base {
		p = append(p, "SystemCallFilter does not allow @system-service")
	}
	if !adjtimex {
		p = append(p, "SystemCallFilter does not leave adjtimex allowed (needed for the clock-sync check)")
	}
	return p
}

func TestUnitHasRequiredSettings(t *testing.T) {
	for _, p := range unitProblems(readShipped(t, unitFile)) {
		t.Error(p)
	}
}

// TestUnitChecksCatchMistakes feeds mutated copies of the unit to the
// checker: each must be reported, so TestUnitHasRequiredSettings can fail.
func TestUnitChecksCatchMistakes(t *testing.T) {
	good := readShipped(t, unitFile)
	if p := unitProblems(good); len(p) > 0 {
		t.Fatalf("shipped unit has problems: %q", p)
	}
	service := "[Service]\n"
	cases := []struct{ name, old, new, want string }{
		{"trailing comment", "Restart=on-failure\n", "Restart=on-failure # always\n", "trailing comment"},
		{"ProtectClock", service, service + "ProtectClock=yes\n", "ProtectClock"},
		{"PrivateDevices", service, service + "PrivateDevices=yes\n", "PrivateDevices"},
		{"ProcSubset", service, service + "ProcSubset=pid\n", "ProcSubset"},
		{"deny @privileged after allow", "SystemCallErrorNumber=", "SystemCallFilter=~@privileged\nSystemCallErrorNumber=", "adjtimex"},
		{"no adjtimex", "SystemCallFilter=adjtimex\n", "", "adjtimex"},
		{"no PrivateUsers", "PrivateUsers=yes\n", "", "PrivateUsers"},
		{"UMask group-readable", "UMask=0077", "UMask=0027", "UMask"},
		{"adjtimex before the deny", "SystemCallFilter=~@privileged @resources\nSystemCallFilter=adjtimex\n", "SystemCallFilter=adjtimex\nSystemCallFilter=~@privileged @resources\n", "adjtimex"},
		{"extra device", "DevicePolicy=closed\n", "DevicePolicy=closed\nDeviceAllow=/dev/mem rw\n", "DeviceAllow"},
		{"i2c missing", "DeviceAllow=char-i2c rw\n", "", "DeviceAllow"},
		{"short stop timeout", "TimeoutStopSec=20s", "TimeoutStopSec=5s", "TimeoutStopSec"},
		{"stop timeout equal to deadline", "TimeoutStopSec=20s", "TimeoutStopSec=10", "TimeoutStopSec"},
		{"restart always", "Restart=on-failure\n", "Restart=always\n", "Restart="},
		{"overridden type", "NotifyAccess=main\n", "NotifyAccess=main\nType=simple\n", "Type="},
		{"supplementary groups", service, service + "SupplementaryGroups=gpio i2c\n", "SupplementaryGroups"},
		{"runtime dir world readable", "RuntimeDirectoryMode=0750", "RuntimeDirectoryMode=0755", "RuntimeDirectoryMode"},
		{"KillSignal", service, service + "KillSignal=SIGINT\n", "KillSignal"},
		{"continuation", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "RestrictAddressFamilies=AF_INET \\\n  AF_INET6 AF_UNIX", "continuation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(good, c.old, c.new, 1)
			if bad == good {
				t.Fatalf("mutation %q not applied", c.old)
			}
			p := unitProblems(bad)
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.want) }) {
				t.Errorf("problems %q do not mention %q", p, c.want)
			}
		})
	}
}

// Example prints the settings that tie the unit to the agent's behaviour.
func Example() {
	text, err := os.ReadFile(unitFile)
	if err != nil {
		fmt.Println(err)
		return
	}
	u, err := parseUnit(string(text))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, key := range []string{"Type", "ExecStart", "WatchdogSec", "User", "LoadCredential"} {
		v, _ := u.last("Service", key)
		fmt.Printf("%s=%s\n", key, v)
	}
	// Output:
	// Type=notify
	// ExecStart=/usr/bin/sioagent run --config /etc/sioagent/sioagent.toml
	// WatchdogSec=30s
	// User=sioagent
	// LoadCredential=token:/etc/sioagent/token
}
