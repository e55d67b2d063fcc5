package config

import (
	"errors"
	"fmt"
)

// Driver is one sensor driver as the configuration sees it: the keys of
// its [[sensors]] tables besides the common ones (name, driver, interval,
// timeout, enabled) and how to decode them. Each driver's package provides
// its own; package sensors/drivers lists them.
type Driver interface {
	// Name is the value of the driver key that selects this driver.
	Name() string
	// Keys lists the driver's own keys in documentation order. Any other
	// key (except the common ones) is rejected before Decode runs: as "not
	// used by driver" when another driver has it, else as unknown, with a
	// "did you mean" among these.
	Keys() []string
	// Decode reads the driver's keys from t, fills in their defaults and
	// checks them against each other, reporting every problem through t.
	// What it returns is kept as Sensor.Options unless t recorded an error.
	Decode(t *Table) SensorOptions
}

// SensorOptions are a sensor's driver keys as its driver decoded them. The
// concrete type belongs to the driver's package, which also knows how to
// open the sensor from it (it implements sensors.Spec).
type SensorOptions interface {
	// Claims lists the hardware the sensor takes for itself; two sensors
	// with an equal claim are an error.
	Claims() []Claim
}

// Claim is a piece of hardware a sensor takes for itself: a GPIO pin, an
// I2C bus and address, a 1-Wire device. Sensors claim it whether they are
// enabled or not, since sensors can be enabled at run time.
type Claim struct {
	// Key is the sensor's key a clash is reported at, e.g. "pin".
	Key string
	// Resource identifies the hardware; claims clash when their Resources
	// are equal, so it starts with the kind: "gpio GPIO5", "i2c 1 0x44".
	Resource string
	// What names the hardware in the message, e.g. "GPIO5" or
	// `bus "1" address 0x44`.
	What string
	// Rule ends the message, e.g. "each GPIO pin belongs to one sensor".
	Rule string
}

// Drivers is the set of sensor drivers a configuration may name. Build it
// once with NewDrivers (package sensors/drivers lists sioagent's) and pass
// it to Load or Parse.
type Drivers struct {
	byName map[string]Driver
	names  []string // in registration order, as listed in messages
	keys   []string // every driver's keys, without repeats, in order
}

// NewDrivers builds the set of the drivers in lists, in order. It fails on
// an empty or repeated driver name, or a driver key that is empty, a
// common key or listed twice.
func NewDrivers(lists ...[]Driver) (*Drivers, error) {
	d := &Drivers{byName: map[string]Driver{}}
	for _, list := range lists {
		for _, drv := range list {
			if err := d.add(drv); err != nil {
				return nil, err
			}
		}
	}
	if len(d.names) == 0 {
		return nil, errors.New("config: no sensor drivers")
	}
	return d, nil
}

func (d *Drivers) add(drv Driver) error {
	name := drv.Name()
	if name == "" {
		return errors.New("config: a sensor driver has no name")
	}
	if _, dup := d.byName[name]; dup {
		return fmt.Errorf("config: sensor driver %q registered twice", name)
	}
	seen := map[string]bool{}
	for _, k := range drv.Keys() {
		switch {
		case k == "" || contains(commonKeys, k):
			return fmt.Errorf("config: sensor driver %q: key %q is empty or a common key", name, k)
		case seen[k]:
			return fmt.Errorf("config: sensor driver %q: key %q listed twice", name, k)
		}
		seen[k] = true
		if !contains(d.keys, k) {
			d.keys = append(d.keys, k)
		}
	}
	d.byName[name] = drv
	d.names = append(d.names, name)
	return nil
}

// Names returns the driver names in registration order.
func (d *Drivers) Names() []string { return append([]string(nil), d.names...) }

// Keys returns every key of a [[sensors]] table: the common ones, then
// each driver's, without repeats.
func (d *Drivers) Keys() []string { return append(append([]string(nil), commonKeys...), d.keys...) }

// lookup returns the driver of that name.
func (d *Drivers) lookup(name string) (Driver, bool) {
	drv, ok := d.byName[name]
	return drv, ok
}
