// Package sensortest holds the checks the driver tests share.
package sensortest

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/sioagent/sioagent/sensors"
)

// CloseBus fails t if bus still holds operations the driver did not
// perform: periph's way of asserting that a whole transcript ran.
func CloseBus(t testing.TB, bus *i2ctest.Playback) {
	t.Helper()
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}

// Kind checks that err is a *sensors.Error naming driver and a location
// accepted by where, and returns its kind.
func Kind(t testing.TB, err error, driver string, where func(string) bool) sensors.Kind {
	t.Helper()
	var se *sensors.Error
	if !errors.As(err, &se) {
		t.Fatalf("%v (%T) is not a *sensors.Error", err, err)
	}
	if se.Driver != driver || !where(se.Where) {
		t.Errorf("error names driver %q where %q", se.Driver, se.Where)
	}
	return se.Kind
}

// WhereIs accepts exactly want.
func WhereIs(want string) func(string) bool {
	return func(w string) bool { return w == want }
}
