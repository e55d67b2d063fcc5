package cross_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/testenv"
)

// toolTimeout bounds every external command but a package build.
const toolTimeout = 5 * time.Minute

// requireTool returns the path of an external tool, skipping the test when it
// is missing unless SIOAGENT_REQUIRE_SYSTEMD=1.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		testenv.SkipUnlessRequired(t, testenv.RequireSystemd, "%s not found (%v)", name, err)
	}
	return path
}

// runTool runs a command with a timeout in the C locale and returns its
// combined output and error.
func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// readShipped reads a file of the repository or of a built package.
func readShipped(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}
