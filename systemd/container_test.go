package systemd_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The boot tests install the packages in a Debian 12 booted under
// systemd-nspawn: a real systemd as PID 1, the unit as shipped.
const (
	// repoRoot is the repository root, relative to this package.
	repoRoot = ".."
	// bootEnv set to "1" runs the boot tests (make test-boot sets it); they
	// need root, systemd-nspawn, debootstrap and, the first time, Debian's
	// mirror.
	bootEnv = "SIOAGENT_BOOT"
	// bootRootScript prints the cached pristine root for an architecture.
	bootRootScript = "scripts/bootroot.sh"
	// binfmtScript registers qemu user emulation with binfmt_misc; exit
	// status binfmtCannot means this machine cannot.
	binfmtScript = "cross/binfmt.sh"
	binfmtCannot = 3

	// rootBuildTimeout bounds a debootstrap (an emulated arm64 one
	// included) on a cold cache.
	rootBuildTimeout = 15 * time.Minute
	// bootTimeout bounds a boot until systemd reports the system running.
	bootTimeout = 3 * time.Minute
	// execTimeout bounds one command inside the container.
	execTimeout = 3 * time.Minute
	// poweroffTimeout bounds the container's orderly shutdown; then it is
	// killed.
	poweroffTimeout = 30 * time.Second
	// pollEvery is how often a wait re-checks the container.
	pollEvery = 200 * time.Millisecond
	// containerPath is PATH inside the container.
	containerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// scriptTimeout bounds a run of binfmt.sh.
	scriptTimeout = time.Minute
)

// requireBoot skips the test unless the boot tests are asked for, and fails
// it when they are asked for but cannot run.
func requireBoot(t *testing.T) {
	t.Helper()
	if os.Getenv(bootEnv) != "1" {
		t.Skipf("boot test: set %s=1 (make test-boot) to boot Debian under systemd-nspawn", bootEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1 but not root: systemd-nspawn and mount need root", bootEnv)
	}
	for _, tool := range []string{"systemd-nspawn", "nsenter", "mount", "umount", "debootstrap", "dpkg-deb", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s=1 but %s is missing (make system-deps installs it): %v", bootEnv, tool, err)
		}
	}
}

// runScript runs a script of the repository and returns its standard
// output, standard error and error.
func runScript(t *testing.T, timeout time.Duration, script string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(repoRoot, script)}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return strings.TrimSpace(o.String()), e.String(), err
}

// bootRoot returns the cached pristine Debian root for arch, building it
// on a cold cache.
func bootRoot(t *testing.T, arch string) string {
	t.Helper()
	start := time.Now()
	out, errOut, err := runScript(t, rootBuildTimeout, bootRootScript, arch)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bootRootScript, arch, err, errOut)
	}
	t.Logf("%s %s: %s in %v", bootRootScript, arch, out, time.Since(start).Round(100*time.Millisecond))
	return out
}

// container is a Debian booted by systemd-nspawn on an overlay of a
// pristine root: the host shares its network (the container's 127.0.0.1 is
// the host's) and reaches its files under root.
type container struct {
	t       *testing.T
	name    string
	root    string // the container's / as seen from the host
	nspawn  *exec.Cmd
	exited  chan struct{} // closed when nspawn has exited
	logPath string        // nspawn's own messages
	leader  int           // host pid of the container's PID 1
}

// bootContainer boots an overlay of lower and waits until systemd inside
// reports the system running. The container is powered off and the overlay
// removed when the test ends.
func bootContainer(t *testing.T, lower, name string) *container {
	t.Helper()
	dir := t.TempDir()
	c := &container{t: t, name: name, root: filepath.Join(dir, "root"), exited: make(chan struct{}), logPath: filepath.Join(dir, "nspawn.log")}
	for _, d := range []string{"upper", "work", "root"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, c.root).CombinedOutput(); err != nil {
		t.Fatalf("mount overlay of %s: %v\n%s", lower, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", c.root).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", c.root, err, out)
		}
	})
	// --register=no and --keep-unit: the host needs neither machined nor a
	// systemd of its own. --console=passive: the container's console goes
	// nowhere; its journal is read with journalctl inside.
	c.nspawn = exec.Command("systemd-nspawn", "--quiet", "--directory="+c.root, "--boot",
		"--register=no", "--keep-unit", "--machine="+name, "--console=passive")
	logFile, err := os.Create(c.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // nspawn has its own copy
	c.nspawn.Stdout, c.nspawn.Stderr = logFile, logFile
	// If the test binary dies, nspawn stops the container.
	c.nspawn.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	start := time.Now()
	if err := c.nspawn.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	go func() {
		c.nspawn.Wait()
		close(c.exited)
	}()
	t.Cleanup(c.poweroff)
	c.leader = c.waitLeader()
	// Until systemd inside has set up its private bus, systemctl fails
	// ("Failed to connect to bus") or reports the manager "offline".
	var out string
	for deadline := time.Now().Add(bootTimeout); ; time.Sleep(pollEvery) {
		out, err = c.exec("systemctl", "is-system-running", "--wait")
		state := strings.TrimSpace(out)
		if (state != "offline" && !strings.Contains(out, "Failed to connect to bus")) || time.Now().After(deadline) {
			break
		}
	}
	if state := strings.TrimSpace(out); state != "running" && state != "degraded" {
		failed, _ := c.exec("systemctl", "--failed", "--no-legend")
		t.Fatalf("container %s: system %q (%v); failed units:\n%s\nnspawn:\n%s", name, state, err, failed, c.nspawnLog())
	}
	t.Logf("container %s booted in %v", name, time.Since(start).Round(100*time.Millisecond))
	return c
}

// nspawnLog returns what systemd-nspawn itself printed.
func (c *container) nspawnLog() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// waitLeader returns the host pid of the container's init once it runs
// systemd.
func (c *container) waitLeader() int {
	c.t.Helper()
	deadline := time.Now().Add(bootTimeout)
	children := fmt.Sprintf("/proc/%d/task/%d/children", c.nspawn.Process.Pid, c.nspawn.Process.Pid)
	for {
		select {
		case <-c.exited:
			c.t.Fatalf("systemd-nspawn exited during boot: %v\n%s", c.nspawn.ProcessState, c.nspawnLog())
		default:
		}
		if b, err := os.ReadFile(children); err == nil {
			for _, f := range strings.Fields(string(b)) {
				pid, _ := strconv.Atoi(f)
				if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "systemd" {
					return pid
				}
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no systemd in the container after %v\n%s", bootTimeout, c.nspawnLog())
		}
		time.Sleep(pollEvery)
	}
}

// exec runs a command inside the container (every namespace and the root
// of its PID 1, a clean environment) and returns its combined output.
func (c *container) exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	nsenter := []string{"--target", strconv.Itoa(c.leader), "--all", "--root", "--wd", "--",
		"/usr/bin/env", "-i", "PATH=" + containerPath, "LC_ALL=C", "SYSTEMD_COLORS=0", "SYSTEMD_PAGER=",
		"DEBIAN_FRONTEND=noninteractive"}
	out, err := exec.CommandContext(ctx, "nsenter", append(nsenter, args...)...).CombinedOutput()
	return string(out), err
}

// must runs a command inside the container and fails the test on an error.
func (c *container) must(args ...string) string {
	c.t.Helper()
	out, err := c.exec(args...)
	if err != nil {
		c.t.Fatalf("in %s: %s: %v\n%s", c.name, strings.Join(args, " "), err, out)
	}
	return out
}

// writeFile writes a file of the container from the host, owned by root.
func (c *container) writeFile(path, content string, mode os.FileMode) {
	c.t.Helper()
	full := filepath.Join(c.root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil { // WriteFile keeps an old mode
		c.t.Fatal(err)
	}
}

// copyIn copies a host file into the container and returns its path there.
func (c *container) copyIn(hostPath, dir string) string {
	c.t.Helper()
	b, err := os.ReadFile(hostPath)
	if err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(hostPath))
	c.writeFile(path, string(b), 0o644)
	return path
}

// poweroff shuts the container down in order with systemctl poweroff
// (not nspawn's SIGTERM: under qemu user emulation the real-time signal it
// sends arrives as another and boots the rescue target) and, after
// poweroffTimeout, kills its PID 1, which ends every process inside.
func (c *container) poweroff() {
	select {
	case <-c.exited:
		return
	default:
	}
	c.exec("systemctl", "poweroff", "--no-block")
	select {
	case <-c.exited:
		return
	case <-time.After(poweroffTimeout):
	}
	c.t.Errorf("container %s did not power off within %v; killed", c.name, poweroffTimeout)
	if c.leader > 0 {
		syscall.Kill(c.leader, syscall.SIGKILL)
	}
	c.nspawn.Process.Kill()
	<-c.exited
}
