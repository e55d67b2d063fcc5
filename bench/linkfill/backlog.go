//go:build linux

package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/telemetry"
)

// The simulated station of the backlog.
const (
	// sampleEvery is the interval of every quantity of the station.
	sampleEvery = 10 * time.Second
	// bootID is the boot of every reading (one boot, clock synchronised).
	bootID = "3f1c2a4e-linkfill-boot"
	// seed makes every run store the same readings.
	seed = 14
)

// quantity is one value the station reports, with the resolution its
// chip gives (which decides how short a CBOR float it takes).
type quantity struct {
	sensor, name, unit string
	mean, swing, step  float64
}

// station is a greenhouse controller: a BME280, an SHT31, two soil probes
// on an ADS1115, a DS18B20, a rain gauge and a door contact.
var station = []quantity{
	{"greenhouse", "temperature", "Cel", 22, 4, 0.01},
	{"greenhouse", "humidity", "%RH", 60, 15, 1.0 / 1024},
	{"greenhouse", "pressure", "Pa", 101325, 800, 1.0 / 256},
	{"shed", "temperature", "Cel", 15, 6, 0.01},
	{"shed", "humidity", "%RH", 70, 10, 0.01},
	{"soil", "ch0", "V", 1.8, 0.4, 0.000125},
	{"soil", "ch1", "V", 2.1, 0.3, 0.000125},
	{"water", "temperature", "Cel", 12, 2, 0.0625},
	{"rain", "rain", "m", 0.01, 0.01, 0.0002794},
	{"door", "open", "", 0, 1, 1},
}

// syncedClock is the clock of the drain: synchronised, in the readings'
// boot, so that Prepare sends the stored times.
func syncedClock(start time.Time) sensors.Clock {
	return sensors.ClockFunc(func() sensors.Stamp {
		now := time.Now()
		return sensors.Stamp{Wall: now, Mono: now.Sub(start) + 24*time.Hour, Boot: bootID, Synced: true}
	})
}

// backlog stores batches of perBatch readings of the station, as the
// agent's batcher would after an outage, and returns the readings stored
// and the mean size of the SenML pack a batch becomes.
func backlog(ctx context.Context, st *store.Store, codec *telemetry.Codec, batches, perBatch int) (readings int, packBytes float64, err error) {
	rng := rand.New(rand.NewPCG(seed, seed))
	values := make([]float64, len(station))
	for i, q := range station {
		values[i] = q.mean
	}
	t := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	mono := time.Hour
	var total int
	for b := range batches {
		rs := make([]sensors.Reading, 0, perBatch)
		for len(rs) < perBatch {
			for i, q := range station {
				if len(rs) == perBatch {
					break
				}
				v := values[i] + (rng.Float64()-0.5)*q.swing/20
				v = min(max(v, q.mean-q.swing), q.mean+q.swing)
				values[i] = v
				if q.step == 1 {
					v = math.Round(rng.Float64() * 0.55) // a door mostly shut
				} else {
					v = math.Round(v/q.step) * q.step
				}
				rs = append(rs, sensors.Reading{Sensor: q.sensor, Quantity: q.name, Unit: q.unit, Value: v,
					Time: t, Mono: mono, Boot: bootID, Synced: true})
			}
			t, mono = t.Add(sampleEvery), mono+sampleEvery
		}
		data, err := codec.Encode(rs)
		if err != nil {
			return 0, 0, err
		}
		if _, err := outbox.Enqueue(ctx, st, len(rs), telemetry.ContentTypeReadings, data); err != nil {
			return 0, 0, fmt.Errorf("batch %d: %w", b, err)
		}
		pack, err := codec.Pack(rs, sensors.Stamp{Wall: t, Mono: mono, Boot: bootID, Synced: true})
		if err != nil {
			return 0, 0, err
		}
		total += len(pack)
		readings += len(rs)
	}
	return readings, float64(total) / float64(batches), nil
}
