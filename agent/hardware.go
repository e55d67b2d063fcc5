package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/ads1115"
	"github.com/sioagent/sioagent/sensors/bme280"
	"github.com/sioagent/sioagent/sensors/ds18b20"
	sgpio "github.com/sioagent/sioagent/sensors/gpio"
	"github.com/sioagent/sioagent/sensors/sht3x"
	"github.com/sioagent/sioagent/sensors/sim"
)

// Hardware opens the buses and pins sensors are attached to. cmd/sioagent
// implements it with periph.io's host drivers; tests use periph's fakes.
// Buses it returns stay open for the life of the process: the agent never
// closes them (sensors on one bus share it).
type Hardware interface {
	// I2CBus returns the I2C bus of that name ("1" for /dev/i2c-1).
	I2CBus(name string) (i2c.Bus, error)
	// GPIOPin returns the pin of that name ("GPIO17").
	GPIOPin(name string) (gpio.PinIO, error)
}

// errNoHardware is what sensors get when the agent has no Hardware.
var errNoHardware = errors.New("no hardware access in this process")

// built is one sensor built from its config, with what commands need.
type built struct {
	cfg    config.Sensor
	sensor sensors.Sensor
	where  string
	pin    string      // gpio-in and gpio-out
	output *lazySensor // gpio-out only
}

// buildSensor makes the sensor of one config entry. Drivers that check the
// chip when they are created are opened lazily, so a sensor missing at
// start is reported and retried with backoff like any failing read.
func buildSensor(sc config.Sensor, hw Hardware) (built, error) {
	b := built{cfg: sc}
	switch sc.Driver {
	case "sim":
		s, err := sim.New(sim.Options{Name: sc.Name, Signal: sc.Signal, Quantity: sc.Quantity, Unit: sc.Unit, Seed: sc.Seed, Period: sc.Period,
			Amplitude: sc.Amplitude, Offset: sc.Offset, Step: sc.Step, Min: sc.Min, Max: sc.Max, FailEvery: sc.FailEvery})
		if err != nil {
			return b, fmt.Errorf("sensor %q: %w", sc.Name, err)
		}
		b.sensor, b.where = s, "simulated"
	case "ds18b20":
		// Lazy: the kernel may list the probe late, or it may be
		// unplugged; it is retried like a failing read.
		b.where = sc.W1Dir + "/" + sc.Device
		b.sensor = &lazySensor{name: sc.Name, driver: sc.Driver, where: b.where, open: func() (sensors.Sensor, error) {
			return ds18b20.New(ds18b20.Options{Name: sc.Name, Dir: sc.W1Dir, Device: sc.Device})
		}}
	case "gpio-in", "gpio-out":
		b.pin, b.where = sc.Pin, sc.Pin
		l := &lazySensor{name: sc.Name, driver: sc.Driver, where: sc.Pin, open: func() (sensors.Sensor, error) { return openGPIO(sc, hw) }}
		b.sensor = l
		if sc.Driver == "gpio-out" {
			b.output = l
		}
	case "bme280", "bmp280", "sht3x", "sht4x", "ads1115":
		b.where = fmt.Sprintf("i2c-%s 0x%02x", sc.Bus, sc.Address)
		where := b.where
		b.sensor = &lazySensor{name: sc.Name, driver: sc.Driver, where: where, open: func() (sensors.Sensor, error) { return openI2C(sc, hw, where) }}
	default:
		return b, fmt.Errorf("sensor %q: unknown driver %q", sc.Name, sc.Driver)
	}
	return b, nil
}

func openI2C(sc config.Sensor, hw Hardware, where string) (sensors.Sensor, error) {
	if hw == nil {
		return nil, &sensors.Error{Sensor: sc.Name, Driver: sc.Driver, Where: where, Kind: sensors.KindMissing, Err: errNoHardware}
	}
	bus, err := hw.I2CBus(sc.Bus)
	if err != nil {
		return nil, &sensors.Error{Sensor: sc.Name, Driver: sc.Driver, Where: where, Kind: sensors.KindMissing, Err: err}
	}
	dev := &i2c.Dev{Bus: bus, Addr: sc.Address}
	switch sc.Driver {
	case "bme280", "bmp280":
		return bme280.New(dev, bme280.Options{Name: sc.Name, Where: where, Want: sc.Driver})
	case "sht3x", "sht4x":
		return sht3x.New(dev, sht3x.Options{Name: sc.Name, Where: where, Family: sc.Driver})
	default:
		return ads1115.New(dev, ads1115.Options{Name: sc.Name, Where: where, Channels: sc.Channels, FullScale: sc.Gain, DataRate: sc.DataRate})
	}
}

func openGPIO(sc config.Sensor, hw Hardware) (sensors.Sensor, error) {
	if hw == nil {
		return nil, &sensors.Error{Sensor: sc.Name, Driver: sc.Driver, Where: sc.Pin, Kind: sensors.KindMissing, Err: errNoHardware}
	}
	pin, err := hw.GPIOPin(sc.Pin)
	if err != nil {
		return nil, &sensors.Error{Sensor: sc.Name, Driver: sc.Driver, Where: sc.Pin, Kind: sensors.KindMissing, Err: err}
	}
	if sc.Driver == "gpio-out" {
		return sgpio.NewOutput(pin, sgpio.OutputOptions{Name: sc.Name, Initial: sc.Initial, Safe: sc.Safe, ActiveLow: sc.ActiveLow})
	}
	return sgpio.NewInput(pin, sgpio.InputOptions{Name: sc.Name, Pull: parsePull(sc.Pull), Edge: parseEdge(sc.Edge), Debounce: sc.Debounce,
		Mode: sc.Mode, Scale: sc.Scale, Unit: sc.Unit, ActiveLow: sc.ActiveLow})
}

func parsePull(s string) gpio.Pull {
	switch strings.ToLower(s) {
	case "up":
		return gpio.PullUp
	case "down":
		return gpio.PullDown
	default:
		return gpio.Float
	}
}

func parseEdge(s string) gpio.Edge {
	switch strings.ToLower(s) {
	case "rising":
		return gpio.RisingEdge
	case "falling":
		return gpio.FallingEdge
	case "both":
		return gpio.BothEdges
	default:
		return gpio.NoEdge
	}
}

// lazySensor opens its driver on first use and again after an open
// failed, so a device plugged in late, or a bus that appears after boot,
// starts reporting without a restart.
type lazySensor struct {
	name, driver, where string
	open                func() (sensors.Sensor, error)

	mu     sync.Mutex
	inner  sensors.Sensor
	opened chan struct{} // closed once inner is set
	closed bool
}

// Name implements sensors.Sensor.
func (l *lazySensor) Name() string { return l.name }

func (l *lazySensor) get() (sensors.Sensor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, &sensors.Error{Sensor: l.name, Driver: l.driver, Where: l.where, Kind: sensors.KindOther, Err: errors.New("closed")}
	}
	if l.inner != nil {
		return l.inner, nil
	}
	s, err := l.open()
	if err != nil {
		return nil, err
	}
	l.inner = s
	if l.opened != nil {
		close(l.opened)
	}
	return s, nil
}

// Read implements sensors.Sensor.
func (l *lazySensor) Read(ctx context.Context) ([]sensors.Value, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	return s.Read(ctx)
}

// Watch implements sensors.Watcher: once the driver is open, it watches
// through it if it is a Watcher, and otherwise waits for ctx.
func (l *lazySensor) Watch(ctx context.Context, emit func([]sensors.Value)) error {
	l.mu.Lock()
	if l.opened == nil {
		l.opened = make(chan struct{})
		if l.inner != nil {
			close(l.opened)
		}
	}
	opened := l.opened
	l.mu.Unlock()
	select {
	case <-opened:
	case <-ctx.Done():
		return ctx.Err()
	}
	l.mu.Lock()
	s := l.inner
	l.mu.Unlock()
	if w, ok := s.(sensors.Watcher); ok {
		return w.Watch(ctx, emit)
	}
	<-ctx.Done()
	return ctx.Err()
}

// Close implements sensors.Sensor.
func (l *lazySensor) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.inner == nil {
		return nil
	}
	return l.inner.Close()
}

// outputOf returns the open gpio-out driver behind l.
func (l *lazySensor) outputOf() (*sgpio.Output, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	out, ok := s.(*sgpio.Output)
	if !ok {
		return nil, fmt.Errorf("sensor %q is not an output", l.name)
	}
	return out, nil
}
