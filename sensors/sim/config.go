package sim

import (
	"math"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
)

// Keys of the sim driver, in documentation order.
const (
	keySignal    = "signal"
	keyQuantity  = "quantity"
	keyUnit      = "unit"
	keySeed      = "seed"
	keyPeriod    = "period"
	keyAmplitude = "amplitude"
	keyOffset    = "offset"
	keyStep      = "step"
	keyMin       = "min"
	keyMax       = "max"
	keyFailEvery = "fail_every"
)

// Defaults and limits of the configuration.
const (
	// MinPeriod is the shortest sine period in readings.
	MinPeriod = 2
	// MaxPeriod is the longest sine period in readings.
	MaxPeriod = 1_000_000
	// DefaultAmplitude is the sine amplitude.
	DefaultAmplitude = 1.0
	// DefaultMin is the lower bound of the random walk.
	DefaultMin = 0.0
	// DefaultMax is the upper bound of the random walk.
	DefaultMax = 100.0
	// MaxFailEvery bounds fail_every.
	MaxFailEvery = 1_000_000_000
	// whereSimulated is where every simulated sensor is.
	whereSimulated = "simulated"
)

// signals are the values of the signal key.
func signals() []string { return []string{SignalCounter, SignalSine, SignalRandomWalk, SignalConstant} }

// Config is a sim sensor's keys as the configuration decoded them. It
// implements sensors.Spec.
type Config struct {
	// Signal is required: counter, sine, random-walk or constant.
	// Quantity names the reading (default "value"); the SenML name is
	// "<sensor>/<quantity>". Unit is a primary SenML unit, default none.
	Signal, Quantity, Unit string
	// Seed seeds the random walk (default 0).
	Seed uint64
	// Period is the sine period in readings (default 60, 2..1000000).
	Period int
	// Amplitude of the sine (default 1); Offset is added to every signal
	// and is the counter's start and the walk's start (default 0); Step is
	// the counter increment and the largest random-walk step (default 1);
	// Min and Max bound the random walk (default 0 and 100, Min < Max).
	Amplitude, Offset, Step, Min, Max float64
	// FailEvery makes every n-th read fail (default 0: never).
	FailEvery int
}

var _ sensors.Spec = Config{}

// Drivers returns the configuration driver of this package: sim.
func Drivers() []config.Driver { return []config.Driver{driver{}} }

// driver decodes the keys of a sim sensor.
type driver struct{}

// Name implements config.Driver.
func (driver) Name() string { return Driver }

// Keys implements config.Driver.
func (driver) Keys() []string {
	return []string{keySignal, keyQuantity, keyUnit, keySeed, keyPeriod, keyAmplitude, keyOffset, keyStep, keyMin, keyMax, keyFailEvery}
}

// Decode implements config.Driver.
func (driver) Decode(t *config.Table) config.SensorOptions {
	c := Config{
		Signal:    t.OneOf(keySignal, "", signals()...),
		Quantity:  t.Name(keyQuantity, DefaultQuantity),
		Unit:      t.Unit(keyUnit),
		Seed:      uint64(t.Int(keySeed, 0, 0, math.MaxInt64)),
		Period:    int(t.Int(keyPeriod, DefaultPeriod, MinPeriod, MaxPeriod)),
		Amplitude: t.Float(keyAmplitude, DefaultAmplitude),
		Offset:    t.Float(keyOffset, 0),
		Step:      t.Float(keyStep, DefaultStep),
		Min:       t.Float(keyMin, DefaultMin),
		Max:       t.Float(keyMax, DefaultMax),
		FailEvery: int(t.Int(keyFailEvery, 0, 0, MaxFailEvery)),
	}
	if !t.Has(keySignal) {
		t.Failf(keySignal, "missing; the sim driver needs a signal: %s", config.QuoteList(signals()))
	}
	if c.Min >= c.Max {
		key := keyMax
		if !t.Has(keyMax) {
			key = keyMin
		}
		t.Failf(key, "min %v is not below max %v; min must be less than max", c.Min, c.Max)
	}
	return c
}

// Claims implements config.SensorOptions: a simulated sensor claims no
// hardware.
func (c Config) Claims() []config.Claim { return nil }

// Where implements sensors.Spec: "simulated".
func (c Config) Where() string { return whereSimulated }

// Lazy implements sensors.Spec: a simulated sensor is opened at once.
func (c Config) Lazy() bool { return false }

// Open implements sensors.Spec; it needs no Hardware.
func (c Config) Open(name string, _ sensors.Hardware) (sensors.Sensor, error) {
	return New(Options{Name: name, Signal: c.Signal, Quantity: c.Quantity, Unit: c.Unit, Seed: c.Seed, Period: c.Period,
		Amplitude: c.Amplitude, Offset: c.Offset, Step: c.Step, Min: c.Min, Max: c.Max, FailEvery: c.FailEvery})
}
