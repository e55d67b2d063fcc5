// Package bme280 drives the Bosch BME280 (temperature, pressure, humidity)
// and BMP280 (temperature, pressure) over I2C in forced mode: each Read
// starts one measurement, waits for it and reads the result.
//
// The driver is written against periph.io/x/conn/v3's conn.Conn, normally an
// *i2c.Dev at address 0x76 (SDO low) or 0x77 (SDO high). The chip is told
// apart by its id, not by configuration: many boards sold as "BME280" carry
// a BMP280.
package bme280

import (
	"context"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cerr"
	"periph.io/x/conn/v3"
)

// Driver is the driver name used in errors.
const Driver = "bme280"

// Chip ids read from register 0xD0.
const (
	ChipIDBME280   = 0x60
	ChipIDBMP280   = 0x58
	ChipIDBMP280S1 = 0x56 // engineering sample
	ChipIDBMP280S2 = 0x57 // engineering sample
)

// Values of Options.Want.
const (
	WantAny    = ""
	WantBME280 = "bme280"
	WantBMP280 = "bmp280"
)

// Registers.
const (
	regCalibTP  = 0x88
	regChipID   = 0xD0
	regCalibH   = 0xE1
	regCtrlHum  = 0xF2
	regStatus   = 0xF3
	regCtrlMeas = 0xF4
	regConfig   = 0xF5
	regData     = 0xF7
)

// Register bits.
const (
	statusMeasuring = 1 << 3
	modeSleep       = 0b00
	modeForced      = 0b01
)

// Burst lengths of the data registers.
const (
	dataLenBMP = 6 // press_msb..temp_xlsb
	dataLenBME = 8 // ... hum_msb, hum_lsb
)

// Defaults and limits.
const (
	// DefaultOversampling is used for any oversampling option left at 0.
	DefaultOversampling = 1
	// maxStatusPolls bounds how often status is polled after the datasheet's
	// maximum measurement time has passed.
	maxStatusPolls = 5
	// statusPollInterval is the wait between two status polls.
	statusPollInterval = time.Millisecond
)

// Measurement time terms in microseconds (datasheet BME280 §9.1).
const (
	measureBaseUS   = 1250
	measurePerOSUS  = 2300
	measureSettleUS = 575 // extra for pressure and humidity
)

// Options configure a BME280/BMP280. The zero value reads either chip with
// ×1 oversampling and the IIR filter off.
type Options struct {
	// Name is the configured sensor name; it defaults to Driver.
	Name string
	// Where names the bus and address for messages, e.g.
	// "/dev/i2c-1 0x76"; it defaults to one derived from the conn.
	Where string
	// Want is WantBME280, WantBMP280 or WantAny (either). A chip of the
	// other kind is an error.
	Want string
	// TemperatureOversampling, PressureOversampling and
	// HumidityOversampling are 1, 2, 4, 8 or 16; 0 means
	// DefaultOversampling. Humidity is ignored on a BMP280.
	TemperatureOversampling int
	PressureOversampling    int
	HumidityOversampling    int
	// Filter is the IIR filter coefficient: 0 (off), 2, 4, 8 or 16.
	Filter int
}

// Dev is an initialised BME280 or BMP280. It implements sensors.Sensor.
type Dev struct {
	c        conn.Conn
	name     string
	site     i2cerr.Site
	humidity bool // BME280
	cal      calibration
	ctrlHum  byte
	ctrlMeas byte // without the mode bits
	wait     time.Duration
}

var _ sensors.Sensor = (*Dev)(nil)

// New checks the chip id, reads the calibration and configures the chip
// (sleep mode, oversampling, filter). It returns a *sensors.Error if the
// chip does not answer (KindMissing) or is not the one wanted (KindBadData).
func New(c conn.Conn, o Options) (*Dev, error) {
	site := i2cerr.NewSite(o.Name, Driver, o.Where, c)
	d := &Dev{c: c, name: site.Sensor, site: site}
	s, err := resolve(o)
	if err != nil {
		return nil, d.site.Err(sensors.KindOther, err)
	}
	if err := d.detect(o.Want); err != nil {
		return nil, err
	}
	if err := d.readCalibration(); err != nil {
		return nil, err
	}
	d.ctrlMeas = s.osT<<5 | s.osP<<2
	d.ctrlHum = s.osH
	d.wait = measureTime(s, d.humidity)
	if err := d.configure(s.filter); err != nil {
		return nil, err
	}
	return d, nil
}

// settings are the register codes of validated options.
type settings struct {
	osT, osP, osH byte
	filter        byte
}

// resolve validates o and converts it to register codes.
func resolve(o Options) (settings, error) {
	var s settings
	switch o.Want {
	case WantAny, WantBME280, WantBMP280:
	default:
		return s, fmt.Errorf("want %q: must be %q, %q or empty", o.Want, WantBME280, WantBMP280)
	}
	var err error
	if s.osT, err = oversamplingCode("temperature", o.TemperatureOversampling); err != nil {
		return s, err
	}
	if s.osP, err = oversamplingCode("pressure", o.PressureOversampling); err != nil {
		return s, err
	}
	if s.osH, err = oversamplingCode("humidity", o.HumidityOversampling); err != nil {
		return s, err
	}
	if s.filter, err = filterCode(o.Filter); err != nil {
		return s, err
	}
	return s, nil
}

// oversamplingCode returns the osrs_x code of an oversampling factor.
func oversamplingCode(what string, n int) (byte, error) {
	if n == 0 {
		n = DefaultOversampling
	}
	switch n {
	case 1:
		return 1, nil
	case 2:
		return 2, nil
	case 4:
		return 3, nil
	case 8:
		return 4, nil
	case 16:
		return 5, nil
	}
	return 0, fmt.Errorf("%s oversampling %d: must be 1, 2, 4, 8 or 16", what, n)
}

// filterCode returns the config register's filter code of a coefficient.
func filterCode(n int) (byte, error) {
	switch n {
	case 0:
		return 0, nil
	case 2:
		return 1, nil
	case 4:
		return 2, nil
	case 8:
		return 3, nil
	case 16:
		return 4, nil
	}
	return 0, fmt.Errorf("filter %d: must be 0 (off), 2, 4, 8 or 16", n)
}

// factor returns the oversampling factor of an osrs_x code (0 = skipped).
func factor(code byte) int {
	if code == 0 {
		return 0
	}
	return 1 << (code - 1)
}

// measureTime is the datasheet's maximum forced-mode measurement time.
func measureTime(s settings, humidity bool) time.Duration {
	us := measureBaseUS + measurePerOSUS*factor(s.osT) +
		measurePerOSUS*factor(s.osP) + measureSettleUS
	if humidity {
		us += measurePerOSUS*factor(s.osH) + measureSettleUS
	}
	return time.Duration(us) * time.Microsecond
}

// detect reads the chip id and checks it against want.
func (d *Dev) detect(want string) error {
	var id [1]byte
	if err := d.c.Tx([]byte{regChipID}, id[:]); err != nil {
		return d.site.Bus("read chip id", err)
	}
	switch id[0] {
	case ChipIDBME280:
		d.humidity = true
	case ChipIDBMP280, ChipIDBMP280S1, ChipIDBMP280S2:
		d.humidity = false
	default:
		return d.site.Errorf(sensors.KindBadData,
			"chip id 0x%02x, want 0x60 (BME280) or 0x58/0x56/0x57 (BMP280)", id[0])
	}
	if want == WantBME280 && !d.humidity {
		return d.site.Errorf(sensors.KindBadData,
			"chip id 0x%02x is a BMP280 (no humidity), want a BME280 (0x60)", id[0])
	}
	if want == WantBMP280 && d.humidity {
		return d.site.Errorf(sensors.KindBadData,
			"chip id 0x%02x is a BME280, want a BMP280 (0x58/0x56/0x57)", id[0])
	}
	return nil
}

// readCalibration reads and decodes the trimming parameters.
func (d *Dev) readCalibration() error {
	var tp [calibTPLen]byte
	if err := d.c.Tx([]byte{regCalibTP}, tp[:]); err != nil {
		return d.site.Bus("read calibration 0x88", err)
	}
	var h []byte
	if d.humidity {
		h = make([]byte, calibHLen)
		if err := d.c.Tx([]byte{regCalibH}, h); err != nil {
			return d.site.Bus("read calibration 0xE1", err)
		}
	}
	d.cal = parseCalibration(tp[:], h)
	if d.cal.T1 == 0 || d.cal.P1 == 0 {
		return d.site.Errorf(sensors.KindBadData, "calibration dig_T1=%d dig_P1=%d: NVM not loaded", d.cal.T1, d.cal.P1)
	}
	return nil
}

// configure puts the chip in sleep mode and writes ctrl_hum and config.
// config is only writable in sleep mode, so ctrl_meas (sleep) goes first;
// each Read writes ctrl_meas again, which latches ctrl_hum.
func (d *Dev) configure(filter byte) error {
	w := []byte{regCtrlMeas, d.ctrlMeas | modeSleep}
	if d.humidity {
		w = append(w, regCtrlHum, d.ctrlHum)
	}
	w = append(w, regConfig, filter<<2)
	if err := d.c.Tx(w, nil); err != nil {
		return d.site.Bus("write configuration", err)
	}
	return nil
}

// Name returns the configured sensor name.
func (d *Dev) Name() string { return d.name }

// Chip returns "BME280" or "BMP280", as identified by the chip id.
func (d *Dev) Chip() string {
	if d.humidity {
		return "BME280"
	}
	return "BMP280"
}

// Read takes one forced-mode measurement and returns "temperature" (Cel),
// "pressure" (Pa) and, on a BME280, "humidity" (%RH).
func (d *Dev) Read(ctx context.Context) ([]sensors.Value, error) {
	if err := d.trigger(); err != nil {
		return nil, err
	}
	if err := d.waitIdle(ctx); err != nil {
		return nil, err
	}
	n := dataLenBMP
	if d.humidity {
		n = dataLenBME
	}
	b := make([]byte, n)
	if err := d.c.Tx([]byte{regData}, b); err != nil {
		return nil, d.site.Bus("read data 0xF7", err)
	}
	return d.convert(parseRaw(b))
}

// trigger starts one forced-mode measurement. ctrl_hum takes effect only
// with the ctrl_meas write that follows it in the same transaction.
func (d *Dev) trigger() error {
	var w []byte
	if d.humidity {
		w = append(w, regCtrlHum, d.ctrlHum)
	}
	w = append(w, regCtrlMeas, d.ctrlMeas|modeForced)
	if err := d.c.Tx(w, nil); err != nil {
		return d.site.Bus("start measurement", err)
	}
	return nil
}

// waitIdle waits the maximum measurement time, then polls the measuring
// bit a bounded number of times.
func (d *Dev) waitIdle(ctx context.Context) error {
	wait := d.wait
	for i := 0; i <= maxStatusPolls; i++ {
		if err := i2cerr.Sleep(ctx, wait, "measurement"); err != nil {
			return d.site.Err(i2cerr.Classify(err), err)
		}
		var st [1]byte
		if err := d.c.Tx([]byte{regStatus}, st[:]); err != nil {
			return d.site.Bus("read status 0xF3", err)
		}
		if st[0]&statusMeasuring == 0 {
			return nil
		}
		wait = statusPollInterval
	}
	return d.site.Errorf(sensors.KindBusy, "still measuring after %v and %d status polls", d.wait, maxStatusPolls)
}

// convert checks a raw burst and compensates it.
func (d *Dev) convert(r raw) ([]sensors.Value, error) {
	if r.T == skippedTP {
		return nil, d.site.Errorf(sensors.KindBadData, "temperature raw 0x80000: measurement skipped")
	}
	if r.P == skippedTP {
		return nil, d.site.Errorf(sensors.KindBadData, "pressure raw 0x80000: measurement skipped")
	}
	if d.humidity && r.H == skippedH {
		return nil, d.site.Errorf(sensors.KindBadData, "humidity raw 0x8000: measurement skipped")
	}
	centi, tFine := d.cal.temperature(r.T)
	p, ok := d.cal.pressure(r.P, tFine)
	if !ok {
		return nil, d.site.Errorf(sensors.KindBadData, "pressure compensation divides by zero: bad calibration")
	}
	v := []sensors.Value{
		{Quantity: "temperature", Unit: "Cel", Value: float64(centi) / 100},
		{Quantity: "pressure", Unit: "Pa", Value: float64(p) / 256},
	}
	if d.humidity {
		h := d.cal.humidity(r.H, tFine)
		v = append(v, sensors.Value{Quantity: "humidity", Unit: "%RH", Value: float64(h) / 1024})
	}
	return v, nil
}

// Close does nothing: after a forced measurement the chip is back in sleep
// mode. The bus belongs to the caller.
func (d *Dev) Close() error { return nil }
