package gpio

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"

	"github.com/sioagent/sioagent/sensors"
)

// TestCounterRateUnit checks the rate unit a counter reports, which the
// gpio-in decoder checks against the SenML registry.
func TestCounterRateUnit(t *testing.T) {
	tests := []struct{ unit, want string }{
		{"", "1/s"}, {"count", "1/s"}, {"m", "m/s"}, {"m3", "m3/s"}, {"Cel", "Cel/s"},
	}
	for _, tt := range tests {
		if _, got := countUnits(tt.unit); got != tt.want {
			t.Errorf("countUnits(%q) rate = %q, want %q", tt.unit, got, tt.want)
		}
	}
}

// pinHardware hands out one fake pin.
type pinHardware struct{ pin gpio.PinIO }

func (h pinHardware) I2CBus(string) (i2c.Bus, error) { return nil, errors.New("no I2C") }
func (h pinHardware) GPIOPin(name string) (gpio.PinIO, error) {
	if name != h.pin.Name() {
		return nil, errors.New("no such pin")
	}
	return h.pin, nil
}

func TestConfigsOpen(t *testing.T) {
	in := InputConfig{Pin: "GPIO5", Pull: PullUp, Edge: EdgeRising, Mode: ModeCounter, Scale: 2}
	out := OutputConfig{Pin: "GPIO5", Initial: true}
	if in.Where() != "GPIO5" || in.PinName() != "GPIO5" || in.PinUse() != sensors.PinCounter || !in.Lazy() {
		t.Errorf("input spec: where %q pin %q use %v", in.Where(), in.PinName(), in.PinUse())
	}
	if (InputConfig{Mode: ModeLevel}).PinUse() != sensors.PinLevel || out.PinUse() != sensors.PinOutput {
		t.Error("level input or output has the wrong pin use")
	}
	for _, spec := range []sensors.Spec{in, out} {
		_, err := spec.Open("s", nil)
		var se *sensors.Error
		if !errors.As(err, &se) || se.Kind != sensors.KindMissing || !errors.Is(err, sensors.ErrNoHardware) || se.Where != "GPIO5" {
			t.Errorf("open without hardware: %v", err)
		}
		if _, err := spec.Open("s", pinHardware{newPin()}); !errors.Is(err, sensors.ErrMissing) {
			t.Errorf("open on another pin: %v, want missing", err)
		}
	}
	p := newPin()
	p.N = "GPIO5"
	s, err := in.Open("rain", pinHardware{p})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*Input).o; got.Pull != gpio.PullUp || got.Edge != gpio.RisingEdge || got.Scale != 2 || got.Mode != ModeCounter {
		t.Errorf("input options %+v", got)
	}
	s.Close()
	o, err := out.Open("pump", pinHardware{p})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if sw, ok := o.(sensors.Output); !ok || !sw.Get() {
		t.Errorf("output %T is not a sensors.Output driving its initial level", o)
	}
}

func TestParsePullEdge(t *testing.T) {
	pulls := map[string]gpio.Pull{PullUp: gpio.PullUp, PullDown: gpio.PullDown, PullFloat: gpio.Float}
	for s, want := range pulls {
		if got := parsePull(s); got != want {
			t.Errorf("parsePull(%q) = %v, want %v", s, got, want)
		}
	}
	edges := map[string]gpio.Edge{EdgeNone: gpio.NoEdge, EdgeRising: gpio.RisingEdge, EdgeFalling: gpio.FallingEdge, EdgeBoth: gpio.BothEdges}
	for s, want := range edges {
		if got := parseEdge(s); got != want {
			t.Errorf("parseEdge(%q) = %v, want %v", s, got, want)
		}
	}
}
