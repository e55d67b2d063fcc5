// Package sht3x drives Sensirion SHT3x-DIS and SHT4x humidity and
// temperature sensors over I2C with single-shot measurements.
//
// SHT3x uses the no-clock-stretching commands (0x24xx): the Raspberry Pi's
// I2C controller mishandles clock stretching. The command and the read are
// two transactions with a wait in between, never one repeated-start
// transaction. Every 16-bit word the chip returns is checked with its CRC-8.
package sht3x

import (
	"context"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cerr"
	"periph.io/x/conn/v3"
)

// Driver is the driver name used in errors.
const Driver = "sht3x"

// Values of Options.Family.
const (
	FamilySHT3x = "sht3x"
	FamilySHT4x = "sht4x"
)

// Values of Options.Repeatability (called precision on the SHT4x).
const (
	RepeatabilityHigh   = "high"
	RepeatabilityMedium = "medium"
	RepeatabilityLow    = "low"
)

// Waits between a command and its read.
const (
	// SHT3xMeasureWait covers the SHT3x's worst single-shot time (15.5 ms
	// at high repeatability; a read before it is done is NACKed).
	SHT3xMeasureWait = 20 * time.Millisecond
	// SHT4xMeasureWait covers the SHT4x's worst time (8.3 ms, high precision).
	SHT4xMeasureWait = 10 * time.Millisecond
	// sht3xStatusWait is the pause between the status command and its read.
	sht3xStatusWait = time.Millisecond
	// sht4xSerialWait is the pause between the serial command and its read
	// (Sensirion's own driver waits 10 ms).
	sht4xSerialWait = 10 * time.Millisecond
)

// Commands.
const (
	cmdSHT3xStatus = 0xF32D
	cmdSHT4xSerial = 0x89
)

// Result length: two words, each followed by its CRC.
const replyLen = 6

// Options configure an SHT3x or SHT4x. The zero value is an SHT3x at high
// repeatability.
type Options struct {
	// Name is the configured sensor name; it defaults to Driver.
	Name string
	// Where names the bus and address for messages, e.g.
	// "/dev/i2c-1 0x44"; it defaults to one derived from the conn.
	Where string
	// Family is FamilySHT3x (default when empty) or FamilySHT4x. Both
	// families answer at 0x44, so the family is configured, not detected.
	Family string
	// Repeatability is RepeatabilityHigh (default when empty),
	// RepeatabilityMedium or RepeatabilityLow.
	Repeatability string
}

// Dev is an initialised SHT3x or SHT4x. It implements sensors.Sensor.
type Dev struct {
	c       conn.Conn
	name    string
	site    i2cerr.Site
	sht4x   bool
	measure []byte
	wait    time.Duration
}

var _ sensors.Sensor = (*Dev)(nil)

// New validates o and checks that the chip answers with valid CRCs: it
// reads the status register of an SHT3x or the serial number of an SHT4x.
func New(c conn.Conn, o Options) (*Dev, error) {
	site := i2cerr.NewSite(o.Name, Driver, o.Where, c)
	d := &Dev{c: c, name: site.Sensor, site: site}
	cmd, wait, err := measureCommand(o.Family, o.Repeatability)
	if err != nil {
		return nil, d.site.Err(sensors.KindOther, err)
	}
	d.sht4x, d.measure, d.wait = o.Family == FamilySHT4x, cmd, wait
	if err := d.check(context.Background()); err != nil {
		return nil, err
	}
	return d, nil
}

// measureCommand returns the single-shot command and wait of a family and
// repeatability.
func measureCommand(family, rep string) ([]byte, time.Duration, error) {
	if rep == "" {
		rep = RepeatabilityHigh
	}
	idx := map[string]int{RepeatabilityHigh: 0, RepeatabilityMedium: 1, RepeatabilityLow: 2}
	i, ok := idx[rep]
	if !ok {
		return nil, 0, fmt.Errorf("repeatability %q: must be %q, %q or %q",
			rep, RepeatabilityHigh, RepeatabilityMedium, RepeatabilityLow)
	}
	switch family {
	case "", FamilySHT3x:
		// Single shot, no clock stretching: 0x2400, 0x240B, 0x2416.
		lsb := [3]byte{0x00, 0x0B, 0x16}
		return []byte{0x24, lsb[i]}, SHT3xMeasureWait, nil
	case FamilySHT4x:
		cmd := [3]byte{0xFD, 0xF6, 0xE0}
		return []byte{cmd[i]}, SHT4xMeasureWait, nil
	}
	return nil, 0, fmt.Errorf("family %q: must be %q or %q", family, FamilySHT3x, FamilySHT4x)
}

// check reads the SHT3x status or the SHT4x serial number and verifies
// their CRCs.
func (d *Dev) check(ctx context.Context) error {
	if d.sht4x {
		_, err := d.command(ctx, []byte{cmdSHT4xSerial}, sht4xSerialWait, replyLen, "read serial number")
		return err
	}
	_, err := d.command(ctx, []byte{cmdSHT3xStatus >> 8, cmdSHT3xStatus & 0xFF}, sht3xStatusWait, 3, "read status")
	return err
}

// command writes cmd, waits, reads n bytes (whole CRC-protected words) and
// returns the words.
func (d *Dev) command(ctx context.Context, cmd []byte, wait time.Duration, n int, what string) ([]uint16, error) {
	if err := d.c.Tx(cmd, nil); err != nil {
		return nil, d.site.Bus(fmt.Sprintf("%s: command %#x", what, cmd), err)
	}
	if err := i2cerr.Sleep(ctx, wait, what); err != nil {
		return nil, d.site.Err(i2cerr.Classify(err), err)
	}
	b := make([]byte, n)
	if err := d.c.Tx(nil, b); err != nil {
		return nil, d.site.Bus(what, err)
	}
	w, err := words(b)
	if err != nil {
		return nil, d.site.Errorf(sensors.KindBadData, "%s: %w", what, err)
	}
	return w, nil
}

// Name returns the configured sensor name.
func (d *Dev) Name() string { return d.name }

// Read takes one single-shot measurement and returns "temperature" (Cel)
// and "humidity" (%RH).
func (d *Dev) Read(ctx context.Context) ([]sensors.Value, error) {
	w, err := d.command(ctx, d.measure, d.wait, replyLen, "measure")
	if err != nil {
		return nil, err
	}
	rh := SHT3xHumidity(w[1])
	if d.sht4x {
		rh = SHT4xHumidity(w[1])
	}
	return []sensors.Value{
		{Quantity: "temperature", Unit: "Cel", Value: Temperature(w[0])},
		{Quantity: "humidity", Unit: "%RH", Value: rh},
	}, nil
}

// Close does nothing: a single-shot sensor idles between measurements and
// the bus belongs to the caller.
func (d *Dev) Close() error { return nil }
