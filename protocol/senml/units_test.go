package senml

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// Registries and the documents that fill them. Sources read for this table:
//
//   - RFC 8428 section 12.1, Table 6 ("SenML Units"; an asterisk marks units
//     NOT RECOMMENDED for new producers):
//     https://www.rfc-editor.org/rfc/rfc8428#section-12.1 (text read from
//     https://github.com/core-wg/senml-spec/blob/master/rfc8428.txt)
//   - RFC 8798 section 2 (new primary units B, VA, VAs, var, vars, J/m,
//     kg/m3, deg) and section 3 (the "Secondary Units" registry):
//     https://www.rfc-editor.org/rfc/rfc8798 (text read from
//     https://github.com/core-wg/senml-more-units, file
//     draft-ietf-core-senml-more-units.md, cross-checked against the
//     RFC 8798 tables in RIOT's sys/include/senml.h)
//   - The live registry: https://www.iana.org/assignments/senml
//   - RFC 9100 section 4: secondary units in "u" need bver 26:
//     https://www.rfc-editor.org/rfc/rfc9100 (text read from
//     https://github.com/core-wg/senml-versions)
//
// Neither registry has "/s" or "/min": the event rates are "1/s" and
// "1/min" (the latter NOT RECOMMENDED), RFC 8428 Table 6.
const (
	regPrimary   = "SenML Units"
	regSecondary = "Secondary Units"
	rfc8428      = "RFC 8428"
	rfc8798      = "RFC 8798"
)

// registeredUnits lists every Unit constant of units.go with its spelling
// in the registry (typed from the RFC tables, not from units.go).
var registeredUnits = []struct {
	name           string // constant name in units.go
	got            string // constant value
	want           string // symbol as the registry spells it
	registry       string
	rfc            string
	notRecommended bool // marked with an asterisk in the registry
}{
	{"UnitCelsius", UnitCelsius, "Cel", regPrimary, rfc8428, false},
	{"UnitKelvin", UnitKelvin, "K", regPrimary, rfc8428, false},
	{"UnitRelativeHumidity", UnitRelativeHumidity, "%RH", regPrimary, rfc8428, false},
	{"UnitPascal", UnitPascal, "Pa", regPrimary, rfc8428, false},
	{"UnitHectopascal", UnitHectopascal, "hPa", regSecondary, rfc8798, false},
	{"UnitVolt", UnitVolt, "V", regPrimary, rfc8428, false},
	{"UnitMillivolt", UnitMillivolt, "mV", regSecondary, rfc8798, false},
	{"UnitAmpere", UnitAmpere, "A", regPrimary, rfc8428, false},
	{"UnitMilliampere", UnitMilliampere, "mA", regSecondary, rfc8798, false},
	{"UnitWatt", UnitWatt, "W", regPrimary, rfc8428, false},
	{"UnitWattHour", UnitWattHour, "Wh", regSecondary, rfc8798, false},
	{"UnitCount", UnitCount, "count", regPrimary, rfc8428, false},
	{"UnitPerSecond", UnitPerSecond, "1/s", regPrimary, rfc8428, false},
	{"UnitPerMinute", UnitPerMinute, "1/min", regPrimary, rfc8428, true},
	{"UnitLux", UnitLux, "lx", regPrimary, rfc8428, false},
	{"UnitPercent", UnitPercent, "%", regPrimary, rfc8428, true}, // a ratio, Note 2
	{"UnitRatio", UnitRatio, "/", regPrimary, rfc8428, false},
	{"UnitMetre", UnitMetre, "m", regPrimary, rfc8428, false},
	{"UnitMillimetre", UnitMillimetre, "mm", regSecondary, rfc8798, false},
	{"UnitSecond", UnitSecond, "s", regPrimary, rfc8428, false},
	{"UnitHertz", UnitHertz, "Hz", regPrimary, rfc8428, false},
	{"UnitMetrePerSecond", UnitMetrePerSecond, "m/s", regPrimary, rfc8428, false},
	{"UnitLitre", UnitLitre, "l", regPrimary, rfc8428, true},
	{"UnitLitrePerSecond", UnitLitrePerSecond, "l/s", regPrimary, rfc8428, true},
	{"UnitPPM", UnitPPM, "ppm", regSecondary, rfc8798, false},
	{"UnitDecibel", UnitDecibel, "dB", regPrimary, rfc8428, false},
	{"UnitByte", UnitByte, "B", regPrimary, rfc8798, false},
	{"UnitBit", UnitBit, "bit", regPrimary, rfc8428, false},
}

// secondaryBase maps each secondary unit above to the primary unit it
// scales (RFC 8798 section 3, column "SenML unit").
var secondaryBase = map[string]string{
	"hPa": "Pa", "mV": "V", "mA": "A", "Wh": "J", "mm": "m", "ppm": "/",
}

func TestUnitsAreRegistered(t *testing.T) {
	seen := map[string]string{}
	for _, u := range registeredUnits {
		if u.got != u.want {
			t.Errorf("%s = %q, registry (%s, %s) spells it %q", u.name, u.got, u.registry, u.rfc, u.want)
		}
		if other, dup := seen[u.got]; dup {
			t.Errorf("%s and %s are both %q", u.name, other, u.got)
		}
		seen[u.got] = u.name
		if u.registry == regSecondary {
			if u.rfc != rfc8798 || u.notRecommended {
				t.Errorf("%s: secondary units come from RFC 8798 and carry no asterisk", u.name)
			}
			if _, ok := secondaryBase[u.want]; !ok {
				t.Errorf("%s: no primary unit recorded for secondary unit %q", u.name, u.want)
			}
		}
		// The symbols RFC 8428 does not register: "/s" and "/min" were
		// once used here for event rates.
		if u.got == "/s" || u.got == "/min" {
			t.Errorf("%s = %q is in neither registry", u.name, u.got)
		}
	}

	// Every Unit constant declared in units.go must be in the table, with
	// the same value: a new constant cannot skip the check.
	declared := unitConstants(t)
	if len(declared) != len(registeredUnits) {
		t.Errorf("units.go declares %d Unit constants, the table lists %d", len(declared), len(registeredUnits))
	}
	for _, u := range registeredUnits {
		v, ok := declared[u.name]
		if !ok {
			t.Errorf("%s is not declared in units.go", u.name)
			continue
		}
		if v != u.got {
			t.Errorf("%s: units.go says %q, compiled value %q", u.name, v, u.got)
		}
	}
}

// unitConstants parses units.go and returns its exported Unit* string
// constants by name.
func unitConstants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "units.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Unit") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s is not a string literal", n.Name)
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[n.Name] = v
			}
		}
	}
	return out
}
