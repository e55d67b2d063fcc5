package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxSuggestDistance is the largest edit distance for a "did you mean".
const maxSuggestDistance = 2

// Describe names a decoded TOML value's type and, for scalars, the value.
func Describe(v any) string {
	switch v := v.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case int64:
		return "integer " + strconv.FormatInt(v, 10)
	case float64:
		return "float " + strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	case time.Time:
		return "a date/time"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// fmtDur formats a duration without trailing zero units: "1h", "1m30s".
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// QuoteList formats allowed string values: "a", "b" or "c".
func QuoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return orList(q)
}

// orList joins items as "a, b or c".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func (p *parser) errf(key, format string, args ...any) *Error {
	return &Error{File: p.file, Key: key, Reason: fmt.Sprintf(format, args...)}
}

// str decodes a string.
func (p *parser) str(key string, v any) (string, *Error) {
	s, ok := v.(string)
	if !ok {
		return "", p.errf(key, "must be a string, got %s", Describe(v))
	}
	return s, nil
}

// nonEmpty decodes a string that must not be empty.
func (p *parser) nonEmpty(key string, v any) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", p.errf(key, "must not be empty")
	}
	return s, nil
}

// oneOf decodes a string that must be one of allowed.
func (p *parser) oneOf(key string, v any, allowed ...string) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", p.errf(key, "%q is not allowed; must be %s", s, QuoteList(allowed))
}

// boolean decodes a boolean.
func (p *parser) boolean(key string, v any) (bool, *Error) {
	b, ok := v.(bool)
	if !ok {
		return false, p.errf(key, "must be true or false, got %s", Describe(v))
	}
	return b, nil
}

// integer decodes an integer in [lo, hi].
func (p *parser) integer(key string, v any, lo, hi int64) (int64, *Error) {
	n, ok := v.(int64)
	if !ok {
		return 0, p.errf(key, "must be an integer from %d to %d, got %s", lo, hi, Describe(v))
	}
	if n < lo || n > hi {
		return 0, p.errf(key, "%d is out of range; must be from %d to %d", n, lo, hi)
	}
	return n, nil
}

// float decodes a finite number (integers are accepted).
func (p *parser) float(key string, v any) (float64, *Error) {
	var f float64
	switch v := v.(type) {
	case float64:
		f = v
	case int64:
		f = float64(v)
	default:
		return 0, p.errf(key, "must be a number, got %s", Describe(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, p.errf(key, "%v is not allowed; must be a finite number", f)
	}
	return f, nil
}

// DurationRange says which durations a key accepts.
type DurationRange struct {
	// Min is the shortest duration accepted; 0 is never accepted unless
	// Zero is set.
	Min time.Duration
	// Max is the longest duration accepted; 0 means no upper bound.
	Max time.Duration
	// Zero, when not empty, says what "0s" means ("off"); 0 is then
	// accepted.
	Zero string
}

// duration decodes a duration string within b.
func (p *parser) duration(key string, v any, b DurationRange) (time.Duration, *Error) {
	s, ok := v.(string)
	if !ok {
		return 0, p.errf(key, "must be a duration string like \"10s\", got %s", Describe(v))
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, p.errf(key, "%q is not a duration; use a number with a unit, like \"500ms\", \"10s\" or \"1m\"", s)
	}
	switch {
	case d < 0:
		return 0, p.errf(key, "%q is negative; %s", s, b.allowed())
	case d == 0 && b.Zero != "":
		return 0, nil
	case d < b.Min || d == 0:
		return 0, p.errf(key, "%q is too short; %s", s, b.allowed())
	case b.Max > 0 && d > b.Max:
		return 0, p.errf(key, "%q is too long; %s", s, b.allowed())
	}
	return d, nil
}

// allowed describes the accepted range.
func (b DurationRange) allowed() string {
	var s string
	switch {
	case b.Zero != "":
		s = "must be \"0s\" (" + b.Zero + ") or more"
	case b.Min > 0:
		s = "must be at least " + fmtDur(b.Min)
	default:
		s = "must be more than 0"
	}
	if b.Max > 0 {
		s += " and at most " + fmtDur(b.Max)
	}
	return s
}

// sizeUnit returns the multiplier of a size suffix (any case).
func sizeUnit(u string) (int64, bool) {
	switch strings.ToLower(u) {
	case "", "b":
		return 1, true
	case "kb":
		return 1000, true
	case "kib":
		return 1 << 10, true
	case "mb":
		return 1000 * 1000, true
	case "mib":
		return 1 << 20, true
	case "gb":
		return 1000 * 1000 * 1000, true
	case "gib":
		return 1 << 30, true
	}
	return 0, false
}

// parseSize parses "64MiB", "1 GB" or "1048576".
func parseSize(s string) (int64, bool) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	mult, ok := sizeUnit(strings.TrimPrefix(t[i:], " "))
	if !ok || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// size decodes a size (string with unit or integer bytes) in [lo, hi].
func (p *parser) size(key string, v any, lo, hi int64) (int64, *Error) {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case string:
		var ok bool
		if n, ok = parseSize(v); !ok {
			return 0, p.errf(key, "%q is not a size; use an integer with an optional unit B, KB, KiB, MB, MiB, GB or GiB, like \"64MiB\"", v)
		}
	default:
		return 0, p.errf(key, "must be a size string like \"64MiB\" or an integer of bytes, got %s", Describe(v))
	}
	if n < lo || n > hi {
		return 0, p.errf(key, "%d bytes is out of range; must be from %s to %s", n, fmtSize(lo), fmtSize(hi))
	}
	return n, nil
}

// fmtSize formats a byte count in MiB when it is a whole number of them.
func fmtSize(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + "MiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// validName reports whether s is 1 to MaxIDLen characters from A-Z a-z 0-9
// "." "_" "-".
func validName(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// name decodes a name for SenML ([A-Za-z0-9._-]{1,64}).
func (p *parser) name(key string, v any) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	if !validName(s) {
		return "", p.errf(key, "%q is not a valid name; use 1 to %d characters from A-Z a-z 0-9 \".\" \"_\" \"-\"", s, MaxIDLen)
	}
	return s, nil
}

// unknown reports an unknown key, suggesting a close known one.
func (p *parser) unknown(key, k string, known []string, listKnown bool) *Error {
	if s := suggest(k, known); s != "" {
		return p.errf(key, "unknown key; did you mean %q?", s)
	}
	if listKnown {
		return p.errf(key, "unknown key; known keys here: %s", strings.Join(known, ", "))
	}
	return p.errf(key, "unknown key")
}

// suggest returns the known key closest to k within maxSuggestDistance, or
// "".
func suggest(k string, known []string) string {
	best, bestD := "", maxSuggestDistance+1
	lk := strings.ToLower(k)
	for _, c := range known {
		d := editDistance(lk, strings.ToLower(c))
		if d < bestD && d < len(k) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ordered returns tbl's keys in document order: by their position under
// path, then by name for keys without one.
func (p *parser) ordered(tbl map[string]any, path string) []string {
	keys := make([]string, 0, len(tbl))
	for k := range tbl {
		keys = append(keys, k)
	}
	posOf := func(k string) int {
		if i, ok := p.pos[joinPath(path, k)]; ok {
			return i
		}
		return math.MaxInt
	}
	sort.Slice(keys, func(i, j int) bool {
		pi, pj := posOf(keys[i]), posOf(keys[j])
		if pi != pj {
			return pi < pj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// joinPath joins key path elements with a separator that cannot occur in a
// key's meaning.
func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "\x00" + k
}

// rate decodes a byte rate like "16KiB/s" (a size per second) in [lo, hi]
// bytes per second.
func (p *parser) rate(key string, v any, lo, hi int64) (int64, *Error) {
	s, ok := v.(string)
	size, per := strings.CutSuffix(strings.TrimSpace(s), "/s")
	if !ok || !per {
		return 0, p.errf(key, "must be a rate like \"16KiB/s\" (a size per second), got %s", Describe(v))
	}
	n, ok := parseSize(size)
	if !ok {
		return 0, p.errf(key, "%q is not a rate; use a size with an optional unit B, KB, KiB, MB, MiB, GB or GiB, then \"/s\", like \"16KiB/s\"", s)
	}
	if n < lo || n > hi {
		return 0, p.errf(key, "%d bytes per second is out of range; must be from %d to %s per second", n, lo, fmtSize(hi))
	}
	return n, nil
}
