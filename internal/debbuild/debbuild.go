// Package debbuild builds sioagent's Debian package for tests, the way a
// release does: cross/deb.sh run on a snapshot of the source tree, offline,
// with a fixed version and timestamp. The package's own checks (cross/) and
// the boot tests that install it under systemd (systemd/) share it, so both
// test the same build.
package debbuild

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// Script builds a package: cross/deb.sh ARCH [OUTDIR], relative to
	// the tree's root.
	Script = "cross/deb.sh"
	// releaseScripts are where the trees of releases keep deb.sh, newest
	// layout first (releases up to v0.1.0 had it in scripts/).
	releaseScripts = Script + ":scripts/deb.sh"

	// BuildTimeout bounds one package build (a cold cross build of the
	// agent on a busy machine included).
	BuildTimeout = 10 * time.Minute

	// TestVersion is the VERSION the package builds use; TestDebVersion is
	// the Debian version deb.sh must derive from it (a pre-release sorts
	// before the release with "~").
	TestVersion    = "v1.4.0-rc1"
	TestDebVersion = "1.4.0~rc1"
	// TestEpoch is the SOURCE_DATE_EPOCH of the package builds
	// (2023-11-14 22:13:20 UTC).
	TestEpoch = 1700000000
)

// snapshotSkip names the directories and root files a source snapshot leaves
// out: VCS data, build outputs and the reference server's dependencies.
var snapshotSkip = []string{".git", "node_modules", "dist", "bin", ".demo"}

// SnapshotSource copies the repository's sources into a fresh temporary
// directory, so the builds see one fixed tree while others edit the working
// tree, and so the build runs outside git (VERSION and SOURCE_DATE_EPOCH
// come from the environment).
func SnapshotSource(t testing.TB, from string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if d.IsDir() && slices.Contains(snapshotSkip, d.Name()) {
			return filepath.SkipDir
		}
		if rel == "sioagent" || strings.HasSuffix(rel, ".db") || strings.HasSuffix(rel, ".test") {
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
		return nil // symlinks and special files are not sources
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", from, err)
	}
	return dst
}

// Env is the environment of deb.sh: fixed version and timestamp (from
// extra), UTC listings, and no network (GOPROXY=off, local toolchain).
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "VERSION", "SOURCE_DATE_EPOCH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "TZ", "LC_ALL", "DPKG_ROOT":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TZ=UTC", "LC_ALL=C", "GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	return append(env, extra...)
}

// Run runs the deb.sh of the tree src (Script, or in a release's tree the
// path that release kept it at) with args and env, and returns its
// standard output (the .deb path) and standard error.
func Run(t testing.TB, src string, env []string, timeout time.Duration, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	script := filepath.Join(src, Script)
	for _, rel := range strings.Split(releaseScripts, ":") {
		if _, err := os.Stat(filepath.Join(src, rel)); err == nil {
			script = filepath.Join(src, rel)
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// Build builds the package for arch from src into outdir with TestVersion
// and TestEpoch, and returns the .deb's path.
func Build(t testing.TB, src, arch, outdir string) string {
	t.Helper()
	start := time.Now()
	env := Env("VERSION="+TestVersion, "SOURCE_DATE_EPOCH="+strconv.Itoa(TestEpoch))
	out, errOut, err := Run(t, src, env, BuildTimeout, arch, outdir)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s", Script, arch, err, errOut)
	}
	t.Logf("%s %s: built in %v", Script, arch, time.Since(start).Round(100*time.Millisecond))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	deb := lines[len(lines)-1]
	want := filepath.Join(outdir, fmt.Sprintf("sioagent_%s_%s.deb", TestDebVersion, arch))
	if deb != want {
		t.Fatalf("%s %s printed %q, want %q", Script, arch, deb, want)
	}
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("package not written: %v", err)
	}
	return deb
}
