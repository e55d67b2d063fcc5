// Package ads1115 drives the TI ADS1115 16-bit ADC over I2C in single-shot
// mode, reading each configured input against GND.
//
// Each Read starts one conversion per channel (OS=1), waits 1.1 conversion
// periods (the data rate may be up to 10% slow), confirms completion by
// polling the OS bit a bounded number of times, then reads the conversion
// register. The comparator is disabled.
package ads1115

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cerr"
	"periph.io/x/conn/v3"
)

// Driver is the driver name used in errors.
const Driver = "ads1115"

// Defaults.
const (
	// DefaultFullScale is the default PGA range in volts (±4.096 V).
	DefaultFullScale = 4.096
	// DefaultDataRate is the default data rate in samples per second.
	DefaultDataRate = 128
	// NumChannels is the number of single-ended inputs, AIN0..AIN3.
	NumChannels = 4
)

// Timing of a conversion.
const (
	// waitMarginPercent stretches the nominal conversion time: the
	// internal oscillator may run up to 10% slow.
	waitMarginPercent = 110
	// maxPolls bounds the OS-bit polls after the wait.
	maxPolls = 10
	// minPollInterval is the shortest wait between polls.
	minPollInterval = time.Millisecond
)

// Registers (pointer values).
const (
	regConversion = 0x00
	regConfig     = 0x01
)

// Config register fields.
const (
	cfgOS         = 1 << 15 // write: start; read: 1 = idle
	cfgMuxShift   = 12      // 100..111 = AIN0..AIN3 vs GND
	cfgMuxSingle  = 0b100
	cfgPGAShift   = 9
	cfgModeSingle = 1 << 8
	cfgDRShift    = 5
	cfgCompQueOff = 0b11 // comparator disabled
)

// fullScales lists the PGA ranges in volts by PGA code (101..111 are all
// ±0.256 V; 101 is used).
func fullScales() []float64 { return []float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256} }

// dataRates lists the data rates in SPS by DR code.
func dataRates() []int { return []int{8, 16, 32, 64, 128, 250, 475, 860} }

// Options configure an ADS1115. The zero value reads AIN0 at ±4.096 V and
// 128 SPS.
type Options struct {
	// Name is the configured sensor name; it defaults to Driver.
	Name string
	// Where names the bus and address for messages, e.g.
	// "/dev/i2c-1 0x48"; it defaults to one derived from the conn.
	Where string
	// Channels lists the inputs to read (0..3, each against GND), in order;
	// empty means [0].
	Channels []int
	// FullScale is the PGA range in volts: 6.144, 4.096, 2.048, 1.024,
	// 0.512 or 0.256; 0 means DefaultFullScale. Inputs must still stay
	// within GND-0.3 V .. VDD+0.3 V.
	FullScale float64
	// DataRate is 8, 16, 32, 64, 128, 250, 475 or 860 SPS; 0 means
	// DefaultDataRate.
	DataRate int
}

// Dev is an initialised ADS1115. It implements sensors.Sensor.
type Dev struct {
	c        conn.Conn
	name     string
	site     i2cerr.Site
	channels []int
	pga, dr  uint16
	fsr      float64
	wait     time.Duration
	poll     time.Duration
}

var _ sensors.Sensor = (*Dev)(nil)

// New validates o and checks that the chip answers by reading its config
// register.
func New(c conn.Conn, o Options) (*Dev, error) {
	site := i2cerr.NewSite(o.Name, Driver, o.Where, c)
	d := &Dev{c: c, name: site.Sensor, site: site}
	if err := d.configure(o); err != nil {
		return nil, d.site.Err(sensors.KindOther, err)
	}
	if _, err := d.readConfig(); err != nil {
		return nil, err
	}
	return d, nil
}

// configure validates o into d.
func (d *Dev) configure(o Options) error {
	d.channels = slices.Clone(o.Channels)
	if len(d.channels) == 0 {
		d.channels = []int{0}
	}
	for i, ch := range d.channels {
		if ch < 0 || ch >= NumChannels {
			return fmt.Errorf("channel %d: must be 0..%d", ch, NumChannels-1)
		}
		if slices.Contains(d.channels[:i], ch) {
			return fmt.Errorf("channel %d listed twice", ch)
		}
	}
	d.fsr = o.FullScale
	if d.fsr == 0 {
		d.fsr = DefaultFullScale
	}
	pga := slices.Index(fullScales(), d.fsr)
	if pga < 0 {
		return fmt.Errorf("full scale %g V: must be one of %v", d.fsr, fullScales())
	}
	rate := o.DataRate
	if rate == 0 {
		rate = DefaultDataRate
	}
	dr := slices.Index(dataRates(), rate)
	if dr < 0 {
		return fmt.Errorf("data rate %d: must be one of %v SPS", rate, dataRates())
	}
	d.pga, d.dr = uint16(pga), uint16(dr)
	d.wait = ConversionWait(rate)
	d.poll = max(d.wait/maxPolls, minPollInterval)
	return nil
}

// ConversionWait is how long a conversion at rate SPS may take: 1.1
// periods.
func ConversionWait(rate int) time.Duration {
	return time.Second * waitMarginPercent / 100 / time.Duration(rate)
}

// ConfigWord returns the config register value that starts a single-shot
// conversion of channel ch against GND with PGA code pga and DR code dr,
// comparator disabled.
func ConfigWord(ch, pga, dr uint16) uint16 {
	return cfgOS | (cfgMuxSingle+ch)<<cfgMuxShift | pga<<cfgPGAShift |
		cfgModeSingle | dr<<cfgDRShift | cfgCompQueOff
}

// Volts converts a conversion result to volts at full scale fsr:
// raw·FSR/32768.
func Volts(raw int16, fsr float64) float64 {
	return float64(raw) * fsr / 32768
}

// Name returns the configured sensor name.
func (d *Dev) Name() string { return d.name }

// Read converts each configured channel in turn and returns "ain<N>" in
// volts ("V").
func (d *Dev) Read(ctx context.Context) ([]sensors.Value, error) {
	out := make([]sensors.Value, 0, len(d.channels))
	for _, ch := range d.channels {
		raw, err := d.convert(ctx, ch)
		if err != nil {
			return nil, err
		}
		out = append(out, sensors.Value{
			Quantity: fmt.Sprintf("ain%d", ch),
			Unit:     "V",
			Value:    Volts(raw, d.fsr),
		})
	}
	return out, nil
}

// convert runs one single-shot conversion of channel ch.
func (d *Dev) convert(ctx context.Context, ch int) (int16, error) {
	cfg := ConfigWord(uint16(ch), d.pga, d.dr)
	if err := d.c.Tx([]byte{regConfig, byte(cfg >> 8), byte(cfg)}, nil); err != nil {
		return 0, d.site.Bus(fmt.Sprintf("start conversion of AIN%d", ch), err)
	}
	if err := d.waitDone(ctx, ch); err != nil {
		return 0, err
	}
	var b [2]byte
	if err := d.c.Tx([]byte{regConversion}, b[:]); err != nil {
		return 0, d.site.Bus(fmt.Sprintf("read conversion of AIN%d", ch), err)
	}
	return int16(uint16(b[0])<<8 | uint16(b[1])), nil
}

// waitDone waits a conversion time, then polls the OS bit until the chip is
// idle, at most maxPolls more times.
func (d *Dev) waitDone(ctx context.Context, ch int) error {
	wait := d.wait
	for i := 0; i <= maxPolls; i++ {
		if err := i2cerr.Sleep(ctx, wait, fmt.Sprintf("conversion of AIN%d", ch)); err != nil {
			return d.site.Err(i2cerr.Classify(err), err)
		}
		cfg, err := d.readConfig()
		if err != nil {
			return err
		}
		if cfg&cfgOS != 0 {
			return nil
		}
		wait = d.poll
	}
	return d.site.Errorf(sensors.KindBusy, "AIN%d still converting after %v and %d polls", ch, d.wait, maxPolls)
}

// readConfig reads the config register.
func (d *Dev) readConfig() (uint16, error) {
	var b [2]byte
	if err := d.c.Tx([]byte{regConfig}, b[:]); err != nil {
		return 0, d.site.Bus("read config register", err)
	}
	return uint16(b[0])<<8 | uint16(b[1]), nil
}

// Close does nothing: in single-shot mode the chip powers down after each
// conversion, and the bus belongs to the caller.
func (d *Dev) Close() error { return nil }
