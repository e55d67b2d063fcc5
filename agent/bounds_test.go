package agent

import (
	"testing"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/store"
)

// The config accepts no max_bytes the store's derived file ceiling cannot
// hold (the two packages do not import each other; this keeps them equal).
func TestMaxBytesWithinStoreBound(t *testing.T) {
	if config.MaxMaxBytes != store.MaxBoundedBytes {
		t.Fatalf("config.MaxMaxBytes = %d, store.MaxBoundedBytes = %d", config.MaxMaxBytes, store.MaxBoundedBytes)
	}
}
