package sht3x

import (
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cconf"
)

// Addresses each family answers at (0x44 is the default of both).
var (
	sht3xAddresses = i2cconf.Range{Default: 0x44, Lo: 0x44, Hi: 0x45}
	sht4xAddresses = i2cconf.Range{Default: 0x44, Lo: 0x44, Hi: 0x46}
)

// Config is an sht3x or sht4x sensor's keys as the configuration decoded
// them. It implements sensors.Spec.
type Config struct {
	// Family is the driver name: FamilySHT3x or FamilySHT4x.
	Family string
	// Bus is the I2C bus number; default "1".
	Bus string
	// Address is 0x44 (default) or 0x45 for the SHT3x, 0x44 to 0x46 for
	// the SHT4x.
	Address uint16
}

var _ sensors.Spec = Config{}

// Drivers returns the configuration drivers of this package: sht3x and
// sht4x.
func Drivers() []config.Driver {
	return []config.Driver{driver{FamilySHT3x, sht3xAddresses}, driver{FamilySHT4x, sht4xAddresses}}
}

// driver decodes the keys of one family.
type driver struct {
	family string
	addrs  i2cconf.Range
}

// Name implements config.Driver.
func (d driver) Name() string { return d.family }

// Keys implements config.Driver: bus and address.
func (d driver) Keys() []string { return i2cconf.Keys() }

// Decode implements config.Driver.
func (d driver) Decode(t *config.Table) config.SensorOptions {
	c := Config{Family: d.family}
	c.Bus, c.Address = i2cconf.Decode(t, d.addrs)
	return c
}

// Claims implements config.SensorOptions: the bus address.
func (c Config) Claims() []config.Claim { return i2cconf.Claims(c.Bus, c.Address) }

// Where implements sensors.Spec: "i2c-1 0x44".
func (c Config) Where() string { return i2cconf.Where(c.Bus, c.Address) }

// Lazy implements sensors.Spec: New checks the chip, which may be missing.
func (c Config) Lazy() bool { return true }

// Open implements sensors.Spec.
func (c Config) Open(name string, hw sensors.Hardware) (sensors.Sensor, error) {
	dev, err := i2cconf.Open(name, c.Family, hw, c.Bus, c.Address)
	if err != nil {
		return nil, err
	}
	return New(dev, Options{Name: name, Where: c.Where(), Family: c.Family})
}
