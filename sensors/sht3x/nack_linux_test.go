package sht3x_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/sht3x"
	"periph.io/x/conn/v3"
)

// nackConn is a conn.Conn on which no device answers, as Linux i2c-dev
// reports it through periph's sysfs-i2c (which formats the errno with %v).
type nackConn struct{ err error }

func (c nackConn) Tx(w, r []byte) error { return c.err }
func (c nackConn) Duplex() conn.Duplex  { return conn.Half }
func (c nackConn) String() string       { return "/dev/i2c-1 0x44" }

func TestNewNACKIsMissing(t *testing.T) {
	for _, nack := range []error{syscall.EREMOTEIO, errors.New("sysfs-i2c: remote I/O error")} {
		_, err := sht3x.New(nackConn{nack}, sht3x.Options{Name: "room"})
		var se *sensors.Error
		if !errors.As(err, &se) || se.Kind != sensors.KindMissing || !errors.Is(err, sensors.ErrMissing) {
			t.Fatalf("%v: got %v", nack, err)
		}
		if se.Sensor != "room" || se.Where != "/dev/i2c-1 0x44" {
			t.Errorf("got %+v", se)
		}
	}
}
