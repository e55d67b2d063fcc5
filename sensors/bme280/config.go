package bme280

import (
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cconf"
)

// Addresses the chip answers at: 0x76 with SDO low (the default), 0x77
// with SDO high.
var addresses = i2cconf.Range{Default: 0x76, Lo: 0x76, Hi: 0x77}

// Config is a bme280 or bmp280 sensor's keys as the configuration
// decoded them. It implements sensors.Spec.
type Config struct {
	// Want is the driver name: WantBME280 or WantBMP280.
	Want string
	// Bus is the I2C bus number; default "1".
	Bus string
	// Address is 0x76 (default) or 0x77.
	Address uint16
}

var _ sensors.Spec = Config{}

// Drivers returns the configuration drivers of this package: bme280 and
// bmp280.
func Drivers() []config.Driver { return []config.Driver{driver(WantBME280), driver(WantBMP280)} }

// driver decodes the keys of one chip; its value is the driver name.
type driver string

// Name implements config.Driver.
func (d driver) Name() string { return string(d) }

// Keys implements config.Driver: bus and address.
func (d driver) Keys() []string { return i2cconf.Keys() }

// Decode implements config.Driver.
func (d driver) Decode(t *config.Table) config.SensorOptions {
	c := Config{Want: string(d)}
	c.Bus, c.Address = i2cconf.Decode(t, addresses)
	return c
}

// Claims implements config.SensorOptions: the bus address.
func (c Config) Claims() []config.Claim { return i2cconf.Claims(c.Bus, c.Address) }

// Where implements sensors.Spec: "i2c-1 0x76".
func (c Config) Where() string { return i2cconf.Where(c.Bus, c.Address) }

// Lazy implements sensors.Spec: New checks the chip, which may be missing.
func (c Config) Lazy() bool { return true }

// Open implements sensors.Spec.
func (c Config) Open(name string, hw sensors.Hardware) (sensors.Sensor, error) {
	dev, err := i2cconf.Open(name, c.Want, hw, c.Bus, c.Address)
	if err != nil {
		return nil, err
	}
	return New(dev, Options{Name: name, Where: c.Where(), Want: c.Want})
}
