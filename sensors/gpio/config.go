package gpio

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
)

// Driver names in the configuration.
const (
	DriverIn  = "gpio-in"
	DriverOut = "gpio-out"
)

// Keys of the gpio-in and gpio-out drivers.
const (
	keyPin       = "pin"
	keyPull      = "pull"
	keyEdge      = "edge"
	keyMode      = "mode"
	keyDebounce  = "debounce"
	keyScale     = "scale"
	keyActiveLow = "active_low"
	keyQuantity  = "quantity"
	keyUnit      = "unit"
	keyInitial   = "initial"
	keySafe      = "safe"
)

// Values of the pull and edge keys.
const (
	PullUp      = "up"
	PullDown    = "down"
	PullFloat   = "float"
	EdgeNone    = "none"
	EdgeRising  = "rising"
	EdgeFalling = "falling"
	EdgeBoth    = "both"
)

// Defaults and limits of the configuration.
const (
	// MaxGPIONumber is the highest BCM GPIO number (GPIO0..GPIO53).
	MaxGPIONumber = 53
	// MaxDebounce is the longest debounce.
	MaxDebounce = 10 * time.Second
	// DefaultQuantity is the quantity key's default (it names no reading:
	// an input reports "level", or "count" and "rate").
	DefaultQuantity = "value"
	// pinPrefix starts every BCM pin name.
	pinPrefix = "GPIO"
)

// InputConfig is a gpio-in sensor's keys as the configuration decoded
// them. It implements sensors.PinSpec.
type InputConfig struct {
	// Pin is required: a BCM name "GPIO0" to "GPIO53". Pull is up, down
	// or float (default). Edge is none, rising, falling or both (default
	// both in mode level, falling in mode counter; none is not allowed in
	// mode counter). Mode is level (default) or counter.
	Pin, Pull, Edge, Mode string
	// Debounce ignores changes shorter than this; default 0.
	Debounce time.Duration
	// Scale (mode counter only) is the value per pulse; default 1.
	Scale float64
	// ActiveLow inverts the logical level.
	ActiveLow bool
	// Quantity defaults to "value". Unit is a primary SenML unit, default
	// none; a counter also reports a rate in Unit+"/s" ("1/s" when Unit is
	// "" or "count"), which must be registered too: "m" and "m3" work,
	// "Cel" does not.
	Quantity, Unit string
}

// OutputConfig is a gpio-out sensor's keys as the configuration decoded
// them. It implements sensors.PinSpec.
type OutputConfig struct {
	// Pin is required: a BCM name "GPIO0" to "GPIO53".
	Pin string
	// Initial is the level set at start and Safe the level set at shutdown
	// (default false); ActiveLow inverts the logical level.
	Initial, Safe, ActiveLow bool
}

var (
	_ sensors.PinSpec = InputConfig{}
	_ sensors.PinSpec = OutputConfig{}
)

// Drivers returns the configuration drivers of this package: gpio-in and
// gpio-out.
func Drivers() []config.Driver { return []config.Driver{inDriver{}, outDriver{}} }

// inDriver decodes the keys of a gpio-in sensor.
type inDriver struct{}

// Name implements config.Driver.
func (inDriver) Name() string { return DriverIn }

// Keys implements config.Driver.
func (inDriver) Keys() []string {
	return []string{keyPin, keyPull, keyEdge, keyMode, keyDebounce, keyScale, keyActiveLow, keyQuantity, keyUnit}
}

// Decode implements config.Driver.
func (inDriver) Decode(t *config.Table) config.SensorOptions {
	c := InputConfig{
		Pin:       decodePin(t, "GPIO17"),
		Pull:      t.OneOf(keyPull, PullFloat, PullUp, PullDown, PullFloat),
		Mode:      t.OneOf(keyMode, ModeLevel, ModeLevel, ModeCounter),
		Debounce:  t.Duration(keyDebounce, 0, config.DurationRange{Max: MaxDebounce, Zero: "off"}),
		Scale:     t.Float(keyScale, DefaultScale),
		ActiveLow: t.Bool(keyActiveLow, false),
		Quantity:  t.Name(keyQuantity, DefaultQuantity),
		Unit:      t.Unit(keyUnit),
	}
	defEdge := EdgeBoth
	if c.Mode == ModeCounter {
		defEdge = EdgeFalling
	}
	c.Edge = t.OneOf(keyEdge, defEdge, EdgeNone, EdgeRising, EdgeFalling, EdgeBoth)
	if c.Scale == 0 {
		t.Reject(keyScale, "must not be 0; it is the value each pulse adds, e.g. 0.0002794 (m of rain per tip)")
	}
	if c.Mode == ModeCounter && c.Edge == EdgeNone {
		t.Failf(keyEdge, "\"none\" cannot count pulses; in mode \"counter\" must be \"rising\", \"falling\" or \"both\"")
	}
	if t.Has(keyScale) && c.Mode != ModeCounter {
		t.Failf(keyScale, "only used with mode \"counter\", but mode is %q", c.Mode)
	}
	if c.Mode == ModeCounter {
		if _, rate := countUnits(c.Unit); senml.CheckUnit(rate) != nil {
			t.Failf(keyUnit, "%q gives the counter's rate the unit %q, which cannot be sent: %w; use a unit whose rate is registered, e.g. \"m\" (m/s), \"m3\" (m3/s) or \"count\" (1/s)",
				c.Unit, rate, senml.CheckUnit(rate))
		}
	}
	return c
}

// outDriver decodes the keys of a gpio-out sensor.
type outDriver struct{}

// Name implements config.Driver.
func (outDriver) Name() string { return DriverOut }

// Keys implements config.Driver.
func (outDriver) Keys() []string { return []string{keyPin, keyInitial, keySafe, keyActiveLow} }

// Decode implements config.Driver.
func (outDriver) Decode(t *config.Table) config.SensorOptions {
	return OutputConfig{
		Pin:       decodePin(t, "GPIO27"),
		Initial:   t.Bool(keyInitial, false),
		Safe:      t.Bool(keySafe, false),
		ActiveLow: t.Bool(keyActiveLow, false),
	}
}

// decodePin decodes the required pin key, a BCM GPIO name; example is the
// pin the "missing" message suggests.
func decodePin(t *config.Table, example string) string {
	var pin string
	t.Value(keyPin, func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be a string, got %s", config.Describe(v))
		}
		num, ok := strings.CutPrefix(s, pinPrefix)
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || n > MaxGPIONumber || strconv.Itoa(n) != num {
			return fmt.Errorf("%q is not a GPIO pin; use a BCM name from \"GPIO0\" to \"GPIO%d\", e.g. \"GPIO17\"", s, MaxGPIONumber)
		}
		pin = s
		return nil
	})
	if !t.Has(keyPin) {
		t.Failf(keyPin, "missing; the %s driver needs a pin, e.g. pin = %q", t.Driver(), example)
	}
	return pin
}

// pinClaims returns the claim of a sensor on its pin.
func pinClaims(pin string) []config.Claim {
	return []config.Claim{{Key: keyPin, Resource: "gpio " + pin, What: pin, Rule: "each GPIO pin belongs to one sensor"}}
}

// openPin returns the pin of a sensor from hw; a missing hw or pin is a
// KindMissing *sensors.Error.
func openPin(name, drv, pin string, hw sensors.Hardware) (gpio.PinIO, error) {
	if hw == nil {
		return nil, &sensors.Error{Sensor: name, Driver: drv, Where: pin, Kind: sensors.KindMissing, Err: sensors.ErrNoHardware}
	}
	p, err := hw.GPIOPin(pin)
	if err != nil {
		return nil, &sensors.Error{Sensor: name, Driver: drv, Where: pin, Kind: sensors.KindMissing, Err: err}
	}
	return p, nil
}

// Claims implements config.SensorOptions: the pin.
func (c InputConfig) Claims() []config.Claim { return pinClaims(c.Pin) }

// Where implements sensors.Spec: the pin.
func (c InputConfig) Where() string { return c.Pin }

// Lazy implements sensors.Spec: the pin may be unavailable at start.
func (c InputConfig) Lazy() bool { return true }

// PinName implements sensors.PinSpec.
func (c InputConfig) PinName() string { return c.Pin }

// PinUse implements sensors.PinSpec: PinCounter in mode counter, else
// PinLevel.
func (c InputConfig) PinUse() sensors.PinUse {
	if c.Mode == ModeCounter {
		return sensors.PinCounter
	}
	return sensors.PinLevel
}

// Open implements sensors.Spec.
func (c InputConfig) Open(name string, hw sensors.Hardware) (sensors.Sensor, error) {
	pin, err := openPin(name, DriverIn, c.Pin, hw)
	if err != nil {
		return nil, err
	}
	return NewInput(pin, InputOptions{Name: name, Pull: parsePull(c.Pull), Edge: parseEdge(c.Edge), Debounce: c.Debounce,
		Mode: c.Mode, Scale: c.Scale, Unit: c.Unit, ActiveLow: c.ActiveLow})
}

// Claims implements config.SensorOptions: the pin.
func (c OutputConfig) Claims() []config.Claim { return pinClaims(c.Pin) }

// Where implements sensors.Spec: the pin.
func (c OutputConfig) Where() string { return c.Pin }

// Lazy implements sensors.Spec: the pin may be unavailable at start.
func (c OutputConfig) Lazy() bool { return true }

// PinName implements sensors.PinSpec.
func (c OutputConfig) PinName() string { return c.Pin }

// PinUse implements sensors.PinSpec: PinOutput.
func (c OutputConfig) PinUse() sensors.PinUse { return sensors.PinOutput }

// Open implements sensors.Spec; the sensor is an *Output.
func (c OutputConfig) Open(name string, hw sensors.Hardware) (sensors.Sensor, error) {
	pin, err := openPin(name, DriverOut, c.Pin, hw)
	if err != nil {
		return nil, err
	}
	return NewOutput(pin, OutputOptions{Name: name, Initial: c.Initial, Safe: c.Safe, ActiveLow: c.ActiveLow})
}

// parsePull converts a pull key's value.
func parsePull(s string) gpio.Pull {
	switch s {
	case PullUp:
		return gpio.PullUp
	case PullDown:
		return gpio.PullDown
	default:
		return gpio.Float
	}
}

// parseEdge converts an edge key's value; "none" is gpio.NoEdge, which
// NewInput replaces by its default edge.
func parseEdge(s string) gpio.Edge {
	switch s {
	case EdgeRising:
		return gpio.RisingEdge
	case EdgeFalling:
		return gpio.FallingEdge
	case EdgeBoth:
		return gpio.BothEdges
	default:
		return gpio.NoEdge
	}
}
