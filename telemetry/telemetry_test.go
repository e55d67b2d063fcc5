package telemetry

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/wire"
)

const testDevice = "pi-7"

// testNowWall is the wall time of "now" in the re-timing tests (boot "b1",
// 1000 s after boot).
var testNowWall = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func testCodec(t *testing.T) *Codec {
	t.Helper()
	c, err := New(testDevice)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func nowStamp(synced bool) sensors.Stamp {
	return sensors.Stamp{Wall: testNowWall, Mono: 1000 * time.Second, Boot: "b1", Synced: synced}
}

func reading(sensor, quantity string, v float64, wall time.Time, mono time.Duration, boot string, synced bool) sensors.Reading {
	return sensors.Reading{Sensor: sensor, Quantity: quantity, Unit: "Cel", Value: v, Time: wall, Mono: mono, Boot: boot, Synced: synced}
}

// resolved decodes a SenML pack produced by pack.
func resolved(t *testing.T, p []byte) []senml.Resolved {
	t.Helper()
	recs, err := senml.Decode(p)
	if err != nil {
		t.Fatalf("senml.Decode: %v", err)
	}
	rs, err := senml.Resolve(recs)
	if err != nil {
		t.Fatalf("senml.Resolve: %v", err)
	}
	return rs
}

// ms returns seconds as whole milliseconds.
func ms(s float64) int64 { return int64(math.Round(s * 1000)) }

func TestBatchRoundTrip(t *testing.T) {
	c := testCodec(t)
	in := []sensors.Reading{
		{Sensor: "greenhouse", Quantity: "temperature", Unit: "Cel", Value: 21.5, Time: time.Unix(1764100000, 123456789), Mono: 5 * time.Second, Boot: "b1", Synced: true},
		{Sensor: "greenhouse", Quantity: "humidity", Unit: "%RH", Value: 48.25, Time: time.Unix(1764100001, 0), Mono: 6 * time.Second, Boot: "b1"},
		{Sensor: "adc", Quantity: "ch/0", Value: -1.5e-3, Time: time.Unix(1, 2), Mono: 7, Boot: "b1"},
	}
	data, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d readings, want %d", len(out), len(in))
	}
	for i := range in {
		w, g := in[i], out[i]
		if g.Sensor != w.Sensor || g.Quantity != w.Quantity || g.Unit != w.Unit || g.Value != w.Value ||
			!g.Time.Equal(w.Time) || g.Mono != w.Mono || g.Boot != w.Boot || g.Synced != w.Synced {
			t.Errorf("reading %d: got %+v, want %+v", i, g, w)
		}
	}
	if out[2].Sensor != "adc" || out[2].Quantity != "ch/0" {
		t.Errorf("name split at the first slash: got %q / %q", out[2].Sensor, out[2].Quantity)
	}
}

func TestEncodeBatchEmpty(t *testing.T) {
	if _, err := testCodec(t).Encode(nil); err == nil {
		t.Fatal("Encode(nil) succeeded")
	}
}

// TestDecodeBatchErrors: the refusals of the former decoder of stored
// batches, now those of the v1 reader (decodeV1) that still reads them
// (the refusals of version 2 are TestDecodeErrors').
func TestDecodeBatchErrors(t *testing.T) {
	enc := func(v any) []byte {
		b, err := cbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := storedReading{Name: "a/b", Value: 1, Wall: 1, Mono: 1}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", []byte{0xff, 0x00, 0x01}, "stored batch"},
		{"empty input", nil, "stored batch"},
		{"truncated", enc(storedBatch{Version: readingsVersionV1, Boot: "b", Readings: []storedReading{good}})[:5], "stored batch"},
		{"wrong version", enc(storedBatch{Version: readingsVersionV1 + 1, Boot: "b", Readings: []storedReading{good}}), "version 2"},
		{"version zero", enc(storedBatch{Boot: "b", Readings: []storedReading{good}}), "version 0"},
		{"no readings", enc(storedBatch{Version: readingsVersionV1, Boot: "b", Readings: []storedReading{}}), "no readings"},
		{"name without slash", enc(storedBatch{Version: readingsVersionV1, Boot: "b", Readings: []storedReading{{Name: "noslash", Value: 1}}}), `"noslash"`},
		{"oversize", append(enc(storedBatch{Version: readingsVersionV1, Boot: "b", Readings: []storedReading{good}}), bytes.Repeat([]byte{0}, maxStoredBatch)...), "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := decodeV1(tt.data)
			if err == nil {
				t.Fatalf("Decode succeeded with %d readings", len(rs))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestPackSynced: readings taken with a synced clock keep their time.
func TestPackSynced(t *testing.T) {
	c := testCodec(t)
	t0 := testNowWall.Add(-time.Minute + 123*time.Millisecond)
	t1 := testNowWall.Add(-30*time.Second + 7*time.Millisecond)
	rs := []sensors.Reading{
		reading("g", "temperature", 21.5, t0, 940*time.Second, "b1", true),
		reading("g", "temperature", 22, t1, 970*time.Second, "b1", true),
	}
	for _, nowSynced := range []bool{true, false} {
		p, err := c.Pack(rs, nowStamp(nowSynced))
		if err != nil {
			t.Fatal(err)
		}
		got := resolved(t, p)
		if len(got) != 2 {
			t.Fatalf("%d records", len(got))
		}
		for i, want := range []time.Time{t0, t1} {
			if got[i].Relative() {
				t.Errorf("now synced=%v: record %d is relative", nowSynced, i)
			}
			if ms(got[i].Time) != want.UnixMilli() {
				t.Errorf("now synced=%v: record %d time %d ms, want %d", nowSynced, i, ms(got[i].Time), want.UnixMilli())
			}
			if got[i].Name != "pi-7:g/temperature" || got[i].Unit != "Cel" {
				t.Errorf("record %d: name %q unit %q", i, got[i].Name, got[i].Unit)
			}
		}
		if *got[0].Value != 21.5 || *got[1].Value != 22 {
			t.Errorf("values %v %v", *got[0].Value, *got[1].Value)
		}
	}
}

// TestPackCorrected: taken unsynced in this boot, the clock jumped forward by
// three days when it synced: each reading is placed at now - age.
func TestPackCorrected(t *testing.T) {
	c := testCodec(t)
	behind := 72 * time.Hour
	rs := []sensors.Reading{
		reading("g", "temperature", 1, testNowWall.Add(-behind-30*time.Second), 970*time.Second, "b1", false),
		reading("g", "temperature", 2, testNowWall.Add(-behind-1500*time.Millisecond), 998500*time.Millisecond, "b1", false),
	}
	p, err := c.Pack(rs, nowStamp(true))
	if err != nil {
		t.Fatal(err)
	}
	got := resolved(t, p)
	for i, age := range []time.Duration{30 * time.Second, 1500 * time.Millisecond} {
		want := testNowWall.Add(-age).UnixMilli()
		if got[i].Relative() || ms(got[i].Time) != want {
			t.Errorf("record %d: time %d ms (relative %v), want absolute %d", i, ms(got[i].Time), got[i].Relative(), want)
		}
	}
}

// TestPackRelative: taken in this boot and still unsynced: no bt, t = -age.
func TestPackRelative(t *testing.T) {
	c := testCodec(t)
	rs := []sensors.Reading{
		reading("g", "temperature", 1, testNowWall.Add(-12500*time.Millisecond), 987500*time.Millisecond, "b1", false),
		reading("g", "temperature", 2, testNowWall.Add(-2*time.Second), 998*time.Second, "b1", false),
		reading("g", "temperature", 3, testNowWall, 1000*time.Second, "b1", false),
	}
	p, err := c.Pack(rs, nowStamp(false))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := senml.Decode(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r.BaseTime != 0 {
			t.Errorf("record %d has bt %v; a relative pack has none", i, r.BaseTime)
		}
	}
	if recs[0].BaseName != "pi-7:" {
		t.Errorf("bn %q", recs[0].BaseName)
	}
	got := resolved(t, p)
	for i, want := range []int64{-12500, -2000, 0} {
		if !got[i].Relative() {
			t.Errorf("record %d is not relative (time %v)", i, got[i].Time)
		}
		if ms(got[i].Time) != want {
			t.Errorf("record %d: t = %d ms, want %d", i, ms(got[i].Time), want)
		}
		if *got[i].Value != float64(i+1) {
			t.Errorf("record %d: value %v", i, *got[i].Value)
		}
	}
}

// TestPackOtherBoot: unsynced readings of an earlier boot keep their stored
// wall time, whether or not the clock is synced now.
func TestPackOtherBoot(t *testing.T) {
	c := testCodec(t)
	wall := time.Date(2026, 11, 20, 8, 0, 0, 250e6, time.UTC)
	rs := []sensors.Reading{reading("g", "temperature", 1, wall, 10*time.Second, "b0", false)}
	for _, nowSynced := range []bool{true, false} {
		p, err := c.Pack(rs, nowStamp(nowSynced))
		if err != nil {
			t.Fatal(err)
		}
		got := resolved(t, p)
		if got[0].Relative() || ms(got[0].Time) != wall.UnixMilli() {
			t.Errorf("now synced=%v: time %d ms (relative %v), want %d", nowSynced, ms(got[0].Time), got[0].Relative(), wall.UnixMilli())
		}
	}
}

// TestPackMixed: one pack with every kind of reading.
func TestPackMixed(t *testing.T) {
	c := testCodec(t)
	syncedT := testNowWall.Add(-10 * time.Minute)
	oldBootT := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rs := []sensors.Reading{
		reading("a", "x", 1, syncedT, 400*time.Second, "b1", true),                                        // synced
		reading("a", "x", 2, oldBootT, 50*time.Second, "b0", false),                                       // other boot
		reading("a", "x", 3, testNowWall.Add(-72*time.Hour-45*time.Second), 955*time.Second, "b1", false), // this boot, unsynced
		reading("a", "x", 4, testNowWall, 2000*time.Second, "b1", false),                                  // mono from the future
	}
	t.Run("now unsynced", func(t *testing.T) {
		p, err := c.Pack(rs, nowStamp(false))
		if err != nil {
			t.Fatal(err)
		}
		got := resolved(t, p)
		check := func(i int, relative bool, wantMs int64) {
			t.Helper()
			if got[i].Relative() != relative || ms(got[i].Time) != wantMs {
				t.Errorf("record %d: time %d ms relative %v; want %d relative %v", i, ms(got[i].Time), got[i].Relative(), wantMs, relative)
			}
		}
		check(0, false, syncedT.UnixMilli())
		check(1, false, oldBootT.UnixMilli())
		check(2, true, -45000)
		check(3, false, testNowWall.UnixMilli()) // uncertain: kept as stored
		for i := range got {
			if *got[i].Value != float64(i+1) {
				t.Errorf("record %d: value %v (order lost?)", i, *got[i].Value)
			}
		}
	})
	t.Run("now synced", func(t *testing.T) {
		p, err := c.Pack(rs, nowStamp(true))
		if err != nil {
			t.Fatal(err)
		}
		got := resolved(t, p)
		want := []int64{syncedT.UnixMilli(), oldBootT.UnixMilli(), testNowWall.Add(-45 * time.Second).UnixMilli(), testNowWall.UnixMilli()}
		for i, w := range want {
			if got[i].Relative() || ms(got[i].Time) != w {
				t.Errorf("record %d: time %d ms relative %v; want %d", i, ms(got[i].Time), got[i].Relative(), w)
			}
		}
	})
}

func TestPrepare(t *testing.T) {
	c := testCodec(t)
	clock := sensors.ClockFunc(func() sensors.Stamp { return nowStamp(true) })
	prep := c.Prepare(clock)

	t.Run("other content type passes", func(t *testing.T) {
		in := outbox.Batch{Count: 3, ContentType: "application/json", Payload: []byte(`{"a":1}`)}
		out, err := prep(1, in)
		if err != nil {
			t.Fatal(err)
		}
		if out.Count != 3 || out.ContentType != "application/json" || string(out.Payload) != `{"a":1}` {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("readings become SenML", func(t *testing.T) {
		rs := []sensors.Reading{
			reading("g", "temperature", 21.5, testNowWall.Add(-time.Second), 999*time.Second, "b1", true),
			reading("g", "humidity", 48, testNowWall.Add(-72*time.Hour-5*time.Second), 995*time.Second, "b1", false),
		}
		payload, err := c.Encode(rs)
		if err != nil {
			t.Fatal(err)
		}
		out, err := prep(7, outbox.Batch{Count: 99, ContentType: ContentTypeReadings, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		if out.ContentType != senml.MediaType || out.Count != 2 {
			t.Fatalf("content type %q count %d", out.ContentType, out.Count)
		}
		got := resolved(t, out.Payload)
		if got[0].Name != "pi-7:g/temperature" || got[1].Name != "pi-7:g/humidity" {
			t.Errorf("names %q %q", got[0].Name, got[1].Name)
		}
		if ms(got[1].Time) != testNowWall.Add(-5*time.Second).UnixMilli() {
			t.Errorf("humidity not re-timed: %d ms", ms(got[1].Time))
		}
		if out.Clock != "" {
			t.Errorf("clock %q for times that were all corrected", out.Clock)
		}
	})
	t.Run("uncertain times are flagged", func(t *testing.T) {
		// A batch of an earlier boot that never synced (a batch holds
		// readings of one boot).
		rs := []sensors.Reading{
			reading("g", "temperature", 21.5, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 40*time.Second, "b0", false),
			reading("g", "temperature", 20, time.Date(2026, 11, 1, 0, 0, 10, 0, time.UTC), 50*time.Second, "b0", false),
		}
		payload, err := c.Encode(rs)
		if err != nil {
			t.Fatal(err)
		}
		out, err := prep(8, outbox.Batch{Count: 2, ContentType: ContentTypeReadings, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		if out.Clock != wire.ClockUncertain {
			t.Errorf("clock %q, want %q", out.Clock, wire.ClockUncertain)
		}
	})
	t.Run("undecodable", func(t *testing.T) {
		if _, err := prep(1, outbox.Batch{Count: 1, ContentType: ContentTypeReadings, Payload: []byte{0x01, 0x02}}); err == nil {
			t.Fatal("undecodable payload accepted")
		}
	})
}

// A reading whose unit is not a SenML unit (a driver bug) is sent without
// its unit rather than making the whole batch unsendable.
func TestPackDropsUnregisteredUnit(t *testing.T) {
	c, err := New("pi-7")
	if err != nil {
		t.Fatal(err)
	}
	now := sensors.Stamp{Wall: time.Unix(1_800_000_000, 0), Mono: time.Hour, Boot: "b", Synced: true}
	rs := []sensors.Reading{
		{Sensor: "rain", Quantity: "rate", Unit: "mm/s", Value: 1, Time: now.Wall, Mono: now.Mono, Boot: "b", Synced: true},
		{Sensor: "temp", Quantity: "temperature", Unit: "Cel", Value: 20, Time: now.Wall, Mono: now.Mono, Boot: "b", Synced: true},
	}
	pack, err := c.Pack(rs, now)
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	recs, err := senml.Decode(pack)
	if err != nil {
		t.Fatal(err)
	}
	res, err := senml.Resolve(recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Unit != "" || res[1].Unit != "Cel" {
		t.Fatalf("resolved %+v: want the bad unit dropped and Cel kept", res)
	}
}
