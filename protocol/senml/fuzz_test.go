package senml

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

// FuzzDecode checks Decode and Resolve never panic, and that any pack they
// accept re-encodes to a pack that decodes and resolves to the same values,
// unless it has a unit that fails CheckUnit, which the encoder rejects. A
// pack of plain numeric readings also goes through Encoder.Encode as Go
// readings (the base time and relative times the encoder computes).
func FuzzDecode(f *testing.F) {
	fullPrecision, err := NewEncoder(WithTimeResolution(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(unhex(f, rfcOrderHex...))
	f.Add(unhex(f, detHex...))
	f.Add(unhex(f, rfc8428Section6Dump...))
	for _, in := range invalidInputs(f) {
		if len(in) < 4096 {
			f.Add(in)
		}
	}
	if data, err := Encode("pi-7:", batch(2)); err == nil {
		f.Add(data)
	}
	// Sub-second base and relative times.
	subSecond := batch(2)
	for i := range subSecond {
		subSecond[i].Time = subSecond[i].Time.Add(time.Duration(i+1)*123*time.Millisecond + 456*time.Microsecond)
	}
	if data, err := Encode("pi-7:", subSecond); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Decode(data)
		if err != nil {
			return
		}
		res, err := Resolve(recs)
		if err != nil {
			return
		}
		out, err := EncodeRecords(recs)
		if !unitsOK(recs) {
			// Decode accepts any unit; the encoder only primary ones.
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("pack with a non-primary unit: EncodeRecords error = %v, want ErrInvalid", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("re-encode of accepted pack failed: %v", err)
		}
		recs2, err := Decode(out)
		if err != nil {
			t.Fatalf("decode of re-encoded pack failed: %v (%x)", err, out)
		}
		res2, err := Resolve(recs2)
		if err != nil {
			t.Fatalf("resolve of re-encoded pack failed: %v", err)
		}
		if !sameResolved(res, res2) {
			t.Fatalf("round trip changed values:\n%+v\n%+v", res, res2)
		}
		again, err := EncodeRecords(recs2)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("encoding not stable: %x vs %x", out, again)
		}
		// The same values as Go readings, through the encoder's time path.
		if in, ok := asReadings(res); ok {
			if err := checkEncodeRoundTrip(fullPrecision, 0, "", in); err != nil {
				t.Fatalf("readings of an accepted pack: %v", err)
			}
		}
	})
}

// asReadings returns res as readings for Encoder.Encode when every record
// is a plain numeric reading (v only) at an absolute time in the range of
// the round-trip properties (encode_property_test.go).
func asReadings(res []Resolved) ([]Reading, bool) {
	in := make([]Reading, len(res))
	for i, r := range res {
		if r.Value == nil || r.Sum != nil || r.UpdateTime != 0 || r.Time < minPropertyUnix || r.Time > maxPropertyUnix {
			return nil, false
		}
		in[i] = Reading{Name: r.Name, Unit: r.Unit, Value: *r.Value, Time: r.At(time.Time{})}
		if d := in[i].Time.Sub(in[0].Time); d > maxPropertySpread || d < -maxPropertySpread {
			return nil, false
		}
	}
	return in, true
}

func sameResolved(a, b []Resolved) bool {
	if len(a) != len(b) {
		return false
	}
	eqf := func(x, y *float64) bool {
		if x == nil || y == nil {
			return x == y
		}
		return *x == *y || (math.IsNaN(*x) && math.IsNaN(*y))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.Unit != y.Unit || x.Time != y.Time || x.UpdateTime != y.UpdateTime ||
			!eqf(x.Value, y.Value) || !eqf(x.Sum, y.Sum) ||
			!reflect.DeepEqual(x.StringValue, y.StringValue) || !reflect.DeepEqual(x.BoolValue, y.BoolValue) ||
			(x.DataValue == nil) != (y.DataValue == nil) || !bytes.Equal(x.DataValue, y.DataValue) {
			return false
		}
	}
	return true
}

// unitsOK reports whether every u and bu of recs passes CheckUnit.
func unitsOK(recs []Record) bool {
	for _, r := range recs {
		if CheckUnit(r.Unit) != nil || CheckUnit(r.BaseUnit) != nil {
			return false
		}
	}
	return true
}
