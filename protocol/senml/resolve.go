package senml

import (
	"fmt"
	"math"
	"time"
)

// Resolved is a record with base fields applied (RFC 8428 section 4.6):
// Name = bn + n, Unit = u or bu, Time = bt + t, Value = bv + v,
// Sum = bs + s.
type Resolved struct {
	// Name is the full, validated name.
	Name string
	// Unit is the record's unit, or the base unit if it has none.
	Unit string
	// Value is the numeric value, if the record has one.
	Value *float64
	// StringValue is the string value, if the record has one.
	StringValue *string
	// BoolValue is the boolean value, if the record has one.
	BoolValue *bool
	// DataValue is the data value, if the record has one (nil otherwise).
	DataValue []byte
	// Sum is the integrated sum, if the record has one.
	Sum *float64
	// Time is in seconds: since the Unix epoch if at least
	// RelativeTimeLimit, else relative to the receiver's "now" (see At).
	Time float64
	// UpdateTime is ut, the maximum seconds until the next reading (0 if
	// absent).
	UpdateTime float64
}

// Relative reports whether r.Time is relative to the receiver's "now"
// (RFC 8428 section 4.5.3) rather than absolute.
func (r Resolved) Relative() bool {
	return r.Time < RelativeTimeLimit
}

// atResolution is the resolution At rounds to: a float64 holding present-day
// Unix seconds is only precise to about a quarter of a microsecond.
const atResolution = time.Microsecond

// At returns r's time as a time.Time rounded to the microsecond,
// interpreting a relative time against now (the time the pack was
// received).
func (r Resolved) At(now time.Time) time.Time {
	if r.Relative() {
		return now.Add(time.Duration(math.Round(r.Time * float64(time.Second)))).Round(atResolution)
	}
	sec, frac := math.Modf(r.Time)
	return time.Unix(int64(sec), int64(math.Round(frac*float64(time.Second)))).Round(atResolution)
}

// Resolve applies base fields to records and validates the result. A base
// field applies to its own record and to the following records until
// another record sets it. Resolve returns an error wrapping ErrInvalid if a
// resolved name is empty or breaks the RFC 8428 section 4.5.1 character
// rules, a record has more than one of v, vs, vb and vd or has neither a
// value nor a sum, a number is NaN or infinite, or bver is above Version.
func Resolve(records []Record) ([]Resolved, error) {
	if len(records) == 0 {
		return nil, ErrEmptyPack
	}
	out := make([]Resolved, len(records))
	var bn, bu string
	var bt, bv, bs float64
	for i, r := range records {
		if r.BaseVersion > Version {
			return nil, fmt.Errorf("%w: record %d: bver %d is newer than %d", ErrInvalid, i, r.BaseVersion, Version)
		}
		if r.BaseName != "" {
			bn = r.BaseName
		}
		if r.BaseUnit != "" {
			bu = r.BaseUnit
		}
		if r.BaseTime != 0 {
			bt = r.BaseTime
		}
		if r.BaseValue != 0 {
			bv = r.BaseValue
		}
		if r.BaseSum != 0 {
			bs = r.BaseSum
		}
		res := Resolved{
			Name:        bn + r.Name,
			Unit:        r.Unit,
			StringValue: r.StringValue,
			BoolValue:   r.BoolValue,
			DataValue:   r.DataValue,
			Time:        bt + r.Time,
			UpdateTime:  r.UpdateTime,
		}
		if res.Unit == "" {
			res.Unit = bu
		}
		if err := validName(res.Name); err != nil {
			return nil, fmt.Errorf("%w: record %d: %w", ErrInvalid, i, err)
		}
		values := 0
		if r.Value != nil {
			v := bv + *r.Value
			res.Value = &v
			values++
		}
		if r.StringValue != nil {
			values++
		}
		if r.BoolValue != nil {
			values++
		}
		if r.DataValue != nil {
			values++
		}
		if r.Sum != nil {
			s := bs + *r.Sum
			res.Sum = &s
		}
		switch {
		case values > 1:
			return nil, fmt.Errorf("%w: record %d (%q): %d value fields, want one", ErrInvalid, i, res.Name, values)
		case values == 0 && res.Sum == nil:
			return nil, fmt.Errorf("%w: record %d (%q): no value or sum", ErrInvalid, i, res.Name)
		}
		for _, x := range [...]float64{bt, bv, bs, r.Time, r.UpdateTime, res.Time, deref(res.Value), deref(res.Sum)} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%w: record %d (%q): non-finite number", ErrInvalid, i, res.Name)
			}
		}
		if r.UpdateTime < 0 {
			return nil, fmt.Errorf("%w: record %d (%q): negative update time", ErrInvalid, i, res.Name)
		}
		out[i] = res
	}
	return out, nil
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// validName checks RFC 8428 section 4.5.1: a name starts with a letter or
// digit and contains only letters, digits and "-", ":", ".", "/", "_".
func validName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '-' || c == ':' || c == '.' || c == '/' || c == '_'):
		default:
			return fmt.Errorf("name %q: invalid character %q at %d", name, c, i)
		}
	}
	return nil
}

// DeviceBaseName returns the base name sioagent uses for a device: the
// device id followed by ":". The id must be a valid SenML name without ":".
func DeviceBaseName(deviceID string) (string, error) {
	if err := validName(deviceID); err != nil {
		return "", fmt.Errorf("%w: device id: %w", ErrInvalid, err)
	}
	for i := 0; i < len(deviceID); i++ {
		if deviceID[i] == ':' {
			return "", fmt.Errorf("%w: device id %q contains ':'", ErrInvalid, deviceID)
		}
	}
	return deviceID + ":", nil
}
