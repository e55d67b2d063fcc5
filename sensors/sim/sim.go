// Package sim provides simulated sensors: deterministic quantities that need
// no hardware, for demos, tests and trying the agent on a desktop.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/sioagent/sioagent/sensors"
)

// Signal names accepted in Options.Signal.
const (
	// SignalCounter counts readings: 1, 2, 3, ...
	SignalCounter = "counter"
	// SignalSine is Offset + Amplitude·sin(2π·i/Period) for reading index i.
	SignalSine = "sine"
	// SignalRandomWalk starts at Offset and moves ±Step per reading, clamped
	// to [Min, Max].
	SignalRandomWalk = "random-walk"
	// SignalConstant is always Offset.
	SignalConstant = "constant"
)

// Defaults of Options.
const (
	// DefaultSignal is used when Options.Signal is empty.
	DefaultSignal = SignalSine
	// DefaultQuantity is used when Options.Quantity is empty.
	DefaultQuantity = "value"
	// DefaultPeriod is the sine period in readings when Options.Period is 0.
	DefaultPeriod = 60
	// DefaultStep is the random-walk step when Options.Step is 0.
	DefaultStep = 1.0
	// Driver is the driver name used in errors.
	Driver = "sim"
)

// pcgStream is the second PCG seed word; the first is Options.Seed.
const pcgStream = 0x5105e45015

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("sim: sensor closed")

// Options configures a simulated sensor.
type Options struct {
	// Name is the sensor's configured name; required.
	Name string
	// Signal is one of the Signal* constants; empty means DefaultSignal.
	Signal string
	// Quantity and Unit label the single value; Quantity defaults to
	// DefaultQuantity.
	Quantity, Unit string
	// Seed seeds the random walk; the same seed gives the same sequence.
	Seed uint64
	// Period is the sine period in readings; 0 means DefaultPeriod.
	Period int
	// Amplitude and Offset shape the sine; Offset is also the constant value
	// and the random walk's start.
	Amplitude, Offset float64
	// Step is the random-walk step; 0 means DefaultStep.
	Step float64
	// Min and Max clamp the random walk; both zero means no clamping.
	Min, Max float64
	// FailEvery > 0 makes every FailEvery-th Read fail with a KindBadData
	// *sensors.Error, without advancing the signal.
	FailEvery int
}

// Sensor is a simulated sensor. It implements sensors.Sensor and is safe for
// concurrent use.
type Sensor struct {
	o Options

	mu       sync.Mutex
	rng      *rand.Rand
	index    int     // readings produced so far
	attempts int     // Read calls that reached the signal
	walk     float64 // current random-walk value
	closed   bool
}

// New returns a simulated sensor.
func New(o Options) (*Sensor, error) {
	if o.Name == "" {
		return nil, errors.New("sim: empty sensor name")
	}
	if o.Signal == "" {
		o.Signal = DefaultSignal
	}
	switch o.Signal {
	case SignalCounter, SignalSine, SignalRandomWalk, SignalConstant:
	default:
		return nil, fmt.Errorf("sim: sensor %q: unknown signal %q", o.Name, o.Signal)
	}
	if o.Quantity == "" {
		o.Quantity = DefaultQuantity
	}
	if o.Period < 0 || o.FailEvery < 0 {
		return nil, fmt.Errorf("sim: sensor %q: negative period %d or fail-every %d", o.Name, o.Period, o.FailEvery)
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if o.Step == 0 {
		o.Step = DefaultStep
	}
	if o.Min > o.Max {
		return nil, fmt.Errorf("sim: sensor %q: min %g above max %g", o.Name, o.Min, o.Max)
	}
	return &Sensor{
		o:    o,
		rng:  rand.New(rand.NewPCG(o.Seed, pcgStream)),
		walk: o.Offset,
	}, nil
}

// Name implements sensors.Sensor.
func (s *Sensor) Name() string { return s.o.Name }

// Read implements sensors.Sensor: it returns the next value of the signal.
func (s *Sensor) Read(ctx context.Context) ([]sensors.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.err(sensors.KindTimeout, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.err(sensors.KindOther, ErrClosed)
	}
	s.attempts++
	if s.o.FailEvery > 0 && s.attempts%s.o.FailEvery == 0 {
		return nil, s.err(sensors.KindBadData, fmt.Errorf("simulated failure of read %d", s.attempts))
	}
	v := s.next()
	return []sensors.Value{{Quantity: s.o.Quantity, Unit: s.o.Unit, Value: v}}, nil
}

// next advances the signal by one reading and returns its value.
func (s *Sensor) next() float64 {
	i := s.index
	s.index++
	switch s.o.Signal {
	case SignalCounter:
		return float64(i + 1)
	case SignalSine:
		return s.o.Offset + s.o.Amplitude*math.Sin(2*math.Pi*float64(i)/float64(s.o.Period))
	case SignalRandomWalk:
		if i > 0 {
			if s.rng.IntN(2) == 0 {
				s.walk -= s.o.Step
			} else {
				s.walk += s.o.Step
			}
		}
		if s.o.Min != 0 || s.o.Max != 0 {
			s.walk = min(max(s.walk, s.o.Min), s.o.Max)
		}
		return s.walk
	default:
		return s.o.Offset
	}
}

// Close implements sensors.Sensor. Later reads fail.
func (s *Sensor) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *Sensor) err(k sensors.Kind, err error) error {
	return &sensors.Error{Sensor: s.o.Name, Driver: Driver, Where: s.o.Signal, Kind: k, Err: err}
}
