package senml

// SenML units from the IANA "SenML Units" registry (RFC 8428 section 12.1
// and RFC 8798) and its secondary units registry (RFC 8798). Use them as
// Reading.Unit.
const (
	// UnitCelsius is degrees Celsius.
	UnitCelsius = "Cel"
	// UnitKelvin is kelvin.
	UnitKelvin = "K"
	// UnitRelativeHumidity is relative humidity in percent.
	UnitRelativeHumidity = "%RH"
	// UnitPascal is pascal (pressure).
	UnitPascal = "Pa"
	// UnitHectopascal is hectopascal, a secondary unit (100 Pa).
	UnitHectopascal = "hPa"
	// UnitVolt is volt.
	UnitVolt = "V"
	// UnitMillivolt is millivolt, a secondary unit.
	UnitMillivolt = "mV"
	// UnitAmpere is ampere.
	UnitAmpere = "A"
	// UnitMilliampere is milliampere, a secondary unit.
	UnitMilliampere = "mA"
	// UnitWatt is watt.
	UnitWatt = "W"
	// UnitWattHour is watt-hour, a secondary unit.
	UnitWattHour = "Wh"
	// UnitCount is a counter value (dimensionless).
	UnitCount = "count"
	// UnitPerSecond is an event rate per second (RFC 8798 "/s"; RFC 8428's
	// older spelling is "1/s").
	UnitPerSecond = "/s"
	// UnitPerMinute is an event rate per minute (RFC 8798 "/min").
	UnitPerMinute = "/min"
	// UnitLux is lux (illuminance).
	UnitLux = "lx"
	// UnitPercent is a percentage, e.g. of a switch position or battery.
	UnitPercent = "%"
	// UnitRatio is a dimensionless ratio (RFC 8798 "/").
	UnitRatio = "/"
	// UnitMetre is metre.
	UnitMetre = "m"
	// UnitMillimetre is millimetre, a secondary unit (e.g. rainfall).
	UnitMillimetre = "mm"
	// UnitSecond is second.
	UnitSecond = "s"
	// UnitHertz is hertz.
	UnitHertz = "Hz"
	// UnitMetrePerSecond is metre per second (e.g. wind speed).
	UnitMetrePerSecond = "m/s"
	// UnitLitre is litre.
	UnitLitre = "l"
	// UnitLitrePerSecond is litre per second (flow).
	UnitLitrePerSecond = "l/s"
	// UnitPPM is parts per million, a secondary unit (e.g. CO2).
	UnitPPM = "ppm"
	// UnitDecibel is decibel.
	UnitDecibel = "dB"
	// UnitByte is byte.
	UnitByte = "B"
	// UnitBit is bit.
	UnitBit = "bit"
)
