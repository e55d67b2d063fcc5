package telemetry

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/sioagent/sioagent/sensors"
)

// contentTypeReadingsV1 is the content type of the stored batches written
// by agents before layout version 2 (ContentTypeReadings): a CBOR map, read
// by decodeV1. The outbox keeps each record's content type, so records an
// earlier agent stored (and dead letters requeued later) keep this one
// after an upgrade, and Prepare still turns them into SenML.
const contentTypeReadingsV1 = "application/vnd.sioagent.readings+cbor"

// readingsVersionV1 is the version a v1 batch declares under its key 0.
const readingsVersionV1 = 1

// The keys of a v1 batch and of its readings (integer map keys).
const (
	v1KeyVersion  = 0
	v1KeyBoot     = 1
	v1KeyReadings = 2
	v1BatchKeys   = 3 // keys 0..2, all required

	v1KeyName   = 1
	v1KeyUnit   = 2 // left out when empty
	v1KeyValue  = 3
	v1KeyWall   = 4 // Unix nanoseconds
	v1KeyMono   = 5 // boot-relative nanoseconds
	v1KeySynced = 6 // left out when false
	v1Keys      = 7 // keys 1..6: one past the last
)

// CBOR major types (RFC 8949 section 3.1) the v1 reader knows.
const (
	cborUnsigned = 0
	cborNegative = 1
	cborText     = 3
	cborArray    = 4
	cborMap      = 5
	cborSimple   = 7 // simple values and floats
)

// CBOR additional information values (RFC 8949 sections 3 and 3.3).
const (
	cborInfoDirect     = 24 // below it, the argument is the value itself
	cborInfo8Bytes     = 27 // the largest argument: 8 bytes follow
	cborInfoIndefinite = 31
	cborFalse          = 20
	cborTrue           = 21
	cborFloat16        = 25
	cborFloat32        = 26
	cborFloat64        = 27
)

// decodeV1 decodes a stored batch of contentTypeReadingsV1. That layout,
// written with CBOR core deterministic encoding (definite lengths, the
// shortest float that keeps the value, sorted integer keys), is the map
//
//	{0: version (1), 1: boot id (text), 2: [reading, ...]}
//
// and each reading the map
//
//	{1: name (text, <sensor>/<quantity>), 2: unit (text, left out when empty),
//	 3: value (float16, float32 or float64), 4: wall (integer, Unix ns),
//	 5: mono (integer, boot-relative ns), 6: synced (true, left out when false)}
//
// The reader takes the subset of CBOR this needs: unsigned and negative
// integers (of any width), definite text strings of valid UTF-8, definite
// arrays and maps, true, false and floats of the three widths. It refuses
// everything else (byte strings, tags, null, indefinite lengths), unknown
// and duplicate keys, missing required keys, a value of another type than
// its key's, integers beyond int64 and trailing bytes, as well as inputs
// over maxStoredBatch bytes, batches without readings or with more than
// senml.MaxRecords, and names without "/". Any batch it accepts, the CBOR
// library that wrote the layout decodes to the same readings (the
// differential tests of v1_test.go and v1_fuzz_test.go), but that
// library's decoder is not linked into the agent.
func decodeV1(data []byte) ([]sensors.Reading, error) {
	if err := checkStoredSize(data); err != nil {
		return nil, err
	}
	r := v1Reader{data: data}
	n, err := r.length(cborMap, "stored batch")
	if err != nil {
		return nil, err
	}
	if n > v1BatchKeys {
		return nil, r.errorf("stored batch map of %d pairs (the layout has %d keys)", n, v1BatchKeys)
	}
	var (
		seen     [v1BatchKeys]bool
		boot     string
		readings []v1Reading
	)
	for range n {
		k, err := r.key(v1KeyVersion, v1BatchKeys, seen[:])
		if err != nil {
			return nil, err
		}
		switch k {
		case v1KeyVersion:
			var v int64
			if v, err = r.int64("version"); err == nil && v != readingsVersionV1 {
				err = fmt.Errorf("telemetry: stored batch version %d as %s (which is version %d)", v, contentTypeReadingsV1, readingsVersionV1)
			}
		case v1KeyBoot:
			boot, err = r.text("boot id")
		case v1KeyReadings:
			readings, err = r.readings()
		}
		if err != nil {
			return nil, err
		}
	}
	for k, ok := range seen {
		if !ok {
			return nil, r.errorf("stored batch has no key %d", k)
		}
	}
	if r.off != len(data) {
		return nil, r.errorf("%d trailing bytes", len(data)-r.off)
	}
	if len(readings) == 0 {
		return nil, errNoReadings
	}
	rs := make([]sensors.Reading, len(readings))
	for i, v := range readings {
		if rs[i], err = newReading(boot, v.name, v.unit, v.value, v.wall, v.mono, v.synced); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// v1Reading is one reading of a v1 batch as stored.
type v1Reading struct {
	name, unit string
	value      float64
	wall, mono int64
	synced     bool
}

// v1Required are the keys every v1 reading has.
var v1Required = [...]int{v1KeyName, v1KeyValue, v1KeyWall, v1KeyMono}

// readings reads the array of a v1 batch's readings.
func (r *v1Reader) readings() ([]v1Reading, error) {
	n, err := r.length(cborArray, "readings")
	if err != nil {
		return nil, err
	}
	if n > maxStoredReadings {
		return nil, fmt.Errorf("telemetry: stored batch of %d readings (at most %d)", n, maxStoredReadings)
	}
	out := make([]v1Reading, n)
	for i := range out {
		if out[i], err = r.reading(); err != nil {
			return nil, fmt.Errorf("%w (reading %d)", err, i)
		}
	}
	return out, nil
}

// reading reads one reading's map.
func (r *v1Reader) reading() (v1Reading, error) {
	var v v1Reading
	n, err := r.length(cborMap, "reading")
	if err != nil {
		return v, err
	}
	if n > v1Keys-v1KeyName {
		return v, r.errorf("reading map of %d pairs (the layout has %d keys)", n, v1Keys-v1KeyName)
	}
	var seen [v1Keys]bool
	for range n {
		k, err := r.key(v1KeyName, v1Keys, seen[:])
		if err != nil {
			return v, err
		}
		switch k {
		case v1KeyName:
			v.name, err = r.text("name")
		case v1KeyUnit:
			v.unit, err = r.text("unit")
		case v1KeyValue:
			v.value, err = r.float("value")
		case v1KeyWall:
			v.wall, err = r.int64("wall time")
		case v1KeyMono:
			v.mono, err = r.int64("boot-relative time")
		case v1KeySynced:
			v.synced, err = r.bool("synced")
		}
		if err != nil {
			return v, err
		}
	}
	for _, k := range v1Required {
		if !seen[k] {
			return v, r.errorf("reading has no key %d", k)
		}
	}
	return v, nil
}

// v1Reader reads CBOR data items from data, from off on.
type v1Reader struct {
	data []byte
	off  int
}

func (r *v1Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("telemetry: stored batch (v1, at byte %d): "+format, append([]any{r.off}, args...)...)
}

// head reads the head of the next data item: its major type, additional
// information and argument (for a float, its bits). It refuses
// indefinite lengths and reserved additional information.
func (r *v1Reader) head() (major, info byte, arg uint64, err error) {
	if r.off >= len(r.data) {
		return 0, 0, 0, r.errorf("truncated")
	}
	b := r.data[r.off]
	major, info = b>>5, b&0x1f
	switch {
	case info < cborInfoDirect:
		r.off++
		return major, info, uint64(info), nil
	case info <= cborInfo8Bytes:
		size := 1 << (info - cborInfoDirect)
		if len(r.data)-r.off-1 < size {
			return 0, 0, 0, r.errorf("truncated")
		}
		for _, c := range r.data[r.off+1 : r.off+1+size] {
			arg = arg<<8 | uint64(c)
		}
		r.off += 1 + size
		return major, info, arg, nil
	case info == cborInfoIndefinite:
		return 0, 0, 0, r.errorf("indefinite length (major type %d)", major)
	default:
		return 0, 0, 0, r.errorf("reserved additional information %d", info)
	}
}

// length reads the head of a definite array or map (major) and returns its
// number of elements or pairs, at most the bytes left (each takes one at
// least).
func (r *v1Reader) length(major byte, what string) (int, error) {
	at := r.off
	m, _, n, err := r.head()
	if err != nil {
		return 0, err
	}
	if m != major {
		r.off = at
		return 0, r.errorf("%s is of major type %d, not %d", what, m, major)
	}
	if n > uint64(len(r.data)-r.off) {
		return 0, r.errorf("%s of %d items, %d bytes left", what, n, len(r.data)-r.off)
	}
	return int(n), nil
}

// key reads a map key: an unsigned integer from first to below limit, not
// seen before, which it marks in seen.
func (r *v1Reader) key(first, limit int, seen []bool) (int, error) {
	at := r.off
	m, _, k, err := r.head()
	switch {
	case err != nil:
		return 0, err
	case m != cborUnsigned:
		r.off = at
		return 0, r.errorf("map key of major type %d, not an unsigned integer", m)
	case k < uint64(first) || k >= uint64(limit):
		r.off = at
		return 0, r.errorf("unknown key %d", k)
	case seen[k]:
		r.off = at
		return 0, r.errorf("duplicate key %d", k)
	}
	seen[k] = true
	return int(k), nil
}

func (r *v1Reader) int64(what string) (int64, error) {
	at := r.off
	m, _, v, err := r.head()
	switch {
	case err != nil:
		return 0, err
	case m != cborUnsigned && m != cborNegative:
		r.off = at
		return 0, r.errorf("%s is of major type %d, not an integer", what, m)
	case v > math.MaxInt64:
		r.off = at
		return 0, r.errorf("%s overflows int64", what)
	case m == cborNegative:
		return -1 - int64(v), nil
	}
	return int64(v), nil
}

func (r *v1Reader) text(what string) (string, error) {
	at := r.off
	m, _, n, err := r.head()
	switch {
	case err != nil:
		return "", err
	case m != cborText:
		r.off = at
		return "", r.errorf("%s is of major type %d, not a text string", what, m)
	case n > uint64(len(r.data)-r.off):
		return "", r.errorf("%s of %d bytes, %d left", what, n, len(r.data)-r.off)
	}
	s := r.data[r.off : r.off+int(n)]
	if !utf8.Valid(s) {
		return "", r.errorf("%s is not valid UTF-8", what)
	}
	r.off += int(n)
	return string(s), nil
}

func (r *v1Reader) float(what string) (float64, error) {
	at := r.off
	m, info, bits, err := r.head()
	if err != nil {
		return 0, err
	}
	if m == cborSimple {
		switch info {
		case cborFloat16:
			return float16(uint16(bits)), nil
		case cborFloat32:
			return float64(math.Float32frombits(uint32(bits))), nil
		case cborFloat64:
			return math.Float64frombits(bits), nil
		}
	}
	r.off = at
	return 0, r.errorf("%s is not a float (major type %d, additional information %d)", what, m, info)
}

func (r *v1Reader) bool(what string) (bool, error) {
	at := r.off
	m, info, _, err := r.head()
	if err != nil {
		return false, err
	}
	if m == cborSimple && (info == cborFalse || info == cborTrue) {
		return info == cborTrue, nil
	}
	r.off = at
	return false, r.errorf("%s is not true or false (major type %d, additional information %d)", what, m, info)
}

// float16 converts IEEE 754 half-precision bits to a float64. A NaN goes
// through the float32 of the same payload, made quiet, as in the CBOR
// library that wrote the layout, so that both give the same bits.
func float16(h uint16) float64 {
	const signBit = 0x8000
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	var v float64
	switch {
	case exp == 0x1f && frac != 0: // NaN
		return float64(math.Float32frombits(uint32(h&signBit)<<16 | 0x7fc00000 | frac<<13))
	case exp == 0x1f:
		v = math.Inf(1)
	case exp == 0: // zero or subnormal: frac × 2^-24
		v = math.Ldexp(float64(frac), -24)
	default: // (2^10 + frac) × 2^(exp-15-10)
		v = math.Ldexp(float64(1<<10|frac), exp-25)
	}
	if h&signBit != 0 {
		v = math.Copysign(v, -1)
	}
	return v
}
