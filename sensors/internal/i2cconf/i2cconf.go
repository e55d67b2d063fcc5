// Package i2cconf holds what the I2C drivers share in the configuration:
// the bus and address keys, the "where" string, the claim on the bus
// address and opening the device on the Hardware.
package i2cconf

import (
	"fmt"
	"strconv"

	"periph.io/x/conn/v3/i2c"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
)

// Keys of the bus and address, in documentation order.
const (
	KeyBus     = "bus"
	KeyAddress = "address"
)

// Bus numbers.
const (
	// DefaultBus is the I2C bus when none is set ("/dev/i2c-1").
	DefaultBus = "1"
	// MaxBus is the highest I2C bus number.
	MaxBus = 255
)

// Keys returns the bus and address keys, for a driver's Keys.
func Keys() []string { return []string{KeyBus, KeyAddress} }

// Range is the addresses a chip answers at.
type Range struct {
	// Default is the address when none is set.
	Default uint16
	// Lo and Hi bound the addresses the chip can be strapped to.
	Lo, Hi uint16
}

// Decode reads the bus (default DefaultBus) and the address (default
// r.Default, within r) of a sensor.
func Decode(t *config.Table, r Range) (bus string, addr uint16) {
	bus, addr = DefaultBus, r.Default
	t.Value(KeyBus, func(v any) error {
		var err error
		bus, err = decodeBus(v)
		return err
	})
	t.Value(KeyAddress, func(v any) error {
		var err error
		addr, err = decodeAddress(v, t.Driver(), r)
		return err
	})
	return bus, addr
}

// decodeBus decodes an I2C bus number given as a string ("1") or an
// integer.
func decodeBus(v any) (string, error) {
	var n int
	var ok bool
	switch v := v.(type) {
	case string:
		var err error
		n, err = strconv.Atoi(v)
		ok = err == nil && strconv.Itoa(n) == v
	case int64:
		n, ok = int(v), v >= 0 && v <= MaxBus
	}
	if !ok || n < 0 || n > MaxBus {
		return "", fmt.Errorf("must be an I2C bus number from \"0\" to \"%d\" (\"1\" is /dev/i2c-1), got %s", MaxBus, config.Describe(v))
	}
	return strconv.Itoa(n), nil
}

// decodeAddress decodes an address of the chip of driver drv.
func decodeAddress(v any, drv string, r Range) (uint16, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("must be an integer I2C address like 0x76, got %s", config.Describe(v))
	}
	if n < int64(r.Lo) || n > int64(r.Hi) {
		return 0, fmt.Errorf("%#02x is not a valid address for %q; must be %s", n, drv, addrList(r.Lo, r.Hi))
	}
	return uint16(n), nil
}

// addrList formats an address range: "0x76 or 0x77", "0x48 to 0x4b".
func addrList(lo, hi uint16) string {
	if hi == lo+1 {
		return fmt.Sprintf("%#02x or %#02x", lo, hi)
	}
	return fmt.Sprintf("%#02x to %#02x", lo, hi)
}

// Where names a device for messages: "i2c-1 0x76".
func Where(bus string, addr uint16) string { return fmt.Sprintf("i2c-%s 0x%02x", bus, addr) }

// Claims returns the claim of a device on its bus address.
func Claims(bus string, addr uint16) []config.Claim {
	return []config.Claim{{
		Key:      KeyAddress,
		Resource: fmt.Sprintf("i2c %s %#02x", bus, addr),
		What:     fmt.Sprintf("bus %q address %#02x", bus, addr),
		Rule:     "each I2C device belongs to one sensor",
	}}
}

// Open returns the device at addr on the named bus of hw, for the sensor
// name of driver drv; a missing hw or bus is a KindMissing *sensors.Error.
func Open(name, drv string, hw sensors.Hardware, bus string, addr uint16) (*i2c.Dev, error) {
	where := Where(bus, addr)
	if hw == nil {
		return nil, &sensors.Error{Sensor: name, Driver: drv, Where: where, Kind: sensors.KindMissing, Err: sensors.ErrNoHardware}
	}
	b, err := hw.I2CBus(bus)
	if err != nil {
		return nil, &sensors.Error{Sensor: name, Driver: drv, Where: where, Kind: sensors.KindMissing, Err: err}
	}
	return &i2c.Dev{Bus: b, Addr: addr}, nil
}
