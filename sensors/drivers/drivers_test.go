package drivers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/drivers"
)

// required holds the keys a driver cannot do without, for a sensor of
// each driver in TestEveryDriverOpens; drivers not listed need none.
var required = map[string]string{
	"sim":      `signal = "counter"`,
	"gpio-in":  `pin = "GPIO5"`,
	"gpio-out": `pin = "GPIO6"`,
	"ds18b20":  `device = "28-0316a2794a1f"` + "\nw1_dir = \"/nonexistent\"",
}

// wantNames are sioagent's drivers, in the order messages list them; a
// driver added later comes after them.
var wantNames = []string{"sim", "gpio-in", "gpio-out", "bme280", "bmp280", "sht3x", "sht4x", "ads1115", "ds18b20"}

func TestNames(t *testing.T) {
	got := drivers.New().Names()
	if len(got) < len(wantNames) || strings.Join(got[:len(wantNames)], " ") != strings.Join(wantNames, " ") {
		t.Errorf("drivers %v, want them to start with %v", got, wantNames)
	}
}

// TestEveryDriverOpens parses a sensor of every registered driver (with
// only its required keys) and checks that what the driver decoded is a
// sensors.Spec whose Open, without hardware, fails as missing: no driver
// can be configured but not opened.
func TestEveryDriverOpens(t *testing.T) {
	reg := drivers.New()
	for _, name := range reg.Names() {
		doc := "[device]\nid = \"d\"\n[server]\nurl = \"http://x\"\n[[sensors]]\nname = \"s\"\ndriver = \"" + name + "\"\n" + required[name] + "\n"
		cfg, err := config.Parse("one.toml", []byte(doc), nil, reg)
		if err != nil {
			t.Errorf("%v (a new driver with required keys needs them in required)", err)
			continue
		}
		s := cfg.Sensors[0]
		spec, ok := s.Options.(sensors.Spec)
		if !ok {
			t.Errorf("%s: options %T are not a sensors.Spec", s.Driver, s.Options)
			continue
		}
		if spec.Where() == "" {
			t.Errorf("%s: empty Where", s.Driver)
		}
		sn, err := spec.Open(s.Name, nil)
		if !spec.Lazy() {
			if err != nil {
				t.Errorf("%s: eager Open failed: %v", s.Driver, err)
			} else {
				sn.Close()
			}
			continue
		}
		var se *sensors.Error
		if !errors.Is(err, sensors.ErrMissing) || !errors.As(err, &se) || se.Sensor != s.Name || se.Driver != s.Driver {
			t.Errorf("%s: Open without hardware = %v, want a missing-sensor error naming sensor and driver", s.Driver, err)
		}
	}
}

// TestNewFailsOnRepeatedName checks what New relies on not to panic.
func TestNewFailsOnRepeatedName(t *testing.T) {
	reg := drivers.New()
	if _, err := config.NewDrivers(sensorsOf(reg), sensorsOf(reg)); err == nil {
		t.Error("NewDrivers accepted every driver twice")
	}
}

// sensorsOf returns a stand-in driver for each name of reg.
func sensorsOf(reg *config.Drivers) []config.Driver {
	var out []config.Driver
	for _, n := range reg.Names() {
		out = append(out, named(n))
	}
	return out
}

// named is a driver with a name and no keys.
type named string

func (n named) Name() string                              { return string(n) }
func (n named) Keys() []string                            { return nil }
func (n named) Decode(*config.Table) config.SensorOptions { return nil }
