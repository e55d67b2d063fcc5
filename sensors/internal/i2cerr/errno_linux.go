package i2cerr

import (
	"syscall"

	"github.com/sioagent/sioagent/sensors"
)

// missingErrnos are the errnos Linux i2c-dev returns when no device ACKs
// its address: EREMOTEIO (most bus drivers, including bcm2835), ENXIO
// (i801, others) and EIO (some adapters).
func missingErrnos() []kindErrno {
	return []kindErrno{
		{syscall.EREMOTEIO, sensors.KindMissing},
		{syscall.ENXIO, sensors.KindMissing},
		{syscall.EIO, sensors.KindMissing},
	}
}
