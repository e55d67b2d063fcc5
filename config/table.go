package config

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Table is the part of one [[sensors]] table that belongs to its driver,
// as a Driver's Decode sees it. The getters decode a key when it is
// present (and return the default otherwise); a value that fails its check
// is recorded against its key and the getter returns the default. After
// Decode the earliest such error in document order is reported, so every
// driver reports problems the same way: "file: key: reason".
type Table struct {
	p      *parser
	driver string
	base   string         // location of the sensor, e.g. `sensors."greenhouse"`
	tbl    map[string]any // the whole [[sensors]] table
	order  map[string]int // document order of its keys
	read   map[string]bool

	keyErr *Error // earliest error in a key's value
	keyPos int
	late   *Error // first error found by checking keys against each other
}

// newTable returns the Table of one sensor, whose keys in document order
// are keys.
func (p *parser) newTable(driver, base string, tbl map[string]any, keys []string) *Table {
	t := &Table{p: p, driver: driver, base: base, tbl: tbl, order: make(map[string]int, len(keys)), read: map[string]bool{}}
	for i, k := range keys {
		t.order[k] = i
	}
	return t
}

// Driver returns the value of the sensor's driver key.
func (t *Table) Driver() string { return t.driver }

// Has reports whether key is set.
func (t *Table) Has(key string) bool {
	_, ok := t.tbl[key]
	return ok
}

// loc returns the location of key in errors.
func (t *Table) loc(key string) string { return t.base + "." + key }

// get returns key's value and marks it as read.
func (t *Table) get(key string) (any, bool) {
	t.read[key] = true
	v, ok := t.tbl[key]
	return v, ok
}

// keyFailed records an error in key's value.
func (t *Table) keyFailed(key string, err *Error) {
	pos, ok := t.order[key]
	if !ok {
		pos = math.MaxInt
	}
	if t.keyErr == nil || pos < t.keyPos {
		t.keyErr, t.keyPos = err, pos
	}
}

// Value decodes key with dec when it is set, recording dec's error as the
// reason at key (errors.Unwrap of it becomes Error.Err). It reports whether
// key was set and dec succeeded. Describe names a value for messages.
func (t *Table) Value(key string, dec func(v any) error) bool {
	v, ok := t.get(key)
	if !ok {
		return false
	}
	if err := dec(v); err != nil {
		t.keyFailed(key, t.errorOf(key, err))
		return false
	}
	return true
}

// Reject records that key's value failed a check the getters do not
// make, as if its getter had failed: "must not be 0". Use Fail instead
// for keys that are fine on their own but not together.
func (t *Table) Reject(key, format string, args ...any) {
	t.read[key] = true
	t.keyFailed(key, t.errorOf(key, fmt.Errorf(format, args...)))
}

// errorOf makes the *Error of reason at key.
func (t *Table) errorOf(key string, reason error) *Error {
	return &Error{File: t.p.file, Key: t.loc(key), Reason: reason.Error(), Err: errors.Unwrap(reason)}
}

// Fail records a problem found by checking keys against each other (or a
// missing key) at key; it is reported if no key's value failed. Only the
// first is kept. errors.Unwrap of reason becomes Error.Err.
func (t *Table) Fail(key string, reason error) {
	if t.late == nil {
		t.late = t.errorOf(key, reason)
	}
}

// Failf is Fail with a formatted reason (%w wraps Error.Err).
func (t *Table) Failf(key, format string, args ...any) {
	t.Fail(key, fmt.Errorf(format, args...))
}

// decode runs a parser decoder on key when it is set.
func decode[T any](t *Table, key string, def T, dec func(key string, v any) (T, *Error)) T {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	out, err := dec(t.loc(key), v)
	if err != nil {
		t.keyFailed(key, err)
		return def
	}
	return out
}

// NonEmpty decodes a string that must not be empty.
func (t *Table) NonEmpty(key, def string) string { return decode(t, key, def, t.p.nonEmpty) }

// OneOf decodes a string that must be one of allowed.
func (t *Table) OneOf(key, def string, allowed ...string) string {
	return decode(t, key, def, func(k string, v any) (string, *Error) { return t.p.oneOf(k, v, allowed...) })
}

// Name decodes a name for SenML: 1 to MaxIDLen characters from A-Z a-z
// 0-9 "." "_" "-".
func (t *Table) Name(key, def string) string { return decode(t, key, def, t.p.name) }

// Unit decodes a SenML unit: "" or a primary unit that senml.CheckUnit
// accepts (so sioagent's version 10 packs can carry it); default "".
func (t *Table) Unit(key string) string { return decode(t, key, "", t.p.unit) }

// Bool decodes a boolean.
func (t *Table) Bool(key string, def bool) bool { return decode(t, key, def, t.p.boolean) }

// Int decodes an integer from lo to hi.
func (t *Table) Int(key string, def, lo, hi int64) int64 {
	return decode(t, key, def, func(k string, v any) (int64, *Error) { return t.p.integer(k, v, lo, hi) })
}

// Float decodes a finite number (integers are accepted).
func (t *Table) Float(key string, def float64) float64 { return decode(t, key, def, t.p.float) }

// Duration decodes a duration string within r.
func (t *Table) Duration(key string, def time.Duration, r DurationRange) time.Duration {
	return decode(t, key, def, func(k string, v any) (time.Duration, *Error) { return t.p.duration(k, v, r) })
}

// unread returns the keys of the driver that are set but that Decode did
// not read.
func (t *Table) unread(driverKeys []string) []string {
	var out []string
	for _, k := range driverKeys {
		if _, set := t.tbl[k]; set && !t.read[k] {
			out = append(out, k)
		}
	}
	return out
}
