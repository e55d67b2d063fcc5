package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
	sgpio "github.com/sioagent/sioagent/sensors/gpio"
	"github.com/sioagent/sioagent/sensors/sim"
)

// TestBuildSensorFromSpec checks the one lookup buildSensor makes: eager
// specs are opened at once, lazy ones on first use, pin specs are found by
// pin, and options that are no sensors.Spec are refused.
func TestBuildSensorFromSpec(t *testing.T) {
	b, err := buildSensor(config.Sensor{Name: "s", Driver: "sim", Options: sim.Config{Signal: sim.SignalCounter, Period: 60}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, lazy := b.sensor.(*lazySensor); lazy || b.where != "simulated" || b.pin != "" {
		t.Errorf("sim built as %T at %q pin %q", b.sensor, b.where, b.pin)
	}
	b.sensor.Close()

	out, err := buildSensor(config.Sensor{Name: "pump", Driver: "gpio-out", Options: sgpio.OutputConfig{Pin: "GPIO27"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.output == nil || out.pin != "GPIO27" || out.use != sensors.PinOutput || out.where != "GPIO27" {
		t.Errorf("gpio-out built with output %v pin %q use %v", out.output, out.pin, out.use)
	}
	if _, err := out.output.outputOf(); !errors.Is(err, sensors.ErrNoHardware) {
		t.Errorf("output without hardware: %v", err)
	}
	out.sensor.Close()

	in, err := buildSensor(config.Sensor{Name: "rain", Driver: "gpio-in", Options: sgpio.InputConfig{Pin: "GPIO6", Mode: sgpio.ModeCounter}}, nil)
	if err != nil || in.output != nil || in.use != sensors.PinCounter {
		t.Errorf("gpio-in counter built with output %v use %v, err %v", in.output, in.use, err)
	} else {
		in.sensor.Close()
	}

	if _, err := buildSensor(config.Sensor{Name: "x", Driver: "nope"}, nil); err == nil || !strings.Contains(err.Error(), `driver "nope" cannot be opened`) {
		t.Errorf("options without a Spec: %v", err)
	}
}
