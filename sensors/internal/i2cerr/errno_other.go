//go:build !linux

package i2cerr

import (
	"syscall"

	"github.com/sioagent/sioagent/sensors"
)

// missingErrnos are the errnos that mean no device ACKed its address.
// EREMOTEIO exists only on Linux.
func missingErrnos() []kindErrno {
	return []kindErrno{
		{syscall.ENXIO, sensors.KindMissing},
		{syscall.EIO, sensors.KindMissing},
	}
}
