package config

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sioagent/sioagent/protocol/senml"
)

// Defaults and limits of the common sensor keys.
const (
	// DefaultInterval is the default sampling interval.
	DefaultInterval = 10 * time.Second
	// MinInterval is the shortest sampling interval.
	MinInterval = 10 * time.Millisecond
	// MaxInterval is the longest sampling interval.
	MaxInterval = 24 * time.Hour
	// DefaultSensorTimeout is the default read timeout; it is lowered to the
	// interval when the interval is shorter.
	DefaultSensorTimeout = 2 * time.Second
	// MaxUnitLen is the longest unit.
	MaxUnitLen = 32
)

// commonKeys are the keys of every [[sensors]] table, in documentation
// order; the rest belong to the sensor's driver.
var commonKeys = []string{"name", "driver", "interval", "timeout", "enabled"}

// Sensor is one [[sensors]] entry.
type Sensor struct {
	// Name is required and unique: 1 to 64 characters from A-Z a-z 0-9
	// "." "_" "-". Driver is required: one of the names of the Drivers
	// given to Parse.
	Name, Driver string
	// Interval between reads (default 10s, at least 10ms, at most 24h) and
	// the read timeout (default 2s or the interval if shorter; at most the
	// interval).
	Interval, Timeout time.Duration
	// Enabled says whether the sensor is sampled; default true.
	Enabled bool
	// Options are the driver's own keys, decoded and defaulted by the
	// driver (its package documents them).
	Options SensorOptions
}

// sensors parses the [[sensors]] array.
func (p *parser) sensors(c *Config, v any) *Error {
	var list []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		list = v
	case []any:
		for i, e := range v {
			tbl, ok := e.(map[string]any)
			if !ok {
				return p.errf(fmt.Sprintf("sensors[%d]", i), "must be a table, got %s", Describe(e))
			}
			list = append(list, tbl)
		}
	default:
		return p.errf("sensors", "must be an array of tables ([[sensors]]), got %s", Describe(v))
	}
	for i, tbl := range list {
		base := sensorBase(i, tbl)
		s, err := p.sensor(i, base, tbl)
		if err != nil {
			return err
		}
		if err := checkDuplicates(p, c.Sensors, s, base); err != nil {
			return err
		}
		c.Sensors = append(c.Sensors, s)
	}
	return nil
}

// sensorBase is the location of the i-th sensor in errors: its name,
// `sensors."greenhouse"`, or when it has no valid name its index,
// "sensors[2]".
func sensorBase(i int, tbl map[string]any) string {
	if name, ok := tbl["name"].(string); ok && validName(name) {
		return `sensors."` + name + `"`
	}
	return fmt.Sprintf("sensors[%d]", i)
}

// sensor parses one [[sensors]] table: the common keys here, the rest by
// its driver. Of the errors in key values the first in document order is
// reported; then missing keys and keys checked against each other.
func (p *parser) sensor(i int, base string, tbl map[string]any) (Sensor, *Error) {
	s := Sensor{Interval: DefaultInterval, Enabled: true}
	name, _ := tbl["driver"].(string)
	drv, known := p.drivers.lookup(name)
	keys := p.ordered(tbl, joinPath("sensors", strconv.Itoa(i)))
	t := p.newTable(name, base, tbl, keys)
	for _, k := range keys {
		if err := p.sensorKey(&s, drv, known, k, base+"."+k, tbl[k]); err != nil {
			t.keyFailed(k, err)
		}
	}
	if known {
		opts := drv.Decode(t)
		for _, k := range t.unread(drv.Keys()) {
			t.keyFailed(k, p.errf(base+"."+k, "not used by driver %q", name))
		}
		s.Options = opts
	}
	if t.keyErr != nil {
		return s, t.keyErr
	}
	if err := p.finishSensor(&s, base, tbl); err != nil {
		return s, err
	}
	if t.late != nil {
		return s, t.late
	}
	return s, nil
}

// sensorKey checks that k belongs to the sensor's driver (drv, if known)
// and parses it if it is a common key.
func (p *parser) sensorKey(s *Sensor, drv Driver, known bool, k, key string, v any) *Error {
	all := p.drivers.Keys()
	if !contains(all, k) {
		if known {
			all = append(append([]string{}, commonKeys...), drv.Keys()...)
		}
		return p.unknown(key, k, all, known)
	}
	switch k {
	case "name":
		return p.set(&s.Name, key, v, p.name)
	case "driver":
		d, err := p.oneOf(key, v, p.drivers.names...)
		s.Driver = d
		return err
	case "interval":
		return p.setDur(&s.Interval, key, v, DurationRange{Min: MinInterval, Max: MaxInterval})
	case "timeout":
		return p.setDur(&s.Timeout, key, v, DurationRange{Max: MaxInterval})
	case "enabled":
		b, err := p.boolean(key, v)
		if err == nil {
			s.Enabled = b
		}
		return err
	}
	if known && !contains(drv.Keys(), k) {
		return p.errf(key, "not used by driver %q", drv.Name())
	}
	return nil // the driver's Decode reads it
}

// set decodes v with dec into *dst.
func (p *parser) set(dst *string, key string, v any, dec func(string, any) (string, *Error)) *Error {
	s, err := dec(key, v)
	if err == nil {
		*dst = s
	}
	return err
}

func (p *parser) setDur(dst *time.Duration, key string, v any, b DurationRange) *Error {
	d, err := p.duration(key, v, b)
	if err == nil {
		*dst = d
	}
	return err
}

// unit decodes a SenML unit: "" or a primary unit that senml.CheckUnit
// accepts (so sioagent's version 10 packs can carry it).
func (p *parser) unit(key string, v any) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	if len(s) > MaxUnitLen {
		return "", p.errf(key, "%q is too long; at most %d characters", s, MaxUnitLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return "", p.errf(key, "%q is not a valid unit; use a SenML unit of printable ASCII without spaces, e.g. \"Cel\", \"%%RH\" or \"m\"", s)
		}
	}
	if err := senml.CheckUnit(s); err != nil {
		e := p.errf(key, "%v", err)
		e.Err = err
		return "", e
	}
	return s, nil
}

// finishSensor checks the required common keys and the timeout against
// the interval.
func (p *parser) finishSensor(s *Sensor, base string, tbl map[string]any) *Error {
	has := func(k string) bool { _, ok := tbl[k]; return ok }
	if !has("name") {
		return p.errf(base+".name", "missing; every sensor needs a unique name, e.g. name = \"greenhouse\"")
	}
	if !has("driver") {
		return p.errf(base+".driver", "missing; must be %s", QuoteList(p.drivers.names))
	}
	if !has("timeout") {
		s.Timeout = min(DefaultSensorTimeout, s.Interval)
	} else if s.Timeout > s.Interval {
		return p.errf(base+".timeout", "%s is longer than the interval %s; must be at most the interval", fmtDur(s.Timeout), fmtDur(s.Interval))
	}
	return nil
}

// checkDuplicates fails when s, at base, reuses the name or a claim (GPIO
// pin, I2C bus and address, 1-Wire device) of an earlier sensor, enabled
// or not: sensors can be enabled at run time.
func checkDuplicates(p *parser, prev []Sensor, s Sensor, base string) *Error {
	for j, o := range prev {
		if o.Name == s.Name {
			return p.errf(base+".name", "duplicate name %q, already used by sensors[%d]; names must be unique", s.Name, j)
		}
		other := fmt.Sprintf("sensors[%d] (%q)", j, o.Name)
		for _, c := range claims(s) {
			for _, oc := range claims(o) {
				if c.Resource == oc.Resource {
					return p.errf(base+"."+c.Key, "%s is already used by %s; %s", c.What, other, c.Rule)
				}
			}
		}
	}
	return nil
}

// claims returns the claims of s, none when its driver decoded nothing.
func claims(s Sensor) []Claim {
	if s.Options == nil {
		return nil
	}
	return s.Options.Claims()
}
