package clock

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestConstantsMatchKernel(t *testing.T) {
	if TimeError != unix.TIME_ERROR || StaUnsync != unix.STA_UNSYNC {
		t.Fatalf("TimeError %d StaUnsync %#x; kernel %d %#x", TimeError, StaUnsync, unix.TIME_ERROR, unix.STA_UNSYNC)
	}
}
