package telemetry

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/sensors"
)

// The layout of Encode, byte by byte, as its doc comment gives it.
func TestEncodeLayout(t *testing.T) {
	rs := []sensors.Reading{
		{Sensor: "g", Quantity: "t", Unit: "Cel", Value: 1.5, Time: time.Unix(0, -3), Mono: 64, Boot: "b1", Synced: true},
		{Sensor: "a", Quantity: "c/0", Value: -2, Time: time.Unix(0, 1), Mono: -1, Boot: "ignored: the first reading's boot is kept"},
	}
	got, err := testCodec(t).Encode(rs)
	if err != nil {
		t.Fatal(err)
	}
	want := "02" + "02 6231" + "02" + // version, boot "b1", 2 readings
		"03 672f74" + "03 43656c" + "000000000000f83f" + "05" + "8001" + "01" + // "g/t", "Cel", 1.5, -3, 64, synced
		"05 612f632f30" + "00" + "00000000000000c0" + "02" + "01" + "00" // "a/c/0", "", -2, 1, -1, not synced
	if hex.EncodeToString(got) != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("Encode wrote\n%x\nwant\n%s", got, strings.ReplaceAll(want, " ", ""))
	}
}

// Values and times at their edges come back bit for bit.
func TestBatchRoundTripEdges(t *testing.T) {
	c := testCodec(t)
	values := []float64{math.Float64frombits(0x7ff4000000000001), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.SmallestNonzeroFloat64, math.MaxFloat64}
	times := []int64{math.MinInt64, math.MaxInt64, 0, -1, 63, 64, -64, -65}
	var in []sensors.Reading
	for i, v := range values {
		for j, ns := range times {
			in = append(in, sensors.Reading{
				Sensor: "s€", Quantity: strings.Repeat("q", 200*i), Unit: []string{"", "𝄞"}[j%2], Value: v,
				Time: time.Unix(0, ns), Mono: time.Duration(times[(j+1)%len(times)]), Synced: j%3 == 0,
			})
		}
	}
	data, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameReadings(out, in); d != "" {
		t.Fatal(d)
	}
}

// v2Batch is a batch of boot "b" with count readings, each given encoded.
func v2Batch(count uint64, readings ...[]byte) []byte {
	b := []byte{readingsVersion, 1, 'b'}
	b = binary.AppendUvarint(b, count)
	for _, r := range readings {
		b = append(b, r...)
	}
	return b
}

// v2Reading is one encoded reading, the fields given as they are written.
func v2Reading(name, unit string, wall, mono int64, flags byte) []byte {
	b := appendString(nil, name)
	b = appendString(b, unit)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(1))
	b = binary.AppendVarint(b, wall)
	b = binary.AppendVarint(b, mono)
	return append(b, flags)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Every refusal of Decode.
func TestDecodeErrors(t *testing.T) {
	c := testCodec(t)
	good := v2Reading("a/b", "Cel", 1, 1, flagSynced)
	if _, err := c.Decode(v2Batch(1, good)); err != nil {
		t.Fatalf("the tests' good batch: %v", err)
	}
	head := []byte{readingsVersion, 1, 'b', 1} // boot "b", one reading
	// upToValue is a batch of one reading up to its value: the times and
	// flags are each case's.
	upToValue := cat(head, []byte{3, 'a', '/', 'b', 0}, make([]byte, valueBytes))
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty input", nil, "empty stored batch"},
		{"oversize", append(v2Batch(1, good), make([]byte, maxStoredBatch)...), "bytes (at most"},
		{"version 1 (CBOR)", []byte{0xa3, 0x00, 0x01}, "version 163"},
		{"version 1 byte", []byte{1, 1, 'b', 1}, contentTypeReadingsV1},
		{"unknown version", cat([]byte{3}, v2Batch(1, good)[1:]), "version 3"},
		{"no boot length", []byte{readingsVersion}, "boot id length: truncated"},
		{"boot beyond the input", []byte{readingsVersion, 5, 'b'}, "boot id of 5 bytes, 1 left"},
		{"boot not UTF-8", cat([]byte{readingsVersion, 1, 0xff, 1}, good), "boot id is not valid UTF-8"},
		{"non-minimal boot length", cat([]byte{readingsVersion, 0x81, 0x00, 'b', 1}, good), "non-minimal uvarint"},
		{"no count", []byte{readingsVersion, 1, 'b'}, "reading count: truncated"},
		{"overflowing count", cat([]byte{readingsVersion, 1, 'b'}, bytes.Repeat([]byte{0xff}, 10), []byte{1}), "overflowing uvarint"},
		{"no readings", v2Batch(0), "no readings"},
		{"too many readings", v2Batch(maxStoredReadings+1, good), "at most 65536"},
		{"more readings than bytes", v2Batch(2, good), "a reading takes at least"},
		{"name beyond the input", cat(head, []byte{40}, bytes.Repeat([]byte{'x'}, minStoredReading)), "name of 40 bytes"},
		{"name not UTF-8", v2Batch(1, v2Reading("a/\xff", "Cel", 1, 1, 0)), "name is not valid UTF-8"},
		{"unit not UTF-8", v2Batch(1, v2Reading("a/b", "\xc3", 1, 1, 0)), "unit is not valid UTF-8"},
		{"unit beyond the input", cat(head, []byte{3, 'a', '/', 'b', 13}, bytes.Repeat([]byte{'x'}, 12)), "unit of 13 bytes, 12 left"},
		{"value truncated", cat(head, []byte{8}, []byte("a/bcdefg"), []byte{0}, make([]byte, valueBytes-1)), "value of 8 bytes, 7 left"},
		{"wall time truncated", cat(upToValue, []byte{0x80}), "wall time: truncated"},
		{"overflowing wall time", cat(upToValue, bytes.Repeat([]byte{0xff}, 10), []byte{1, 2, 0}), "wall time: truncated or overflowing varint"},
		{"non-minimal boot-relative time", cat(upToValue, []byte{2, 0x82, 0x00, 0}), "boot-relative time: non-minimal varint"},
		{"no flags", cat(upToValue, []byte{2, 2}), "flags: no bytes left"},
		{"reserved flags", v2Batch(1, v2Reading("a/b", "", 1, 1, 1<<1)), "reserved bits"},
		{"name without slash", v2Batch(1, v2Reading("noslash", "", 1, 1, 0)), `"noslash"`},
		{"trailing bytes", append(v2Batch(1, good), 0), "1 trailing bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := c.Decode(tt.data)
			if err == nil {
				t.Fatalf("Decode succeeded with %d readings", len(rs))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// Encode allocates exactly the bytes it writes.
func TestEncodeSizesExactly(t *testing.T) {
	rs := v1FixtureReadings()
	rs[0].Unit = strings.Repeat("u", 200)
	rs[1].Time = time.Unix(0, math.MinInt64)
	data, err := testCodec(t).Encode(rs)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != cap(data) {
		t.Errorf("Encode wrote %d bytes in a buffer of %d", len(data), cap(data))
	}
}
