package sensors

import (
	"errors"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
)

// Hardware opens the buses and pins sensors are attached to. cmd/sioagent
// implements it with periph.io's host drivers; tests use periph's fakes.
// Buses it returns stay open for the life of the process: nothing that
// opens a sensor closes them (sensors on one bus share it).
type Hardware interface {
	// I2CBus returns the I2C bus of that name ("1" for /dev/i2c-1).
	I2CBus(name string) (i2c.Bus, error)
	// GPIOPin returns the pin of that name ("GPIO17").
	GPIOPin(name string) (gpio.PinIO, error)
}

// ErrNoHardware is the cause of the KindMissing error a driver returns when
// it is opened without Hardware (a nil Hardware: the process has no
// hardware access).
var ErrNoHardware = errors.New("no hardware access in this process")

// Spec is one configured sensor as its driver decoded it from the
// configuration: what it takes to describe and open the sensor. Every
// driver's decoded options implement it, so whoever opens sensors knows no
// driver by name.
type Spec interface {
	// Where names where the sensor is attached, as in Error.Where:
	// "i2c-1 0x76", "GPIO17", a 1-Wire path or "simulated".
	Where() string
	// Lazy reports whether Open touches hardware that may be missing when
	// the agent starts. Such a sensor is opened on first use and again after
	// a failed open, so a device plugged in late starts reporting without a
	// restart; the others are opened at once and an Open error is fatal.
	Lazy() bool
	// Open opens the sensor under its configured name. hw is nil when the
	// process has no hardware access; a driver that needs it then fails
	// with a KindMissing *Error wrapping ErrNoHardware.
	Open(name string, hw Hardware) (Sensor, error)
}

// PinUse says what the gpio:read and gpio:write commands may do with the
// pin of a PinSpec.
type PinUse int

// Uses of a pin.
const (
	// PinLevel is an input whose level gpio:read reports.
	PinLevel PinUse = iota
	// PinCounter is an input that counts pulses; gpio:read refuses it.
	PinCounter
	// PinOutput is an output: its Sensor implements Output.
	PinOutput
)

// PinSpec is a Spec of a sensor on one GPIO pin; the agent's gpio:read and
// gpio:write commands find sensors by pin through it.
type PinSpec interface {
	Spec
	// PinName is the pin's name, e.g. "GPIO17".
	PinName() string
	// PinUse says how the pin is used.
	PinUse() PinUse
}

// Output is a sensor that drives a level: the Sensor a PinSpec of use
// PinOutput opens.
type Output interface {
	Sensor
	// Set switches the output on or off.
	Set(on bool) error
	// Get returns the commanded state.
	Get() bool
}
