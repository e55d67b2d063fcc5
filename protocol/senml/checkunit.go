package senml

import "fmt"

// primaryUnits is the set of units a version 10 pack may carry in "u" and
// "bu": the IANA "SenML Units" registry as filled by RFC 8428 section 12.1
// (Table 6) and RFC 8798 section 2. Units marked NOT RECOMMENDED in the
// registry (an asterisk) are still registered and included, on their own
// lines. It is never modified.
//
// Not included: "NTU" (nephelometric turbidity unit, ISO 7027-1), which
// IANA registered later by expert review, outside both RFCs.
var primaryUnits = map[string]struct{}{
	// RFC 8428, Table 6.
	"m": {}, "kg": {}, "s": {}, "A": {}, "K": {}, "cd": {}, "mol": {},
	"Hz": {}, "rad": {}, "sr": {}, "N": {}, "Pa": {}, "J": {}, "W": {},
	"C": {}, "V": {}, "F": {}, "Ohm": {}, "S": {}, "Wb": {}, "T": {}, "H": {},
	"Cel": {}, "lm": {}, "lx": {}, "Bq": {}, "Gy": {}, "Sv": {}, "kat": {},
	"m2": {}, "m3": {}, "m/s": {}, "m/s2": {}, "m3/s": {}, "W/m2": {},
	"cd/m2": {}, "bit": {}, "bit/s": {}, "lat": {}, "lon": {}, "pH": {},
	"dB": {}, "dBW": {}, "count": {}, "/": {}, "%RH": {}, "%EL": {}, "EL": {},
	"1/s": {}, "S/m": {},
	// RFC 8428, Table 6, NOT RECOMMENDED (asterisk).
	"g": {}, "l": {}, "l/s": {}, "Bspl": {}, "%": {}, "1/min": {},
	"beat/min": {}, "beats": {},
	// RFC 8798, section 2.
	"B": {}, "VA": {}, "VAs": {}, "var": {}, "vars": {}, "J/m": {}, "kg/m3": {},
	// RFC 8798, section 2, NOT RECOMMENDED (asterisk).
	"deg": {},
}

// secondaryUnit describes an entry of the IANA "Secondary Units" registry
// (RFC 8798 section 3): a value v in the secondary unit is
// v*scale + offset in the primary unit.
type secondaryUnit struct {
	primary string // the SenML (primary) unit it converts to
	scale   string // as the registry writes it, e.g. "1/1000"
	offset  string // "" when the offset is 0
}

// secondaryUnits is the IANA "Secondary Units" registry: the entries of
// RFC 8798 section 3 and those IANA added after it (ppb, ppt, VAh, mg/l,
// ug/l, g/l). It serves only to explain why such a unit is refused and
// what to send instead. It is never modified.
var secondaryUnits = map[string]secondaryUnit{
	// RFC 8798, section 3.
	"ms":     {"s", "1/1000", ""},
	"min":    {"s", "60", ""},
	"h":      {"s", "3600", ""},
	"MHz":    {"Hz", "1000000", ""},
	"kW":     {"W", "1000", ""},
	"kVA":    {"VA", "1000", ""},
	"kvar":   {"var", "1000", ""},
	"Ah":     {"C", "3600", ""},
	"Wh":     {"J", "3600", ""},
	"kWh":    {"J", "3600000", ""},
	"varh":   {"vars", "3600", ""},
	"kvarh":  {"vars", "3600000", ""},
	"kVAh":   {"VAs", "3600000", ""},
	"Wh/km":  {"J/m", "3.6", ""},
	"KiB":    {"B", "1024", ""},
	"GB":     {"B", "1e9", ""},
	"Mbit/s": {"bit/s", "1000000", ""},
	"B/s":    {"bit/s", "8", ""},
	"MB/s":   {"bit/s", "8000000", ""},
	"mV":     {"V", "1/1000", ""},
	"mA":     {"A", "1/1000", ""},
	"dBm":    {"dBW", "1", "-30"},
	"ug/m3":  {"kg/m3", "1e-9", ""},
	"mm/h":   {"m/s", "1/3600000", ""},
	"m/h":    {"m/s", "1/3600", ""},
	"ppm":    {"/", "1e-6", ""},
	"/100":   {"/", "1/100", ""},
	"/1000":  {"/", "1/1000", ""},
	"hPa":    {"Pa", "100", ""},
	"mm":     {"m", "1/1000", ""},
	"cm":     {"m", "1/100", ""},
	"km":     {"m", "1000", ""},
	"km/h":   {"m/s", "1/3.6", ""},
	// Registered by IANA after RFC 8798.
	"ppb":  {"/", "1e-9", ""},
	"ppt":  {"/", "1e-12", ""},
	"VAh":  {"VAs", "3600", ""},
	"mg/l": {"kg/m3", "1/1000", ""},
	"ug/l": {"kg/m3", "1e-6", ""},
	"g/l":  {"kg/m3", "1", ""},
}

// scaleText spells the registry's fractional scales as decimals where that
// is exact and short, for error messages.
var scaleText = map[string]string{
	"1/1000": "0.001",
	"1/100":  "0.01",
}

// CheckUnit reports whether u may be sent as the unit ("u" or "bu") of a
// record in a version 10 pack, the only version [Encoder] writes. It returns
// nil for "" (no unit) and for every unit of the IANA "SenML Units"
// registry (RFC 8428 section 12.1 and RFC 8798 section 2), including the
// ones marked NOT RECOMMENDED such as "%" and "1/min". Symbols are
// case-sensitive.
//
// For a unit of the "Secondary Units" registry (RFC 8798 section 3, e.g.
// "hPa", "mV", "mm", "ppm") it returns an error saying so and naming the
// primary unit to convert to: RFC 8798 allows secondary units only in packs
// that declare bver 26 (RFC 9100). For any other string, such as "/s", it
// returns an error saying the unit is not in the SenML units registry.
func CheckUnit(u string) error {
	if u == "" {
		return nil
	}
	if _, ok := primaryUnits[u]; ok {
		return nil
	}
	if s, ok := secondaryUnits[u]; ok {
		return fmt.Errorf("unit %q is a secondary SenML unit (RFC 8798), not allowed in version %d packs; %s",
			u, Version, s.advice(u))
	}
	return fmt.Errorf("unit %q is not in the SenML units registry (RFC 8428 section 12.1, RFC 8798)", u)
}

// advice says how to convert a value in the secondary unit u to s.primary.
func (s secondaryUnit) advice(u string) string {
	if s.offset != "" {
		return fmt.Sprintf("use %q (value in %s * %s + (%s))", s.primary, u, s.scale, s.offset)
	}
	scale := s.scale
	if d, ok := scaleText[scale]; ok {
		scale = d
	}
	return fmt.Sprintf("use %q (1 %s = %s %s)", s.primary, u, scale, s.primary)
}
