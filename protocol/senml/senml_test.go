package senml

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

func f(x float64) *float64 { return &x }
func s(x string) *string   { return &x }
func b(x bool) *bool       { return &x }

func unhex(t testing.TB, parts ...string) []byte {
	t.Helper()
	h := strings.ReplaceAll(strings.Join(parts, ""), " ", "")
	out, err := hex.DecodeString(h)
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return out
}

// rfcBaseName is the base name used throughout RFC 8428 section 5.
const rfcBaseName = "urn:dev:ow:10e2073a01080063:"

// rfc512 is based on RFC 8428 section 5.1.2 ("Multiple Data Points"): the
// first example's base name and the second example's records, without the
// second example's bt, bu and bver. It is NOT the pack the RFC dumps in
// CBOR in section 6 (that one has bt, bu, bver 5, the 27-character base name
// "...0108006:" and an explicit t of 0): rfcOrderHex and detHex below are
// hand-assembled, not copied from the RFC. TestGoldenRFC8428Section6Dump
// checks the RFC's own bytes.
var rfc512 = []Record{
	{BaseName: rfcBaseName, Name: "voltage", Unit: UnitVolt, Value: f(120.1)},
	{Name: "current", Time: -5, Value: f(1.2)},
	{Name: "current", Time: -4, Value: f(1.3)},
	{Name: "current", Time: -3, Value: f(1.4)},
	{Name: "current", Time: -2, Value: f(1.5)},
	{Name: "current", Time: -1, Value: f(1.6)},
	{Name: "current", Value: f(1.7)},
}

// Hand-assembled CBOR of rfc512 (not the RFC's dump), one line per record. Text strings:
// 78 1c + 28 bytes "urn:dev:ow:10e2073a01080063:", 67 "voltage",
// 67 "current", 61 "V". Integers t=-5..-1 are 24..20; 1.5 is the float16
// f9 3e00; other values are float64 (fb).
const (
	hexBN      = "78 1c 75726e3a6465763a6f773a31306532303733613031303830303633 3a"
	hexVoltage = "67 766f6c74616765"
	hexCurrent = "67 63757272656e74"
)

// rfcOrderHex keeps the label order the RFC's JSON uses (bn, n, u, t, v).
var rfcOrderHex = []string{
	"87",
	"a4 21 " + hexBN + " 00 " + hexVoltage + " 01 6156 02 fb405e066666666666",
	"a3 00 " + hexCurrent + " 06 24 02 fb3ff3333333333333",
	"a3 00 " + hexCurrent + " 06 23 02 fb3ff4cccccccccccd",
	"a3 00 " + hexCurrent + " 06 22 02 fb3ff6666666666666",
	"a3 00 " + hexCurrent + " 06 21 02 f93e00",
	"a3 00 " + hexCurrent + " 06 20 02 fb3ff999999999999a",
	"a2 00 " + hexCurrent + " 02 fb3ffb333333333333",
}

// detHex is the same pack in core deterministic order: keys sorted by their
// encoded bytes, so 00 (n) < 01 (u) < 02 (v) < 06 (t) < 21 (bn).
var detHex = []string{
	"87",
	"a4 00 " + hexVoltage + " 01 6156 02 fb405e066666666666 21 " + hexBN,
	"a3 00 " + hexCurrent + " 02 fb3ff3333333333333 06 24",
	"a3 00 " + hexCurrent + " 02 fb3ff4cccccccccccd 06 23",
	"a3 00 " + hexCurrent + " 02 fb3ff6666666666666 06 22",
	"a3 00 " + hexCurrent + " 02 f93e00 06 21",
	"a3 00 " + hexCurrent + " 02 fb3ff999999999999a 06 20",
	"a2 00 " + hexCurrent + " 02 fb3ffb333333333333",
}

// TestGoldenRFC8428Section6 checks the encoding of rfc512 against the
// hand-assembled bytes, in deterministic and in RFC label order.
func TestGoldenRFC8428Section6(t *testing.T) {
	// Deterministic encoding (what Encoder produces).
	got, err := EncodeRecords(rfc512)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, detHex...); !bytes.Equal(got, want) {
		t.Fatalf("deterministic encoding:\n got %x\nwant %x", got, want)
	}
	// The same values with the RFC's label order (unsorted, preferred
	// serialization): byte for byte the hand-assembled RFC-order dump.
	opts := cbor.PreferredUnsortedEncOptions()
	mode, err := opts.EncMode()
	if err != nil {
		t.Fatal(err)
	}
	e := &Encoder{mode: mode}
	got, err = e.marshal(rfc512)
	if err != nil {
		t.Fatal(err)
	}
	rfcBytes := unhex(t, rfcOrderHex...)
	if !bytes.Equal(got, rfcBytes) {
		t.Fatalf("RFC-order encoding:\n got %x\nwant %x", got, rfcBytes)
	}
	if len(rfcBytes) != len(unhex(t, detHex...)) {
		t.Fatal("orders differ in length")
	}
	// Decoding the RFC-order bytes gives the RFC's records back.
	dec, err := Decode(rfcBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dec, rfc512) {
		t.Fatalf("decoded %+v", dec)
	}
	res, err := Resolve(dec)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Name != rfcBaseName+"voltage" || res[1].Name != rfcBaseName+"current" ||
		res[1].Time != -5 || !res[1].Relative() || *res[6].Value != 1.7 {
		t.Fatalf("resolved %+v", res)
	}
}

// TestRFCExamples re-types the other representable examples of RFC 8428
// section 5 and checks they round-trip and resolve as section 5.1.4 says.
func TestRFCExamples(t *testing.T) {
	const bt = 1.276020076001e+09
	tests := []struct {
		name    string
		records []Record
		check   func(t *testing.T, r []Resolved)
	}{
		{"5.1.1 single datapoint", []Record{
			{Name: "urn:dev:ow:10e2073a01080063", Unit: UnitCelsius, Value: f(23.1)},
		}, func(t *testing.T, r []Resolved) {
			if r[0].Name != "urn:dev:ow:10e2073a01080063" || r[0].Unit != "Cel" || *r[0].Value != 23.1 || r[0].Time != 0 {
				t.Errorf("%+v", r[0])
			}
		}},
		{"5.1.2 multiple data points, second example (base name with the trailing 3)", []Record{
			{BaseName: rfcBaseName, BaseTime: bt, BaseUnit: UnitAmpere, BaseVersion: 5, Name: "voltage", Unit: UnitVolt, Value: f(120.1)},
			{Name: "current", Time: -5, Value: f(1.2)},
			{Name: "current", Time: -4, Value: f(1.3)},
			{Name: "current", Time: -3, Value: f(1.4)},
			{Name: "current", Time: -2, Value: f(1.5)},
			{Name: "current", Time: -1, Value: f(1.6)},
			{Name: "current", Value: f(1.7)},
		}, func(t *testing.T, r []Resolved) {
			if r[0].Name != rfcBaseName+"voltage" || r[0].Unit != "V" || r[0].Time != bt {
				t.Errorf("%+v", r[0])
			}
			for i, want := range []float64{1.276020071001e+09, 1.276020072001e+09, 1.276020073001e+09, 1.276020074001e+09, 1.276020075001e+09, 1.276020076001e+09} {
				got := r[i+1]
				if got.Name != rfcBaseName+"current" || got.Unit != "A" || math.Abs(got.Time-want) > 1e-6 || got.Relative() {
					t.Errorf("record %d: %+v", i+1, got)
				}
			}
			at := r[0].At(time.Time{})
			if at.Unix() != 1276020076 || at.Nanosecond()/int(time.Millisecond) != 1 {
				t.Errorf("At = %v", at)
			}
		}},
		{"5.1.5 multiple data types", []Record{
			{BaseName: rfcBaseName, Name: "temp", Unit: UnitCelsius, Value: f(23.1)},
			{Name: "label", StringValue: s("Machine Room")},
			{Name: "open", BoolValue: b(false)},
			{Name: "nfc-reader", DataValue: []byte("hi \n")}, // JSON "aGkgCg"
		}, func(t *testing.T, r []Resolved) {
			if *r[1].StringValue != "Machine Room" || *r[2].BoolValue || string(r[3].DataValue) != "hi \n" || r[3].Name != rfcBaseName+"nfc-reader" {
				t.Errorf("%+v", r)
			}
		}},
		{"5.1.3 multiple measurements (first records, resolved as in 5.1.4)", []Record{
			{BaseName: rfcBaseName, BaseTime: 1.320067464e+09, BaseUnit: UnitRelativeHumidity, Value: f(20)},
			{Unit: "lon", Value: f(24.30621)},
			{Unit: "lat", Value: f(60.07965)},
			{Time: 60, Value: f(20.3)},
			{Unit: "%EL", Time: 150, Value: f(98)},
		}, func(t *testing.T, r []Resolved) {
			if r[0].Name != rfcBaseName || r[0].Unit != "%RH" || r[1].Unit != "lon" || r[3].Unit != "%RH" || r[3].Time != 1.320067524e+09 {
				t.Errorf("%+v", r)
			}
		}},
		{"sum (counter) without value", []Record{
			{BaseName: "pi-7:", BaseSum: 100, Name: "rain", Unit: UnitCount, Sum: f(5)},
		}, func(t *testing.T, r []Resolved) {
			if r[0].Value != nil || *r[0].Sum != 105 {
				t.Errorf("%+v", r[0])
			}
		}},
		{"empty data value", []Record{{Name: "blob", DataValue: []byte{}}}, func(t *testing.T, r []Resolved) {
			if r[0].DataValue == nil || len(r[0].DataValue) != 0 {
				t.Errorf("%+v", r[0])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := EncodeRecords(tc.records)
			if err != nil {
				t.Fatal(err)
			}
			again, err := EncodeRecords(tc.records)
			if err != nil || !bytes.Equal(data, again) {
				t.Fatal("encoding is not deterministic")
			}
			dec, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dec, tc.records) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", dec, tc.records)
			}
			res, err := Resolve(dec)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, res)
		})
	}
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// batch returns rounds sampling rounds of temperature, humidity and
// pressure, 10 s apart.
func batch(rounds int) []Reading {
	out := make([]Reading, 0, 3*rounds)
	for i := range rounds {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		out = append(out,
			Reading{Name: "greenhouse/temperature", Unit: UnitCelsius, Value: 21.5 + float64(i%17)*0.13, Time: at},
			Reading{Name: "greenhouse/humidity", Unit: UnitRelativeHumidity, Value: 55.2 + float64(i%11)*0.7, Time: at},
			Reading{Name: "greenhouse/pressure", Unit: UnitPascal, Value: 101325 + float64(i%23)*3.25, Time: at.Add(150 * time.Millisecond)},
		)
	}
	return out
}

func TestEncodeReadingsRoundTrip(t *testing.T) {
	bn, err := DeviceBaseName("pi-7")
	if err != nil {
		t.Fatal(err)
	}
	in := batch(5)
	data, err := Encode(bn, in)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].BaseName != "pi-7:" || recs[0].BaseTime != float64(t0.Unix()) || recs[0].Time != 0 {
		t.Fatalf("first record %+v", recs[0])
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].BaseName != "" || recs[i].BaseTime != 0 {
			t.Fatalf("record %d repeats base fields: %+v", i, recs[i])
		}
	}
	res, err := Resolve(recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		want := in[i]
		if r.Name != "pi-7:"+want.Name || r.Unit != want.Unit || *r.Value != want.Value || !r.At(time.Time{}).Equal(want.Time) {
			t.Errorf("reading %d: got %+v at %v, want %+v", i, r, r.At(time.Time{}), want)
		}
	}
}

func TestEncoderTimeResolution(t *testing.T) {
	e, err := NewEncoder(WithTimeResolution(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	in := []Reading{
		{Name: "a", Value: 1, Time: t0.Add(400 * time.Millisecond)},
		{Name: "a", Value: 2, Time: t0.Add(10*time.Second + 300*time.Millisecond)},
	}
	data, err := e.Encode("d:", in)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].BaseTime != float64(t0.Unix()) || recs[1].Time != 10 {
		t.Fatalf("%+v", recs)
	}
	// Full precision keeps the milliseconds.
	e, err = NewEncoder(WithTimeResolution(0))
	if err != nil {
		t.Fatal(err)
	}
	data, err = e.Encode("d:", in)
	if err != nil {
		t.Fatal(err)
	}
	recs, err = Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(recs[1].Time-9.9) > 1e-9 {
		t.Fatalf("%+v", recs)
	}
}

func TestResolvedAtRelative(t *testing.T) {
	r := Resolved{Time: -60}
	if !r.Relative() || !r.At(t0).Equal(t0.Add(-time.Minute)) {
		t.Fatalf("At = %v", r.At(t0))
	}
}

func TestEncodeErrors(t *testing.T) {
	ok := Reading{Name: "x", Value: 1, Time: t0}
	tests := []struct {
		name     string
		bn       string
		readings []Reading
	}{
		{"no readings", "d:", nil},
		{"zero time", "d:", []Reading{{Name: "x", Value: 1}}},
		{"NaN", "d:", []Reading{{Name: "x", Value: math.NaN(), Time: t0}}},
		{"Inf", "d:", []Reading{ok, {Name: "x", Value: math.Inf(-1), Time: t0}}},
		{"bad name char", "d:", []Reading{{Name: "a b", Value: 1, Time: t0}}},
		{"empty name", "", []Reading{{Value: 1, Time: t0}}},
		{"leading dash", "-d:", []Reading{ok}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Encode(tc.bn, tc.readings); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := DeviceBaseName("a:b"); err == nil {
		t.Error("DeviceBaseName accepted ':'")
	}
	if _, err := DeviceBaseName(""); err == nil {
		t.Error("DeviceBaseName accepted empty id")
	}
}

// invalidInputs are CBOR inputs Decode or Resolve must reject.
func invalidInputs(t testing.TB) map[string][]byte {
	h := func(s string) []byte { return unhex(t, s) }
	tooMany := append(h("9a00010001"), bytes.Repeat(h("a10061"+"78"), MaxRecords+1)...) // 65537 claimed
	manyPairs := h("b841")                                                              // 65 pairs
	for i := range 65 {
		manyPairs = append(manyPairs, 0x78, 0x02, byte('a'+i/26), byte('a'+i%26), 0xf5)
	}
	deep := h("81a1006161")
	deep = append(h("81a16178"), bytes.Repeat([]byte{0x81}, 10)...)
	deep = append(deep, 0xf5)
	return map[string][]byte{
		"empty":                    {},
		"not an array":             h("a100617a"),
		"empty array":              h("80"),
		"array of ints":            h("8101"),
		"truncated":                h("81a100"),
		"trailing bytes":           h("81a2006178020100"),
		"duplicate label":          h("81a300617802010002"),
		"too many records":         tooMany,
		"too many labels":          manyPairs,
		"nested too deep":          deep,
		"invalid utf-8 name":       h("81a20061ff0201"),
		"name is int":              h("81a200010201"),
		"value is text":            h("81a2006178026131"),
		"negative bver":            h("81a3 20 20 00 6178 02 01"),
		"bver too new":             h("81a3200b00617802 01"),
		"must-understand label":    h("81a30061780201 62785f f5"),
		"two values":               h("81a300617802010 4f5"),
		"no value":                 h("81a1006178"),
		"bad name char":            h("81a200626120 0201"),
		"name starts with dot":     h("81a200622e61 0201"),
		"no name":                  h("81a10201"),
		"NaN value":                h("81a200617802f97e00"),
		"Inf time":                 h("81a30061780201 06f97c00"),
		"negative update time":     h("81a30061780201 0720"),
		"decimal fraction tag 4":   h("81a2006178 02c482 2118 7b"),
		"value is indefinite text": h("81a20061780 27fff"),
		"array header claims 2^32": h("9b0000000100000000"),
		"too large":                make([]byte, MaxPackBytes+1),
	}
}

func TestDecodeInvalid(t *testing.T) {
	for name, data := range invalidInputs(t) {
		t.Run(name, func(t *testing.T) {
			recs, err := Decode(data)
			if err == nil {
				_, err = Resolve(recs)
			}
			if err == nil {
				t.Fatalf("accepted %x", data)
			}
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrEmptyPack) && !errors.Is(err, ErrTooLarge) {
				t.Errorf("error %v does not wrap a package error", err)
			}
		})
	}
}

func TestDecodeIgnoresUnknownLabels(t *testing.T) {
	// {0:"x", 2:1, "foo":true, 9:0}: unknown labels without "_" are ignored.
	recs, err := Decode(unhex(t, "81a4006178020163666f6ff50900"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Resolve(recs); err != nil {
		t.Fatal(err)
	}
}

// TestBatchSize checks a batch of 50 sampling rounds of 3 quantities (150
// readings) is well under the server's default 1 MB frame and logs the
// bytes per reading.
func TestBatchSize(t *testing.T) {
	bn, err := DeviceBaseName("pi-7")
	if err != nil {
		t.Fatal(err)
	}
	in := batch(50)
	data, err := Encode(bn, in)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 1 << 20
	if len(data) > limit/100 {
		t.Fatalf("batch is %d bytes, want well under %d", len(data), limit)
	}
	t.Logf("%d readings: %d bytes, %.1f bytes/reading", len(in), len(data), float64(len(data))/float64(len(in)))
}

func BenchmarkEncode(b *testing.B) {
	in := batch(50)
	e, err := NewEncoder()
	if err != nil {
		b.Fatal(err)
	}
	var n int
	for b.Loop() {
		data, err := e.Encode("pi-7:", in)
		if err != nil {
			b.Fatal(err)
		}
		n = len(data)
	}
	b.ReportMetric(float64(n)/float64(len(in)), "bytes/reading")
}

func BenchmarkDecodeResolve(b *testing.B) {
	data, err := Encode("pi-7:", batch(50))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		recs, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Resolve(recs); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleEncode() {
	bn, _ := DeviceBaseName("pi-7")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	data, err := Encode(bn, []Reading{
		{Name: "greenhouse/temperature", Unit: UnitCelsius, Value: 21.5, Time: at},
		{Name: "greenhouse/humidity", Unit: UnitRelativeHumidity, Value: 55, Time: at.Add(2 * time.Second)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	recs, _ := Decode(data)
	res, _ := Resolve(recs)
	fmt.Println(len(data), "bytes")
	for _, r := range res {
		fmt.Println(r.Name, *r.Value, r.Unit, r.At(time.Time{}).UTC().Format(time.RFC3339))
	}
	// Output:
	// 80 bytes
	// pi-7:greenhouse/temperature 21.5 Cel 2026-01-02T03:04:05Z
	// pi-7:greenhouse/humidity 55 %RH 2026-01-02T03:04:07Z
}
