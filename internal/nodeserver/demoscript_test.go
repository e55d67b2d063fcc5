package nodeserver_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/testenv"
)

// demoScriptTimeout bounds each phase of the demo script's run: building
// the agent and the first telemetry, then the stop after Ctrl-C.
const demoScriptTimeout = 2 * time.Minute

// `make demo` ends like a terminal user expects on Ctrl-C: the signal goes
// to the whole process group, the agent delivers what it holds while the
// server is still up, its last log lines reach the output, and the script
// exits 0.
func TestDemoScriptCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent and runs the demo")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PORT="+port, "DEMO_URL=http://127.0.0.1:"+port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when the script has exited, with waitErr set
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	waitOutput(t, &out, exited, "readings keep arriving")
	waitOutput(t, &out, exited, "server | ")
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil { // what Ctrl-C does
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("demo script after Ctrl-C: %v; want exit 0. Output:\n%s", waitErr, out.String())
		}
	case <-time.After(demoScriptTimeout):
		t.Fatalf("demo script still running %v after Ctrl-C. Output:\n%s", demoScriptTimeout, out.String())
	}
	got := out.String()
	for _, want := range []string{`agent  | `, `msg="outbox delivered"`, `msg="agent stopped"`, "demo: stopped"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if i, j := strings.Index(got, `msg="agent stopped"`), strings.LastIndex(got, "shutting down"); i < 0 || j < i {
		t.Errorf("the server did not outlive the agent's shutdown:\n%s", got)
	}
}

// waitOutput waits until out contains s, failing if the script exits first.
func waitOutput(t *testing.T, out *testenv.Buffer, exited <-chan struct{}, s string) {
	t.Helper()
	deadline := time.After(demoScriptTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(out.String(), s) {
		select {
		case <-exited:
			t.Fatalf("demo script exited before %q. Output:\n%s", s, out.String())
		case <-deadline:
			t.Fatalf("%q not in the demo's output after %v:\n%s", s, demoScriptTimeout, out.String())
		case <-tick.C:
		}
	}
}

// freePort returns a TCP port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
