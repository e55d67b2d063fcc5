package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
)

// Hardware opens the buses and pins sensors are attached to (see
// sensors.Hardware). cmd/sioagent implements it with periph.io's host
// drivers; tests use periph's fakes.
type Hardware = sensors.Hardware

// built is one sensor built from its config, with what commands need.
type built struct {
	cfg    config.Sensor
	sensor sensors.Sensor
	where  string
	pin    string         // sensors on a GPIO pin
	use    sensors.PinUse // how commands may use the pin
	output *lazySensor    // outputs only
}

// buildSensor makes the sensor of one config entry from the options its
// driver decoded. Drivers whose Spec is Lazy (they check the chip when
// they are opened) are opened on first use, so a sensor missing at start
// is reported and retried with backoff like any failing read.
func buildSensor(sc config.Sensor, hw Hardware) (built, error) {
	b := built{cfg: sc}
	spec, ok := sc.Options.(sensors.Spec)
	if !ok {
		return b, fmt.Errorf("sensor %q: driver %q cannot be opened", sc.Name, sc.Driver)
	}
	b.where = spec.Where()
	if !spec.Lazy() {
		s, err := spec.Open(sc.Name, hw)
		if err != nil {
			return b, fmt.Errorf("sensor %q: %w", sc.Name, err)
		}
		b.sensor = s
		return b, nil
	}
	l := &lazySensor{name: sc.Name, driver: sc.Driver, where: b.where, open: func() (sensors.Sensor, error) { return spec.Open(sc.Name, hw) }}
	b.sensor = l
	if p, ok := spec.(sensors.PinSpec); ok {
		b.pin, b.use = p.PinName(), p.PinUse()
		if b.use == sensors.PinOutput {
			b.output = l
		}
	}
	return b, nil
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

// outputOf returns the open output behind l.
func (l *lazySensor) outputOf() (sensors.Output, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	out, ok := s.(sensors.Output)
	if !ok {
		return nil, fmt.Errorf("sensor %q is not an output", l.name)
	}
	return out, nil
}
