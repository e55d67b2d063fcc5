package size

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// enableEnv is the environment variable that turns the check on.
const enableEnv = "SIOAGENT_SIZE_CHECK"

// sizeVersion is the version stamped into both programs: the release
// flags are cross/lib.sh's, the one place they are written.
const sizeVersion = "size-check"

// target is one release architecture.
type target struct {
	goarch, goarm string
	// checked targets fail the test above MaxRatio; the others are printed.
	checked bool
}

func (t target) String() string {
	if t.goarm != "" {
		return t.goarch + "v" + t.goarm
	}
	return t.goarch
}

// targets are the release binaries: ARMv6 (every Pi on a 32-bit OS), ARMv7,
// arm64 (64-bit Pi OS) and amd64 (test machines).
var targets = []target{
	{goarch: "arm", goarm: "6", checked: true},
	{goarch: "arm", goarm: "7"},
	{goarch: "arm64", checked: true},
	{goarch: "amd64"},
}

func TestBinarySize(t *testing.T) {
	if os.Getenv(enableEnv) != "1" {
		t.Skipf("set %s=1 to build and measure the binaries (make size-check)", enableEnv)
	}
	gobin := goCommand(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	floorDir, err := filepath.Abs(filepath.Join("testdata", "floor"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var report strings.Builder
	fmt.Fprintf(&report, "%-8s %12s %12s %7s (limit %.2f on checked targets, %s)\n", "target", "sioagent", "floor", "ratio", MaxRatio, runtime.Version())
	for _, tg := range targets {
		agent := build(t, gobin, tg, root, "./cmd/sioagent", filepath.Join(out, "sioagent-"+tg.String()))
		floor := build(t, gobin, tg, floorDir, ".", filepath.Join(out, "floor-"+tg.String()))
		ratio := float64(agent) / float64(floor)
		verdict := "(not checked)"
		if tg.checked {
			verdict = "ok"
			if ratio > MaxRatio {
				verdict = "OVER"
				t.Errorf("%s: sioagent is %d bytes, %.3f times the floor's %d (at most %.2f: %d bytes)",
					tg, agent, ratio, floor, MaxRatio, int64(MaxRatio*float64(floor)))
			}
		}
		fmt.Fprintf(&report, "%-8s %12d %12d %7.3f %s\n", tg, agent, floor, ratio, verdict)
	}
	t.Log("binary sizes:\n" + report.String())
}

// goCommand is the go command ($GO, else the first go on PATH); it must be
// the toolchain running the test, so that both programs and the test agree.
func goCommand(t *testing.T) string {
	t.Helper()
	gobin := os.Getenv("GO")
	if gobin == "" {
		gobin = "go"
	}
	path, err := exec.LookPath(gobin)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "env", "GOVERSION")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	v, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s env GOVERSION: %v", path, err)
	}
	if got := strings.TrimSpace(string(v)); got != runtime.Version() {
		t.Fatalf("%s is %s, the test runs on %s: set GO to the go command of %[3]s", path, got, runtime.Version())
	}
	return path
}

// build compiles pkg in dir for tg with the release build of cross/lib.sh
// (go_build) and returns the size of the binary.
func build(t *testing.T, gobin string, tg target, dir, pkg, outFile string) int64 {
	t.Helper()
	lib, err := filepath.Abs(filepath.Join("..", "lib.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", `source "$1" && go_build "$2" "$3" "$4" "$5" "$6"`, "bash", lib, tg.libTarget(), sizeVersion, outFile, dir, pkg)
	cmd.Env = append(os.Environ(), "GO="+gobin, "GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: go_build %s: %v\n%s", tg, pkg, err, b)
	}
	fi, err := os.Stat(outFile)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// libTarget names tg as cross/lib.sh does: arm/6, arm/7, arm64, amd64.
func (t target) libTarget() string {
	if t.goarm != "" {
		return t.goarch + "/" + t.goarm
	}
	return t.goarch
}
