package wire_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

// protocolDoc is the page that describes the contract for server authors.
const protocolDoc = "../docs/PROTOCOL.md"

// section returns the lines of doc under the heading that starts with
// heading, up to the next heading of the same or a higher level.
func section(t *testing.T, doc, heading string) []string {
	t.Helper()
	lines := strings.Split(doc, "\n")
	level := strings.Index(heading, " ")
	for i, l := range lines {
		if !strings.HasPrefix(l, heading) {
			continue
		}
		var out []string
		for _, m := range lines[i+1:] {
			if n := strings.Index(m, " "); strings.HasPrefix(m, "#") && n > 0 && n <= level && strings.Trim(m[:n], "#") == "" {
				break
			}
			out = append(out, m)
		}
		return out
	}
	t.Fatalf("%s has no heading %q", protocolDoc, heading)
	return nil
}

// tableRows returns the cells of the rows of the Markdown table in lines,
// header and separator left out.
func tableRows(lines []string) [][]string {
	var rows [][]string
	for _, l := range lines {
		if !strings.HasPrefix(l, "|") || strings.HasPrefix(l, "|---") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(l, "|"), " | ") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	if len(rows) > 0 {
		rows = rows[1:] // the header
	}
	return rows
}

// code returns the text of the first `code span` of cell.
func code(cell string) string {
	if m := regexp.MustCompile("`([^`]*)`").FindStringSubmatch(cell); m != nil {
		return m[1]
	}
	return ""
}

// topKeys returns the quoted member names at the top level of the first
// JSON-like object written in s, like {"pin": "GPIO27", "value": true} or
// {"sensor", "count", "values": {...}}; nil when s has none.
func topKeys(s string) []string {
	start := strings.Index(s, "{")
	if start < 0 {
		return nil
	}
	var keys []string
	depth := 0
	word := regexp.MustCompile(`^"([A-Za-z_]+)"\s*[:,}]`)
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return keys
			}
		case '"':
			before := strings.TrimRight(s[:i], " ")
			isValue := strings.HasSuffix(before, ":")
			if m := word.FindStringSubmatch(s[i:]); m != nil && depth == 1 && !isValue {
				keys = append(keys, m[1])
			}
			if end := strings.IndexByte(s[i+1:], '"'); end >= 0 {
				i += end + 1 // past the closing quote
			}
		}
	}
	return keys
}

// jsonFields returns the JSON member names of struct type t, embedded
// structs' included, leaving out the command id.
func jsonFields(t reflect.Type) []string {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for f := range t.Fields() {
		if f.Anonymous {
			names = append(names, jsonFields(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return slices.DeleteFunc(names, func(n string) bool { return n == "id" })
}

// commandTypes returns the name of a command definition, its argument
// type and the type of its reply's result.
func commandTypes[A, R any](def socketio.TypedEvent[A, R]) (name string, args, result reflect.Type) {
	ack := reflect.TypeFor[R]()
	if f, ok := ack.FieldByName("First"); ok { // a Pair: the reply and a binary
		ack = f.Type
	}
	f, _ := ack.FieldByName("Result")
	return def.Name(), reflect.TypeFor[A](), f.Type
}

func sortedEq(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestProtocolDocMatchesContract: docs/PROTOCOL.md and this package name
// the same telemetry event and header fields, the same built-in commands
// (in the same order) with the same argument and result members, and the
// same error codes. Change one without the other and this fails.
func TestProtocolDocMatchesContract(t *testing.T) {
	b, err := os.ReadFile(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)

	if got := code(regexp.MustCompile("(?m)^## 2\\. Device to server: (`[^`]+`)").FindString(doc)); got != wire.Telemetry.Name() {
		t.Errorf("the device-to-server section names %q, the contract declares %q", got, wire.Telemetry.Name())
	}
	telemetry := strings.Join(section(t, doc, "## 2. Device to server"), "\n")
	for _, field := range jsonFields(reflect.TypeFor[wire.TelemetryHeader]()) {
		if !strings.Contains(telemetry, `"`+field+`"`) && !strings.Contains(telemetry, "`"+field+"`") {
			t.Errorf("the telemetry header field %q is not documented", field)
		}
	}
	header := jsonFields(reflect.TypeFor[wire.TelemetryHeader]())
	for _, key := range topKeys(telemetry) {
		if !slices.Contains(header, key) {
			t.Errorf("the documented header member %q is not in the contract's %v", key, header)
		}
	}
	for _, field := range jsonFields(reflect.TypeFor[wire.TelemetryAck]()) {
		if !strings.Contains(telemetry, `"`+field+`"`) && !strings.Contains(telemetry, "`"+field+"`") {
			t.Errorf("the telemetry ack member %q is not documented", field)
		}
	}

	types := map[string][2]reflect.Type{}
	add := func(name string, a, r reflect.Type) { types[name] = [2]reflect.Type{a, r} }
	add(commandTypes(wire.Ping))
	add(commandTypes(wire.Status))
	add(commandTypes(wire.SensorRead))
	add(commandTypes(wire.GPIORead))
	add(commandTypes(wire.GPIOWrite))
	add(commandTypes(wire.SamplingSet))
	add(commandTypes(wire.QueueStats))
	add(commandTypes(wire.ConfigGet))
	add(commandTypes(wire.ConfigApply))
	add(commandTypes(wire.ConfigConfirm))
	if len(types) != len(wire.Commands()) {
		t.Fatalf("the test knows %d commands, the contract lists %d", len(types), len(wire.Commands()))
	}

	var documented []string
	for _, row := range tableRows(section(t, doc, "### Built-in commands")) {
		name := code(row[0])
		documented = append(documented, name)
		tt, ok := types[name]
		if !ok {
			continue // reported below
		}
		if got, want := topKeys(row[1]), jsonFields(tt[0]); !sortedEq(got, want) {
			t.Errorf("%s: documented arguments %v, declared %v", name, got, want)
		}
		if got := topKeys(row[2]); got != nil || tt[1].Kind() == reflect.Struct {
			if want := jsonFields(tt[1]); !sortedEq(got, want) {
				t.Errorf("%s: documented result %v, declared %v", name, got, want)
			}
		}
	}
	if !slices.Equal(documented, wire.Commands()) {
		t.Errorf("documented commands %v, declared %v", documented, wire.Commands())
	}

	// The event of a rollback: its name, members and reasons.
	remote := strings.Join(section(t, doc, "### Remote configuration"), "\n")
	event := "**`" + wire.ConfigRolledBack.Name() + "`**"
	at := strings.Index(remote, event)
	if at < 0 {
		t.Fatalf("the remote configuration section does not name the event %s", event)
	}
	if got, want := topKeys(remote[at:]), jsonFields(reflect.TypeFor[wire.ConfigRolledBackEvent]()); !sortedEq(got, want) {
		t.Errorf("%s: documented members %v, declared %v", wire.ConfigRolledBack.Name(), got, want)
	}
	for _, r := range wire.RollbackReasons() {
		if !strings.Contains(remote[at:], `"`+r+`"`) {
			t.Errorf("the rollback reason %q is not documented", r)
		}
	}

	var codes []string
	for _, row := range tableRows(section(t, doc, "### Error codes")) {
		codes = append(codes, code(row[0]))
	}
	if !slices.Equal(codes, wire.ErrorCodes()) {
		t.Errorf("documented error codes %v, declared %v", codes, wire.ErrorCodes())
	}
}
