//go:build !linux

package clock

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// processBootIDBytes is the number of random bytes of a process boot id.
const processBootIDBytes = 16

// errNoAdjtimex says the clock state cannot be queried on this system.
var errNoAdjtimex = errors.New("clock: adjtimex is only available on Linux")

// queryAdjtimex always fails: outside Linux the state is unknown.
func queryAdjtimex() (int, int, error) { return 0, 0, errNoAdjtimex }

// bootID reads the boot id from path if it exists, else makes one up for
// this process, since Mono then only counts from the process start.
func bootID(path string) (string, error) {
	if id, err := readBootID(path); err == nil {
		return "process-" + id, nil
	}
	b := make([]byte, processBootIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "process-" + hex.EncodeToString(b), nil
}

// monoSource measures from the process start.
func monoSource() (func() time.Duration, error) {
	start := time.Now()
	return func() time.Duration { return time.Since(start) }, nil
}
