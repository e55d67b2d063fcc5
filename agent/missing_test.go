package agent

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A DS18B20 that is not there (unplugged, or not listed by the kernel
// yet) is a failing sensor like any other: the agent starts, the other
// sensors are read, and the probe's error shows in the status.
func TestMissingProbeDoesNotStopTheAgent(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, `
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
interval = "20ms"
[[sensors]]
name = "cellar"
driver = "ds18b20"
device = "28-0000000000aa"
w1_dir = "`+filepath.Join(dir, "w1")+`"
interval = "20ms"
`)
	a, err := New(Options{Config: cfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	run, err := a.startSampler(cfg.Sensors)
	if err != nil {
		t.Fatalf("a missing probe stopped the sensors: %v", err)
	}
	a.setSampler(run)
	defer run.halt()
	deadline := time.Now().Add(5 * time.Second)
	for {
		counter, _ := sensorStatusOf(a, "counter")
		cellar, _ := sensorStatusOf(a, "cellar")
		if counter.Reads >= 2 && cellar.Failures >= 1 {
			if !strings.Contains(cellar.LastError, "28-0000000000aa") {
				t.Errorf("the probe's error does not name it: %q", cellar.LastError)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counter %+v, cellar %+v", counter, cellar)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
