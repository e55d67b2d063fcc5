package telemetry

import (
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
)

// The former stored batch layout and codec (version 1, until the agent
// wrote ContentTypeReadings version 2), kept here verbatim as the
// reference the hand-written decodeV1 is checked against.

// storedReading is one reading as kept on disk.
type storedReading struct {
	Name   string  `cbor:"1,keyasint"`
	Unit   string  `cbor:"2,keyasint,omitempty"`
	Value  float64 `cbor:"3,keyasint"`
	Wall   int64   `cbor:"4,keyasint"` // Unix nanoseconds
	Mono   int64   `cbor:"5,keyasint"` // boot-relative nanoseconds
	Synced bool    `cbor:"6,keyasint,omitempty"`
}

// storedBatch is what one outbox record holds: readings of one boot.
type storedBatch struct {
	Version  int             `cbor:"0,keyasint"`
	Boot     string          `cbor:"1,keyasint"`
	Readings []storedReading `cbor:"2,keyasint"`
}

// The former codec's modes, with the options it had.
var (
	oldEnc = mustMode(cbor.CoreDetEncOptions().EncMode())
	oldDec = mustMode(cbor.DecOptions{MaxArrayElements: senml.MaxRecords, MaxMapPairs: senml.MaxLabels, MaxNestedLevels: senml.MaxNesting}.DecMode())
)

func mustMode[M any](m M, err error) M {
	if err != nil {
		panic(err)
	}
	return m
}

// oldEncode is the former Codec.Encode.
func oldEncode(rs []sensors.Reading) ([]byte, error) {
	b := storedBatch{Version: readingsVersionV1, Boot: rs[0].Boot, Readings: make([]storedReading, len(rs))}
	for i, r := range rs {
		b.Readings[i] = storedReading{Name: r.Name(), Unit: r.Unit, Value: r.Value, Wall: r.Time.UnixNano(), Mono: int64(r.Mono), Synced: r.Synced}
	}
	return oldEnc.Marshal(b)
}

// oldDecode is the former Codec.Decode.
func oldDecode(data []byte) ([]sensors.Reading, error) {
	if len(data) > maxStoredBatch {
		return nil, fmt.Errorf("telemetry: stored batch of %d bytes (at most %d)", len(data), maxStoredBatch)
	}
	var b storedBatch
	if err := oldDec.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("telemetry: stored batch: %w", err)
	}
	if b.Version != readingsVersionV1 {
		return nil, fmt.Errorf("telemetry: stored batch version %d (this agent reads %d)", b.Version, readingsVersionV1)
	}
	if len(b.Readings) == 0 {
		return nil, fmt.Errorf("telemetry: stored batch has no readings")
	}
	rs := make([]sensors.Reading, len(b.Readings))
	for i, r := range b.Readings {
		sensor, quantity, ok := strings.Cut(r.Name, "/")
		if !ok {
			return nil, fmt.Errorf("telemetry: stored reading name %q is not <sensor>/<quantity>", r.Name)
		}
		rs[i] = sensors.Reading{Sensor: sensor, Quantity: quantity, Unit: r.Unit, Value: r.Value, Time: time.Unix(0, r.Wall), Mono: time.Duration(r.Mono), Boot: b.Boot, Synced: r.Synced}
	}
	return rs, nil
}

// sameReadings reports how got differs from want, or "" when they are the
// same readings: values compared by their bits (NaN payloads included),
// times by their Unix nanoseconds.
func sameReadings(got, want []sensors.Reading) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d readings, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Sensor != w.Sensor || g.Quantity != w.Quantity || g.Unit != w.Unit ||
			math.Float64bits(g.Value) != math.Float64bits(w.Value) ||
			g.Time.UnixNano() != w.Time.UnixNano() || g.Mono != w.Mono || g.Boot != w.Boot || g.Synced != w.Synced {
			return fmt.Sprintf("reading %d: got %+v (value bits %#x), want %+v (value bits %#x)", i, g, math.Float64bits(g.Value), w, math.Float64bits(w.Value))
		}
	}
	return ""
}

// v1Fixture is a v1 batch as the former Codec.Encode wrote it for
// v1FixtureReadings (captured from that code before version 2): float16,
// float32 and float64 values, a unit and synced left out, a negative wall
// time.
const v1FixtureHex = "" +
	"a30001016262310285a60176677265656e686f7573652f74656d7065726174757265026343656c03f94d60041b18eb47" +
	"f6283eb600051b000000e8990a460006f5a50173677265656e686f7573652f70726573737572650262506103fa47c527" +
	"59041b18ea5c3785e68e00051b000000e7aa9f1e00a401686164632f63682f3003fbbf589374bc6a7efa041b18ea5c37" +
	"d0680a80051b000000e7f5209a80a60173677265656e686f7573652f68756d6964697479026325524803fb40480ccccc" +
	"cccccd041b18eb47f6460c1b00051b000000e8b6d7ab0006f5a5016d636f756e7465722f76616c75650265636f756e74" +
	"03f90000043b000000012a05f1f80500"

// v1FixtureSenML and v1FixtureSenMLUnsynced are the SenML packs the former
// Prepare made of v1Fixture, with the clock now synchronised and not.
const v1FixtureSenML = "" +
	"85a50076677265656e686f7573652f74656d7065726174757265016343656c02f94d60216570692d373a221a6b06cdbf" +
	"a40073677265656e686f7573652f70726573737572650162506102fa47c527590623a300686164632f63682f3002fbbf" +
	"589374bc6a7efa06f9c180a40073677265656e686f7573652f68756d6964697479016325524802fb40480ccccccccccd" +
	"06f93800a4006d636f756e7465722f76616c75650165636f756e740200063903e6"

const v1FixtureSenMLUnsynced = "" +
	"85a50076677265656e686f7573652f74656d7065726174757265016343656c02f94d60061a6b06cdbf216570692d373a" +
	"a40073677265656e686f7573652f70726573737572650162506102fa47c527590624a300686164632f63682f3002fbbf" +
	"589374bc6a7efa06f9c380a40073677265656e686f7573652f68756d6964697479016325524802fb40480ccccccccccd" +
	"06fb41dac1b36fe00000a4006d636f756e7465722f76616c75650165636f756e740200063903e7"

func v1FixtureReadings() []sensors.Reading {
	return []sensors.Reading{
		{Sensor: "greenhouse", Quantity: "temperature", Unit: "Cel", Value: 21.5, Time: testNowWall.Add(-time.Second), Mono: 999 * time.Second, Boot: "b1", Synced: true},
		{Sensor: "greenhouse", Quantity: "pressure", Unit: "Pa", Value: 100942.6953125, Time: testNowWall.Add(-72*time.Hour - 5*time.Second), Mono: 995 * time.Second, Boot: "b1"},
		{Sensor: "adc", Quantity: "ch/0", Value: -1.5e-3, Time: testNowWall.Add(-72*time.Hour - 4*time.Second + 250*time.Millisecond), Mono: 996250 * time.Millisecond, Boot: "b1"},
		{Sensor: "greenhouse", Quantity: "humidity", Unit: "%RH", Value: 48.1, Time: testNowWall.Add(-500 * time.Millisecond), Mono: 999500 * time.Millisecond, Boot: "b1", Synced: true},
		{Sensor: "counter", Quantity: "value", Unit: "count", Value: 0, Time: time.Unix(-5, 7), Mono: 0, Boot: "b1"},
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A v1 record an earlier agent stored is still sent, as the very SenML
// pack the former code made of it.
func TestPrepareV1Record(t *testing.T) {
	c := testCodec(t)
	data := unhex(t, v1FixtureHex)
	if again, err := oldEncode(v1FixtureReadings()); err != nil || hex.EncodeToString(again) != v1FixtureHex {
		t.Fatalf("the test's copy of the former encoder writes %x (%v), not the fixture", again, err)
	}
	rs, err := decodeV1(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameReadings(rs, v1FixtureReadings()); d != "" {
		t.Fatal(d)
	}
	for _, tt := range []struct {
		synced bool
		want   string
	}{{true, v1FixtureSenML}, {false, v1FixtureSenMLUnsynced}} {
		clock := sensors.ClockFunc(func() sensors.Stamp { return nowStamp(tt.synced) })
		out, err := c.Prepare(clock)(3, outbox.Batch{Count: 5, ContentType: contentTypeReadingsV1, Payload: data})
		if err != nil {
			t.Fatalf("now synced=%v: %v", tt.synced, err)
		}
		if out.Count != 5 || out.ContentType != senml.MediaType || out.Clock != "" {
			t.Errorf("now synced=%v: count %d content type %q clock %q", tt.synced, out.Count, out.ContentType, out.Clock)
		}
		if got := hex.EncodeToString(out.Payload); got != tt.want {
			t.Errorf("now synced=%v: pack\n%s\nwant\n%s", tt.synced, got, tt.want)
		}
	}
	// The v1 bytes are not a version 2 batch, nor the reverse.
	if _, err := c.Decode(data); err == nil || !strings.Contains(err.Error(), contentTypeReadingsV1) {
		t.Errorf("Decode of a v1 batch: %v; want an error naming %s", err, contentTypeReadingsV1)
	}
	v2, err := c.Encode(v1FixtureReadings())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeV1(v2); err == nil {
		t.Error("decodeV1 accepted a version 2 batch")
	}
}

// v1Batch is the hex of a v1 batch of boot "b" with the given readings
// (each a reading map in hex).
func v1Batch(readings ...string) string {
	return fmt.Sprintf("a3 0001 01 6162 02 %02x %s", 0x80+len(readings), strings.Join(readings, " "))
}

// v1Good is a minimal valid reading: {1: "a/b", 3: 1.0, 4: 1, 5: 1}.
const v1Good = "a4 01 63612f62 03 f93c00 04 01 05 01"

// v1Map is a reading map in hex with these pairs (each "key value").
func v1Map(pairs ...string) string {
	return fmt.Sprintf("%02x %s", 0xa0+len(pairs), strings.Join(pairs, " "))
}

// v1Case is one input of TestDecodeV1Acceptance, also a seed of
// FuzzDecodeV1.
type v1Case struct {
	name       string
	hex        string
	want       string // "" when decodeV1 accepts
	oldAccepts bool
}

func v1Cases() []v1Case {
	name, value, wall, mono := "01 63612f62", "03 f93c00", "04 01", "05 01"
	return []v1Case{
		{"minimal", v1Batch(v1Good), "", true},
		{"non-shortest integers", v1Batch(v1Map("1801 63612f62", value, "04 1b0000000000000001", "05 1a00000001")), "", true},
		{"int64 extremes", v1Batch(v1Map(name, value, "04 3b7fffffffffffffff", "05 1b7fffffffffffffff")), "", true},
		{"empty unit and false synced written", v1Batch(v1Map(name, "02 60", value, wall, mono, "06 f4")), "", true},
		{"unsorted keys", v1Batch(v1Map(mono, wall, value, name)), "", true},
		{"unsorted batch keys", "a3 02 81 " + v1Good + " 01 6162 00 01", "", true},
		{"float64 NaN payload", v1Batch(v1Map(name, "03 fb7ff4000000000001", wall, mono)), "", true},
		{"float16 NaN payload", v1Batch(v1Map(name, "03 f97e01", wall, mono)), "", true},
		{"float16 subnormal", v1Batch(v1Map(name, "03 f98001", wall, mono)), "", true},
		{"float16 infinity", v1Batch(v1Map(name, "03 f9fc00", wall, mono)), "", true},
		{"float32", v1Batch(v1Map(name, "03 fa47c52759", wall, mono)), "", true},
		{"two readings", v1Batch(v1Good, v1Map("01 63632f64", "02 63436567", "03 f9c000", wall, mono, "06 f5")), "", true},

		{"empty input", "", "truncated", false},
		{"not a map", "80", "major type 4, not 5", false},
		{"truncated", "a3 0001 01 6162 02 81 a4 01 63612f", "3 bytes, 2 left", false},
		{"truncated head", "a3 0001 01 6162 02 81 a4 01 63612f62 03 fa47c5", "truncated", false},
		{"batch of four pairs", "a4 0001 01 6162 02 81 " + v1Good + " 03 00", "4 pairs", true},
		{"unknown batch key", "a3 0001 01 6162 03 81 " + v1Good, "unknown key 3", false},
		{"duplicate batch key", "a3 0001 00 01 02 81 " + v1Good, "duplicate key 0", true},
		{"no boot", "a2 0001 02 81 " + v1Good, "no key 1", true},
		{"no version", "a2 01 6162 02 81 " + v1Good, "no key 0", false},
		{"no readings key", "a2 0001 01 6162", "no key 2", false},
		{"negative key", "a3 20 01 01 6162 02 81 " + v1Good, "major type 1", false},
		{"text key", "a3 6130 01 01 6162 02 81 " + v1Good, "major type 3", false},
		{"null boot", "a3 0001 01 f6 02 81 " + v1Good, "not a text string", true},
		{"byte string boot", "a3 0001 01 426162 02 81 " + v1Good, "major type 2", false},
		{"invalid UTF-8 boot", "a3 0001 01 62ffff 02 81 " + v1Good, "UTF-8", false},
		{"version 2", "a3 0002 01 6162 02 81 " + v1Good, "version 2", false},
		{"float version", "a3 00f93c00 01 6162 02 81 " + v1Good, "not an integer", false},
		{"null readings", "a3 0001 01 6162 02 f6", "major type 7, not 4", false},
		{"no readings", "a3 0001 01 6162 02 80", "no readings", false},
		{"indefinite readings", "a3 0001 01 6162 02 9f " + v1Good + " ff", "indefinite", true},
		{"readings beyond the input", "a3 0001 01 6162 02 99ffff " + v1Good, "65535 items", false},
		{"reading not a map", v1Batch("01"), "major type 0, not 5", false},
		{"reading of seven pairs", v1Batch(v1Map(name, "02 60", value, wall, mono, "06 f4", "07 00")), "7 pairs", true},
		{"unknown reading key", v1Batch(v1Map(name, value, wall, mono, "07 00")), "unknown key 7", true},
		{"reading key 0", v1Batch(v1Map("00 00", name, value, wall, mono)), "unknown key 0", true},
		{"duplicate name", v1Batch(v1Map(name, "01 63632f64", value, wall, mono)), "duplicate key 1", true},
		{"no name", v1Batch(v1Map(value, wall, mono)), "no key 1", false},
		{"no value", v1Batch(v1Map(name, wall, mono)), "no key 3", true},
		{"no wall time", v1Batch(v1Map(name, value, mono)), "no key 4", true},
		{"no boot-relative time", v1Batch(v1Map(name, value, wall)), "no key 5", true},
		{"integer value", v1Batch(v1Map(name, "03 01", wall, mono)), "not a float", true},
		{"null value", v1Batch(v1Map(name, "03 f6", wall, mono)), "not a float", true},
		{"undefined value", v1Batch(v1Map(name, "03 f7", wall, mono)), "not a float", true},
		{"simple value", v1Batch(v1Map(name, "03 f820", wall, mono)), "not a float", true},
		{"float wall time", v1Batch(v1Map(name, value, "04 f93c00", mono)), "not an integer", false},
		{"wall time over int64", v1Batch(v1Map(name, value, "04 1b8000000000000000", mono)), "overflows", false},
		{"wall time under int64", v1Batch(v1Map(name, value, "04 3b8000000000000000", mono)), "overflows", false},
		{"tagged wall time", v1Batch(v1Map(name, value, "04 c101", mono)), "major type 6", true},
		{"integer synced", v1Batch(v1Map(name, value, wall, mono, "06 01")), "not true or false", false},
		{"null synced", v1Batch(v1Map(name, value, wall, mono, "06 f6")), "not true or false", true},
		{"indefinite name", v1Batch(v1Map("01 7f63612f62ff", value, wall, mono)), "indefinite", true},
		{"byte string name", v1Batch(v1Map("01 43612f62", value, wall, mono)), "major type 2", false},
		{"invalid UTF-8 name", v1Batch(v1Map("01 63612fff", value, wall, mono)), "UTF-8", false},
		{"name beyond the input", "a3 0001 01 6a61", "10 bytes, 1 left", false},
		{"name without slash", v1Batch(v1Map("01 626162", value, wall, mono)), `"ab"`, false},
		{"reserved additional information", v1Batch(v1Map(name, value, "04 1c", mono)), "reserved", false},
		{"trailing bytes", v1Batch(v1Good) + "00", "1 trailing bytes", false},
	}
}

// What decodeV1 accepts and refuses, beside what the former decoder did
// with the same bytes: where they differ, the input is not a shape the
// former encoder ever wrote (a missing or unknown key, a null, an
// indefinite length, an integer value), and decodeV1 is the stricter.
func TestDecodeV1Acceptance(t *testing.T) {
	for _, tt := range v1Cases() {
		t.Run(tt.name, func(t *testing.T) {
			data := unhex(t, tt.hex)
			rs, err := decodeV1(data)
			old, oldErr := oldDecode(data)
			if (oldErr == nil) != tt.oldAccepts {
				t.Errorf("the former decoder: %v; the table says it accepts: %v", oldErr, tt.oldAccepts)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if d := sameReadings(rs, old); oldErr == nil && d != "" {
					t.Errorf("not what the former decoder read: %s", d)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %d readings; want an error containing %q", len(rs), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}
