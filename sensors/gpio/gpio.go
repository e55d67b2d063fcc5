// Package gpio provides digital inputs (buttons, PIR, reed switches, pulse
// counters for rain gauges and flow meters) and outputs (relays, LEDs) as
// sensors, on periph.io/x/conn/v3/gpio pins.
//
// Edges are waited for with a positive timeout in a loop that checks the
// context, because periph's drivers disagree on what 0 and -1 mean.
package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sioagent/sioagent/sensors"
)

// Modes of an Input.
const (
	// ModeLevel reports the level of the pin and each debounced change.
	ModeLevel = "level"
	// ModeCounter counts pulses and reports their total and rate.
	ModeCounter = "counter"
)

// Defaults and limits.
const (
	// Driver is the driver name used in errors.
	Driver = "gpio"
	// DefaultScale is the value of one pulse in counter mode.
	DefaultScale = 1.0
	// EdgeWait is the longest single wait for an edge; Watch checks its
	// context between waits, so it returns at most this long after ctx is
	// done.
	EdgeWait = 500 * time.Millisecond
)

// Quantities and units reported.
const (
	// QuantityLevel is the level of an input, 0 or 1.
	QuantityLevel = "level"
	// QuantityCount is the scaled pulse total of a counter.
	QuantityCount = "count"
	// QuantityRate is the scaled pulses per second of a counter.
	QuantityRate = "rate"
	// QuantityState is the commanded state of an output, 0 or 1.
	QuantityState = "state"
	// UnitCount is the unit of an unscaled count (SenML "count").
	UnitCount = "count"
	// UnitPerSecond is the unit of an unscaled rate, events per second
	// (SenML "1/s"; the registry has no "/s").
	UnitPerSecond = "1/s"
	// rateSuffix makes the rate unit of a scaled count: "m" gives "m/s".
	rateSuffix = "/s"
)

// ErrClosed is returned by operations on a closed Input or Output.
var ErrClosed = errors.New("gpio: closed")

// InputOptions configures an Input.
type InputOptions struct {
	// Name is the sensor's configured name; required.
	Name string
	// Pull is the pull resistor to set.
	Pull gpio.Pull
	// Edge is the edge to detect; NoEdge means BothEdges in level mode and,
	// in counter mode, the edge on which the input becomes active (falling if
	// ActiveLow, else rising).
	Edge gpio.Edge
	// Debounce: in level mode a change is accepted only once the level has
	// been stable this long (0 accepts every edge); in counter mode edges
	// within Debounce of the last counted one are ignored.
	Debounce time.Duration
	// Mode is ModeLevel (default) or ModeCounter.
	Mode string
	// Scale is the value of one pulse in counter mode; 0 means DefaultScale.
	Scale float64
	// Unit is the unit of the count in counter mode; the rate's unit is
	// Unit+"/s", or UnitPerSecond ("1/s") when Unit is "" or UnitCount.
	// Input accepts any string and checks nothing: the caller must pass a
	// primary SenML unit whose "<Unit>/s" is registered too, such as "m"
	// (rain depth: m and m/s; set Scale in metres, 0.0002794 for a
	// 0.2794 mm tip), "m3" (volume: m3 and m3/s), or "" or "count" (count
	// and 1/s). Secondary units such as "mm" are not allowed ("l", with
	// "l/s", is registered but NOT RECOMMENDED; prefer "m3"). The config
	// package enforces this.
	Unit string
	// ActiveLow inverts the level: a Low pin reads as 1.
	ActiveLow bool
}

// Input is a digital input. It implements sensors.Watcher: in level mode
// Watch emits each debounced change; in counter mode Watch counts pulses and
// emits nothing, and Read returns the count and rate.
type Input struct {
	pin      gpio.PinIn
	o        InputOptions
	edgeWait time.Duration    // EdgeWait; tests shorten it
	now      func() time.Time // time.Now; tests fix it

	pulses  atomic.Uint64
	lastHit atomic.Int64 // monotonic nanoseconds of the last counted pulse, since epoch
	epoch   time.Time
	closed  atomic.Bool

	mu         sync.Mutex // guards the rate state
	prevPulses uint64
	prevTime   time.Time
}

// NewInput configures pin as an input and returns it as a sensor.
func NewInput(pin gpio.PinIn, o InputOptions) (*Input, error) {
	if o.Name == "" {
		return nil, errors.New("gpio: input: empty sensor name")
	}
	if pin == nil {
		return nil, &sensors.Error{Sensor: o.Name, Driver: Driver, Kind: sensors.KindMissing, Err: errors.New("no such pin")}
	}
	switch o.Mode {
	case "":
		o.Mode = ModeLevel
	case ModeLevel, ModeCounter:
	default:
		return nil, newErr(o.Name, pin, sensors.KindOther, fmt.Errorf("unknown mode %q", o.Mode))
	}
	if o.Debounce < 0 || o.Scale < 0 {
		return nil, newErr(o.Name, pin, sensors.KindOther, fmt.Errorf("negative debounce %v or scale %g", o.Debounce, o.Scale))
	}
	if o.Scale == 0 {
		o.Scale = DefaultScale
	}
	if o.Edge == gpio.NoEdge {
		o.Edge = defaultEdge(o)
	}
	if err := pin.In(o.Pull, o.Edge); err != nil {
		return nil, newErr(o.Name, pin, sensors.KindBusy, fmt.Errorf("set input %s %s: %w", o.Pull, o.Edge, err))
	}
	now := time.Now()
	return &Input{pin: pin, o: o, edgeWait: EdgeWait, now: time.Now, epoch: now, prevTime: now}, nil
}

func defaultEdge(o InputOptions) gpio.Edge {
	switch {
	case o.Mode == ModeLevel:
		return gpio.BothEdges
	case o.ActiveLow:
		return gpio.FallingEdge
	default:
		return gpio.RisingEdge
	}
}

// newErr returns a sensors.Error naming the sensor and pin.
func newErr(name string, pin interface{ Name() string }, k sensors.Kind, err error) error {
	return &sensors.Error{Sensor: name, Driver: Driver, Where: pin.Name(), Kind: k, Err: err}
}

// Name implements sensors.Sensor.
func (in *Input) Name() string { return in.o.Name }

// Pin returns the pin's name.
func (in *Input) Pin() string { return in.pin.Name() }

// Count returns the number of pulses counted so far (counter mode).
func (in *Input) Count() uint64 { return in.pulses.Load() }

// level returns the logical level of the pin, 0 or 1.
func (in *Input) level() float64 {
	return levelValue(in.pin.Read(), in.o.ActiveLow)
}

func levelValue(l gpio.Level, activeLow bool) float64 {
	if l != gpio.Level(activeLow) { // High xor ActiveLow
		return 1
	}
	return 0
}

// Read implements sensors.Sensor: the level in level mode, the scaled
// pulse total and the rate since the previous Read in counter mode.
func (in *Input) Read(ctx context.Context) ([]sensors.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, newErr(in.o.Name, in.pin, sensors.KindTimeout, err)
	}
	if in.closed.Load() {
		return nil, newErr(in.o.Name, in.pin, sensors.KindOther, ErrClosed)
	}
	if in.o.Mode == ModeLevel {
		return []sensors.Value{{Quantity: QuantityLevel, Value: in.level()}}, nil
	}
	total := in.pulses.Load()
	now := in.now()
	in.mu.Lock()
	dn, dt := total-in.prevPulses, now.Sub(in.prevTime)
	in.prevPulses, in.prevTime = total, now
	in.mu.Unlock()
	rate := 0.0
	if dt > 0 {
		rate = float64(dn) * in.o.Scale / dt.Seconds()
	}
	unit, rateUnit := countUnits(in.o.Unit)
	return []sensors.Value{
		{Quantity: QuantityCount, Unit: unit, Value: float64(total) * in.o.Scale},
		{Quantity: QuantityRate, Unit: rateUnit, Value: rate},
	}, nil
}

// countUnits returns the units of a counter's total and rate for the
// configured unit u.
func countUnits(u string) (unit, rate string) {
	if u == "" || u == UnitCount {
		return UnitCount, UnitPerSecond
	}
	return u, u + rateSuffix
}

// Watch implements sensors.Watcher. In level mode it calls emit with the
// level after each debounced change; in counter mode it counts pulses. It
// returns ctx's error once ctx is done.
func (in *Input) Watch(ctx context.Context, emit func([]sensors.Value)) error {
	if in.closed.Load() {
		return newErr(in.o.Name, in.pin, sensors.KindOther, ErrClosed)
	}
	if in.o.Mode == ModeCounter {
		in.count(ctx)
	} else {
		in.watchLevel(ctx, emit)
	}
	return ctx.Err()
}

// count counts edges until ctx is done, ignoring those within Debounce of
// the last counted one.
func (in *Input) count(ctx context.Context) {
	for ctx.Err() == nil {
		if !in.pin.WaitForEdge(in.edgeWait) {
			continue
		}
		t := in.now().Sub(in.epoch).Nanoseconds()
		last := in.lastHit.Load()
		if in.o.Debounce > 0 && in.pulses.Load() > 0 && time.Duration(t-last) < in.o.Debounce {
			continue
		}
		in.lastHit.Store(t)
		in.pulses.Add(1)
	}
}

// watchLevel emits the level each time it changes and stays stable for
// Debounce.
func (in *Input) watchLevel(ctx context.Context, emit func([]sensors.Value)) {
	reported := in.level()
	pending := false // an edge was seen and the level is settling
	var lastEdge time.Time
	for ctx.Err() == nil {
		wait := in.edgeWait
		if pending {
			wait = min(wait, in.o.Debounce-time.Since(lastEdge))
		}
		if wait > 0 && in.pin.WaitForEdge(wait) {
			lastEdge, pending = time.Now(), true
			if in.o.Debounce > 0 {
				continue
			}
		} else if !pending || time.Since(lastEdge) < in.o.Debounce {
			continue
		}
		pending = false
		if l := in.level(); l != reported {
			reported = l
			emit([]sensors.Value{{Quantity: QuantityLevel, Value: l}})
		}
	}
}

// Close implements sensors.Sensor: it halts the pin.
func (in *Input) Close() error {
	if in.closed.Swap(true) {
		return nil
	}
	if err := in.pin.Halt(); err != nil {
		return newErr(in.o.Name, in.pin, sensors.KindOther, fmt.Errorf("halt: %w", err))
	}
	return nil
}

// OutputOptions configures an Output.
type OutputOptions struct {
	// Name is the sensor's configured name; required.
	Name string
	// Initial is the state driven at once; Safe the state driven on Close.
	Initial, Safe bool
	// ActiveLow drives the pin Low for "on".
	ActiveLow bool
}

// Output is a digital output. It implements sensors.Sensor (Read returns the
// commanded state) and is safe for concurrent use.
type Output struct {
	pin gpio.PinIO
	o   OutputOptions

	mu     sync.Mutex
	on     bool
	closed bool
}

// NewOutput configures pin as an output driving o.Initial.
func NewOutput(pin gpio.PinIO, o OutputOptions) (*Output, error) {
	if o.Name == "" {
		return nil, errors.New("gpio: output: empty sensor name")
	}
	if pin == nil {
		return nil, &sensors.Error{Sensor: o.Name, Driver: Driver, Kind: sensors.KindMissing, Err: errors.New("no such pin")}
	}
	out := &Output{pin: pin, o: o}
	if err := out.drive(o.Initial); err != nil {
		return nil, err
	}
	return out, nil
}

// drive sets the pin; the caller holds mu or owns out exclusively.
func (out *Output) drive(on bool) error {
	if err := out.pin.Out(gpio.Level(on != out.o.ActiveLow)); err != nil {
		return newErr(out.o.Name, out.pin, sensors.KindBusy, fmt.Errorf("drive %t: %w", on, err))
	}
	out.on = on
	return nil
}

// Name implements sensors.Sensor.
func (out *Output) Name() string { return out.o.Name }

// Pin returns the pin's name.
func (out *Output) Pin() string { return out.pin.Name() }

// Set switches the output on or off.
func (out *Output) Set(on bool) error {
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.closed {
		return newErr(out.o.Name, out.pin, sensors.KindOther, ErrClosed)
	}
	return out.drive(on)
}

// Get returns the commanded state.
func (out *Output) Get() bool {
	out.mu.Lock()
	defer out.mu.Unlock()
	return out.on
}

// Read implements sensors.Sensor: the commanded state, 0 or 1.
func (out *Output) Read(ctx context.Context) ([]sensors.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, newErr(out.o.Name, out.pin, sensors.KindTimeout, err)
	}
	v := 0.0
	if out.Get() {
		v = 1
	}
	return []sensors.Value{{Quantity: QuantityState, Value: v}}, nil
}

// Close implements sensors.Sensor: it drives the safe state. Later Sets
// fail; a second Close does nothing.
func (out *Output) Close() error {
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.closed {
		return nil
	}
	out.closed = true
	return out.drive(out.o.Safe)
}
