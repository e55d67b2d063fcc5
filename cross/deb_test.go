package cross_test

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/debbuild"
	"github.com/sioagent/sioagent/internal/testenv"
)

const (
	// repoRoot is the repository root, relative to this package.
	repoRoot = ".."
	// maintainerDir holds the maintainer scripts and the control template.
	maintainerDir = "cross/debian"

	// scriptTimeout bounds a run of a maintainer script or of --print-version.
	scriptTimeout = time.Minute

	// wantMaintainer and wantDepends are fixed control fields; systemd 247
	// is the first with LoadCredential=.
	wantMaintainer = "sioagent developers <dev@sioagent.invalid>"
	wantDepends    = "systemd (>= 247), procps"

	// conffile is the one configuration file dpkg must preserve.
	conffile = "/etc/sioagent/sioagent.toml"
	// stateDir is the outbox directory the package must never delete.
	stateDir = "/var/lib/sioagent"
)

// The package builds of these tests (internal/debbuild).
const (
	debScript      = debbuild.Script
	testVersion    = debbuild.TestVersion
	testDebVersion = debbuild.TestDebVersion
	testEpoch      = debbuild.TestEpoch
)

// debVersionRe is a valid Debian version without epoch or revision.
var debVersionRe = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// packagedFile is one file the package must ship.
type packagedFile struct {
	path   string // as dpkg-deb --contents lists it
	mode   string // ls -l style
	source string // file of the repository it is a copy of; "" for none
}

// packagedFiles is every file of the package; nothing else may be in it.
var packagedFiles = []packagedFile{
	{"./usr/bin/sioagent", "-rwxr-xr-x", ""},
	{"./lib/systemd/system/sioagent.service", "-rw-r--r--", "systemd/sioagent.service"},
	{"./usr/lib/sysusers.d/sioagent.conf", "-rw-r--r--", "systemd/sioagent.sysusers"},
	{"./lib/udev/rules.d/60-sioagent.rules", "-rw-r--r--", "systemd/60-sioagent.rules"},
	{"." + conffile, "-rw-r--r--", "configs/example.toml"},
	{"./usr/share/doc/sioagent/README.md", "-rw-r--r--", "README.md"},
	{"./usr/share/doc/sioagent/PROTOCOL.md", "-rw-r--r--", "docs/PROTOCOL.md"},
	{"./usr/share/doc/sioagent/systemd-README.md", "-rw-r--r--", "systemd/README.md"},
	{"./usr/share/doc/sioagent/copyright", "-rw-r--r--", ""},
}

// debArch is one architecture the tests package, and what its binary is.
type debArch struct {
	arch     string            // Debian architecture
	machine  elf.Machine       // ELF machine of the binary
	class    elf.Class         // ELF class
	settings map[string]string // build settings the binary must record
}

var (
	archAMD64 = debArch{"amd64", elf.EM_X86_64, elf.ELFCLASS64,
		map[string]string{"GOARCH": "amd64", "GOAMD64": "v1", "CGO_ENABLED": "0", "-trimpath": "true"}}
	// GOARM=6 runs on every 32-bit Pi; GOARM=7 would die on a Pi Zero or 1.
	archARMHF = debArch{"armhf", elf.EM_ARM, elf.ELFCLASS32,
		map[string]string{"GOARCH": "arm", "GOARM": "6", "CGO_ENABLED": "0", "-trimpath": "true"}}
)

// dpkgDeb runs dpkg-deb and fails the test on an error.
func dpkgDeb(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runTool(t, "dpkg-deb", args...)
	if err != nil {
		t.Fatalf("dpkg-deb %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// parseControl reads a Debian control paragraph: field name to value, with
// continuation lines joined by "\n".
func parseControl(text string) (map[string]string, error) {
	fields := map[string]string{}
	last := ""
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			if last == "" {
				return nil, fmt.Errorf("continuation line %q before any field", l)
			}
			fields[last] += "\n" + l[1:]
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("line %q is not a field", l)
		}
		last = k
		fields[k] = strings.TrimSpace(v)
	}
	return fields, nil
}

// contentEntry is one line of dpkg-deb --contents.
type contentEntry struct {
	mode, owner, date string
	size              int64
}

// parseContents reads dpkg-deb --contents (tar tv) output by path.
func parseContents(text string) (map[string]contentEntry, error) {
	entries := map[string]contentEntry{}
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l)
		if len(f) != 6 {
			return nil, fmt.Errorf("contents line %q: want 6 fields", l)
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("contents line %q: size: %w", l, err)
		}
		entries[f[5]] = contentEntry{mode: f[0], owner: f[1], date: f[3] + " " + f[4], size: size}
	}
	return entries, nil
}

// installedSize is dpkg's Installed-Size of the listed entries: files in
// KiB rounded up, one per directory.
func installedSize(entries map[string]contentEntry) int64 {
	var kib int64
	for path, e := range entries {
		switch {
		case path == "./":
		case strings.HasPrefix(e.mode, "-"):
			kib += (e.size + 1023) / 1024
		default:
			kib++
		}
	}
	return kib
}

func TestDebPackages(t *testing.T) {
	requireTool(t, "dpkg-deb")
	requireTool(t, "bash")
	src := debbuild.SnapshotSource(t, repoRoot)
	out := t.TempDir()
	debs := map[string]string{}
	for _, a := range []debArch{archAMD64, archARMHF} {
		debs[a.arch] = debbuild.Build(t, src, a.arch, out)
	}
	for _, a := range []debArch{archAMD64, archARMHF} {
		t.Run(a.arch, func(t *testing.T) { checkDeb(t, src, debs[a.arch], a) })
	}
	t.Run("reproducible", func(t *testing.T) {
		// A second copy at another path, with newer mtimes: neither may
		// show in the package.
		again := debbuild.Build(t, debbuild.SnapshotSource(t, src), archAMD64.arch, t.TempDir())
		first, err := os.ReadFile(debs[archAMD64.arch])
		if err != nil {
			t.Fatal(err)
		}
		second, err := os.ReadFile(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Errorf("two builds of the same source differ (%d and %d bytes)", len(first), len(second))
		}
	})
}

// checkDeb checks one built package: control, contents, files, binary,
// maintainer scripts and conffiles.
func checkDeb(t *testing.T, src, deb string, a debArch) {
	info := dpkgDeb(t, "--info", deb)
	for _, member := range []string{"control", "conffiles", "md5sums", "postinst", "prerm", "postrm"} {
		if !regexp.MustCompile(`(?m)^\s+\d+ bytes,\s+\d+ lines\s+\*?\s+` + member + `\b`).MatchString(info) {
			t.Errorf("control archive has no %s:\n%s", member, info)
		}
	}
	entries, err := parseContents(dpkgDeb(t, "--contents", deb))
	if err != nil {
		t.Fatal(err)
	}
	checkControl(t, dpkgDeb(t, "--field", deb), a.arch, installedSize(entries))
	checkContents(t, entries)

	root := t.TempDir()
	dpkgDeb(t, "-x", deb, root)
	for _, f := range packagedFiles {
		if f.source == "" {
			continue
		}
		got, err := os.ReadFile(filepath.Join(root, f.path))
		if err != nil {
			t.Errorf("extracted %s: %v", f.path, err)
			continue
		}
		if want := readShipped(t, filepath.Join(src, f.source)); string(got) != want {
			t.Errorf("%s differs from %s", f.path, f.source)
		}
	}
	if b := readShipped(t, filepath.Join(root, "usr/share/doc/sioagent/copyright")); !strings.Contains(b, "see the project repository") {
		t.Errorf("copyright does not point to the project repository (there is no LICENSE):\n%s", b)
	}
	checkBinary(t, filepath.Join(root, "usr/bin/sioagent"), a)

	control := t.TempDir()
	dpkgDeb(t, "--control", deb, control)
	checkMaintainerFiles(t, control)
}

func checkControl(t *testing.T, text, arch string, wantSize int64) {
	t.Helper()
	fields, err := parseControl(text)
	if err != nil {
		t.Fatalf("control: %v\n%s", err, text)
	}
	want := map[string]string{
		"Package":      "sioagent",
		"Version":      testDebVersion,
		"Architecture": arch,
		"Maintainer":   wantMaintainer,
		"Section":      "net",
		"Priority":     "optional",
		"Depends":      wantDepends,
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("control %s = %q, want %q", k, fields[k], v)
		}
	}
	if got := fields["Installed-Size"]; got != strconv.FormatInt(wantSize, 10) {
		t.Errorf("control Installed-Size = %q, want %d (KiB of the contents)", got, wantSize)
	}
	short, long, _ := strings.Cut(fields["Description"], "\n")
	if strings.TrimSpace(short) == "" || len(strings.Fields(long)) < 10 {
		t.Errorf("control Description needs a short and a long text, got %q", fields["Description"])
	}
}

func checkContents(t *testing.T, entries map[string]contentEntry) {
	t.Helper()
	wantDate := time.Unix(testEpoch, 0).UTC().Format("2006-01-02 15:04")
	files := map[string]bool{}
	for _, f := range packagedFiles {
		files[f.path] = true
		e, ok := entries[f.path]
		switch {
		case !ok:
			t.Errorf("package lacks %s", f.path)
		case e.mode != f.mode:
			t.Errorf("%s has mode %s, want %s", f.path, e.mode, f.mode)
		}
	}
	for path, e := range entries {
		if e.owner != "root/root" {
			t.Errorf("%s is owned by %s, want root/root", path, e.owner)
		}
		if e.date != wantDate {
			t.Errorf("%s has mtime %s, want SOURCE_DATE_EPOCH %s", path, e.date, wantDate)
		}
		switch {
		case strings.HasPrefix(e.mode, "d"):
			if e.mode != "drwxr-xr-x" {
				t.Errorf("directory %s has mode %s, want drwxr-xr-x", path, e.mode)
			}
			if path != "./" && !hasFileUnder(files, path) {
				t.Errorf("directory %s holds none of the packaged files", path)
			}
		case !files[path]:
			t.Errorf("unexpected entry %s (%s)", path, e.mode)
		}
	}
}

// hasFileUnder reports whether some packaged file lies in directory dir.
func hasFileUnder(files map[string]bool, dir string) bool {
	for f := range files {
		if strings.HasPrefix(f, dir) {
			return true
		}
	}
	return false
}

func checkBinary(t *testing.T, bin string, a debArch) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s binary: %v", a.arch, err)
	}
	defer f.Close()
	if f.Machine != a.machine || f.Class != a.class {
		t.Errorf("%s binary is %v %v, want %v %v", a.arch, f.Class, f.Machine, a.class, a.machine)
	}
	if f.Section(".debug_info") != nil || f.Section(".symtab") != nil {
		t.Errorf("%s binary is not stripped", a.arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s binary has an ELF interpreter: not static (CGO_ENABLED=0)", a.arch)
		}
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("%s binary build info: %v", a.arch, err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range a.settings {
		if settings[k] != v {
			t.Errorf("%s binary built with %s=%q, want %q", a.arch, k, settings[k], v)
		}
	}
	// -trimpath keeps -ldflags out of the build info; the version string
	// set with -X is in the data (the amd64 binary also runs below).
	if b, err := os.ReadFile(bin); err != nil || !bytes.Contains(b, []byte(testVersion)) {
		t.Errorf("%s binary does not hold its version %q (%v)", a.arch, testVersion, err)
	}
	if a.machine != elf.EM_X86_64 || !hostIsAMD64(t) {
		return
	}
	out, err := runTool(t, bin, "version")
	if err != nil {
		t.Fatalf("sioagent version: %v\n%s", err, out)
	}
	if want := "sioagent " + testVersion + "\n"; out != want {
		t.Errorf("sioagent version printed %q, want %q", out, want)
	}
}

// hostIsAMD64 reports whether an amd64 binary can run here.
func hostIsAMD64(t *testing.T) bool {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("own executable: %v", err)
	}
	f, err := elf.Open(self)
	if err != nil {
		t.Fatalf("own executable: %v", err)
	}
	defer f.Close()
	return f.Machine == elf.EM_X86_64
}

// checkMaintainerFiles checks the extracted control archive: executable
// scripts that pass sh -n, and the conffiles list.
func checkMaintainerFiles(t *testing.T, dir string) {
	t.Helper()
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		path := filepath.Join(dir, s)
		info, err := os.Stat(path)
		if err != nil {
			t.Errorf("maintainer script %s: %v", s, err)
			continue
		}
		if info.Mode().Perm() != 0o755 {
			t.Errorf("%s has mode %v, want 0755", s, info.Mode().Perm())
		}
		text := readShipped(t, path)
		if !strings.HasPrefix(text, "#!/bin/sh\n") || !strings.Contains(text, "\nset -e\n") {
			t.Errorf("%s is not a #!/bin/sh script with set -e", s)
		}
		if out, err := runTool(t, "sh", "-n", path); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
	}
	if got := readShipped(t, filepath.Join(dir, "conffiles")); got != conffile+"\n" {
		t.Errorf("conffiles = %q, want %q", got, conffile+"\n")
	}
	md5 := readShipped(t, filepath.Join(dir, "md5sums"))
	if strings.Contains(md5, strings.TrimPrefix(conffile, "/")) || !strings.Contains(md5, "  usr/bin/sioagent\n") {
		t.Errorf("md5sums must list the binary and not the conffile:\n%s", md5)
	}
}

// TestDebVersion checks the Debian versions deb.sh derives from VERSION.
func TestDebVersion(t *testing.T) {
	requireTool(t, "bash")
	cases := []struct{ version, want string }{
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3-4-gabc1234", "1.2.3+4.gabc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+4.gabc1234+dirty"},
		{"v1.3.0-rc1", "1.3.0~rc1"},
		{"abc1234", "0.0.0~git20231114.abc1234"},
		{"abc1234-dirty", "0.0.0~git20231114.abc1234+dirty"},
		{"0.0.0~dev", "0.0.0~dev"},
		{"dev", ""},   // no leading digit
		{"1.2 3", ""}, // space
		{"1:2.0", ""}, // epochs are not derived from tags
	}
	for _, c := range cases {
		t.Run(c.version, func(t *testing.T) {
			env := debbuild.Env("VERSION="+c.version, "SOURCE_DATE_EPOCH="+strconv.Itoa(testEpoch))
			out, errOut, err := debbuild.Run(t, repoRoot, env, scriptTimeout, "--print-version")
			if c.want == "" {
				if err == nil {
					t.Errorf("VERSION=%q accepted: %q", c.version, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("--print-version: %v\n%s", err, errOut)
			}
			if want := c.version + " " + c.want + "\n"; out != want {
				t.Errorf("--print-version = %q, want %q", out, want)
			}
		})
	}
}

// TestDebVersionFromGit checks the default version of a build in this
// repository: git describe, and a valid Debian version made of it.
func TestDebVersionFromGit(t *testing.T) {
	requireTool(t, "bash")
	git := requireTool(t, "git")
	if out, err := runTool(t, git, "-C", repoRoot, "rev-parse", "--show-toplevel"); err != nil {
		testenv.SkipUnlessRequired(t, testenv.RequireGit, "not a git work tree: %v %s", err, out)
	}
	describe, err := runTool(t, git, "-C", repoRoot, "describe", "--tags", "--always")
	if err != nil {
		t.Fatalf("git describe: %v\n%s", err, describe)
	}
	describe = strings.TrimSpace(describe)
	out, errOut, err := debbuild.Run(t, repoRoot, debbuild.Env(), scriptTimeout, "--print-version")
	if err != nil {
		t.Fatalf("--print-version: %v\n%s", err, errOut)
	}
	version, debVersion, ok := strings.Cut(strings.TrimSpace(out), " ")
	if !ok || strings.TrimSuffix(version, "-dirty") != describe {
		t.Errorf("version %q, want git describe %q (maybe -dirty)", version, describe)
	}
	if !debVersionRe.MatchString(debVersion) {
		t.Errorf("Debian version %q is not valid", debVersion)
	}
}
