package ds18b20

import (
	"fmt"
	"strings"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
)

// Keys of the ds18b20 driver.
const (
	keyDevice = "device"
	keyW1Dir  = "w1_dir"
)

// Family is the 1-Wire family code of the DS18B20, the start of its id.
const Family = "28"

// serialLen is the number of hex digits after the family and dash.
const serialLen = 12

// Config is a ds18b20 sensor's keys as the configuration decoded them. It
// implements sensors.Spec.
type Config struct {
	// Device is required: the 1-Wire id "28-" followed by 12 lower-case
	// hex digits.
	Device string
	// W1Dir is the sysfs directory of 1-Wire devices; default DefaultDir.
	W1Dir string
}

var _ sensors.Spec = Config{}

// Drivers returns the configuration driver of this package: ds18b20.
func Drivers() []config.Driver { return []config.Driver{driver{}} }

// driver decodes the keys of a ds18b20 sensor.
type driver struct{}

// Name implements config.Driver.
func (driver) Name() string { return Driver }

// Keys implements config.Driver.
func (driver) Keys() []string { return []string{keyDevice, keyW1Dir} }

// Decode implements config.Driver.
func (driver) Decode(t *config.Table) config.SensorOptions {
	var c Config
	t.Value(keyDevice, func(v any) error {
		var err error
		c.Device, err = decodeDevice(v)
		return err
	})
	if !t.Has(keyDevice) {
		t.Failf(keyDevice, "missing; the ds18b20 driver needs the 1-Wire id from /sys/bus/w1/devices, e.g. device = \"28-0316a2794a1f\"")
	}
	c.W1Dir = t.NonEmpty(keyW1Dir, DefaultDir)
	return c
}

// decodeDevice decodes a DS18B20 1-Wire id: "28-" and 12 lower-case hex
// digits.
func decodeDevice(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("must be a string, got %s", config.Describe(v))
	}
	serial, ok := strings.CutPrefix(s, Family+"-")
	ok = ok && len(serial) == serialLen
	for i := 0; ok && i < len(serial); i++ {
		c := serial[i]
		ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	}
	if !ok {
		return "", fmt.Errorf("%q is not a DS18B20 id; use \"28-\" and 12 lower-case hex digits as listed in /sys/bus/w1/devices, e.g. \"28-0316a2794a1f\"", s)
	}
	return s, nil
}

// Claims implements config.SensorOptions: the device in its directory.
func (c Config) Claims() []config.Claim {
	return []config.Claim{{Key: keyDevice, Resource: "w1 " + c.Where(), What: c.Device, Rule: "each 1-Wire device belongs to one sensor"}}
}

// Where implements sensors.Spec: the device's sysfs directory.
func (c Config) Where() string { return c.W1Dir + "/" + c.Device }

// Lazy implements sensors.Spec: the kernel may list the probe late, or it
// may be unplugged; it is retried like a failing read.
func (c Config) Lazy() bool { return true }

// Open implements sensors.Spec; it needs no Hardware (sysfs).
func (c Config) Open(name string, _ sensors.Hardware) (sensors.Sensor, error) {
	return New(Options{Name: name, Dir: c.W1Dir, Device: c.Device})
}
