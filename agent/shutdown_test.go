package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/sensors/sht3x"
	"github.com/sioagent/sioagent/store"
)

// gatedBus is an I2C bus with an SHT3x on it whose measurement read
// (6 bytes) blocks until release is closed; entered is closed when the
// first one starts.
type gatedBus struct {
	entered, release chan struct{}
	once             sync.Once
}

func (g *gatedBus) String() string                  { return "gated" }
func (g *gatedBus) SetSpeed(physic.Frequency) error { return nil }

func (g *gatedBus) Tx(_ uint16, w, r []byte) error {
	if len(r) == 6 {
		g.once.Do(func() { close(g.entered) })
		<-g.release
	}
	for i := 0; i+3 <= len(r); i += 3 {
		r[i], r[i+1] = 0x66, 0x66 // about 25 °C, 40 %RH
		r[i+2] = sht3x.CRC(r[i : i+2])
	}
	return nil
}

type gatedHardware struct{ bus *gatedBus }

func (h gatedHardware) I2CBus(string) (i2c.Bus, error) { return h.bus, nil }
func (h gatedHardware) GPIOPin(name string) (gpio.PinIO, error) {
	return nil, fmt.Errorf("no pin %q", name)
}

const gatedTOML = `
[device]
id = "pi-test"

[server]
url = "http://127.0.0.1:1"

[outbox]
path = %q

[agent]
runtime_dir = %q

[[sensors]]
name = "air"
driver = "sht3x"
bus = "1"
address = 0x44
interval = "1h"
timeout = "10s"
`

// A reading whose Read finishes after the stop began (SIGTERM during a
// measurement) is in the outbox after the agent closed: the sampler hands
// it over and the batcher, still running until the sampler stopped,
// commits it. The stop follows Run's order: sampler, then batcher.
func TestReadingFinishedDuringStopIsStored(t *testing.T) {
	cfg := testConfig(t, gatedTOML)
	bus := &gatedBus{entered: make(chan struct{}), release: make(chan struct{})}
	a, err := New(Options{Config: cfg, Hardware: gatedHardware{bus}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	batchCtx, stopBatch := context.WithCancel(context.Background())
	batchDone := make(chan struct{})
	go func() { defer close(batchDone); a.batch.run(batchCtx) }()
	run, err := a.startSampler(cfg.Sensors)
	if err != nil {
		t.Fatal(err)
	}
	a.setSampler(run)
	<-bus.entered // the measurement is under way
	run.cancel()  // the stop begins (Run: a.sampler().halt())
	close(bus.release)
	<-run.done
	stopBatch()
	<-batchDone
	a.stop()
	if err := a.closeConn(); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(cfg.Outbox.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Peek(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("outbox holds %d batches after the stop, want the 1 finished during it (lost: %v)", len(recs), a.batch.losses.snapshot())
	}
	var b outbox.Batch
	if err := b.UnmarshalBinary(recs[0].Data); err != nil {
		t.Fatal(err)
	}
	if b.Count != 2 {
		t.Errorf("stored batch has %d readings, want 2 (temperature, humidity)", b.Count)
	}
}
