package ads1115

import (
	"fmt"
	"slices"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cconf"
)

// Addresses the chip can be strapped to (ADDR to GND, VDD, SDA, SCL).
var addresses = i2cconf.Range{Default: 0x48, Lo: 0x48, Hi: 0x4B}

// Keys of the ads1115 driver besides bus and address.
const (
	keyChannels = "channels"
	keyGain     = "gain"
	keyDataRate = "data_rate"
)

// Config is an ads1115 sensor's keys as the configuration decoded them.
// It implements sensors.Spec.
type Config struct {
	// Bus is the I2C bus number; default "1".
	Bus string
	// Address is 0x48 (default) to 0x4B.
	Address uint16
	// Channels are the inputs read; default [0]; each 0..3, no duplicates.
	Channels []int
	// Gain is the full-scale range in volts: 6.144, 4.096 (default), 2.048,
	// 1.024, 0.512 or 0.256.
	Gain float64
	// DataRate is the rate in samples/s: 8, 16, 32, 64, 128 (default), 250,
	// 475 or 860.
	DataRate int
}

var _ sensors.Spec = Config{}

// Drivers returns the configuration driver of this package: ads1115.
func Drivers() []config.Driver { return []config.Driver{driver{}} }

// driver decodes the keys of an ads1115 sensor.
type driver struct{}

// Name implements config.Driver.
func (driver) Name() string { return Driver }

// Keys implements config.Driver.
func (driver) Keys() []string { return append(i2cconf.Keys(), keyChannels, keyGain, keyDataRate) }

// Decode implements config.Driver.
func (driver) Decode(t *config.Table) config.SensorOptions {
	c := Config{Channels: []int{0}, Gain: DefaultFullScale, DataRate: DefaultDataRate}
	c.Bus, c.Address = i2cconf.Decode(t, addresses)
	t.Value(keyChannels, func(v any) error {
		var err error
		c.Channels, err = decodeChannels(v)
		return err
	})
	c.Gain = t.Float(keyGain, DefaultFullScale)
	if !slices.Contains(fullScales(), c.Gain) {
		t.Reject(keyGain, "%v is not a full-scale range; must be %s (volts)", c.Gain, orList(fullScales()))
	}
	t.Value(keyDataRate, func(v any) error {
		n, ok := v.(int64)
		if !ok || !slices.Contains(dataRates(), int(n)) {
			return fmt.Errorf("%s is not a data rate; must be %s (samples/s)", config.Describe(v), orList(dataRates()))
		}
		c.DataRate = int(n)
		return nil
	})
	return c
}

// decodeChannels decodes the channel list.
func decodeChannels(v any) ([]int, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, fmt.Errorf("must be a non-empty array of channel numbers 0 to %d, e.g. [0, 1], got %s", NumChannels-1, config.Describe(v))
	}
	out := make([]int, 0, len(arr))
	for _, e := range arr {
		n, ok := e.(int64)
		if !ok || n < 0 || n >= NumChannels {
			return nil, fmt.Errorf("%s is not a channel; each must be an integer from 0 to %d", config.Describe(e), NumChannels-1)
		}
		if slices.Contains(out, int(n)) {
			return nil, fmt.Errorf("channel %d is listed twice; list each channel once", n)
		}
		out = append(out, int(n))
	}
	return out, nil
}

// orList formats allowed values as "a, b or c".
func orList[T any](vals []T) string {
	s := ""
	for i, v := range vals {
		switch {
		case i == 0:
		case i == len(vals)-1:
			s += " or "
		default:
			s += ", "
		}
		s += fmt.Sprint(v)
	}
	return s
}

// Claims implements config.SensorOptions: the bus address.
func (c Config) Claims() []config.Claim { return i2cconf.Claims(c.Bus, c.Address) }

// Where implements sensors.Spec: "i2c-1 0x48".
func (c Config) Where() string { return i2cconf.Where(c.Bus, c.Address) }

// Lazy implements sensors.Spec: New checks the chip, which may be missing.
func (c Config) Lazy() bool { return true }

// Open implements sensors.Spec.
func (c Config) Open(name string, hw sensors.Hardware) (sensors.Sensor, error) {
	dev, err := i2cconf.Open(name, Driver, hw, c.Bus, c.Address)
	if err != nil {
		return nil, err
	}
	return New(dev, Options{Name: name, Where: c.Where(), Channels: c.Channels, FullScale: c.Gain, DataRate: c.DataRate})
}
