package telemetry

import (
	"bytes"
	"testing"
	"time"

	"github.com/sioagent/sioagent/sensors"
)

// FuzzDecode feeds Decode arbitrary stored batches, as a damaged or foreign
// outbox record would: it must return readings or an error, never panic,
// and what it accepts must survive a round trip through Encode and the
// conversion to SenML. The layout has one encoding of given readings, so
// what Decode accepts is exactly what Encode writes of them. (The CBOR
// batches of earlier agents are FuzzDecodeV1's.)
func FuzzDecode(f *testing.F) {
	c, err := New(testDevice)
	if err != nil {
		f.Fatal(err)
	}
	seed, err := c.Encode([]sensors.Reading{
		reading("g", "temperature", 21.5, testNowWall, 999*time.Second, "b1", true),
		reading("g", "humidity", 48, testNowWall.Add(-time.Hour), 10*time.Second, "b1", false),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	if fixture, err := c.Encode(v1FixtureReadings()); err == nil {
		f.Add(fixture)
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add([]byte{readingsVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := c.Decode(data)
		if err != nil {
			return
		}
		if len(rs) == 0 {
			t.Fatal("Decode accepted a batch without readings")
		}
		again, err := c.Encode(rs)
		if err != nil {
			t.Fatalf("Encode of decoded readings: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("Decode accepted %x, which Encode writes as %x", data, again)
		}
		rs2, err := c.Decode(again)
		if err != nil {
			t.Fatalf("Decode of re-encoded batch: %v", err)
		}
		a, _ := c.Encode(rs2)
		if !bytes.Equal(a, again) {
			t.Fatal("re-encoding is not stable")
		}
		// Packing may refuse (a unit or a value SenML cannot carry) but
		// must not panic.
		_, _, _ = c.PackTimed(rs, nowStamp(true))
	})
}
