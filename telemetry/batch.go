package telemetry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
)

// ContentTypeReadings is the content type of the batches the agent stores in
// its outbox: readings with the clock facts needed to re-time them (see
// Codec.Prepare), in the compact binary layout of Codec.Encode, whose first
// byte is the layout's version. They are turned into SenML CBOR just before
// each send, so the server only ever sees application/senml+cbor.
//
// Records stored by earlier agents carry contentTypeReadingsV1 (CBOR);
// Prepare still reads them.
const ContentTypeReadings = "application/vnd.sioagent.readings"

// readingsVersion is the version byte of the stored batch layout that
// Encode writes and Decode reads (version 1 was CBOR, see v1.go).
const readingsVersion = 2

// Bounds of a stored batch.
const (
	// maxStoredBatch bounds a stored batch Decode is willing to read.
	maxStoredBatch = senml.MaxPackBytes
	// maxStoredReadings bounds the readings of one stored batch: a batch
	// becomes one SenML pack, which may hold no more records.
	maxStoredReadings = senml.MaxRecords
	// minStoredReading is the fewest bytes one reading takes in the
	// layout: two empty strings' lengths, the value's 8 bytes, two
	// one-byte varints and the flags.
	minStoredReading = 1 + 1 + valueBytes + 1 + 1 + 1
	// valueBytes is the size of a reading's value: float64 bits, little
	// endian.
	valueBytes = 8
)

// flagSynced is the bit of a reading's flags byte set when its clock was
// synchronised (sensors.Reading.Synced). The other bits are reserved and
// must be 0.
const flagSynced = 1 << 0

// Codec encodes stored batches and turns them into SenML packs. It is
// immutable once built and safe for concurrent use.
type Codec struct {
	senml  *senml.Encoder
	baseNm string
}

// New returns the codec of one device: its SenML base name is derived from
// deviceID (senml.DeviceBaseName).
func New(deviceID string) (*Codec, error) {
	bn, err := senml.DeviceBaseName(deviceID)
	if err != nil {
		return nil, err
	}
	se, err := senml.NewEncoder()
	if err != nil {
		return nil, err
	}
	return &Codec{senml: se, baseNm: bn}, nil
}

// Encode encodes readings (all of one boot: the first one's boot is kept)
// for the outbox, as ContentTypeReadings:
//
//	version (1 byte, = 2) | len(boot) (uvarint) | boot | count (uvarint) | count × reading
//
// where each reading is
//
//	len(name) (uvarint) | name (<sensor>/<quantity>) | len(unit) (uvarint) | unit |
//	value (float64 bits, 8 bytes little endian) | wall (varint, Unix ns) |
//	mono (varint, boot-relative ns) | flags (1 byte: bit 0 synced, others 0)
//
// Strings are UTF-8: Encode does not check them (names and units come from
// the config, which is UTF-8), Decode refuses a batch where one is not. The
// encoding of given readings is unique: Decode refuses any other
// (non-minimal varints, reserved flags, trailing bytes).
func (c *Codec) Encode(rs []sensors.Reading) ([]byte, error) {
	if len(rs) == 0 {
		return nil, errors.New("telemetry: empty batch")
	}
	boot := rs[0].Boot
	size := 1 + uvarintLen(uint64(len(boot))) + len(boot) + uvarintLen(uint64(len(rs)))
	for _, r := range rs {
		name := len(r.Sensor) + 1 + len(r.Quantity)
		size += uvarintLen(uint64(name)) + name + uvarintLen(uint64(len(r.Unit))) + len(r.Unit) +
			valueBytes + uvarintLen(zigzag(r.Time.UnixNano())) + uvarintLen(zigzag(int64(r.Mono))) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, readingsVersion)
	b = appendString(b, boot)
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		// r.Name(), without building the string.
		b = binary.AppendUvarint(b, uint64(len(r.Sensor)+1+len(r.Quantity)))
		b = append(b, r.Sensor...)
		b = append(b, '/')
		b = append(b, r.Quantity...)
		b = appendString(b, r.Unit)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Value))
		b = binary.AppendVarint(b, r.Time.UnixNano())
		b = binary.AppendVarint(b, int64(r.Mono))
		var flags byte
		if r.Synced {
			flags |= flagSynced
		}
		b = append(b, flags)
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Decode decodes a stored batch of ContentTypeReadings (see Encode) back
// into readings. It is strict: it refuses an input over maxStoredBatch
// bytes, another version, no readings or more than senml.MaxRecords, a
// length beyond the bytes left, non-minimal varints, invalid UTF-8, a name
// without "/", reserved flags and trailing bytes.
func (c *Codec) Decode(data []byte) ([]sensors.Reading, error) {
	if err := checkStoredSize(data); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("telemetry: empty stored batch")
	}
	if data[0] != readingsVersion {
		return nil, fmt.Errorf("telemetry: stored batch version %d (this agent reads version %d as %s, and version %d as %s)",
			data[0], readingsVersion, ContentTypeReadings, readingsVersionV1, contentTypeReadingsV1)
	}
	r := batchReader{rest: data[1:]}
	boot := r.text("boot id")
	count := r.uvarint("reading count")
	if r.err != nil {
		return nil, r.err
	}
	if count == 0 {
		return nil, errNoReadings
	}
	if count > maxStoredReadings {
		return nil, fmt.Errorf("telemetry: stored batch of %d readings (at most %d)", count, maxStoredReadings)
	}
	if count > uint64(len(r.rest)/minStoredReading) {
		return nil, fmt.Errorf("telemetry: stored batch of %d readings in %d bytes (a reading takes at least %d)", count, len(r.rest), minStoredReading)
	}
	rs := make([]sensors.Reading, count)
	for i := range rs {
		name := r.text("name")
		unit := r.text("unit")
		value := r.value()
		wall := r.varint("wall time")
		mono := r.varint("boot-relative time")
		flags := r.byte("flags")
		if r.err != nil {
			return nil, fmt.Errorf("%w (reading %d)", r.err, i)
		}
		if flags&^flagSynced != 0 {
			return nil, fmt.Errorf("telemetry: stored reading %d: flags %#02x set reserved bits", i, flags)
		}
		var err error
		if rs[i], err = newReading(boot, name, unit, value, wall, mono, flags&flagSynced != 0); err != nil {
			return nil, err
		}
	}
	if len(r.rest) != 0 {
		return nil, fmt.Errorf("telemetry: stored batch has %d trailing bytes", len(r.rest))
	}
	return rs, nil
}

// errNoReadings is the error for a stored batch without readings, which
// Encode never writes.
var errNoReadings = errors.New("telemetry: stored batch has no readings")

// checkStoredSize refuses a stored batch over maxStoredBatch bytes.
func checkStoredSize(data []byte) error {
	if len(data) > maxStoredBatch {
		return fmt.Errorf("telemetry: stored batch of %d bytes (at most %d)", len(data), maxStoredBatch)
	}
	return nil
}

// newReading is one decoded reading of boot, whatever the stored layout.
func newReading(boot, name, unit string, value float64, wall, mono int64, synced bool) (sensors.Reading, error) {
	sensor, quantity, ok := strings.Cut(name, "/")
	if !ok {
		return sensors.Reading{}, fmt.Errorf("telemetry: stored reading name %q is not <sensor>/<quantity>", name)
	}
	return sensors.Reading{Sensor: sensor, Quantity: quantity, Unit: unit, Value: value, Time: time.Unix(0, wall), Mono: time.Duration(mono), Boot: boot, Synced: synced}, nil
}

// batchReader reads the fields of a ContentTypeReadings batch from rest.
// After the first error every read returns a zero value and err stays.
type batchReader struct {
	rest []byte
	err  error
}

func (r *batchReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("telemetry: stored batch: "+format, args...)
	}
}

func (r *batchReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.rest)
	if n <= 0 {
		r.fail("%s: truncated or overflowing uvarint", what)
		return 0
	}
	if n != uvarintLen(v) {
		r.fail("%s: non-minimal uvarint", what)
		return 0
	}
	r.rest = r.rest[n:]
	return v
}

func (r *batchReader) varint(what string) int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.rest)
	if n <= 0 {
		r.fail("%s: truncated or overflowing varint", what)
		return 0
	}
	if n != uvarintLen(zigzag(v)) {
		r.fail("%s: non-minimal varint", what)
		return 0
	}
	r.rest = r.rest[n:]
	return v
}

// zigzag is the zig-zag encoding of v: a varint is the uvarint of it.
func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// uvarintLen is the length of the minimal uvarint encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func (r *batchReader) text(what string) string {
	n := r.uvarint(what + " length")
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.rest)) {
		r.fail("%s of %d bytes, %d left", what, n, len(r.rest))
		return ""
	}
	s := r.rest[:n]
	if !utf8.Valid(s) {
		r.fail("%s is not valid UTF-8", what)
		return ""
	}
	r.rest = r.rest[n:]
	return string(s)
}

func (r *batchReader) value() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.rest) < valueBytes {
		r.fail("value of %d bytes, %d left", valueBytes, len(r.rest))
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.rest))
	r.rest = r.rest[valueBytes:]
	return v
}

func (r *batchReader) byte(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.rest) == 0 {
		r.fail("%s: no bytes left", what)
		return 0
	}
	b := r.rest[0]
	r.rest = r.rest[1:]
	return b
}
