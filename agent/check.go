package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors"
)

// CheckResult is the outcome of reading one sensor once (sioagent check).
type CheckResult struct {
	// Sensor is the sensor's configured name; Driver and Where say what
	// and where it is.
	Sensor, Driver, Where string
	// Readings are the readings taken, stamped with the clock.
	Readings []sensors.Reading
	// Err is why the sensor could not be opened or read; nil on success.
	Err error
}

// CheckSensors opens every enabled sensor of cfg, reads it once (within its
// timeout), closes it, and returns one result per sensor in config order.
// It shares nothing with a running agent, so run it only when the agent
// is stopped (the hardware cannot be opened twice).
func CheckSensors(ctx context.Context, cfg *config.Config, hw Hardware, clock sensors.Clock) []CheckResult {
	var out []CheckResult
	for _, sc := range cfg.Sensors {
		if !sc.Enabled {
			continue
		}
		out = append(out, checkOne(ctx, sc, hw, clock))
	}
	return out
}

func checkOne(ctx context.Context, sc config.Sensor, hw Hardware, clock sensors.Clock) CheckResult {
	res := CheckResult{Sensor: sc.Name, Driver: sc.Driver}
	b, err := buildSensor(sc, hw)
	if err != nil {
		res.Err = err
		return res
	}
	res.Where = b.where
	defer b.sensor.Close()
	rctx, cancel := context.WithTimeout(ctx, sc.Timeout)
	defer cancel()
	type outcome struct {
		vals []sensors.Value
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		vals, err := b.sensor.Read(rctx)
		done <- outcome{vals, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-rctx.Done():
		o.err = &sensors.Error{Sensor: sc.Name, Driver: sc.Driver, Where: b.where, Kind: sensors.KindTimeout, Err: fmt.Errorf("no answer within %s", sc.Timeout)}
	}
	if o.err != nil {
		var se *sensors.Error
		if !errors.As(o.err, &se) {
			o.err = &sensors.Error{Sensor: sc.Name, Driver: sc.Driver, Where: b.where, Kind: sensors.KindOther, Err: o.err}
		}
		res.Err = o.err
		return res
	}
	now := clock.Now()
	for _, v := range o.vals {
		res.Readings = append(res.Readings, sensors.Reading{Sensor: sc.Name, Quantity: v.Quantity, Unit: v.Unit, Value: v.Value, Time: now.Wall, Mono: now.Mono, Boot: now.Boot, Synced: now.Synced})
	}
	return res
}

// CheckTimeout bounds a whole `sioagent check` run; each sensor's read is
// also bounded by its own timeout.
const CheckTimeout = 2 * time.Minute
