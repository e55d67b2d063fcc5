package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sioagent/sioagent/protocol/senml"
)

// Sensor drivers.
const (
	DriverSim     = "sim"
	DriverGPIOIn  = "gpio-in"
	DriverGPIOOut = "gpio-out"
	DriverBME280  = "bme280"
	DriverBMP280  = "bmp280"
	DriverSHT3x   = "sht3x"
	DriverSHT4x   = "sht4x"
	DriverADS1115 = "ads1115"
	DriverDS18B20 = "ds18b20"
)

// Simulated signals of the sim driver.
const (
	SignalCounter    = "counter"
	SignalSine       = "sine"
	SignalRandomWalk = "random-walk"
	SignalConstant   = "constant"
)

// GPIO pulls, edges and input modes.
const (
	PullUp        = "up"
	PullDown      = "down"
	PullFloat     = "float"
	EdgeNone      = "none"
	EdgeRising    = "rising"
	EdgeFalling   = "falling"
	EdgeBoth      = "both"
	ModeLevel     = "level"
	ModeCounter   = "counter"
	MaxGPIONumber = 53 // highest BCM GPIO number (GPIO0..GPIO53)
)

// Sensor defaults and limits.
const (
	// DefaultInterval is the default sampling interval.
	DefaultInterval = 10 * time.Second
	// MinInterval is the shortest sampling interval.
	MinInterval = 10 * time.Millisecond
	// MaxInterval is the longest sampling interval.
	MaxInterval = 24 * time.Hour
	// DefaultSensorTimeout is the default read timeout; it is lowered to the
	// interval when the interval is shorter.
	DefaultSensorTimeout = 2 * time.Second
	// DefaultQuantity is the quantity name of sim and gpio-in readings.
	DefaultQuantity = "value"
	// MaxUnitLen is the longest unit.
	MaxUnitLen = 32
	// DefaultPeriod is the sim sine period in readings.
	DefaultPeriod = 60
	// MinPeriod and MaxPeriod bound the sim sine period.
	MinPeriod = 2
	// MaxPeriod is the longest sim sine period in readings.
	MaxPeriod = 1_000_000
	// DefaultAmplitude is the sim sine amplitude.
	DefaultAmplitude = 1.0
	// DefaultStep is the sim counter increment and random-walk step.
	DefaultStep = 1.0
	// DefaultMin and DefaultMax bound the sim random walk.
	DefaultMin = 0.0
	// DefaultMax is the upper bound of the sim random walk.
	DefaultMax = 100.0
	// MaxFailEvery bounds the sim fail_every.
	MaxFailEvery = 1_000_000_000
	// MaxDebounce is the longest GPIO debounce.
	MaxDebounce = 10 * time.Second
	// DefaultScale is the value per pulse in counter mode.
	DefaultScale = 1.0
	// DefaultBus is the I2C bus of I2C sensors ("/dev/i2c-1").
	DefaultBus = "1"
	// MaxBus is the highest I2C bus number.
	MaxBus = 255
	// AddrBMx280 is the default BME280/BMP280 address (0x77 is the other).
	AddrBMx280 = 0x76
	// AddrSHT is the default SHT3x/SHT4x address.
	AddrSHT = 0x44
	// AddrADS1115 is the default ADS1115 address.
	AddrADS1115 = 0x48
	// ADS1115Channels is the number of ADS1115 inputs (0..3).
	ADS1115Channels = 4
	// DefaultGain is the default ADS1115 full-scale range in volts.
	DefaultGain = 4.096
	// DefaultDataRate is the default ADS1115 data rate in samples/s.
	DefaultDataRate = 128
	// DefaultW1Dir is the sysfs directory of 1-Wire devices.
	DefaultW1Dir = "/sys/bus/w1/devices"
	// DS18B20Family is the 1-Wire family code of the DS18B20.
	DS18B20Family = "28"
)

// Sensor is one [[sensors]] entry. Keys that do not apply to its driver are
// rejected at load time and keep their zero value here.
type Sensor struct {
	// Name is required and unique: 1 to 64 characters from A-Z a-z 0-9
	// "." "_" "-". Driver is required: sim, gpio-in, gpio-out, bme280,
	// bmp280, sht3x, sht4x, ads1115 or ds18b20.
	Name, Driver string
	// Interval between reads (default 10s, at least 10ms, at most 24h) and
	// the read timeout (default 2s or the interval if shorter; at most the
	// interval).
	Interval, Timeout time.Duration
	// Enabled says whether the sensor is sampled; default true.
	Enabled bool

	// Signal is required for sim: counter, sine, random-walk or constant.
	// Quantity names the reading (sim and gpio-in; default "value"); the
	// SenML name is "<sensor>/<quantity>". Unit is a primary SenML unit
	// (one senml.CheckUnit accepts, e.g. "Cel", "%RH", "Pa", "m"; not a
	// secondary unit such as "hPa" or "mm") for sim and gpio-in, default
	// none. A gpio-in counter also reports a rate in Unit+"/s" ("1/s" when
	// Unit is "" or "count"), which must be registered too: "m" and "m3"
	// work, "Cel" does not.
	Signal, Quantity, Unit string
	// Seed seeds the sim random walk (default 0).
	Seed uint64
	// Period is the sim sine period in readings (default 60, 2..1000000).
	Period int
	// Amplitude of the sine (default 1); Offset is added to every signal
	// and is the counter's start and the walk's start (default 0); Step is
	// the counter increment and the largest random-walk step (default 1);
	// Min and Max bound the random walk (default 0 and 100, Min < Max).
	Amplitude, Offset, Step, Min, Max float64
	// FailEvery makes every n-th sim read fail (default 0: never).
	FailEvery int

	// Pin is required for gpio-in and gpio-out: a BCM name "GPIO0" to
	// "GPIO53". Pull (gpio-in): up, down or float (default float). Edge
	// (gpio-in): none, rising, falling or both (default both in mode level,
	// falling in mode counter; none is not allowed in mode counter). Mode
	// (gpio-in): level (default) or counter.
	Pin, Pull, Edge, Mode string
	// Debounce (gpio-in) ignores changes shorter than this; default 0.
	Debounce time.Duration
	// Scale (gpio-in, mode counter only) is the value per pulse; default 1.
	Scale float64
	// Initial (gpio-out) is the level set at start and Safe the level set
	// at shutdown (default false); ActiveLow (gpio-in and gpio-out) inverts
	// the logical level.
	Initial, Safe, ActiveLow bool

	// Bus is the I2C bus number (bme280, bmp280, sht3x, sht4x, ads1115);
	// default "1".
	Bus string
	// Address is the I2C address: default 0x76 for bme280/bmp280 (0x76 or
	// 0x77), 0x44 for sht3x (0x44 or 0x45) and sht4x (0x44 to 0x46), 0x48
	// for ads1115 (0x48 to 0x4B).
	Address uint16
	// Channels are the ads1115 inputs read; default [0]; each 0..3, no
	// duplicates.
	Channels []int
	// Gain is the ads1115 full-scale range in volts: 6.144, 4.096
	// (default), 2.048, 1.024, 0.512 or 0.256.
	Gain float64
	// DataRate is the ads1115 rate in samples/s: 8, 16, 32, 64, 128
	// (default), 250, 475 or 860.
	DataRate int

	// Device is required for ds18b20: the 1-Wire id "28-" followed by 12
	// lower-case hex digits. W1Dir is the sysfs directory of 1-Wire devices
	// (default "/sys/bus/w1/devices").
	Device, W1Dir string
}

// Sensor keys and which drivers use them.
var (
	drivers       = []string{DriverSim, DriverGPIOIn, DriverGPIOOut, DriverBME280, DriverBMP280, DriverSHT3x, DriverSHT4x, DriverADS1115, DriverDS18B20}
	signals       = []string{SignalCounter, SignalSine, SignalRandomWalk, SignalConstant}
	pulls         = []string{PullUp, PullDown, PullFloat}
	edges         = []string{EdgeNone, EdgeRising, EdgeFalling, EdgeBoth}
	modes         = []string{ModeLevel, ModeCounter}
	gains         = []float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256}
	dataRates     = []int64{8, 16, 32, 64, 128, 250, 475, 860}
	commonKeys    = []string{"name", "driver", "interval", "timeout", "enabled"}
	simKeys       = []string{"signal", "quantity", "unit", "seed", "period", "amplitude", "offset", "step", "min", "max", "fail_every"}
	gpioInKeys    = []string{"pin", "pull", "edge", "mode", "debounce", "scale", "active_low", "quantity", "unit"}
	gpioOutKeys   = []string{"pin", "initial", "safe", "active_low"}
	i2cKeys       = []string{"bus", "address"}
	ads1115Keys   = []string{"bus", "address", "channels", "gain", "data_rate"}
	ds18b20Keys   = []string{"device", "w1_dir"}
	allSensorKeys = []string{"name", "driver", "interval", "timeout", "enabled",
		"signal", "quantity", "unit", "seed", "period", "amplitude", "offset", "step", "min", "max", "fail_every",
		"pin", "pull", "edge", "mode", "debounce", "scale", "initial", "safe", "active_low",
		"bus", "address", "channels", "gain", "data_rate", "device", "w1_dir"}
)

// driverKeys returns the keys a driver uses besides the common ones.
func driverKeys(driver string) []string {
	switch driver {
	case DriverSim:
		return simKeys
	case DriverGPIOIn:
		return gpioInKeys
	case DriverGPIOOut:
		return gpioOutKeys
	case DriverBME280, DriverBMP280, DriverSHT3x, DriverSHT4x:
		return i2cKeys
	case DriverADS1115:
		return ads1115Keys
	case DriverDS18B20:
		return ds18b20Keys
	}
	return nil
}

// isI2C reports whether a driver talks I2C.
func isI2C(driver string) bool {
	switch driver {
	case DriverBME280, DriverBMP280, DriverSHT3x, DriverSHT4x, DriverADS1115:
		return true
	}
	return false
}

// addrRange returns a chip's default and valid address range.
func addrRange(driver string) (def, lo, hi uint16) {
	switch driver {
	case DriverBME280, DriverBMP280:
		return AddrBMx280, 0x76, 0x77
	case DriverSHT3x:
		return AddrSHT, 0x44, 0x45
	case DriverSHT4x:
		return AddrSHT, 0x44, 0x46
	case DriverADS1115:
		return AddrADS1115, 0x48, 0x4B
	}
	return 0, 0, 0
}

// sensors parses the [[sensors]] array.
func (p *parser) sensors(c *Config, v any) *Error {
	var list []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		list = v
	case []any:
		for i, e := range v {
			tbl, ok := e.(map[string]any)
			if !ok {
				return p.errf(fmt.Sprintf("sensors[%d]", i), "must be a table, got %s", describe(e))
			}
			list = append(list, tbl)
		}
	default:
		return p.errf("sensors", "must be an array of tables ([[sensors]]), got %s", describe(v))
	}
	for i, tbl := range list {
		s, err := p.sensor(i, tbl)
		if err != nil {
			return err
		}
		if err := p.checkDuplicates(c.Sensors, s, i); err != nil {
			return err
		}
		c.Sensors = append(c.Sensors, s)
	}
	return nil
}

// sensor parses one [[sensors]] table.
func (p *parser) sensor(i int, tbl map[string]any) (Sensor, *Error) {
	base := fmt.Sprintf("sensors[%d]", i)
	s := Sensor{Interval: DefaultInterval, Enabled: true}
	drv, _ := tbl["driver"].(string)
	if !contains(drivers, drv) {
		drv = "" // reported when the driver key is reached, or as missing
	}
	for _, k := range p.ordered(tbl, joinPath("sensors", strconv.Itoa(i))) {
		key := base + "." + k
		if !contains(allSensorKeys, k) {
			known := allSensorKeys
			if drv != "" {
				known = append(append([]string{}, commonKeys...), driverKeys(drv)...)
			}
			return s, p.unknown(key, k, known, drv != "")
		}
		if drv != "" && !contains(commonKeys, k) && !contains(driverKeys(drv), k) {
			return s, p.errf(key, "not used by driver %q", drv)
		}
		if err := p.sensorKey(&s, drv, k, key, tbl[k]); err != nil {
			return s, err
		}
	}
	return s, p.finishSensor(&s, base, tbl)
}

// sensorKey parses one key of a sensor; drv is its driver if valid.
func (p *parser) sensorKey(s *Sensor, drv, k, key string, v any) *Error {
	switch k {
	case "name":
		return p.set(&s.Name, key, v, p.name)
	case "driver":
		return p.setString(&s.Driver, key, v, drivers)
	case "interval":
		return p.setDur(&s.Interval, key, v, durBounds{min: MinInterval, max: MaxInterval})
	case "timeout":
		return p.setDur(&s.Timeout, key, v, durBounds{max: MaxInterval})
	case "enabled":
		return p.setBool(&s.Enabled, key, v)
	case "signal":
		return p.setString(&s.Signal, key, v, signals)
	case "quantity":
		return p.set(&s.Quantity, key, v, p.name)
	case "unit":
		return p.set(&s.Unit, key, v, p.unit)
	case "pin":
		return p.set(&s.Pin, key, v, p.pin)
	case "pull":
		return p.setString(&s.Pull, key, v, pulls)
	case "edge":
		return p.setString(&s.Edge, key, v, edges)
	case "mode":
		return p.setString(&s.Mode, key, v, modes)
	case "debounce":
		return p.setDur(&s.Debounce, key, v, durBounds{max: MaxDebounce, zero: "off"})
	case "initial":
		return p.setBool(&s.Initial, key, v)
	case "safe":
		return p.setBool(&s.Safe, key, v)
	case "active_low":
		return p.setBool(&s.ActiveLow, key, v)
	case "bus":
		return p.set(&s.Bus, key, v, p.bus)
	case "device":
		return p.set(&s.Device, key, v, p.w1Device)
	case "w1_dir":
		return p.set(&s.W1Dir, key, v, p.nonEmpty)
	}
	return p.sensorNumber(s, drv, k, key, v)
}

// sensorNumber parses the numeric keys of a sensor.
func (p *parser) sensorNumber(s *Sensor, drv, k, key string, v any) *Error {
	var err *Error
	var n int64
	switch k {
	case "seed":
		n, err = p.integer(key, v, 0, 1<<63-1)
		s.Seed = uint64(n)
	case "period":
		n, err = p.integer(key, v, MinPeriod, MaxPeriod)
		s.Period = int(n)
	case "fail_every":
		n, err = p.integer(key, v, 0, MaxFailEvery)
		s.FailEvery = int(n)
	case "amplitude":
		s.Amplitude, err = p.float(key, v)
	case "offset":
		s.Offset, err = p.float(key, v)
	case "step":
		s.Step, err = p.float(key, v)
	case "min":
		s.Min, err = p.float(key, v)
	case "max":
		s.Max, err = p.float(key, v)
	case "scale":
		s.Scale, err = p.float(key, v)
		if err == nil && s.Scale == 0 {
			err = p.errf(key, "must not be 0; it is the value each pulse adds, e.g. 0.0002794 (m of rain per tip)")
		}
	case "address":
		s.Address, err = p.address(key, v, drv)
	case "channels":
		s.Channels, err = p.channels(key, v)
	case "gain":
		s.Gain, err = p.gain(key, v)
	case "data_rate":
		n, err = p.dataRate(key, v)
		s.DataRate = int(n)
	}
	return err
}

// set decodes v with dec into *dst.
func (p *parser) set(dst *string, key string, v any, dec func(string, any) (string, *Error)) *Error {
	s, err := dec(key, v)
	if err == nil {
		*dst = s
	}
	return err
}

func (p *parser) setString(dst *string, key string, v any, allowed []string) *Error {
	s, err := p.oneOf(key, v, allowed...)
	if err == nil {
		*dst = s
	}
	return err
}

func (p *parser) setDur(dst *time.Duration, key string, v any, b durBounds) *Error {
	d, err := p.duration(key, v, b)
	if err == nil {
		*dst = d
	}
	return err
}

func (p *parser) setBool(dst *bool, key string, v any) *Error {
	b, err := p.boolean(key, v)
	if err == nil {
		*dst = b
	}
	return err
}

// unit decodes a SenML unit: "" or a primary unit that senml.CheckUnit
// accepts (so sioagent's version 10 packs can carry it).
func (p *parser) unit(key string, v any) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	if len(s) > MaxUnitLen {
		return "", p.errf(key, "%q is too long; at most %d characters", s, MaxUnitLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return "", p.errf(key, "%q is not a valid unit; use a SenML unit of printable ASCII without spaces, e.g. \"Cel\", \"%%RH\" or \"m\"", s)
		}
	}
	if err := senml.CheckUnit(s); err != nil {
		e := p.errf(key, "%v", err)
		e.Err = err
		return "", e
	}
	return s, nil
}

// pin decodes a BCM GPIO name, "GPIO0" to "GPIO53".
func (p *parser) pin(key string, v any) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	num, ok := strings.CutPrefix(s, "GPIO")
	n, perr := strconv.Atoi(num)
	if !ok || perr != nil || n < 0 || n > MaxGPIONumber || strconv.Itoa(n) != num {
		return "", p.errf(key, "%q is not a GPIO pin; use a BCM name from \"GPIO0\" to \"GPIO%d\", e.g. \"GPIO17\"", s, MaxGPIONumber)
	}
	return s, nil
}

// bus decodes an I2C bus number given as a string ("1") or an integer.
func (p *parser) bus(key string, v any) (string, *Error) {
	var n int
	var ok bool
	switch v := v.(type) {
	case string:
		var err error
		n, err = strconv.Atoi(v)
		ok = err == nil && strconv.Itoa(n) == v
	case int64:
		n, ok = int(v), v >= 0 && v <= MaxBus
	}
	if !ok || n < 0 || n > MaxBus {
		return "", p.errf(key, "must be an I2C bus number from \"0\" to \"%d\" (\"1\" is /dev/i2c-1), got %s", MaxBus, describe(v))
	}
	return strconv.Itoa(n), nil
}

// address decodes an I2C address, checking the chip's range when the
// driver is known.
func (p *parser) address(key string, v any, drv string) (uint16, *Error) {
	n, ok := v.(int64)
	if !ok {
		return 0, p.errf(key, "must be an integer I2C address like 0x76, got %s", describe(v))
	}
	_, lo, hi := addrRange(drv)
	if drv == "" {
		lo, hi = 0x03, 0x77 // the 7-bit range usable by devices
	}
	if n < int64(lo) || n > int64(hi) {
		return 0, p.errf(key, "%#02x is not a valid address for %s; must be %s", n, chipName(drv), addrList(lo, hi))
	}
	return uint16(n), nil
}

// chipName names a driver for address messages.
func chipName(drv string) string {
	if drv == "" {
		return "an I2C device"
	}
	return strconv.Quote(drv)
}

// addrList formats an address range: "0x76 or 0x77", "0x48 to 0x4b".
func addrList(lo, hi uint16) string {
	if hi == lo+1 {
		return fmt.Sprintf("%#02x or %#02x", lo, hi)
	}
	return fmt.Sprintf("%#02x to %#02x", lo, hi)
}

// channels decodes the ads1115 channel list.
func (p *parser) channels(key string, v any) ([]int, *Error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, p.errf(key, "must be a non-empty array of channel numbers 0 to %d, e.g. [0, 1], got %s", ADS1115Channels-1, describe(v))
	}
	out := make([]int, 0, len(arr))
	for _, e := range arr {
		n, ok := e.(int64)
		if !ok || n < 0 || n >= ADS1115Channels {
			return nil, p.errf(key, "%s is not a channel; each must be an integer from 0 to %d", describe(e), ADS1115Channels-1)
		}
		for _, prev := range out {
			if prev == int(n) {
				return nil, p.errf(key, "channel %d is listed twice; list each channel once", n)
			}
		}
		out = append(out, int(n))
	}
	return out, nil
}

// gain decodes the ads1115 full-scale range.
func (p *parser) gain(key string, v any) (float64, *Error) {
	f, err := p.float(key, v)
	if err != nil {
		return 0, err
	}
	for _, g := range gains {
		if f == g {
			return f, nil
		}
	}
	return 0, p.errf(key, "%v is not a full-scale range; must be 6.144, 4.096, 2.048, 1.024, 0.512 or 0.256 (volts)", f)
}

// dataRate decodes the ads1115 data rate.
func (p *parser) dataRate(key string, v any) (int64, *Error) {
	n, ok := v.(int64)
	if ok {
		for _, r := range dataRates {
			if n == r {
				return n, nil
			}
		}
	}
	return 0, p.errf(key, "%s is not a data rate; must be 8, 16, 32, 64, 128, 250, 475 or 860 (samples/s)", describe(v))
}

// w1Device decodes a DS18B20 1-Wire id: "28-" and 12 lower-case hex
// digits.
func (p *parser) w1Device(key string, v any) (string, *Error) {
	s, err := p.str(key, v)
	if err != nil {
		return "", err
	}
	serial, ok := strings.CutPrefix(s, DS18B20Family+"-")
	ok = ok && len(serial) == 12
	for i := 0; ok && i < len(serial); i++ {
		c := serial[i]
		ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	}
	if !ok {
		return "", p.errf(key, "%q is not a DS18B20 id; use \"28-\" and 12 lower-case hex digits as listed in /sys/bus/w1/devices, e.g. \"28-0316a2794a1f\"", s)
	}
	return s, nil
}

// finishSensor checks required keys and keys against each other, and fills
// in the defaults that depend on the driver or on other keys.
func (p *parser) finishSensor(s *Sensor, base string, tbl map[string]any) *Error {
	has := func(k string) bool { _, ok := tbl[k]; return ok }
	if !has("name") {
		return p.errf(base+".name", "missing; every sensor needs a unique name, e.g. name = \"greenhouse\"")
	}
	if !has("driver") {
		return p.errf(base+".driver", "missing; must be %s", quoteList(drivers))
	}
	if !has("timeout") {
		s.Timeout = min(DefaultSensorTimeout, s.Interval)
	} else if s.Timeout > s.Interval {
		return p.errf(base+".timeout", "%s is longer than the interval %s; must be at most the interval", fmtDur(s.Timeout), fmtDur(s.Interval))
	}
	switch s.Driver {
	case DriverSim:
		return p.finishSim(s, base, has)
	case DriverGPIOIn:
		return p.finishGPIOIn(s, base, has)
	case DriverGPIOOut:
		if !has("pin") {
			return p.errf(base+".pin", "missing; the gpio-out driver needs a pin, e.g. pin = \"GPIO27\"")
		}
	case DriverDS18B20:
		if !has("device") {
			return p.errf(base+".device", "missing; the ds18b20 driver needs the 1-Wire id from /sys/bus/w1/devices, e.g. device = \"28-0316a2794a1f\"")
		}
		if !has("w1_dir") {
			s.W1Dir = DefaultW1Dir
		}
	}
	if isI2C(s.Driver) {
		finishI2C(s, has)
	}
	return nil
}

// finishSim defaults and checks a sim sensor.
func (p *parser) finishSim(s *Sensor, base string, has func(string) bool) *Error {
	if !has("signal") {
		return p.errf(base+".signal", "missing; the sim driver needs a signal: %s", quoteList(signals))
	}
	if !has("quantity") {
		s.Quantity = DefaultQuantity
	}
	if !has("period") {
		s.Period = DefaultPeriod
	}
	if !has("amplitude") {
		s.Amplitude = DefaultAmplitude
	}
	if !has("step") {
		s.Step = DefaultStep
	}
	if !has("min") {
		s.Min = DefaultMin
	}
	if !has("max") {
		s.Max = DefaultMax
	}
	if s.Min >= s.Max {
		key := base + ".max"
		if !has("max") {
			key = base + ".min"
		}
		return p.errf(key, "min %v is not below max %v; min must be less than max", s.Min, s.Max)
	}
	return nil
}

// finishGPIOIn defaults and checks a gpio-in sensor.
func (p *parser) finishGPIOIn(s *Sensor, base string, has func(string) bool) *Error {
	if !has("pin") {
		return p.errf(base+".pin", "missing; the gpio-in driver needs a pin, e.g. pin = \"GPIO17\"")
	}
	if !has("pull") {
		s.Pull = PullFloat
	}
	if !has("mode") {
		s.Mode = ModeLevel
	}
	if !has("quantity") {
		s.Quantity = DefaultQuantity
	}
	if !has("edge") {
		s.Edge = EdgeBoth
		if s.Mode == ModeCounter {
			s.Edge = EdgeFalling
		}
	}
	if s.Mode == ModeCounter && s.Edge == EdgeNone {
		return p.errf(base+".edge", "\"none\" cannot count pulses; in mode \"counter\" must be \"rising\", \"falling\" or \"both\"")
	}
	if has("scale") && s.Mode != ModeCounter {
		return p.errf(base+".scale", "only used with mode \"counter\", but mode is %q", s.Mode)
	}
	if !has("scale") {
		s.Scale = DefaultScale
	}
	if s.Mode == ModeCounter {
		return p.checkRateUnit(s, base)
	}
	return nil
}

// counterRateUnit is the unit of a gpio-in counter's rate, as the gpio
// driver derives it: "1/s" for a plain count (unit "" or "count"), else
// unit + "/s".
func counterRateUnit(unit string) string {
	if unit == "" || unit == senml.UnitCount {
		return senml.UnitPerSecond
	}
	return unit + "/s"
}

// checkRateUnit fails when the rate unit of a gpio-in counter is not a
// primary SenML unit.
func (p *parser) checkRateUnit(s *Sensor, base string) *Error {
	rate := counterRateUnit(s.Unit)
	if err := senml.CheckUnit(rate); err != nil {
		e := p.errf(base+".unit", "%q gives the counter's rate the unit %q, which cannot be sent: %v; use a unit whose rate is registered, e.g. \"m\" (m/s), \"m3\" (m3/s) or \"count\" (1/s)", s.Unit, rate, err)
		e.Err = err
		return e
	}
	return nil
}

// finishI2C fills in the I2C defaults.
func finishI2C(s *Sensor, has func(string) bool) {
	if !has("bus") {
		s.Bus = DefaultBus
	}
	if !has("address") {
		s.Address, _, _ = addrRange(s.Driver)
	}
	if s.Driver != DriverADS1115 {
		return
	}
	if !has("channels") {
		s.Channels = []int{0}
	}
	if !has("gain") {
		s.Gain = DefaultGain
	}
	if !has("data_rate") {
		s.DataRate = DefaultDataRate
	}
}

// checkDuplicates fails when s reuses the name, GPIO pin, I2C bus and
// address, or 1-Wire device of an earlier sensor (enabled or not: sensors
// can be enabled at run time).
func (p *parser) checkDuplicates(prev []Sensor, s Sensor, i int) *Error {
	base := fmt.Sprintf("sensors[%d]", i)
	for j, o := range prev {
		other := fmt.Sprintf("sensors[%d] (%q)", j, o.Name)
		switch {
		case o.Name == s.Name:
			return p.errf(base+".name", "duplicate name %q, already used by sensors[%d]; names must be unique", s.Name, j)
		case s.Pin != "" && o.Pin == s.Pin:
			return p.errf(base+".pin", "%s is already used by %s; each GPIO pin belongs to one sensor", s.Pin, other)
		case isI2C(s.Driver) && isI2C(o.Driver) && o.Bus == s.Bus && o.Address == s.Address:
			return p.errf(base+".address", "bus %q address %#02x is already used by %s; each I2C device belongs to one sensor", s.Bus, s.Address, other)
		case s.Device != "" && o.Device == s.Device && o.W1Dir == s.W1Dir:
			return p.errf(base+".device", "%s is already used by %s; each 1-Wire device belongs to one sensor", s.Device, other)
		}
	}
	return nil
}
