package telemetry

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/sioagent/sioagent/sensors"
)

// interestingFloats are values at the edges of the float16, float32 and
// float64 encodings the former encoder chose between.
var interestingFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 21.5, 0.1, 48.1, -1.5e-3, 100942.6953125,
	65504, 65505, 65520, -65504, 0x1p-24, 0x1p-25, 0x1p-14, 0x1.ffcp-15, 3.4028234663852886e38, 0x1p-149,
	1e39, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(),
}

// interestingInts are values at the edges of the CBOR integer widths.
var interestingInts = []int64{
	0, 1, -1, 23, 24, -24, -25, 255, 256, -256, -257, 65535, 65536, -65536, -65537,
	math.MaxUint32, math.MaxUint32 + 1, -math.MaxUint32 - 1, -math.MaxUint32 - 2, math.MaxInt64, math.MinInt64,
}

var textPieces = []string{"", "a", "greenhouse", "temperature", "ch/0", "é", "€", "𝄞", "Cel", "%RH", "\x00", strings.Repeat("x", 24), strings.Repeat("y", 256)}

func randomFloat(r *rand.Rand) float64 {
	switch r.IntN(4) {
	case 0:
		return interestingFloats[r.IntN(len(interestingFloats))]
	case 1:
		return float64(math.Float32frombits(r.Uint32()))
	case 2:
		return float16(uint16(r.Uint32()))
	}
	return math.Float64frombits(r.Uint64())
}

func randomInt(r *rand.Rand) int64 {
	if r.IntN(2) == 0 {
		return interestingInts[r.IntN(len(interestingInts))]
	}
	v := r.Int64() >> r.IntN(64)
	if r.IntN(2) == 0 {
		v = -v - 1
	}
	return v
}

// randomText is mostly valid UTF-8; one in 50 is not.
func randomText(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(textPieces[r.IntN(len(textPieces))])
	}
	if r.IntN(50) == 0 {
		b.WriteString("\xff")
	}
	return b.String()
}

func randomReadings(r *rand.Rand) []sensors.Reading {
	boot := randomText(r)
	rs := make([]sensors.Reading, 1+r.IntN(6))
	for i := range rs {
		rs[i] = sensors.Reading{
			// A name is split at its first slash: sensors have none.
			Sensor: strings.ReplaceAll(randomText(r), "/", "_"), Quantity: randomText(r), Unit: randomText(r), Value: randomFloat(r),
			Time: time.Unix(0, randomInt(r)), Mono: time.Duration(randomInt(r)), Boot: boot, Synced: r.IntN(2) == 0,
		}
	}
	return rs
}

// sameValues is sameReadings with any NaN equal to any other (the former
// encoder wrote every NaN as the float16 0x7e00).
func sameValues(got, want []sensors.Reading) string {
	g := append([]sensors.Reading(nil), got...)
	w := append([]sensors.Reading(nil), want...)
	for i := range min(len(g), len(w)) {
		if math.IsNaN(g[i].Value) && math.IsNaN(w[i].Value) {
			g[i].Value, w[i].Value = 0, 0
		}
	}
	return sameReadings(g, w)
}

// Random readings written by the former encoder are read by decodeV1
// exactly as the former decoder read them (both refuse the same: here,
// invalid UTF-8), and are the readings written.
func TestDecodeV1MatchesFormerDecoder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		in := randomReadings(r)
		data, err := oldEncode(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeV1(data)
		old, oldErr := oldDecode(data)
		if (err == nil) != (oldErr == nil) {
			t.Fatalf("batch %d (%x): decodeV1: %v; former decoder: %v", i, data, err, oldErr)
		}
		if err != nil {
			continue
		}
		if d := sameReadings(got, old); d != "" {
			t.Fatalf("batch %d (%x): %s", i, data, d)
		}
		if d := sameValues(got, in); d != "" {
			t.Fatalf("batch %d (%x): not the readings written: %s", i, data, d)
		}
	}
}

// The float16 conversion gives the bits the CBOR library gives, for every
// one of the 65536 values.
func TestFloat16MatchesCBORLibrary(t *testing.T) {
	for h := range 1 << 16 {
		var want float64
		if err := cbor.Unmarshal([]byte{0xf9, byte(h >> 8), byte(h)}, &want); err != nil {
			t.Fatal(err)
		}
		if got := float16(uint16(h)); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("float16(%#04x) = %v (%#x), the library gives %v (%#x)", h, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// FuzzDecodeV1 feeds decodeV1 arbitrary bytes, as a damaged record of an
// earlier agent would be: it never panics; whatever it accepts, the former
// decoder accepts with the same readings; and whatever the former decoder
// accepts, written again by the former encoder (the only writer of the
// layout), decodeV1 reads as the former decoder does.
func FuzzDecodeV1(f *testing.F) {
	f.Add(unhex(f, v1FixtureHex))
	f.Add(unhex(f, v1Batch(v1Good)))
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	for _, c := range v1Cases() {
		f.Add(unhex(f, c.hex))
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		if data, err := oldEncode(randomReadings(r)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := decodeV1(data)
		old, oldErr := oldDecode(data)
		if err == nil {
			if oldErr != nil {
				t.Fatalf("decodeV1 accepted what the former decoder refuses: %v", oldErr)
			}
			if d := sameReadings(rs, old); d != "" {
				t.Fatalf("not what the former decoder read: %s", d)
			}
		}
		if oldErr != nil {
			return
		}
		again, err := oldEncode(old)
		if err != nil {
			t.Fatalf("former encoder: %v", err)
		}
		if len(again) > maxStoredBatch {
			return
		}
		rs, err = decodeV1(again)
		if err != nil {
			t.Fatalf("decodeV1 refuses the former encoder's %x: %v", again, err)
		}
		old, oldErr = oldDecode(again)
		if oldErr != nil {
			t.Fatalf("the former decoder refuses its encoder's %x: %v", again, oldErr)
		}
		if d := sameReadings(rs, old); d != "" {
			t.Fatalf("re-encoded: not what the former decoder read: %s", d)
		}
	})
}
