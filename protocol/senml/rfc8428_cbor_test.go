package senml

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// rfc8428Section6Dump is the hex dump printed in RFC 8428 section 6, copied
// byte for byte (offsets and the ASCII column dropped), from
// https://www.rfc-editor.org/rfc/rfc8428#section-6 (text read from
// https://github.com/core-wg/senml-spec/blob/master/rfc8428.txt, page 20).
// It encodes the second example of section 5.1.2 ("Multiple Data Points"),
// whose JSON is
//
//	[{"bn":"urn:dev:ow:10e2073a0108006:","bt":1.276020076001e+09,
//	  "bu":"A","bver":5,"n":"voltage","u":"V","v":120.1},
//	 {"n":"current","t":-5,"v":1.2}, ... {"n":"current","v":1.7}]
//
// Note the RFC's own quirks, kept as printed: the base name has 27
// characters ("...0108006:", not the "...01080063:" of the first example),
// bver is 5, and the last record carries an explicit t of 0 (06 00) where
// the JSON omits t.
var rfc8428Section6Dump = []string{
	"87 a7 21 78 1b 75 72 6e 3a 64 65 76 3a 6f 77 3a",
	"31 30 65 32 30 37 33 61 30 31 30 38 30 30 36 3a",
	"22 fb 41 d3 03 a1 5b 00 10 62 23 61 41 20 05 00",
	"67 76 6f 6c 74 61 67 65 01 61 56 02 fb 40 5e 06",
	"66 66 66 66 66 a3 00 67 63 75 72 72 65 6e 74 06",
	"24 02 fb 3f f3 33 33 33 33 33 33 a3 00 67 63 75",
	"72 72 65 6e 74 06 23 02 fb 3f f4 cc cc cc cc cc",
	"cd a3 00 67 63 75 72 72 65 6e 74 06 22 02 fb 3f",
	"f6 66 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e",
	"74 06 21 02 f9 3e 00 a3 00 67 63 75 72 72 65 6e",
	"74 06 20 02 fb 3f f9 99 99 99 99 99 9a a3 00 67",
	"63 75 72 72 65 6e 74 06 00 02 fb 3f fb 33 33 33",
	"33 33 33",
}

// rfc8428Section6Len is the length the dump ends with (00c3).
const rfc8428Section6Len = 0xc3

// rfc8428Section6BaseName is the base name as printed in the dump.
const rfc8428Section6BaseName = "urn:dev:ow:10e2073a0108006:"

// rfc8428Section6BaseTime is bt, 1.276020076001e+09 (Tue Jun 8 18:01:16.001
// UTC 2010); on the wire fb 41 d3 03 a1 5b 00 10 62.
const rfc8428Section6BaseTime = 1.276020076001e+09

// rfc8428Section6Records is the CBOR diagnostic notation printed under the
// dump in RFC 8428 section 6, as Records.
var rfc8428Section6Records = []Record{
	{BaseName: rfc8428Section6BaseName, BaseTime: rfc8428Section6BaseTime, BaseUnit: UnitAmpere, BaseVersion: 5,
		Name: "voltage", Unit: UnitVolt, Value: f(120.1)},
	{Name: "current", Time: -5, Value: f(1.2)},
	{Name: "current", Time: -4, Value: f(1.3)},
	{Name: "current", Time: -3, Value: f(1.4)},
	{Name: "current", Time: -2, Value: f(1.5)},
	{Name: "current", Time: -1, Value: f(1.6)},
	{Name: "current", Time: 0, Value: f(1.7)}, // explicit 6: 0 on the wire
}

// ourSection6Hex is what Encoder produces for rfc8428Section6Records. It
// differs from the RFC's dump in two ways, both allowed by RFC 8428
// section 6 (which fixes the labels and the number values, not the map
// order, and treats an absent t as 0, section 4.5.3):
//
//  1. Map keys are in core deterministic order (RFC 8949 section 4.2.1:
//     sorted by encoded bytes, so 00 n, 01 u, 02 v, 06 t, 20 bver, 21 bn,
//     22 bt, 23 bu), where the RFC keeps the JSON order (bn, bt, bu, bver,
//     n, u, v and n, t, v).
//  2. A zero t is omitted, so the last record is a2 {n, v} instead of the
//     RFC's a3 {n, t: 0, v}: two bytes shorter.
//
// The number encodings are the same as the RFC's: t as small negative
// integers (24..20), 1.5 as the half-precision float f9 3e00, the other
// values and bt as float64 (fb), because no shorter float holds them
// exactly.
var ourSection6Hex = []string{
	"87",
	"a7 00 67 766f6c74616765 01 6156 02 fb405e066666666666 20 05" +
		" 21 781b 75726e3a6465763a6f773a3130653230373361303130383030363a" +
		" 22 fb41d303a15b001062 23 6141",
	"a3 00 " + hexCurrent + " 02 fb3ff3333333333333 06 24",
	"a3 00 " + hexCurrent + " 02 fb3ff4cccccccccccd 06 23",
	"a3 00 " + hexCurrent + " 02 fb3ff6666666666666 06 22",
	"a3 00 " + hexCurrent + " 02 f93e00 06 21",
	"a3 00 " + hexCurrent + " 02 fb3ff999999999999a 06 20",
	"a2 00 " + hexCurrent + " 02 fb3ffb333333333333",
}

// TestGoldenRFC8428Section6Dump decodes the exact bytes printed in RFC 8428
// section 6 and checks the values the RFC gives for them, then checks what
// Encoder makes of the same records.
func TestGoldenRFC8428Section6Dump(t *testing.T) {
	rfcBytes := unhex(t, rfc8428Section6Dump...)
	if len(rfcBytes) != rfc8428Section6Len {
		t.Fatalf("dump is %d bytes, the RFC says %d", len(rfcBytes), rfc8428Section6Len)
	}
	recs, err := Decode(rfcBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(recs, rfc8428Section6Records) {
		t.Fatalf("decoded:\n got %+v\nwant %+v", recs, rfc8428Section6Records)
	}
	res, err := Resolve(recs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Name != rfc8428Section6BaseName+"voltage" || res[0].Unit != "V" || *res[0].Value != 120.1 ||
		res[0].Time != rfc8428Section6BaseTime {
		t.Errorf("record 0: %+v", res[0])
	}
	// Records 1..6: current in A (the base unit) at bt-5 s ... bt, each
	// second of the 5 before Tue Jun 8 18:01:16.001 UTC 2010 (section 5.1.2).
	last := time.Date(2010, time.June, 8, 18, 1, 16, int(time.Millisecond), time.UTC)
	for i, want := range []float64{1.2, 1.3, 1.4, 1.5, 1.6, 1.7} {
		r := res[i+1]
		at := last.Add(time.Duration(i-5) * time.Second)
		if r.Name != rfc8428Section6BaseName+"current" || r.Unit != "A" || *r.Value != want ||
			r.Relative() || !r.At(time.Time{}).Equal(at) {
			t.Errorf("record %d: %+v at %v, want %v A at %v", i+1, r, r.At(time.Time{}).UTC(), want, at)
		}
	}

	// Our Encoder's bytes for the same records: see ourSection6Hex for why
	// they differ from the RFC's.
	ours, err := EncodeRecords(recs)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, ourSection6Hex...); !bytes.Equal(ours, want) {
		t.Fatalf("Encoder output:\n got %x\nwant %x", ours, want)
	}
	if bytes.Equal(ours, rfcBytes) || len(ours) != len(rfcBytes)-2 {
		t.Fatalf("expected our encoding to be the RFC's minus the explicit t: 0 (%d vs %d bytes)", len(ours), len(rfcBytes))
	}
	// Both encodings carry the same pack.
	again, err := Decode(ours)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, recs) {
		t.Fatalf("re-decoded:\n got %+v\nwant %+v", again, recs)
	}
}
