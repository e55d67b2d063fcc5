package senml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rfcPrimaryUnitCount is the number of rows of RFC 8428 Table 6 (58) plus
// the units RFC 8798 section 2 added (8).
const rfcPrimaryUnitCount = 58 + 8

func TestCheckUnitConstants(t *testing.T) {
	for _, u := range registeredUnits {
		err := CheckUnit(u.got)
		switch u.registry {
		case regPrimary:
			if err != nil {
				t.Errorf("CheckUnit(%s = %q) = %v, want nil (primary unit)", u.name, u.got, err)
			}
		case regSecondary:
			if err == nil {
				t.Errorf("CheckUnit(%s = %q) = nil, want an error (secondary unit)", u.name, u.got)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, "secondary SenML unit") || !strings.Contains(msg, "version 10 packs") {
				t.Errorf("CheckUnit(%q) = %q, want it to say secondary unit / version 10", u.got, msg)
			}
			if want := "use " + strconv.Quote(secondaryBase[u.want]); !strings.Contains(msg, want) {
				t.Errorf("CheckUnit(%q) = %q, want it to suggest %s", u.got, msg, want)
			}
		default:
			t.Fatalf("%s: unknown registry %q", u.name, u.registry)
		}
	}
}

func TestCheckUnitMessages(t *testing.T) {
	const sec = " is a secondary SenML unit (RFC 8798), not allowed in version 10 packs; "
	const unknown = " is not in the SenML units registry (RFC 8428 section 12.1, RFC 8798)"
	tests := []struct {
		unit, want string
	}{
		{"mm", `unit "mm"` + sec + `use "m" (1 mm = 0.001 m)`},
		{"hPa", `unit "hPa"` + sec + `use "Pa" (1 hPa = 100 Pa)`},
		{"mV", `unit "mV"` + sec + `use "V" (1 mV = 0.001 V)`},
		{"mA", `unit "mA"` + sec + `use "A" (1 mA = 0.001 A)`},
		{"Wh", `unit "Wh"` + sec + `use "J" (1 Wh = 3600 J)`},
		{"ppm", `unit "ppm"` + sec + `use "/" (1 ppm = 1e-6 /)`},
		{"km/h", `unit "km/h"` + sec + `use "m/s" (1 km/h = 1/3.6 m/s)`},
		{"mm/h", `unit "mm/h"` + sec + `use "m/s" (1 mm/h = 1/3600000 m/s)`},
		{"dBm", `unit "dBm"` + sec + `use "dBW" (value in dBm * 1 + (-30))`},
		{"/s", `unit "/s"` + unknown},
		{"/min", `unit "/min"` + unknown},
		{"furlong", `unit "furlong"` + unknown},
		{"cel", `unit "cel"` + unknown}, // symbols are case-sensitive
		{"mm/s", `unit "mm/s"` + unknown},
		{" m", `unit " m"` + unknown},
	}
	for _, tt := range tests {
		err := CheckUnit(tt.unit)
		if err == nil {
			t.Errorf("CheckUnit(%q) = nil, want %q", tt.unit, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("CheckUnit(%q) =\n  %q\nwant\n  %q", tt.unit, err, tt.want)
		}
	}
}

func TestCheckUnitAccepts(t *testing.T) {
	// A sample from each source, including NOT RECOMMENDED units, which
	// are registered and so allowed.
	for _, u := range []string{"", "m", "m3", "m3/s", "1/s", "1/min", "%", "g", "Bspl", "beat/min",
		"%EL", "EL", "S/m", "lat", "lon", "B", "VA", "VAs", "var", "vars", "J/m", "kg/m3", "deg"} {
		if err := CheckUnit(u); err != nil {
			t.Errorf("CheckUnit(%q) = %v, want nil", u, err)
		}
	}
	if len(primaryUnits) != rfcPrimaryUnitCount {
		t.Errorf("primaryUnits has %d units, RFC 8428 Table 6 and RFC 8798 section 2 have %d",
			len(primaryUnits), rfcPrimaryUnitCount)
	}
}

// TestSecondaryUnitTable checks the secondary table is consistent: no unit
// is in both registries, each converts to a primary unit, and each scale
// is a positive number.
func TestSecondaryUnitTable(t *testing.T) {
	for u, s := range secondaryUnits {
		if _, dup := primaryUnits[u]; dup {
			t.Errorf("%q is in both registries", u)
		}
		if _, ok := primaryUnits[s.primary]; !ok {
			t.Errorf("secondary %q converts to %q, which is not a primary unit", u, s.primary)
		}
		if x := parseScale(t, s.scale); !(x > 0) {
			t.Errorf("secondary %q: scale %q is not positive", u, s.scale)
		}
		if d, ok := scaleText[s.scale]; ok && parseScale(t, d) != parseScale(t, s.scale) {
			t.Errorf("scaleText[%q] = %q, not the same number", s.scale, d)
		}
	}
}

// parseScale parses "x" or "x/y" as the registry writes scales.
func parseScale(t *testing.T, s string) float64 {
	t.Helper()
	num, den, frac := strings.Cut(s, "/")
	x, err := strconv.ParseFloat(num, 64)
	if err != nil {
		t.Fatalf("scale %q: %v", s, err)
	}
	if !frac {
		return x
	}
	y, err := strconv.ParseFloat(den, 64)
	if err != nil {
		t.Fatalf("scale %q: %v", s, err)
	}
	return x / y
}

func TestEncodeRejectsNonPrimaryUnits(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	readings := []Reading{
		{Name: "rain/total", Unit: UnitMetre, Value: 0.0002794, Time: at},
		{Name: "rain/depth", Unit: UnitMillimetre, Value: 0.2794, Time: at},
	}
	_, err := Encode("pi-7:", readings)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode with unit mm: err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{`record 1 ("pi-7:rain/depth")`, `unit "mm" is a secondary SenML unit`, `use "m"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Encode error %q does not contain %q", err, want)
		}
	}

	recs := []Record{
		{BaseName: "pi-7:", BaseUnit: UnitHectopascal, Name: "p", Value: f(1013.25)},
	}
	_, err = EncodeRecords(recs)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `record 0 ("pi-7:p"): base unit: unit "hPa" is a secondary`) {
		t.Errorf("EncodeRecords with bu hPa: err = %v, want ErrInvalid naming the base unit", err)
	}

	recs = []Record{
		{BaseName: "pi-7:", Name: "ok", Unit: UnitPerSecond, Value: f(1)},
		{Name: "rate", Unit: "/s", Value: f(2)},
	}
	_, err = EncodeRecords(recs)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `record 1 ("pi-7:rate"): unit "/s" is not in the SenML units registry`) {
		t.Errorf("EncodeRecords with u /s: err = %v, want ErrInvalid naming record 1", err)
	}

	// Primary units, NOT RECOMMENDED ones included, still encode.
	recs[1].Unit = UnitPerMinute
	if _, err := EncodeRecords(recs); err != nil {
		t.Errorf("EncodeRecords with u 1/min: %v", err)
	}
}

// TestDecodeAcceptsSecondaryUnits checks the unit check is on the encoding
// side only: a received pack with any unit still decodes and resolves.
func TestDecodeAcceptsSecondaryUnits(t *testing.T) {
	data, err := defaultEncoder.marshal([]Record{{BaseName: "pi-7:", Name: "rain", Unit: "mm", Value: f(0.2794)}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Resolve(recs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Unit != "mm" || *res[0].Value != 0.2794 {
		t.Errorf("resolved %+v", res[0])
	}
}

func ExampleCheckUnit() {
	for _, u := range []string{"Pa", "hPa", "/s"} {
		fmt.Println(CheckUnit(u))
	}
	// Output:
	// <nil>
	// unit "hPa" is a secondary SenML unit (RFC 8798), not allowed in version 10 packs; use "Pa" (1 hPa = 100 Pa)
	// unit "/s" is not in the SenML units registry (RFC 8428 section 12.1, RFC 8798)
}
