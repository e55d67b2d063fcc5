package agent

import (
	"testing"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/telemetry"
)

// sizeBatch is a realistic batch: 50 readings of a BME280's three
// quantities, every 10 s, with values that need float64.
func sizeBatch(synced bool) ([]sensors.Reading, sensors.Stamp) {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var rs []sensors.Reading
	for i := range 50 {
		at := start.Add(time.Duration(i) * 10 * time.Second)
		mono := time.Hour + time.Duration(i)*10*time.Second
		for _, q := range []struct {
			name, unit string
			v          float64
		}{{"temperature", "Cel", 21.37 + float64(i)*0.01}, {"pressure", "Pa", 100942.6953125 + float64(i)}, {"humidity", "%RH", 48.25 + float64(i)*0.1}} {
			rs = append(rs, sensors.Reading{Sensor: "greenhouse", Quantity: q.name, Unit: q.unit, Value: q.v, Time: at, Mono: mono, Boot: "b", Synced: synced})
		}
	}
	now := sensors.Stamp{Wall: start.Add(time.Hour), Mono: 2 * time.Hour, Boot: "b", Synced: true}
	return rs, now
}

// A batch of 50 readings of 3 quantities is far below the server's
// default 1 MB frame, both as stored and as sent. The figures are logged
// for docs/PROTOCOL.md.
func TestPackSize(t *testing.T) {
	c, err := telemetry.New("greenhouse-pi-07")
	if err != nil {
		t.Fatal(err)
	}
	for _, synced := range []bool{true, false} {
		rs, now := sizeBatch(synced)
		if !synced {
			now.Synced = false // still unsynchronised: relative times
		}
		pack, err := c.Pack(rs, now)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := c.Encode(rs)
		if err != nil {
			t.Fatal(err)
		}
		const limit = 16 << 10
		if len(pack) > limit || len(stored) > limit {
			t.Errorf("synced=%v: pack %d bytes, stored %d bytes; want both under %d", synced, len(pack), len(stored), limit)
		}
		t.Logf("synced=%v: %d readings: SenML pack %d bytes (%.1f per reading), stored batch %d bytes (%.1f per reading)",
			synced, len(rs), len(pack), float64(len(pack))/float64(len(rs)), len(stored), float64(len(stored))/float64(len(rs)))
	}
}
