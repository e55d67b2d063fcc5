package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/wire"
)

// Limits of sampling:set.
const (
	minRemoteInterval = 100 * time.Millisecond
	maxRemoteInterval = 24 * time.Hour
)

func (a *Agent) registerBuiltins() {
	a.Handle(wire.Ping.Name(), command(wire.Ping, a.cmdPing))
	a.Handle(wire.Status.Name(), command(wire.Status, a.cmdStatus))
	a.Handle(wire.SensorRead.Name(), commandWithBinary(wire.SensorRead, a.cmdSensorRead))
	a.Handle(wire.GPIORead.Name(), command(wire.GPIORead, a.cmdGPIORead))
	a.Handle(wire.GPIOWrite.Name(), command(wire.GPIOWrite, a.cmdGPIOWrite))
	a.Handle(wire.SamplingSet.Name(), command(wire.SamplingSet, a.cmdSamplingSet))
	a.Handle(wire.QueueStats.Name(), command(wire.QueueStats, a.cmdQueueStats))
	a.Handle(wire.ConfigGet.Name(), command(wire.ConfigGet, a.cmdConfigGet))
	a.Handle(wire.ConfigApply.Name(), command(wire.ConfigApply, a.cmdConfigApply))
	a.Handle(wire.ConfigConfirm.Name(), command(wire.ConfigConfirm, a.cmdConfigConfirm))
}

// command makes the CommandFunc of a typed command of the wire contract:
// its arguments decoded strictly into A (decodeArgs), fn's value the
// reply's result. The definition ties fn's types to the contract's, so a
// change of one side that the other does not follow fails to compile.
func command[A, R any](_ socketio.TypedEvent[A, wire.Reply[R]], fn func(context.Context, A) (R, error)) CommandFunc {
	return func(ctx context.Context, raw json.RawMessage) (Result, error) {
		var args A
		if err := decodeArgs(raw, &args); err != nil {
			return Result{}, err
		}
		r, err := fn(ctx, args)
		return Result{Value: r}, err // the dispatcher ignores Value with an error
	}
}

// commandWithBinary is command for commands whose ack carries a binary
// attachment after the reply.
func commandWithBinary[A, R any](_ socketio.TypedEvent[A, socketio.Pair[wire.Reply[R], []byte]], fn func(context.Context, A) (R, []byte, error)) CommandFunc {
	return func(ctx context.Context, raw json.RawMessage) (Result, error) {
		var args A
		if err := decodeArgs(raw, &args); err != nil {
			return Result{}, err
		}
		r, binary, err := fn(ctx, args)
		return Result{Value: r, Binary: binary}, err
	}
}

func (a *Agent) cmdPing(context.Context, wire.PingArgs) (wire.PingResult, error) {
	now := a.clock.Now()
	return wire.PingResult{Pong: true, Time: now.Wall.UTC().Format(time.RFC3339Nano), ClockSynced: now.Synced, Version: a.version()}, nil
}

func (a *Agent) cmdStatus(context.Context, wire.StatusArgs) (json.RawMessage, error) {
	return json.Marshal(a.Status())
}

func (a *Agent) cmdSensorRead(ctx context.Context, args wire.SensorReadArgs) (wire.SensorReadResult, []byte, error) {
	if args.Sensor == "" {
		return wire.SensorReadResult{}, nil, BadArgs(`"sensor" is required`)
	}
	rs, err := a.readNow(ctx, args.Sensor)
	if err != nil {
		return wire.SensorReadResult{}, nil, err
	}
	pack, err := a.codec.Pack(rs, a.clock.Now())
	if err != nil {
		return wire.SensorReadResult{}, nil, err
	}
	values := map[string]wire.SensorValue{}
	for _, r := range rs {
		values[r.Quantity] = wire.SensorValue{Value: r.Value, Unit: r.Unit}
	}
	return wire.SensorReadResult{Sensor: args.Sensor, Count: len(rs), ContentType: senml.MediaType, Values: values}, pack, nil
}

func (a *Agent) declaredPin(pin string) (built, error) {
	if pin == "" {
		return built{}, BadArgs(`"pin" is required`)
	}
	run := a.sampler()
	if run == nil {
		return built{}, &wire.CommandError{Code: wire.CodeFailed, Message: "sensors are not running"}
	}
	b, ok := run.pins[pin]
	if !ok {
		return built{}, &wire.CommandError{Code: wire.CodeNotAllowed, Message: fmt.Sprintf("pin %q is not declared in the config", pin)}
	}
	return b, nil
}

func (a *Agent) cmdGPIORead(ctx context.Context, args wire.GPIOReadArgs) (wire.GPIOReadResult, error) {
	b, err := a.declaredPin(args.Pin)
	if err != nil {
		return wire.GPIOReadResult{}, err
	}
	if b.output != nil {
		out, err := b.output.outputOf()
		if err != nil {
			return wire.GPIOReadResult{}, err
		}
		return wire.GPIOReadResult{Pin: args.Pin, Sensor: b.cfg.Name, Value: out.Get(), Output: true}, nil
	}
	if b.use == sensors.PinCounter {
		return wire.GPIOReadResult{}, &wire.CommandError{Code: wire.CodeNotAllowed, Message: fmt.Sprintf("pin %q counts pulses; use %s %q", args.Pin, wire.SensorRead.Name(), b.cfg.Name)}
	}
	rs, err := a.readNow(ctx, b.cfg.Name)
	if err != nil {
		return wire.GPIOReadResult{}, err
	}
	for _, r := range rs {
		if r.Quantity == "level" {
			return wire.GPIOReadResult{Pin: args.Pin, Sensor: b.cfg.Name, Value: r.Value != 0}, nil
		}
	}
	return wire.GPIOReadResult{}, fmt.Errorf("pin %q: no level reading", args.Pin)
}

func (a *Agent) cmdGPIOWrite(_ context.Context, args wire.GPIOWriteArgs) (wire.GPIOWriteResult, error) {
	if args.Value == nil {
		return wire.GPIOWriteResult{}, BadArgs(`"value" (true or false) is required`)
	}
	b, err := a.declaredPin(args.Pin)
	if err != nil {
		return wire.GPIOWriteResult{}, err
	}
	if b.output == nil {
		return wire.GPIOWriteResult{}, &wire.CommandError{Code: wire.CodeNotAllowed, Message: fmt.Sprintf("pin %q is an input; only gpio-out pins can be written", args.Pin)}
	}
	out, err := b.output.outputOf()
	if err != nil {
		return wire.GPIOWriteResult{}, err
	}
	if err := out.Set(*args.Value); err != nil {
		return wire.GPIOWriteResult{}, err
	}
	a.log.Info("output switched by the server", "pin", args.Pin, "sensor", b.cfg.Name, "value", *args.Value)
	return wire.GPIOWriteResult{Pin: args.Pin, Sensor: b.cfg.Name, Value: out.Get()}, nil
}

func (a *Agent) cmdSamplingSet(_ context.Context, args wire.SamplingSetArgs) (wire.SamplingSetResult, error) {
	if args.Sensor == "" || args.Interval == "" {
		return wire.SamplingSetResult{}, BadArgs(`"sensor" and "interval" (like "30s") are required`)
	}
	d, err := time.ParseDuration(args.Interval)
	if err != nil {
		return wire.SamplingSetResult{}, BadArgs(`"interval": %v`, err)
	}
	if d < minRemoteInterval || d > maxRemoteInterval {
		return wire.SamplingSetResult{}, BadArgs(`"interval" %s out of range [%s, %s]`, d, minRemoteInterval, maxRemoteInterval)
	}
	if err := a.setInterval(args.Sensor, d); err != nil {
		return wire.SamplingSetResult{}, err
	}
	a.log.Info("sampling interval changed by the server", "sensor", args.Sensor, "interval", d)
	return wire.SamplingSetResult{Sensor: args.Sensor, Interval: d.String()}, nil
}

func (a *Agent) cmdQueueStats(context.Context, wire.QueueStatsArgs) (json.RawMessage, error) {
	return json.Marshal(a.Status().Outbox)
}
