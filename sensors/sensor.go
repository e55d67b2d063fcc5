// Package sensors defines what a sensor is for sioagent and runs them: each
// sensor is sampled on its own interval with a read timeout, failures are
// retried with backoff without stopping the others, and every reading is
// stamped with the wall clock, the boot-relative monotonic clock and whether
// the wall clock was synchronised at the time.
//
// Drivers live in subpackages and are written against periph.io/x/conn/v3
// interfaces (conn.Conn, i2c.Bus, gpio.PinIO), never periph's host drivers,
// so they are tested with periph's fakes. Only cmd/sioagent opens real
// hardware.
package sensors

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Value is one quantity read from a sensor, before it is stamped.
type Value struct {
	// Quantity names what was measured, e.g. "temperature"; the reading's
	// SenML name is "<sensor>/<quantity>".
	Quantity string
	// Unit is a SenML unit such as "Cel" (see protocol/senml); empty means
	// none.
	Unit string
	// Value is the measured value.
	Value float64
}

// Reading is a stamped value of one sensor.
type Reading struct {
	// Sensor is the configured name of the sensor.
	Sensor string
	// Quantity, Unit and Value are as in Value.
	Quantity string
	Unit     string
	Value    float64
	// Time is the wall-clock time of the reading. If Synced is false it may
	// be wrong by the time the device was powered off (a Pi has no RTC).
	Time time.Time
	// Mono is the boot-relative monotonic time of the reading
	// (CLOCK_BOOTTIME), valid only within the boot named by Boot.
	Mono time.Duration
	// Boot identifies the boot Mono belongs to (/proc/sys/kernel/random/boot_id).
	Boot string
	// Synced reports whether the wall clock was synchronised (NTP) when the
	// reading was taken.
	Synced bool
}

// Name returns the SenML name of the reading: "<sensor>/<quantity>".
func (r Reading) Name() string { return r.Sensor + "/" + r.Quantity }

// Sensor is a source of readings that is read on demand.
//
// Read must honour ctx (the sampler gives it the sensor's read timeout) and
// return quickly once ctx is done. Read is never called concurrently for one
// sensor. Close releases the hardware (halts pins, puts chips to sleep); it is
// called once, after the last Read, except that a Read stuck past its
// timeout and the sampler's shutdown grace may still be running: Close must
// tolerate that (and such a Read should then fail).
type Sensor interface {
	// Name returns the configured name of the sensor.
	Name() string
	// Read takes one measurement of every quantity the sensor has.
	Read(ctx context.Context) ([]Value, error)
	// Close halts the sensor.
	Close() error
}

// Watcher is a sensor that also delivers readings when something happens
// (a GPIO edge), not only on a tick. Watch blocks until ctx is done, calling
// emit from its own goroutine for each event; it returns ctx's error or the
// error that stopped it. Read still returns the current state.
type Watcher interface {
	Sensor
	Watch(ctx context.Context, emit func([]Value)) error
}

// Kind classifies why a sensor failed, so that operators and the retry
// policy can tell a missing device from bad data.
type Kind int

// Kinds of sensor failure.
const (
	// KindOther is a failure of no more specific kind.
	KindOther Kind = iota
	// KindMissing means the hardware did not answer: no device at the
	// address (NACK), no such bus, pin or file.
	KindMissing
	// KindBusy means the device or bus is in use or not ready yet.
	KindBusy
	// KindBadData means the device answered with data that failed a check:
	// wrong chip id, CRC mismatch, value out of range.
	KindBadData
	// KindTimeout means the read did not finish within its timeout.
	KindTimeout
)

// String returns the kind's name as used in logs and status output.
func (k Kind) String() string {
	switch k {
	case KindMissing:
		return "missing"
	case KindBusy:
		return "busy"
	case KindBadData:
		return "bad data"
	case KindTimeout:
		return "timeout"
	default:
		return "error"
	}
}

// Sentinel errors matching an *Error of the same Kind with errors.Is.
var (
	ErrMissing = errors.New("sensor missing")
	ErrBusy    = errors.New("sensor busy")
	ErrBadData = errors.New("sensor returned bad data")
	ErrTimeout = errors.New("sensor read timed out")
)

// Error is a sensor failure that names the sensor and where it is attached.
type Error struct {
	// Sensor is the configured sensor name.
	Sensor string
	// Driver is the driver name, e.g. "bme280".
	Driver string
	// Where names the bus and address, pin or file, e.g. "/dev/i2c-1 0x76".
	Where string
	// Kind classifies the failure.
	Kind Kind
	// Err is the underlying error.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	s := fmt.Sprintf("sensor %q", e.Sensor)
	if e.Driver != "" {
		s += " (" + e.Driver
		if e.Where != "" {
			s += " at " + e.Where
		}
		s += ")"
	} else if e.Where != "" {
		s += " (at " + e.Where + ")"
	}
	s += ": " + e.Kind.String()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's Kind.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrMissing:
		return e.Kind == KindMissing
	case ErrBusy:
		return e.Kind == KindBusy
	case ErrBadData:
		return e.Kind == KindBadData
	case ErrTimeout:
		return e.Kind == KindTimeout
	}
	return false
}
