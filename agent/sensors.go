package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/wire"
)

// samplerRun is one generation of sensors: the ones of the config at start,
// replaced as a whole on reload.
type samplerRun struct {
	sampler *sensors.Sampler
	built   map[string]built // by sensor name
	pins    map[string]built // gpio-in and gpio-out, by pin name
	cancel  context.CancelFunc
	done    chan struct{}
}

// halt stops the sampler and waits until it closed its sensors (outputs go
// to their safe state).
func (r *samplerRun) halt() {
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
}

func (a *Agent) sampler() *samplerRun {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sampled
}

func (a *Agent) setSampler(r *samplerRun) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sampled = r
}

// startSampler builds the enabled sensors of list and starts sampling them.
func (a *Agent) startSampler(list []config.Sensor) (*samplerRun, error) {
	run := &samplerRun{built: map[string]built{}, pins: map[string]built{}, done: make(chan struct{})}
	var schedules []sensors.Schedule
	for _, sc := range list {
		if !sc.Enabled {
			continue
		}
		b, err := buildSensor(sc, a.opts.Hardware)
		if err != nil {
			closeBuilt(run.built)
			return nil, fmt.Errorf("agent: %w", err)
		}
		run.built[sc.Name] = b
		if b.pin != "" {
			run.pins[b.pin] = b
		}
		schedules = append(schedules, sensors.Schedule{Sensor: b.sensor, Driver: sc.Driver, Where: b.where, Interval: sc.Interval, Timeout: sc.Timeout})
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sensors.NewSampler(sensors.SamplerOptions{
		Clock:  a.clock,
		Logger: a.log.With("part", "sensors"),
		OnReadings: func(rs []sensors.Reading, urgent bool) {
			a.metrics.onReadings(rs)
			a.batch.add(ctx, rs, urgent)
		},
		OnRead: a.metrics.onRead,
	}, schedules)
	if err != nil {
		cancel()
		closeBuilt(run.built)
		return nil, fmt.Errorf("agent: sensors: %w", err)
	}
	run.sampler, run.cancel = s, cancel
	go func() {
		defer close(run.done)
		if err := s.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("sampler stopped", "err", err)
		}
	}()
	return run, nil
}

func closeBuilt(m map[string]built) {
	for _, b := range m {
		b.sensor.Close()
	}
}

// reload replaces the running sensors with those of cfg. If the new ones
// cannot be built, the old ones run again and reload returns why.
func (a *Agent) reload(cfg *config.Config) error {
	old := a.sampler()
	// Commands arriving meanwhile answer "sensors are not running" rather
	// than act on sensors that are being closed.
	a.setSampler(nil)
	old.halt()
	run, err := a.startSampler(cfg.Sensors)
	if err != nil {
		a.log.Error("reload failed, restarting the previous sensors", "err", err)
		prev, perr := a.startSampler(a.currentSensors())
		if perr != nil {
			a.log.Error("previous sensors failed to restart", "err", perr)
		}
		a.setSampler(prev) // nil when they failed too
		return err
	}
	a.mu.Lock()
	a.sampled = run
	a.sensorCfg = cfg.Sensors
	a.mu.Unlock()
	a.log.Info("reloaded sensors", "sensors", len(cfg.Sensors))
	return nil
}

// currentSensors returns the sensor configs now running.
func (a *Agent) currentSensors() []config.Sensor {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sensorCfg
}

// readNow reads a sensor at once, for sensor:read and gpio:read.
func (a *Agent) readNow(ctx context.Context, name string) ([]sensors.Reading, error) {
	run := a.sampler()
	if run == nil {
		return nil, &wire.CommandError{Code: wire.CodeFailed, Message: "sensors are not running"}
	}
	rs, err := run.sampler.Read(ctx, name)
	if errors.Is(err, sensors.ErrUnknownSensor) {
		return nil, &wire.CommandError{Code: wire.CodeNotFound, Message: fmt.Sprintf("no sensor %q", name)}
	}
	return rs, err
}

// setInterval changes a sensor's sampling interval (sampling:set).
func (a *Agent) setInterval(name string, d time.Duration) error {
	run := a.sampler()
	if run == nil {
		return &wire.CommandError{Code: wire.CodeFailed, Message: "sensors are not running"}
	}
	err := run.sampler.SetInterval(name, d)
	if errors.Is(err, sensors.ErrUnknownSensor) {
		return &wire.CommandError{Code: wire.CodeNotFound, Message: fmt.Sprintf("no sensor %q", name)}
	}
	return err
}
