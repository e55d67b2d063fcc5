package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
)

// Built-in command names (the wire contract, docs/PROTOCOL.md).
const (
	CmdPing        = "agent:ping"
	CmdStatus      = "agent:status"
	CmdSensorRead  = "sensor:read"
	CmdGPIORead    = "gpio:read"
	CmdGPIOWrite   = "gpio:write"
	CmdSamplingSet = "sampling:set"
	CmdQueueStats  = "queue:stats"
)

// Limits of sampling:set.
const (
	minRemoteInterval = 100 * time.Millisecond
	maxRemoteInterval = 24 * time.Hour
)

func (a *Agent) registerBuiltins() {
	a.Handle(CmdPing, a.cmdPing)
	a.Handle(CmdStatus, a.cmdStatus)
	a.Handle(CmdSensorRead, a.cmdSensorRead)
	a.Handle(CmdGPIORead, a.cmdGPIORead)
	a.Handle(CmdGPIOWrite, a.cmdGPIOWrite)
	a.Handle(CmdSamplingSet, a.cmdSamplingSet)
	a.Handle(CmdQueueStats, a.cmdQueueStats)
}

func (a *Agent) cmdPing(_ context.Context, raw json.RawMessage) (Result, error) {
	var args struct{}
	if err := decodeArgs(raw, &args); err != nil {
		return Result{}, err
	}
	now := a.clock.Now()
	return Result{Value: map[string]any{"pong": true, "time": now.Wall.UTC().Format(time.RFC3339Nano), "clockSynced": now.Synced, "version": a.version()}}, nil
}

func (a *Agent) cmdStatus(_ context.Context, raw json.RawMessage) (Result, error) {
	var args struct{}
	if err := decodeArgs(raw, &args); err != nil {
		return Result{}, err
	}
	return Result{Value: a.Status()}, nil
}

func (a *Agent) cmdSensorRead(ctx context.Context, raw json.RawMessage) (Result, error) {
	var args struct {
		Sensor string `json:"sensor"`
	}
	if err := decodeArgs(raw, &args); err != nil {
		return Result{}, err
	}
	if args.Sensor == "" {
		return Result{}, BadArgs(`"sensor" is required`)
	}
	rs, err := a.readNow(ctx, args.Sensor)
	if err != nil {
		return Result{}, err
	}
	pack, err := a.codec.Pack(rs, a.clock.Now())
	if err != nil {
		return Result{}, err
	}
	values := map[string]any{}
	for _, r := range rs {
		values[r.Quantity] = map[string]any{"value": r.Value, "unit": r.Unit}
	}
	return Result{Value: map[string]any{"sensor": args.Sensor, "count": len(rs), "contentType": senml.MediaType, "values": values}, Binary: pack}, nil
}

// pinArgs are the arguments of gpio:read and gpio:write.
type pinArgs struct {
	Pin   string `json:"pin"`
	Value *bool  `json:"value"`
}

func (a *Agent) declaredPin(pin string) (built, error) {
	if pin == "" {
		return built{}, BadArgs(`"pin" is required`)
	}
	run := a.sampler()
	if run == nil {
		return built{}, &CommandError{Code: CodeFailed, Message: "sensors are not running"}
	}
	b, ok := run.pins[pin]
	if !ok {
		return built{}, &CommandError{Code: CodeNotAllowed, Message: fmt.Sprintf("pin %q is not declared in the config", pin)}
	}
	return b, nil
}

func (a *Agent) cmdGPIORead(ctx context.Context, raw json.RawMessage) (Result, error) {
	var args pinArgs
	if err := decodeArgs(raw, &args); err != nil {
		return Result{}, err
	}
	if args.Value != nil {
		return Result{}, BadArgs(`gpio:read takes no "value"`)
	}
	b, err := a.declaredPin(args.Pin)
	if err != nil {
		return Result{}, err
	}
	if b.output != nil {
		out, err := b.output.outputOf()
		if err != nil {
			return Result{}, err
		}
		return Result{Value: map[string]any{"pin": args.Pin, "sensor": b.cfg.Name, "value": out.Get(), "output": true}}, nil
	}
	if b.use == sensors.PinCounter {
		return Result{}, &CommandError{Code: CodeNotAllowed, Message: fmt.Sprintf("pin %q counts pulses; use sensor:read %q", args.Pin, b.cfg.Name)}
	}
	rs, err := a.readNow(ctx, b.cfg.Name)
	if err != nil {
		return Result{}, err
	}
	for _, r := range rs {
		if r.Quantity == "level" {
			return Result{Value: map[string]any{"pin": args.Pin, "sensor": b.cfg.Name, "value": r.Value != 0, "output": false}}, nil
		}
	}
	return Result{}, fmt.Errorf("pin %q: no level reading", args.Pin)
}

func (a *Agent) cmdGPIOWrite(_ context.Context, raw json.RawMessage) (Result, error) {
	var args pinArgs
	if err := decodeArgs(raw, &args); err != nil {
		return Result{}, err
	}
	if args.Value == nil {
		return Result{}, BadArgs(`"value" (true or false) is required`)
	}
	b, err := a.declaredPin(args.Pin)
	if err != nil {
		return Result{}, err
	}
	if b.output == nil {
		return Result{}, &CommandError{Code: CodeNotAllowed, Message: fmt.Sprintf("pin %q is an input; only gpio-out pins can be written", args.Pin)}
	}
	out, err := b.output.outputOf()
	if err != nil {
		return Result{}, err
	}
	if err := out.Set(*args.Value); err != nil {
		return Result{}, err
	}
	a.log.Info("output switched by the server", "pin", args.Pin, "sensor", b.cfg.Name, "value", *args.Value)
	return Result{Value: map[string]any{"pin": args.Pin, "sensor": b.cfg.Name, "value": out.Get()}}, nil
}

func (a *Agent) cmdSamplingSet(_ context.Context, raw json.RawMessage) (Result, error) {
	var args struct {
		Sensor   string `json:"sensor"`
		Interval string `json:"interval"`
	}
	if err := decodeArgs(raw, &args); err != nil {
		return Result{}, err
	}
	if args.Sensor == "" || args.Interval == "" {
		return Result{}, BadArgs(`"sensor" and "interval" (like "30s") are required`)
	}
	d, err := time.ParseDuration(args.Interval)
	if err != nil {
		return Result{}, BadArgs(`"interval": %v`, err)
	}
	if d < minRemoteInterval || d > maxRemoteInterval {
		return Result{}, BadArgs(`"interval" %s out of range [%s, %s]`, d, minRemoteInterval, maxRemoteInterval)
	}
	if err := a.setInterval(args.Sensor, d); err != nil {
		return Result{}, err
	}
	a.log.Info("sampling interval changed by the server", "sensor", args.Sensor, "interval", d)
	return Result{Value: map[string]any{"sensor": args.Sensor, "interval": d.String()}}, nil
}

func (a *Agent) cmdQueueStats(_ context.Context, raw json.RawMessage) (Result, error) {
	var args struct{}
	if err := decodeArgs(raw, &args); err != nil {
		return Result{}, err
	}
	return Result{Value: a.Status().Outbox}, nil
}
