// Package i2cerr turns bus errors into *sensors.Error values of the right
// Kind and provides the context-aware wait the I2C drivers use between a
// command and its result.
//
// Bus errors are classified by errno with errors.Is. periph's sysfs-i2c
// driver formats the ioctl errno with %v instead of wrapping it, so the
// errno's message text ("remote I/O error", ...) is matched as a fallback.
package i2cerr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// kindErrno pairs an errno with the Kind it stands for.
type kindErrno struct {
	errno syscall.Errno
	kind  sensors.Kind
}

// errnoKinds lists the errnos that classify a bus error, most specific first.
// It is a function, not a package variable, so that nothing global can be
// changed.
func errnoKinds() []kindErrno {
	return append(missingErrnos(),
		kindErrno{syscall.EBUSY, sensors.KindBusy},
		kindErrno{syscall.EAGAIN, sensors.KindBusy},
		kindErrno{syscall.ETIMEDOUT, sensors.KindTimeout},
	)
}

// Classify returns the Kind of a bus or context error: no ACK
// (ENXIO, EREMOTEIO, EIO) is KindMissing, EBUSY and EAGAIN are KindBusy,
// ETIMEDOUT and an expired context deadline are KindTimeout, an existing
// *sensors.Error keeps its Kind, and anything else is KindOther.
func Classify(err error) sensors.Kind {
	if err == nil {
		return sensors.KindOther
	}
	var se *sensors.Error
	if errors.As(err, &se) {
		return se.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return sensors.KindTimeout
	}
	for _, ke := range errnoKinds() {
		if errors.Is(err, ke.errno) {
			return ke.kind
		}
	}
	msg := err.Error()
	for _, ke := range errnoKinds() {
		if strings.Contains(msg, ke.errno.Error()) {
			return ke.kind
		}
	}
	return sensors.KindOther
}

// Site names a sensor and where it is attached, and builds its errors.
type Site struct {
	// Sensor is the configured sensor name.
	Sensor string
	// Driver is the driver name, e.g. "bme280".
	Driver string
	// Where names the bus and address, e.g. "/dev/i2c-1 0x76".
	Where string
}

// NewSite returns the Site of a driver's device: the sensor name defaults
// to the driver name, and where to one derived from c (see DefaultWhere).
func NewSite(name, driver, where string, c conn.Conn) Site {
	if name == "" {
		name = driver
	}
	return Site{Sensor: name, Driver: driver, Where: DefaultWhere(where, c)}
}

// Err returns a *sensors.Error of kind k wrapping err.
func (s Site) Err(k sensors.Kind, err error) error {
	return &sensors.Error{Sensor: s.Sensor, Driver: s.Driver, Where: s.Where, Kind: k, Err: err}
}

// Errorf returns a *sensors.Error of kind k with a formatted message
// (%w is allowed).
func (s Site) Errorf(k sensors.Kind, format string, args ...any) error {
	return s.Err(k, fmt.Errorf(format, args...))
}

// Bus returns a *sensors.Error for a failed bus operation op (e.g.
// "read chip id"), classified with Classify. An err that already is a
// *sensors.Error is returned unchanged.
func (s Site) Bus(op string, err error) error {
	var se *sensors.Error
	if errors.As(err, &se) {
		return err
	}
	return s.Err(Classify(err), fmt.Errorf("%s: %w", op, err))
}

// Sleep waits for d or until ctx is done, whichever comes first. It returns
// nil after a full wait and ctx's error (wrapped with what was waited for)
// otherwise. A non-positive d still checks ctx.
func Sleep(ctx context.Context, d time.Duration, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	}
}

// Where formats the location of a device: "<bus> 0x<addr>".
func Where(bus string, addr uint16) string {
	return fmt.Sprintf("%s 0x%02x", bus, addr)
}

// DefaultWhere returns where, or if it is empty a location derived from c:
// "<bus> 0x<addr>" for an *i2c.Dev, c's String() for a fmt.Stringer, and
// "" otherwise.
func DefaultWhere(where string, c conn.Conn) string {
	if where != "" {
		return where
	}
	switch v := c.(type) {
	case *i2c.Dev:
		if v.Bus != nil {
			return Where(v.Bus.String(), v.Addr)
		}
		return Where("i2c", v.Addr)
	case fmt.Stringer:
		return v.String()
	}
	return ""
}
