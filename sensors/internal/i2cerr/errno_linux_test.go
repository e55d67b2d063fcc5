package i2cerr_test

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cerr"
)

// EREMOTEIO is what bcm2835's i2c driver returns on a NACK; it exists only
// on Linux.
func TestClassifyEREMOTEIO(t *testing.T) {
	for _, err := range []error{
		syscall.EREMOTEIO,
		fmt.Errorf("tx: %w", syscall.EREMOTEIO),
		fmt.Errorf("sysfs-i2c: %v", syscall.EREMOTEIO), // periph's formatting
	} {
		if got := i2cerr.Classify(err); got != sensors.KindMissing {
			t.Errorf("Classify(%v) = %v, want missing", err, got)
		}
	}
}
