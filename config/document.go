package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Redacted replaces the value of every secret in Document.JSON: the token
// file, the TLS files and the values of the extra HTTP headers (which may
// carry an Authorization).
const Redacted = "(redacted)"

// Document is a configuration as written: the tables of one TOML file, or
// of a local file with a remote overlay merged in (Merge). Parse decodes
// one and validates it; Document.Parse validates a Document the same way,
// with the same errors.
type Document struct {
	file   string         // where the document comes from: Config.File, Error.File
	tables map[string]any // as the TOML decoder returns them
	// pos maps a key path to the index of its first key in the document
	// (see keyPositions); n is the number of keys, so that a merged
	// overlay's keys come after the base's.
	pos map[string]int
	n   int
	// from names the file of each table (by name) and key (by
	// joinPath(table, key)) an overlay set, for errors.
	from map[string]string
}

// DecodeDocument decodes the TOML text data of file without validating
// it. A syntax error is an *Error whose Key is "line N".
func DecodeDocument(file string, data []byte) (*Document, error) {
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, syntaxError(file, err)
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return &Document{file: file, tables: raw, pos: keyPositions(md), n: len(md.Keys()), from: map[string]string{}}, nil
}

// DocumentFromJSON decodes a JSON object as the TOML document of file that
// holds the same tables: integers (numbers written without a fraction or
// an exponent) become TOML integers, other numbers floats. null, which
// TOML has not, is an *Error at its key.
func DocumentFromJSON(file string, data []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{File: file, Key: "json", Reason: "not valid JSON: " + err.Error(), Err: err}
	}
	if dec.More() {
		return nil, &Error{File: file, Key: "json", Reason: "more than one JSON value"}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{File: file, Key: "json", Reason: "must be a JSON object of tables, like {\"telemetry\": {\"batch_max_records\": 20}}"}
	}
	tables, err := fromJSON(file, "", obj)
	if err != nil {
		return nil, err
	}
	return &Document{file: file, tables: tables.(map[string]any), pos: map[string]int{}, from: map[string]string{}}, nil
}

// fromJSON converts a value decoded with UseNumber into the types the
// TOML decoder gives; key is its dotted location, for errors.
func fromJSON(file, key string, v any) (any, *Error) {
	at := func(k string) string {
		if key == "" {
			return k
		}
		return key + "." + k
	}
	switch v := v.(type) {
	case nil:
		return nil, &Error{File: file, Key: key, Reason: "null is not allowed; leave the key out to keep its value"}
	case json.Number:
		s := v.String()
		if !strings.ContainsAny(s, ".eE") {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, &Error{File: file, Key: key, Reason: fmt.Sprintf("%s does not fit a 64-bit integer", s)}
			}
			return n, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, &Error{File: file, Key: key, Reason: fmt.Sprintf("%s is not a finite number", s)}
		}
		return f, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := fromJSON(file, at(k), e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := fromJSON(file, fmt.Sprintf("%s[%d]", key, i), e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil // string, bool
}

// TOML returns the document as TOML text: the same tables, which
// DecodeDocument gives back. Comments and the order of keys are not kept.
func (d *Document) TOML() ([]byte, error) {
	var b bytes.Buffer
	if err := writeTOML(&b, d.tables); err != nil {
		return nil, fmt.Errorf("config: encode %s as TOML: %w", d.file, err)
	}
	back, err := DecodeDocument(d.file, b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("config: %s as TOML does not decode again: %w", d.file, err)
	}
	want, err1 := canonicalJSON(d.tables)
	got, err2 := canonicalJSON(back.tables)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if !bytes.Equal(want, got) {
		return nil, fmt.Errorf("config: %s changes when written as TOML", d.file)
	}
	return b.Bytes(), nil
}

// File returns the file the document comes from.
func (d *Document) File() string { return d.file }

// Tables returns the names of the document's top-level tables, sorted.
func (d *Document) Tables() []string {
	names := make([]string, 0, len(d.tables))
	for k := range d.tables {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Keys returns the keys of the top-level table name, sorted; nil when it
// is absent or not a table (like [[sensors]]).
func (d *Document) Keys(name string) []string {
	tbl, ok := d.tables[name].(map[string]any)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(tbl))
	for k := range tbl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Merge returns d with overlay applied, table by table: the overlay's
// [[sensors]] replace d's whole list; each key of its other tables
// replaces the same key of d's table (the rest of d's table is kept). A
// value that is not a table replaces d's as a whole. Neither document is
// modified. Errors of the result name overlay's file for what overlay set.
func (d *Document) Merge(overlay *Document) *Document {
	m := &Document{file: d.file, tables: maps.Clone(d.tables), pos: maps.Clone(d.pos), n: d.n + overlay.n, from: maps.Clone(d.from)}
	for name, ov := range overlay.tables {
		base, isTable := m.tables[name].(map[string]any)
		otbl, oIsTable := ov.(map[string]any)
		if name != "sensors" && isTable && oIsTable {
			merged := maps.Clone(base)
			for k, v := range otbl {
				merged[k] = v
				m.from[joinPath(name, k)] = overlay.file
			}
			m.tables[name] = merged
			continue
		}
		m.tables[name] = ov
		m.from[name] = overlay.file
		for p := range m.pos {
			if p == name || strings.HasPrefix(p, joinPath(name, "")) {
				delete(m.pos, p)
			}
		}
	}
	for p, i := range overlay.pos {
		if _, ok := m.pos[p]; !ok {
			m.pos[p] = d.n + i
		}
	}
	return m
}

// Parse validates the document and returns its configuration, exactly as
// Parse does for a file (Parse calls it): the same defaults, the same
// checks, the same errors, each naming the file that set the key.
func (d *Document) Parse(getenv func(string) string, drivers *Drivers) (*Config, error) {
	if drivers == nil {
		return nil, errNoDrivers
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c, err := d.parse(getenv, drivers)
	if err != nil {
		err.File = d.fileOf(err.Key, err.File)
		return nil, err
	}
	return c, nil
}

// parse is Parse after its argument checks.
func (d *Document) parse(getenv func(string) string, drivers *Drivers) (*Config, *Error) {
	p := &parser{file: d.file, getenv: getenv, pos: d.pos, drivers: drivers}
	c := &Config{File: d.file}
	setDefaults(c)
	done := make(map[string]bool, len(sectionNames))
	for _, name := range p.ordered(d.tables, "") {
		if !contains(sectionNames, name) {
			return nil, p.unknown(name, name, sectionNames, true)
		}
		if err := p.section(c, name, d.tables[name]); err != nil {
			return nil, err
		}
		done[name] = true
	}
	for _, name := range sectionNames {
		if !done[name] {
			if err := p.finish(c, name, map[string]any{}); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// fileOf returns the file that set key (an Error.Key: "server.url",
// `sensors."greenhouse".interval`, "sensors[2]"): an overlay's, or def.
func (d *Document) fileOf(key, def string) string {
	table, rest, _ := strings.Cut(key, ".")
	if i := strings.IndexByte(table, '['); i >= 0 {
		table = table[:i]
	}
	if k, _, _ := strings.Cut(rest, "."); k != "" {
		if f, ok := d.from[joinPath(table, k)]; ok {
			return f
		}
	}
	if f, ok := d.from[table]; ok {
		return f
	}
	return def
}

// JSON returns the document as JSON in canonical form (object members
// sorted by name, no insignificant white space, no HTML escaping, numbers
// as encoding/json writes them), with the secrets replaced by Redacted:
// what config:get answers, and what Hash is computed on.
func (d *Document) JSON() ([]byte, error) {
	tables := maps.Clone(d.tables)
	if srv, ok := tables["server"].(map[string]any); ok {
		srv = maps.Clone(srv)
		for _, k := range secretServerKeys {
			if _, set := srv[k]; set && k != "headers" {
				srv[k] = Redacted
			}
		}
		if h, ok := srv["headers"].(map[string]any); ok {
			red := make(map[string]any, len(h))
			for name := range h {
				red[name] = Redacted
			}
			srv["headers"] = red
		}
		tables["server"] = srv
	}
	return canonicalJSON(tables)
}

// Hash returns the SHA-256, in hex, of the document's JSON.
func (d *Document) Hash() (string, error) {
	b, err := d.JSON()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// canonicalJSON encodes v with members sorted, without white space or
// HTML escaping.
func canonicalJSON(v any) ([]byte, error) {
	if err := finite(v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("config: as JSON: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// finite fails on the NaN and infinities TOML allows and JSON has not.
func finite(v any) error {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("config: %v has no JSON form", v)
		}
	case map[string]any:
		for _, e := range v {
			if err := finite(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range v {
			if err := finite(e); err != nil {
				return err
			}
		}
	case []map[string]any:
		for _, e := range v {
			if err := finite(e); err != nil {
				return err
			}
		}
	}
	return nil
}
