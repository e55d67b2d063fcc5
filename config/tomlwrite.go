package config

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// writeTOML writes tables (the values the TOML decoder gives, or
// DocumentFromJSON's: strings, int64, float64, bool, tables and arrays) as
// a TOML document: top-level values first, then each table under its
// header, arrays of tables as [[name]]. It is the agent's own small
// encoder, so that the binary does not link the TOML library's
// reflection-based one for the one use it has (Document.TOML).
func writeTOML(b *bytes.Buffer, tables map[string]any) error {
	return writeTable(b, "", tables)
}

// writeTable writes the keys of tbl at path ("" for the top level): plain
// values first, then sub-tables and arrays of tables.
func writeTable(b *bytes.Buffer, path string, tbl map[string]any) error {
	keys := sortedKeys(tbl)
	for _, k := range keys {
		if isTable(tbl[k]) || isTableArray(tbl[k]) {
			continue
		}
		b.WriteString(tomlKey(k))
		b.WriteString(" = ")
		if err := writeValue(b, tbl[k]); err != nil {
			return fmt.Errorf("%s: %w", joinKey(path, k), err)
		}
		b.WriteByte('\n')
	}
	for _, k := range keys {
		sub := joinKey(path, tomlKey(k))
		switch v := tbl[k].(type) {
		case map[string]any:
			fmt.Fprintf(b, "\n[%s]\n", sub)
			if err := writeTable(b, sub, v); err != nil {
				return err
			}
		case []map[string]any:
			for _, e := range v {
				fmt.Fprintf(b, "\n[[%s]]\n", sub)
				if err := writeTable(b, sub, e); err != nil {
					return err
				}
			}
		case []any:
			if !isTableArray(v) {
				continue
			}
			for _, e := range v {
				fmt.Fprintf(b, "\n[[%s]]\n", sub)
				if err := writeTable(b, sub, e.(map[string]any)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// writeValue writes one value inline.
func writeValue(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case string:
		b.WriteString(tomlString(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%v: not written", v)
		}
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0" // a float, not an integer
		}
		b.WriteString(s)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeValue(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []map[string]any:
		arr := make([]any, len(v))
		for i, e := range v {
			arr[i] = e
		}
		return writeValue(b, arr)
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tomlKey(k) + " = ")
			if err := writeValue(b, v[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("%s cannot be written", Describe(v))
	}
	return nil
}

func isTable(v any) bool { _, ok := v.(map[string]any); return ok }

// isTableArray reports whether v is a non-empty array of tables only.
func isTableArray(v any) bool {
	switch v := v.(type) {
	case []map[string]any:
		return len(v) > 0
	case []any:
		for _, e := range v {
			if !isTable(e) {
				return false
			}
		}
		return len(v) > 0
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinKey(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// tomlKey writes k bare when TOML allows it, quoted otherwise.
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !isAlnum(c) && c != '_' && c != '-' {
			return tomlString(k)
		}
	}
	return k
}

// tomlString writes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
