package senml

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// Bounds of the reading times the round-trip properties draw: from 2000
// to 2100 (far above RelativeTimeLimit, so that readings a day before the
// first stay absolute), readings up to a day apart.
const (
	minPropertyUnix   = 946684800  // 2000-01-01T00:00:00Z
	maxPropertyUnix   = 4102444800 // 2100-01-01T00:00:00Z
	maxPropertySpread = 24 * time.Hour
)

// roundTripTolerance is how far a decoded time may be from the (rounded)
// reading time: a float64 holding present-day Unix seconds is precise to
// about half a microsecond, and At rounds to the microsecond.
const roundTripTolerance = 2 * time.Microsecond

// propertyNames and propertyUnits are the names and units readings draw
// from: valid SenML names, primary units and no unit.
var (
	propertyNames = []string{"a", "greenhouse/temperature", "tank-1/level", "x_y.z"}
	propertyUnits = []string{"", UnitCelsius, UnitRelativeHumidity, UnitPascal, UnitVolt}
)

// checkEncodeRoundTrip encodes readings with e (whose resolution is res)
// and checks that the pack decodes and resolves to the same names, units,
// values and times (rounded to res, within roundTripTolerance), that
// encoding is deterministic, and that re-encoding the decoded records gives
// the same bytes.
func checkEncodeRoundTrip(e *Encoder, res time.Duration, baseName string, in []Reading) error {
	data, err := e.Encode(baseName, in)
	if err != nil {
		return fmt.Errorf("Encode: %w", err)
	}
	again, err := e.Encode(baseName, in)
	if err != nil || !bytes.Equal(data, again) {
		return fmt.Errorf("Encode is not deterministic: %x vs %x (%v)", data, again, err)
	}
	recs, err := Decode(data)
	if err != nil {
		return fmt.Errorf("Decode: %w (%x)", err, data)
	}
	out, err := Resolve(recs)
	if err != nil {
		return fmt.Errorf("Resolve: %w", err)
	}
	if len(out) != len(in) {
		return fmt.Errorf("%d readings in, %d out", len(in), len(out))
	}
	for i, r := range out {
		want := in[i]
		wantAt := want.Time
		if res > 0 {
			wantAt = wantAt.Round(res)
		}
		if r.Relative() {
			return fmt.Errorf("reading %d: time %v resolved as relative (%f)", i, want.Time, r.Time)
		}
		at := r.At(time.Time{})
		if d := at.Sub(wantAt); d > roundTripTolerance || d < -roundTripTolerance {
			return fmt.Errorf("reading %d: time %v decoded as %v (%v off; resolution %v)", i, wantAt.UTC(), at.UTC(), d, res)
		}
		if r.Name != baseName+want.Name || r.Unit != want.Unit || r.Value == nil || *r.Value != want.Value {
			return fmt.Errorf("reading %d: got %+v, want %+v", i, r, want)
		}
	}
	re, err := e.EncodeRecords(recs)
	if err != nil || !bytes.Equal(re, data) {
		return fmt.Errorf("re-encoding the decoded records: %x, want %x (%v)", re, data, err)
	}
	return nil
}

// Encoding Go readings (any times, sub-second parts included, at every
// resolution) and decoding the pack gives the readings back: the
// encoder's time path (bt, t, rounding) is covered from Go values, not
// only from packs that were decoded first.
func TestEncodeRoundTripProperty(t *testing.T) {
	encoders := map[time.Duration]*Encoder{}
	for _, res := range []time.Duration{0, time.Microsecond, DefaultTimeResolution, 10 * time.Millisecond, time.Second} {
		e, err := NewEncoder(WithTimeResolution(res))
		if err != nil {
			t.Fatal(err)
		}
		encoders[res] = e
	}
	resolutions := make([]time.Duration, 0, len(encoders))
	for res := range encoders {
		resolutions = append(resolutions, res)
	}
	rapid.Check(t, func(rt *rapid.T) {
		res := rapid.SampledFrom(resolutions).Draw(rt, "resolution")
		base := time.Unix(rapid.Int64Range(minPropertyUnix, maxPropertyUnix).Draw(rt, "unix"),
			rapid.Int64Range(0, int64(time.Second)-1).Draw(rt, "nanos"))
		n := rapid.IntRange(1, 12).Draw(rt, "readings")
		in := make([]Reading, n)
		for i := range in {
			offset := time.Duration(rapid.Int64Range(-int64(maxPropertySpread), int64(maxPropertySpread)).Draw(rt, "offset"))
			if i == 0 {
				offset = 0
			}
			in[i] = Reading{
				Name:  rapid.SampledFrom(propertyNames).Draw(rt, "name"),
				Unit:  rapid.SampledFrom(propertyUnits).Draw(rt, "unit"),
				Value: rapid.Float64Range(-1e12, 1e12).Draw(rt, "value"),
				Time:  base.Add(offset),
			}
		}
		if err := checkEncodeRoundTrip(encoders[res], res, "pi-7:", in); err != nil {
			rt.Fatal(err)
		}
	})
}

// FuzzEncodeReadings is the round trip of TestEncodeRoundTripProperty from
// fuzzed times, values and resolutions: two readings, the second delta
// nanoseconds after the first.
func FuzzEncodeReadings(f *testing.F) {
	f.Add(int64(1764072000), int64(123456789), int64(1500*time.Millisecond), 21.5, uint8(1))
	f.Add(int64(1764072000), int64(999999999), int64(-time.Nanosecond), -3.25, uint8(0))
	f.Add(int64(minPropertyUnix), int64(500000000), int64(0), 0.0, uint8(2))
	f.Add(int64(maxPropertyUnix), int64(1), int64(maxPropertySpread), 1e9, uint8(3))
	f.Add(int64(1893456000), int64(250000000), int64(time.Hour+time.Millisecond), 101325.0, uint8(4))
	resolutions := []time.Duration{0, time.Microsecond, DefaultTimeResolution, 10 * time.Millisecond, time.Second}
	f.Fuzz(func(t *testing.T, unix, nanos, delta int64, value float64, resIndex uint8) {
		if unix < minPropertyUnix || unix > maxPropertyUnix || nanos < 0 || nanos >= int64(time.Second) ||
			delta < -int64(maxPropertySpread) || delta > int64(maxPropertySpread) ||
			math.IsNaN(value) || math.IsInf(value, 0) {
			t.Skip("outside the encoder's domain")
		}
		res := resolutions[int(resIndex)%len(resolutions)]
		e, err := NewEncoder(WithTimeResolution(res))
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(unix, nanos)
		in := []Reading{
			{Name: "a", Unit: UnitCelsius, Value: value, Time: at},
			{Name: "b", Value: -value, Time: at.Add(time.Duration(delta))},
		}
		if err := checkEncodeRoundTrip(e, res, "d:", in); err != nil {
			t.Fatal(err)
		}
	})
}
