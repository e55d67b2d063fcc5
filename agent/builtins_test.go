package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/drivers"
	"github.com/sioagent/sioagent/wire"
)

// testWait bounds polling for a state the agent reaches by itself.
const testWait = 10 * time.Second

// fakeHardware hands out gpiotest pins by name and has no I2C bus.
type fakeHardware struct {
	mu   sync.Mutex
	pins map[string]*gpiotest.Pin
}

func newFakeHardware(names ...string) *fakeHardware {
	h := &fakeHardware{pins: map[string]*gpiotest.Pin{}}
	for i, n := range names {
		h.pins[n] = &gpiotest.Pin{N: n, Num: i, EdgesChan: make(chan gpio.Level, 1)}
	}
	return h
}

func (h *fakeHardware) I2CBus(name string) (i2c.Bus, error) {
	return nil, fmt.Errorf("no I2C bus %q in this test", name)
}

func (h *fakeHardware) GPIOPin(name string) (gpio.PinIO, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.pins[name]
	if !ok {
		return nil, fmt.Errorf("no pin %q", name)
	}
	return p, nil
}

func (h *fakeHardware) pin(name string) *gpiotest.Pin {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pins[name]
}

const builtinsTOML = `
[device]
id = "pi-test"

[server]
url = "http://127.0.0.1:1"

[outbox]
path = %q

[agent]
runtime_dir = %q

[[sensors]]
name = "counter"
driver = "sim"
signal = "counter"
interval = "1h"

[[sensors]]
name = "relay"
driver = "gpio-out"
pin = "GPIO27"
interval = "1h"

[[sensors]]
name = "button"
driver = "gpio-in"
pin = "GPIO17"
interval = "1h"
`

var testClockWall = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testConfig(t testing.TB, format string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	data := fmt.Sprintf(format, filepath.Join(dir, "outbox.db"), filepath.Join(dir, "run"))
	cfg, err := config.Parse("test.toml", []byte(data), nil, drivers.New())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startTestAgent builds an agent and starts its sensors without Run. stop
// halts the sensors and closes the agent; it runs at cleanup if not before.
func startTestAgent(t testing.TB, hw Hardware) (a *Agent, stop func()) {
	t.Helper()
	cfg := testConfig(t, builtinsTOML)
	clock := sensors.ClockFunc(func() sensors.Stamp {
		return sensors.Stamp{Wall: testClockWall, Mono: time.Hour, Boot: "b1", Synced: true}
	})
	a, err := New(Options{Config: cfg, Hardware: hw, Clock: clock, Logger: slog.New(slog.DiscardHandler), Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := a.startSampler(cfg.Sensors)
	if err != nil {
		a.closeConn()
		t.Fatal(err)
	}
	a.setSampler(run)
	var once sync.Once
	stop = func() { once.Do(func() { stopTestAgent(t, a) }) }
	t.Cleanup(stop)
	return a, stop
}

func stopTestAgent(t testing.TB, a *Agent) {
	a.sampler().halt()
	a.stop()
	a.disp.wait()
	if err := a.closeConn(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func sensorStatusOf(a *Agent, name string) (SensorStatus, bool) {
	for _, s := range a.Status().Sensors {
		if s.Name == name {
			return s, true
		}
	}
	return SensorStatus{}, false
}

// waitReads waits until every sensor had its first periodic read.
func waitReads(t *testing.T, a *Agent) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		all := true
		for _, s := range a.Status().Sensors {
			if s.Reads < 1 {
				all = false
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sensors not read within %s: %+v", testWait, a.Status().Sensors)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// call runs the command cmd registered on a with the JSON args.
func call(t testing.TB, a *Agent, cmd interface{ Name() string }, args string) (Result, error) {
	t.Helper()
	fn, ok := a.disp.lookup(cmd.Name())
	if !ok {
		t.Fatalf("no command %q registered", cmd.Name())
	}
	return fn(context.Background(), json.RawMessage(args))
}

// asMap returns a command's result as the server decodes it: a JSON
// object, numbers as float64.
func asMap(t testing.TB, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("result %s: %v", b, err)
	}
	return m
}

// asJSON decodes a command's JSON result into a new T.
func asJSON[T any](t testing.TB, v any) T {
	t.Helper()
	var out T
	raw, ok := v.(json.RawMessage)
	if !ok {
		t.Fatalf("result %T, want JSON", v)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ce *wire.CommandError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("error %v, want code %q", err, code)
	}
}

func TestBuiltinsGPIO(t *testing.T) {
	hw := newFakeHardware("GPIO27", "GPIO17")
	a, stop := startTestAgent(t, hw)
	waitReads(t, a)
	relay, button := hw.pin("GPIO27"), hw.pin("GPIO17")
	if relay.Read() != gpio.Low {
		t.Fatalf("relay starts %v, want Low (initial = false)", relay.Read())
	}

	res, err := call(t, a, wire.GPIOWrite, `{"id":"c-91","pin":"GPIO27","value":true}`)
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, res.Value)
	if m["value"] != true || m["pin"] != "GPIO27" || m["sensor"] != "relay" {
		t.Errorf("gpio:write result %v", m)
	}
	if relay.Read() != gpio.High {
		t.Errorf("relay pin %v after writing true, want High", relay.Read())
	}
	res, err = call(t, a, wire.GPIORead, `{"pin":"GPIO27"}`)
	if err != nil {
		t.Fatal(err)
	}
	if m := asMap(t, res.Value); m["value"] != true || m["output"] != true {
		t.Errorf("gpio:read of the output: %v", m)
	}

	_, err = call(t, a, wire.GPIOWrite, `{"pin":"GPIO17","value":true}`)
	wantCode(t, err, wire.CodeNotAllowed)
	_, err = call(t, a, wire.GPIOWrite, `{"pin":"GPIO5","value":true}`)
	wantCode(t, err, wire.CodeNotAllowed)
	_, err = call(t, a, wire.GPIOWrite, `{"pin":"GPIO27"}`)
	wantCode(t, err, wire.CodeBadArgs)
	_, err = call(t, a, wire.GPIOWrite, `{"pin":"GPIO27","value":"on"}`)
	wantCode(t, err, wire.CodeBadArgs)
	_, err = call(t, a, wire.GPIORead, `{"pin":"GPIO17","value":true}`)
	wantCode(t, err, wire.CodeBadArgs)
	if button.Read() != gpio.Low {
		t.Fatalf("writing the input changed it")
	}

	for _, level := range []gpio.Level{gpio.High, gpio.Low} {
		if err := button.Out(level); err != nil { // the fake's way to set the input level
			t.Fatal(err)
		}
		res, err := call(t, a, wire.GPIORead, `{"pin":"GPIO17"}`)
		if err != nil {
			t.Fatal(err)
		}
		m := asMap(t, res.Value)
		if m["value"] != bool(level) || m["output"] != false || m["sensor"] != "button" {
			t.Errorf("gpio:read with the pin %v: %v", level, m)
		}
	}

	// Shutdown drives the output to its safe state (false).
	stop()
	if relay.Read() != gpio.Low {
		t.Errorf("relay pin %v after shutdown, want Low (safe = false)", relay.Read())
	}
}

func TestBuiltinsSensorRead(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	waitReads(t, a) // the counter's periodic read returned 1
	res, err := call(t, a, wire.SensorRead, `{"sensor":"counter"}`)
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, res.Value)
	if m["count"] != 1.0 || m["contentType"] != senml.MediaType || m["sensor"] != "counter" {
		t.Errorf("result %v", m)
	}
	if v := m["values"].(map[string]any)["value"].(map[string]any)["value"]; v != 2.0 {
		t.Errorf("values %v, want the counter's second value 2", m["values"])
	}
	if res.Binary == nil {
		t.Fatal("no SenML attachment")
	}
	recs, err := senml.Decode(res.Binary)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := senml.Resolve(recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Name != "pi-test:counter/value" || rs[0].Value == nil || *rs[0].Value != 2 {
		t.Fatalf("pack %+v", rs)
	}
	if ms(rs[0].Time) != testClockWall.UnixMilli() {
		t.Errorf("time %v, want the clock's %v", rs[0].Time, testClockWall)
	}
	// A command read is not telemetry and counts as a read.
	if s, _ := sensorStatusOf(a, "counter"); s.Reads != 2 {
		t.Errorf("counter reads %d, want 2", s.Reads)
	}
	_, err = call(t, a, wire.SensorRead, `{"sensor":"nope"}`)
	wantCode(t, err, wire.CodeNotFound)
	_, err = call(t, a, wire.SensorRead, `{}`)
	wantCode(t, err, wire.CodeBadArgs)
}

func TestBuiltinsSamplingSetAndStatus(t *testing.T) {
	a, _ := startTestAgent(t, newFakeHardware("GPIO27", "GPIO17"))
	res, err := call(t, a, wire.SamplingSet, `{"sensor":"button","interval":"30s"}`)
	if err != nil {
		t.Fatal(err)
	}
	if m := asMap(t, res.Value); m["interval"] != "30s" || m["sensor"] != "button" {
		t.Errorf("result %v", m)
	}
	if s, ok := sensorStatusOf(a, "button"); !ok || s.IntervalSec != 30 {
		t.Errorf("button status %+v", s)
	}
	if s, _ := sensorStatusOf(a, "counter"); s.IntervalSec != 3600 {
		t.Errorf("counter interval %v changed too", s.IntervalSec)
	}
	for _, args := range []string{`{"sensor":"button","interval":"50ms"}`, `{"sensor":"button","interval":"25h"}`, `{"sensor":"button","interval":"soon"}`, `{"sensor":"button"}`} {
		_, err := call(t, a, wire.SamplingSet, args)
		wantCode(t, err, wire.CodeBadArgs)
	}
	_, err = call(t, a, wire.SamplingSet, `{"sensor":"nope","interval":"1s"}`)
	wantCode(t, err, wire.CodeNotFound)

	res, err = call(t, a, wire.Status, `null`)
	if err != nil {
		t.Fatal(err)
	}
	st := asJSON[Status](t, res.Value)
	if st.DeviceID != "pi-test" || st.Version != "1.2.3" || len(st.Sensors) != 3 || st.Conn.Connected {
		t.Errorf("status %+v", st)
	}
	b, err := json.Marshal(res.Value)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["deviceId"] != "pi-test" {
		t.Errorf("status JSON deviceId %v", back["deviceId"])
	}
	_, err = call(t, a, wire.Status, `{"verbose":true}`)
	wantCode(t, err, wire.CodeBadArgs)

	res, err = call(t, a, wire.Ping, `{"id":"p-1"}`)
	if err != nil {
		t.Fatal(err)
	}
	if m := asMap(t, res.Value); m["pong"] != true || m["time"] != "2026-11-25T12:00:00Z" || m["clockSynced"] != true || m["version"] != "1.2.3" {
		t.Errorf("ping %v", m)
	}
	res, err = call(t, a, wire.QueueStats, ``)
	if err != nil {
		t.Fatal(err)
	}
	if q := asJSON[OutboxStatus](t, res.Value); q.Depth != 0 || q.Path != a.cfg.Outbox.Path {
		t.Errorf("queue:stats %+v", q)
	}
}

// TestBuiltinsNoSampler: commands that need sensors fail cleanly before
// the sensors run.
func TestBuiltinsNoSampler(t *testing.T) {
	cfg := testConfig(t, builtinsTOML)
	a, err := New(Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer stopTestAgent(t, a)
	for _, tc := range []struct {
		cmd  interface{ Name() string }
		args string
	}{
		{wire.GPIOWrite, `{"pin":"GPIO27","value":true}`},
		{wire.GPIORead, `{"pin":"GPIO27"}`},
		{wire.SensorRead, `{"sensor":"counter"}`},
		{wire.SamplingSet, `{"sensor":"counter","interval":"1s"}`},
	} {
		_, err := call(t, a, tc.cmd, tc.args)
		wantCode(t, err, wire.CodeFailed)
	}
}
