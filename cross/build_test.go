package cross_test

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/internal/debbuild"
)

const (
	// buildScript and distScript are the release build's entry points,
	// relative to the repository root.
	buildScript = "cross/build.sh"
	distScript  = "cross/dist.sh"
	// usageExit is their exit status for bad usage.
	usageExit = 2
)

// stubGo stands in for the go command: it logs its environment's target
// settings and arguments, one a line, to $STUB_LOG and writes the -o file.
const stubGo = `#!/bin/sh
{
	echo "GOOS=${GOOS-} GOARCH=${GOARCH-} GOARM=${GOARM-} GOARM64=${GOARM64-} GOAMD64=${GOAMD64-} CGO_ENABLED=${CGO_ENABLED-}"
	printf '%s\n' "$@"
	echo --
} >>"$STUB_LOG"
while [ $# -gt 0 ]; do
	if [ "$1" = -o ]; then echo "binary for ${GOARCH-native}" >"$2"; fi
	shift
done
`

// archARM64 is the 64-bit Raspberry Pi OS binary.
var archARM64 = debArch{"arm64", elf.EM_AARCH64, elf.ELFCLASS64,
	map[string]string{"GOARCH": "arm64", "GOARM64": "v8.0", "CGO_ENABLED": "0", "-trimpath": "true"}}

// stubRun is a run of a cross/ script with the stub go command.
type stubRun struct {
	calls []string // one per go invocation: settings line, then the arguments
	out   string   // combined output
	err   error
}

// runWithStubGo runs script of the repository with GO pointing at stubGo,
// in a temporary directory, with env added; the caller's target settings
// are set to wrong values the scripts must not let through.
func runWithStubGo(t *testing.T, dir, script string, env []string, args ...string) stubRun {
	t.Helper()
	requireTool(t, "bash")
	stubs := t.TempDir()
	goBin := filepath.Join(stubs, "go")
	if err := os.WriteFile(goBin, []byte(stubGo), 0o755); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(stubs, "go.log")
	abs, err := filepath.Abs(filepath.Join(repoRoot, script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{abs}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO="+goBin, "STUB_LOG="+logFile,
		"GOARM=5", "GOARM64=v9.0", "GOAMD64=v3", "GOOS=windows", "GOARCH=386", "CGO_ENABLED=1")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	r := stubRun{out: string(out), err: err}
	if b, err := os.ReadFile(logFile); err == nil {
		for _, c := range strings.Split(string(b), "--\n") {
			if c != "" {
				r.calls = append(r.calls, c)
			}
		}
	}
	return r
}

// wantBuildCall is the go invocation build.sh must make for a target's
// settings line, version and absolute output path.
func wantBuildCall(settings, version, out string) string {
	return settings + "\n" + strings.Join([]string{"build", "-trimpath", "-ldflags",
		"-s -w -buildid= -X main.version=" + version, "-o", out, "./cmd/sioagent"}, "\n") + "\n"
}

// TestBuildFlags checks the one definition of the release build: for each
// target, the go settings (the caller's micro-architecture levels, cgo and
// target do not leak in) and the flags, with OUT taken relative to the
// caller's directory.
func TestBuildFlags(t *testing.T) {
	cases := []struct{ target, settings string }{
		{"arm/6", "GOOS=linux GOARCH=arm GOARM=6 GOARM64= GOAMD64= CGO_ENABLED=0"},
		{"arm/7", "GOOS=linux GOARCH=arm GOARM=7 GOARM64= GOAMD64= CGO_ENABLED=0"},
		{"arm64", "GOOS=linux GOARCH=arm64 GOARM= GOARM64=v8.0 GOAMD64= CGO_ENABLED=0"},
		{"amd64", "GOOS=linux GOARCH=amd64 GOARM= GOARM64= GOAMD64=v1 CGO_ENABLED=0"},
		// native keeps the caller's target: make build builds for this machine.
		{"native", "GOOS=windows GOARCH=386 GOARM=5 GOARM64=v9.0 GOAMD64=v3 CGO_ENABLED=0"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.target, "/", "v"), func(t *testing.T) {
			dir := t.TempDir()
			r := runWithStubGo(t, dir, buildScript, []string{"VERSION=v9.8.7"}, c.target, "out/agent")
			if r.err != nil {
				t.Fatalf("%s %s: %v\n%s", buildScript, c.target, r.err, r.out)
			}
			want := wantBuildCall(c.settings, "v9.8.7", filepath.Join(dir, "out/agent"))
			if len(r.calls) != 1 || r.calls[0] != want {
				t.Errorf("go calls:\n%q\nwant one:\n%q", r.calls, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "out/agent")); err != nil {
				t.Errorf("no binary at OUT: %v", err)
			}
		})
	}
}

// TestBuildUsage checks that a bad call is refused with the usage status
// before anything is built.
func TestBuildUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"arm64"}, {"arm/5", "out"}, {"mips", "out"}, {"arm64", "out", "extra"}} {
		r := runWithStubGo(t, t.TempDir(), buildScript, nil, args...)
		var exit *exec.ExitError
		if !errors.As(r.err, &exit) || exit.ExitCode() != usageExit {
			t.Errorf("%s %q: %v, want exit status %d\n%s", buildScript, args, r.err, usageExit, r.out)
		}
		if len(r.calls) != 0 {
			t.Errorf("%s %q ran go: %q", buildScript, args, r.calls)
		}
	}
}

// TestDist checks the release directory: one binary per target under its
// published name, built with the same version, and SHA256SUMS of them.
func TestDist(t *testing.T) {
	dir := t.TempDir()
	r := runWithStubGo(t, dir, distScript, []string{"VERSION=v9.8.7"}, "dist")
	if r.err != nil {
		t.Fatalf("%s dist: %v\n%s", distScript, r.err, r.out)
	}
	names := []string{"sioagent-linux-armv6", "sioagent-linux-armv7", "sioagent-linux-arm64", "sioagent-linux-amd64"}
	if len(r.calls) != len(names) {
		t.Fatalf("%d go calls, want %d:\n%q", len(r.calls), len(names), r.calls)
	}
	var sums []string
	for i, name := range names {
		path := filepath.Join(dir, "dist", name)
		if !strings.Contains(r.calls[i], "\n-o\n"+path+"\n") || !strings.Contains(r.calls[i], "main.version=v9.8.7\n") {
			t.Errorf("call %d does not build %s at v9.8.7:\n%s", i, path, r.calls[i])
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sum := sha256.Sum256(b)
		sums = append(sums, fmt.Sprintf("%s  %s\n", hex.EncodeToString(sum[:]), name))
	}
	got := readShipped(t, filepath.Join(dir, "dist", "SHA256SUMS"))
	if want := strings.Join(sums, ""); got != want {
		t.Errorf("SHA256SUMS:\n%s\nwant:\n%s", got, want)
	}

	// One target (make build-arm6): that binary alone, no checksum file.
	one := t.TempDir()
	r = runWithStubGo(t, one, distScript, []string{"VERSION=v9.8.7"}, "dist", "arm/6")
	if r.err != nil {
		t.Fatalf("%s dist arm/6: %v\n%s", distScript, r.err, r.out)
	}
	entries, err := os.ReadDir(filepath.Join(one, "dist"))
	if err != nil {
		t.Fatal(err)
	}
	var got1 []string
	for _, e := range entries {
		got1 = append(got1, e.Name())
	}
	if !slices.Equal(got1, []string{"sioagent-linux-armv6"}) {
		t.Errorf("dist arm/6 wrote %q, want only sioagent-linux-armv6", got1)
	}
}

// TestBuildRelease builds the arm64 release binary for real and checks
// what the flags promise: static, stripped, the pinned settings, the
// version.
func TestBuildRelease(t *testing.T) {
	requireTool(t, "bash")
	if testing.Short() {
		t.Skip("cross build: not in -short mode")
	}
	out := filepath.Join(t.TempDir(), "sioagent")
	cmd := exec.Command("bash", filepath.Join(repoRoot, buildScript), "arm64", out)
	cmd.Env = debbuild.Env("VERSION=" + testVersion)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s arm64: %v\n%s", buildScript, err, b)
	}
	checkBinary(t, out, archARM64)
}
