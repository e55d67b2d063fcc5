package senml

// SenML unit names, for Reading.Unit and Record.Unit. Each is spelled as in
// the IANA "Sensor Measurement Lists (SenML)" registry
// (https://www.iana.org/assignments/senml): its "SenML Units" sub-registry
// (RFC 8428 section 12.1, extended by RFC 8798 section 2) or its "Secondary
// Units" sub-registry (RFC 8798 section 3). TestUnitsAreRegistered lists
// the source of each.
//
// Units the registry marks with an asterisk are NOT RECOMMENDED for new
// producers (RFC 8428 section 12.1); their doc comments say so.
//
// Secondary units (hectopascal, millivolt, milliampere, watt-hour,
// millimetre, ppm) are scaled forms of a primary unit. RFC 8798 section 3
// limits version 10 packs to primary units in "u": a pack may use a
// secondary unit only if it declares the "Secondary Units" feature, bver 26
// (RFC 9100 section 4). Encoder writes version 10 packs (no bver) and
// Resolve rejects bver above [Version], so [CheckUnit] refuses secondary
// units and the Encoder will not encode them: convert to the primary unit
// (hPa * 100 = Pa, mV / 1000 = V, ...). The secondary constants are kept
// for reading packs from other producers.
const (
	// UnitCelsius is degrees Celsius ("Cel", RFC 8428).
	UnitCelsius = "Cel"
	// UnitKelvin is kelvin ("K", RFC 8428).
	UnitKelvin = "K"
	// UnitRelativeHumidity is relative humidity in percent, 0 to 100
	// ("%RH", RFC 8428).
	UnitRelativeHumidity = "%RH"
	// UnitPascal is pascal, the primary pressure unit ("Pa", RFC 8428).
	UnitPascal = "Pa"
	// UnitHectopascal is hectopascal, a secondary unit (100 Pa; "hPa",
	// RFC 8798). Needs bver 26; prefer UnitPascal.
	UnitHectopascal = "hPa"
	// UnitVolt is volt ("V", RFC 8428).
	UnitVolt = "V"
	// UnitMillivolt is millivolt, a secondary unit (1/1000 V; "mV",
	// RFC 8798). Needs bver 26; prefer UnitVolt.
	UnitMillivolt = "mV"
	// UnitAmpere is ampere ("A", RFC 8428).
	UnitAmpere = "A"
	// UnitMilliampere is milliampere, a secondary unit (1/1000 A; "mA",
	// RFC 8798). Needs bver 26; prefer UnitAmpere.
	UnitMilliampere = "mA"
	// UnitWatt is watt ("W", RFC 8428).
	UnitWatt = "W"
	// UnitWattHour is watt-hour, a secondary unit (3600 J; "Wh", RFC 8798).
	// Needs bver 26; the primary energy unit is joule ("J").
	UnitWattHour = "Wh"
	// UnitCount is a counter value, dimensionless 1 ("count", RFC 8428).
	UnitCount = "count"
	// UnitPerSecond is an event rate, 1 per second ("1/s", RFC 8428).
	// There is no registered unit "/s".
	UnitPerSecond = "1/s"
	// UnitPerMinute is an event rate, 1 per minute ("1/min", RFC 8428; the
	// registry's "rpm"). It is NOT RECOMMENDED for new producers: send the
	// rate per second with UnitPerSecond. There is no registered "/min".
	UnitPerMinute = "1/min"
	// UnitLux is lux, illuminance ("lx", RFC 8428).
	UnitLux = "lx"
	// UnitPercent is "%", which despite its name is NOT a percentage: RFC
	// 8428 section 12.1 (Note 2) registers it as a NOT RECOMMENDED synonym
	// of UnitRatio, so 1 means 100 %. Do not use it for new data: send a
	// ratio 0..1 with UnitRatio, or use "%RH" (humidity) or "%EL" (battery).
	UnitPercent = "%"
	// UnitRatio is a dimensionless ratio such as a switch position, 0 off
	// to 1 on ("/", RFC 8428).
	UnitRatio = "/"
	// UnitMetre is metre ("m", RFC 8428).
	UnitMetre = "m"
	// UnitMillimetre is millimetre, a secondary unit (1/1000 m; "mm",
	// RFC 8798), e.g. rainfall. Needs bver 26; prefer UnitMetre.
	UnitMillimetre = "mm"
	// UnitSecond is second ("s", RFC 8428).
	UnitSecond = "s"
	// UnitHertz is hertz ("Hz", RFC 8428).
	UnitHertz = "Hz"
	// UnitMetrePerSecond is metre per second, e.g. wind speed ("m/s",
	// RFC 8428).
	UnitMetrePerSecond = "m/s"
	// UnitLitre is litre ("l", RFC 8428). NOT RECOMMENDED for new
	// producers: the primary volume unit is cubic metre ("m3").
	UnitLitre = "l"
	// UnitLitrePerSecond is litre per second, a flow rate ("l/s", RFC 8428).
	// NOT RECOMMENDED for new producers: use cubic metre per second
	// ("m3/s").
	UnitLitrePerSecond = "l/s"
	// UnitPPM is parts per million, a secondary unit (1e-6 of "/"; "ppm",
	// RFC 8798), e.g. CO2. Needs bver 26; prefer UnitRatio with the value
	// scaled by 1e-6.
	UnitPPM = "ppm"
	// UnitDecibel is decibel, a logarithmic quantity ("dB", RFC 8428).
	UnitDecibel = "dB"
	// UnitByte is byte, information content ("B", RFC 8798 section 2).
	UnitByte = "B"
	// UnitBit is bit, information content ("bit", RFC 8428).
	UnitBit = "bit"
)
