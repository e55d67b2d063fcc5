// Package senml encodes and decodes sensor readings as SenML packs
// (RFC 8428) in the CBOR representation (application/senml+cbor), using the
// RFC's integer labels.
//
// The package is pure: it starts no goroutines and does no I/O.
//
// # Base name convention
//
// A pack produced by [Encode] carries the device identity once, in the base
// name (bn) of its first record, and each record carries the quantity's name
// (n). The convention used by sioagent is bn = device id + ":" (see
// [DeviceBaseName]), so the device "pi-7" reporting "greenhouse/temperature"
// resolves to "pi-7:greenhouse/temperature". This follows the RFC's own
// examples ("urn:dev:ow:10e2073a01080063:" + "voltage").
//
// # Time
//
// The base time (bt) is the time of the first reading in seconds since the
// Unix epoch; each record's t is relative to it. Times are rounded to the
// encoder's resolution (a millisecond by default), so readings taken on a
// whole-second tick get integer t values, which encode in 1 to 3 bytes.
//
// # Numbers
//
// Numbers whose value is an integer (and exactly representable, |x| < 2^53)
// are encoded as CBOR integers; others as the shortest IEEE 754 float that
// keeps the float64 value exactly (RFC 8949 preferred serialization).
// RFC 8428 section 6 allows both. Map keys are sorted by the core
// deterministic rules of RFC 8949 section 4.2.1, so a given pack always
// encodes to the same bytes.
package senml

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// MediaType is the media type of a SenML pack in CBOR.
const MediaType = "application/senml+cbor"

// ContentFormat is the CoAP Content-Format id of application/senml+cbor.
const ContentFormat = 112

// Version is the SenML version this package implements (the RFC 8428
// default for bver). Packs declaring a higher bver are rejected by [Resolve].
const Version = 10

// RelativeTimeLimit is 2^28 seconds: RFC 8428 section 4.5.3 treats a resolved
// time below it as relative to the receiver's "now" rather than as absolute
// seconds since the Unix epoch.
const RelativeTimeLimit = 1 << 28

// Decoding limits applied by [Decode].
const (
	// MaxPackBytes is the largest input Decode accepts; it matches the
	// server's default 1 MB frame.
	MaxPackBytes = 1 << 20
	// MaxRecords is the largest number of records (CBOR array elements)
	// Decode accepts in one pack.
	MaxRecords = 1 << 16
	// MaxLabels is the largest number of labels (map pairs) in one record.
	MaxLabels = 64
	// MaxNesting is the deepest CBOR nesting Decode accepts (pack array,
	// record map, and room for structured extension values).
	MaxNesting = 8
)

// maxExactInt is 2^53: integral float64 values with a smaller magnitude are
// encoded as CBOR integers without loss.
const maxExactInt = 1 << 53

// Record is one SenML record as it appears on the wire. Base fields (the
// Base* names) apply to this record and to all following records until a
// record sets them again; see [Resolve].
//
// Exactly one of Value, StringValue, BoolValue and DataValue should be set,
// except that a record with a Sum may have no value.
type Record struct {
	// BaseVersion is bver (label -1); 0 means absent (version 10).
	BaseVersion uint64
	// BaseName is bn (label -2), prefixed to Name.
	BaseName string
	// BaseTime is bt (label -3), added to Time.
	BaseTime float64
	// BaseUnit is bu (label -4), used when Unit is empty.
	BaseUnit string
	// BaseValue is bv (label -5), added to Value.
	BaseValue float64
	// BaseSum is bs (label -6), added to Sum.
	BaseSum float64
	// Name is n (label 0).
	Name string
	// Unit is u (label 1), a SenML registry unit such as [UnitCelsius].
	// Encoding requires a primary unit (see [CheckUnit]); decoding accepts
	// any string.
	Unit string
	// Value is v (label 2), a numeric value.
	Value *float64
	// StringValue is vs (label 3).
	StringValue *string
	// BoolValue is vb (label 4).
	BoolValue *bool
	// DataValue is vd (label 8), raw bytes (a CBOR byte string, not base64).
	DataValue []byte
	// Sum is s (label 5), an integrated sum such as a rain gauge total.
	Sum *float64
	// Time is t (label 6), in seconds, relative to BaseTime.
	Time float64
	// UpdateTime is ut (label 7), the maximum seconds until the next reading.
	UpdateTime float64
}

// Reading is one measured quantity to be sent in a pack.
type Reading struct {
	// Name is the quantity's name below the device, e.g.
	// "greenhouse/temperature".
	Name string
	// Unit is a primary SenML unit such as [UnitCelsius] (see
	// [CheckUnit]); empty means none.
	Unit string
	// Value is the measured value; NaN and infinities are rejected.
	Value float64
	// Time is when the value was measured; it must not be zero.
	Time time.Time
}

// Errors returned by this package; match them with errors.Is.
var (
	// ErrEmptyPack is returned when there is nothing to encode or decode.
	ErrEmptyPack = errors.New("senml: empty pack")
	// ErrTooLarge is returned when the input exceeds MaxPackBytes.
	ErrTooLarge = errors.New("senml: pack too large")
	// ErrInvalid is returned (wrapped) for a pack or record that breaks
	// RFC 8428 rules.
	ErrInvalid = errors.New("senml: invalid")
)

// wireRecord is the CBOR shape of a record for encoding. Numeric fields are
// interfaces so they can hold an int64 (integral values) or a float64; nil
// means absent. Field order matters only for unsorted encodings (tests).
type wireRecord struct {
	BaseVersion uint64  `cbor:"-1,keyasint,omitempty"`
	BaseName    string  `cbor:"-2,keyasint,omitempty"`
	BaseTime    any     `cbor:"-3,keyasint,omitempty"`
	BaseUnit    string  `cbor:"-4,keyasint,omitempty"`
	BaseValue   any     `cbor:"-5,keyasint,omitempty"`
	BaseSum     any     `cbor:"-6,keyasint,omitempty"`
	Name        string  `cbor:"0,keyasint,omitempty"`
	Unit        string  `cbor:"1,keyasint,omitempty"`
	Time        any     `cbor:"6,keyasint,omitempty"`
	Value       any     `cbor:"2,keyasint,omitempty"`
	StringValue *string `cbor:"3,keyasint,omitempty"`
	BoolValue   *bool   `cbor:"4,keyasint,omitempty"`
	DataValue   any     `cbor:"8,keyasint,omitempty"`
	Sum         any     `cbor:"5,keyasint,omitempty"`
	UpdateTime  any     `cbor:"7,keyasint,omitempty"`
}

// decRecord is the CBOR shape of a record for decoding; CBOR integers and
// floats both decode into the float64 fields.
type decRecord struct {
	BaseVersion uint64   `cbor:"-1,keyasint"`
	BaseName    string   `cbor:"-2,keyasint"`
	BaseTime    float64  `cbor:"-3,keyasint"`
	BaseUnit    string   `cbor:"-4,keyasint"`
	BaseValue   float64  `cbor:"-5,keyasint"`
	BaseSum     float64  `cbor:"-6,keyasint"`
	Name        string   `cbor:"0,keyasint"`
	Unit        string   `cbor:"1,keyasint"`
	Value       *float64 `cbor:"2,keyasint"`
	StringValue *string  `cbor:"3,keyasint"`
	BoolValue   *bool    `cbor:"4,keyasint"`
	DataValue   []byte   `cbor:"8,keyasint"`
	Sum         *float64 `cbor:"5,keyasint"`
	Time        float64  `cbor:"6,keyasint"`
	UpdateTime  float64  `cbor:"7,keyasint"`
}

// number returns the wire form of a numeric field that is omitted when zero.
func number(x float64) any {
	if x == 0 {
		return nil
	}
	return numberValue(x)
}

// numberValue returns x as an int64 when that is exact, else as a float64.
func numberValue(x float64) any {
	if x == math.Trunc(x) && math.Abs(x) < maxExactInt {
		return int64(x)
	}
	return x
}

// optNumber returns the wire form of an optional numeric field.
func optNumber(p *float64) any {
	if p == nil {
		return nil
	}
	return numberValue(*p)
}

// optBytes returns the wire form of an optional byte string: nil stays
// absent, but an empty non-nil slice is encoded as an empty byte string.
func optBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func toWire(r Record) wireRecord {
	return wireRecord{
		BaseVersion: r.BaseVersion,
		BaseName:    r.BaseName,
		BaseTime:    number(r.BaseTime),
		BaseUnit:    r.BaseUnit,
		BaseValue:   number(r.BaseValue),
		BaseSum:     number(r.BaseSum),
		Name:        r.Name,
		Unit:        r.Unit,
		Time:        number(r.Time),
		Value:       optNumber(r.Value),
		StringValue: r.StringValue,
		BoolValue:   r.BoolValue,
		DataValue:   optBytes(r.DataValue),
		Sum:         optNumber(r.Sum),
		UpdateTime:  number(r.UpdateTime),
	}
}

// DefaultTimeResolution is the resolution times are rounded to by an
// Encoder made without [WithTimeResolution].
const DefaultTimeResolution = time.Millisecond

// Encoder encodes SenML packs. Its CBOR mode is built once by [NewEncoder];
// an Encoder is immutable and safe for concurrent use.
type Encoder struct {
	mode       cbor.EncMode
	resolution time.Duration
}

// Option configures an Encoder.
type Option func(*Encoder)

// WithTimeResolution sets the resolution reading times are rounded to before
// encoding (default [DefaultTimeResolution]); d <= 0 keeps full precision.
func WithTimeResolution(d time.Duration) Option {
	return func(e *Encoder) { e.resolution = d }
}

// NewEncoder returns an Encoder that uses CBOR core deterministic encoding
// (RFC 8949 section 4.2.1: sorted keys, shortest lengths and floats, no
// indefinite lengths).
func NewEncoder(opts ...Option) (*Encoder, error) {
	mode, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return nil, fmt.Errorf("senml: cbor mode: %w", err)
	}
	e := &Encoder{mode: mode, resolution: DefaultTimeResolution}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// defaultEncoder is the Encoder behind the package-level Encode and
// EncodeRecords. It is built once at init and is read-only afterwards.
var defaultEncoder = mustEncoder()

func mustEncoder() *Encoder {
	e, err := NewEncoder()
	if err != nil {
		panic(err) // static options; cannot fail
	}
	return e
}

// Encode encodes readings as a pack using the default Encoder; see
// [Encoder.Encode].
func Encode(baseName string, readings []Reading) ([]byte, error) {
	return defaultEncoder.Encode(baseName, readings)
}

// EncodeRecords encodes records as a pack using the default Encoder; see
// [Encoder.EncodeRecords].
func EncodeRecords(records []Record) ([]byte, error) {
	return defaultEncoder.EncodeRecords(records)
}

// Encode encodes readings as a pack: the first record carries bn = baseName
// and bt = the first reading's time in Unix seconds; every record carries n,
// u (if set), v, and t relative to bt (omitted when zero). Readings keep
// their order. The resolved names (baseName + Name) must be valid SenML
// names, and every unit must pass [CheckUnit].
func (e *Encoder) Encode(baseName string, readings []Reading) ([]byte, error) {
	if len(readings) == 0 {
		return nil, ErrEmptyPack
	}
	records := make([]Record, len(readings))
	var base time.Time
	for i, rd := range readings {
		if rd.Time.IsZero() {
			return nil, fmt.Errorf("%w: reading %d (%q) has no time", ErrInvalid, i, rd.Name)
		}
		t := rd.Time
		if e.resolution > 0 {
			t = t.Round(e.resolution)
		}
		v := rd.Value
		records[i] = Record{Name: rd.Name, Unit: rd.Unit, Value: &v}
		if i == 0 {
			base = t
			records[0].BaseName = baseName
			records[0].BaseTime = unixSeconds(t)
			continue
		}
		records[i].Time = t.Sub(base).Seconds()
	}
	return e.EncodeRecords(records)
}

// unixSeconds returns t as float64 seconds since the Unix epoch.
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/float64(time.Second)
}

// EncodeRecords validates records with [Resolve] and encodes them as a pack.
// It also rejects, with an error wrapping ErrInvalid, a record whose unit
// or base unit fails [CheckUnit]: the pack is version 10, so only primary
// SenML units may appear in it.
func (e *Encoder) EncodeRecords(records []Record) ([]byte, error) {
	res, err := Resolve(records)
	if err != nil {
		return nil, err
	}
	if err := checkUnits(records, res); err != nil {
		return nil, err
	}
	return e.marshal(records)
}

// checkUnits applies CheckUnit to the u and bu of every record; res holds
// the resolved records, for their names.
func checkUnits(records []Record, res []Resolved) error {
	for i, r := range records {
		if err := CheckUnit(r.Unit); err != nil {
			return fmt.Errorf("%w: record %d (%q): %w", ErrInvalid, i, res[i].Name, err)
		}
		if err := CheckUnit(r.BaseUnit); err != nil {
			return fmt.Errorf("%w: record %d (%q): base unit: %w", ErrInvalid, i, res[i].Name, err)
		}
	}
	return nil
}

func (e *Encoder) marshal(records []Record) ([]byte, error) {
	wire := make([]wireRecord, len(records))
	for i, r := range records {
		wire[i] = toWire(r)
	}
	b, err := e.mode.Marshal(wire)
	if err != nil {
		return nil, fmt.Errorf("senml: encode: %w", err)
	}
	return b, nil
}

// decMode returns the decoding mode behind Decode, with limits set. It is
// built on the first Decode, not at init, so that a binary that never
// decodes a pack (the agent only encodes them) links no CBOR decoder; it
// is read-only afterwards (cbor.DecMode is immutable).
var decMode = sync.OnceValue(mustDecMode)

func mustDecMode() cbor.DecMode {
	m, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxArrayElements: MaxRecords,
		MaxMapPairs:      MaxLabels,
		MaxNestedLevels:  MaxNesting,
		IndefLength:      cbor.IndefLengthAllowed,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err) // static options; cannot fail
	}
	return m
}

// Decode parses a SenML CBOR pack into records without applying base values;
// call [Resolve] for resolved names, times and values. It rejects inputs over
// MaxPackBytes, more than MaxRecords records, more than MaxLabels labels per
// record, duplicate labels, trailing bytes, invalid UTF-8, labels of the
// wrong type, and unknown must-understand labels (text labels ending in
// "_", RFC 8428 section 4.4). Unknown other labels are ignored.
func Decode(data []byte) ([]Record, error) {
	if len(data) == 0 {
		return nil, ErrEmptyPack
	}
	if len(data) > MaxPackBytes {
		return nil, ErrTooLarge
	}
	var raw []map[any]cbor.RawMessage
	if err := decMode().Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(raw) == 0 {
		return nil, ErrEmptyPack
	}
	for i, m := range raw {
		for k := range m {
			if s, ok := k.(string); ok && len(s) > 0 && s[len(s)-1] == '_' {
				return nil, fmt.Errorf("%w: record %d: unsupported must-understand label %q", ErrInvalid, i, s)
			}
		}
	}
	var dec []decRecord
	if err := decMode().Unmarshal(data, &dec); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	out := make([]Record, len(dec))
	for i, d := range dec {
		out[i] = Record(d)
	}
	return out, nil
}
