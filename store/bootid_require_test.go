//go:build linux

package store

import (
	"testing"

	"github.com/sioagent/sioagent/internal/testenv"
)

// The store reads this machine's boot id from the kernel (the seq floor of
// seqfloor.go depends on it); where SIOAGENT_REQUIRE_BOOTID=1 promises one,
// an unreadable boot id is a failure, not a silently weaker crash test.
func TestDefaultBootIDReadable(t *testing.T) {
	if id := readBootID(defaultBootIDPath); id == "" {
		testenv.SkipUnlessRequired(t, testenv.RequireBootID, "no boot id readable at %s", defaultBootIDPath)
	}
}
