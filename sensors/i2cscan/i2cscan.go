// Package i2cscan finds devices on an I2C bus, like i2cdetect, and names
// the chips sioagent has drivers for.
//
// Each address is probed with a one-byte read. An address that answers is
// identified where that is cheap and safe: the Bosch chip id at 0x76/0x77,
// a CRC-checked SHT3x status read at 0x44/0x45 and the ADS1x15 config
// register at 0x48..0x4B. Names are only as sure as such a probe can be:
// the ADS1015 and ADS1115 look alike, so they are reported as "ADS1x15".
package i2cscan

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cerr"
	"periph.io/x/conn/v3/i2c"
)

// Default scan range, as i2cdetect: the addresses below 0x08 and above
// 0x77 are reserved.
const (
	DefaultFirst = 0x08
	DefaultLast  = 0x77
	// MaxAddr is the highest 7-bit address.
	MaxAddr = 0x7F
)

// Chip names reported in Found.Chip.
const (
	ChipBME280  = "BME280"
	ChipBMP280  = "BMP280"
	ChipBMP180  = "BMP180"
	ChipBME680  = "BME680"
	ChipSHT3x   = "SHT3x"
	ChipADS1x15 = "ADS1x15"
	// ChipADS1x15Maybe is an address in the ADS1x15 range whose config
	// register looks like single-shot use (not the reset value).
	ChipADS1x15Maybe = "ADS1x15?"
)

// Probe details.
const (
	regBoschID      = 0xD0
	sht3xStatusCmd  = 0xF32D
	sht3xStatusWait = time.Millisecond
	regADSConfig    = 0x01
	// adsResetConfig is the ADS1015/ADS1115 config register after reset.
	adsResetConfig = 0x8583
	// adsInUseMask/adsInUseBits match a config left by a single-shot user:
	// OS=1 (idle), MODE=1 (single-shot), COMP_QUE=11 (comparator off).
	adsInUseMask = 0x8103
	adsInUseBits = 0x8103
)

// Options select the addresses to scan. The zero value scans 0x08..0x77.
type Options struct {
	// First and Last bound the scan, inclusive; 0 means DefaultFirst and
	// DefaultLast.
	First, Last uint16
}

// Found is a device that answered.
type Found struct {
	// Addr is the 7-bit address.
	Addr uint16
	// Chip names the chip if it was identified, else "".
	Chip string
	// InUse means the probe failed with EBUSY, shown as "UU" like
	// i2cdetect does. On Linux, EBUSY for an address a kernel driver owns
	// comes from the I2C_SLAVE ioctl, which periph's I2C_RDWR transfers do
	// not use, so on a Pi such addresses are probed and usually answer as
	// ordinary devices; check /sys/bus/i2c/devices for kernel drivers.
	InUse bool
}

// Scan probes each address of o's range on bus and returns those that
// answered, in address order. It stops at the first bus error other than a
// missing device and returns what it found so far with the error, and also
// when ctx ends.
func Scan(ctx context.Context, bus i2c.Bus, o Options) ([]Found, error) {
	first, last, err := bounds(o)
	if err != nil {
		return nil, err
	}
	var found []Found
	for a := first; a <= last; a++ {
		if err := ctx.Err(); err != nil {
			return found, fmt.Errorf("scan %s stopped at 0x%02x: %w", bus, a, err)
		}
		f, ok, err := probe(ctx, bus, a)
		if err != nil {
			return found, fmt.Errorf("scan %s: %w", bus, err)
		}
		if ok {
			found = append(found, f)
		}
	}
	return found, nil
}

// bounds applies the defaults to o and validates it.
func bounds(o Options) (first, last uint16, err error) {
	first, last = o.First, o.Last
	if first == 0 {
		first = DefaultFirst
	}
	if last == 0 {
		last = DefaultLast
	}
	if last > MaxAddr || first > last {
		return 0, 0, fmt.Errorf("scan range 0x%02x..0x%02x: want first <= last <= 0x%02x", first, last, MaxAddr)
	}
	return first, last, nil
}

// probe reads one byte at a and identifies what answered.
func probe(ctx context.Context, bus i2c.Bus, a uint16) (Found, bool, error) {
	var b [1]byte
	err := bus.Tx(a, nil, b[:])
	switch k := i2cerr.Classify(err); {
	case err == nil:
	case k == sensors.KindMissing:
		return Found{}, false, nil
	case k == sensors.KindBusy:
		return Found{Addr: a, InUse: true}, true, nil
	default:
		return Found{}, false, fmt.Errorf("probe 0x%02x: %w", a, err)
	}
	return Found{Addr: a, Chip: identify(ctx, bus, a)}, true, nil
}

// identify names the chip at a, or returns "". Failed reads only mean the
// chip is not the one tried.
func identify(ctx context.Context, bus i2c.Bus, a uint16) string {
	switch {
	case a == 0x76 || a == 0x77:
		return boschChip(bus, a)
	case a == 0x44 || a == 0x45:
		return sht3xChip(ctx, bus, a)
	case a >= 0x48 && a <= 0x4B:
		return adsChip(bus, a)
	}
	return ""
}

// boschChip reads the Bosch chip id register.
func boschChip(bus i2c.Bus, a uint16) string {
	var id [1]byte
	if bus.Tx(a, []byte{regBoschID}, id[:]) != nil {
		return ""
	}
	switch id[0] {
	case 0x60:
		return ChipBME280
	case 0x58, 0x56, 0x57:
		return ChipBMP280
	case 0x55:
		return ChipBMP180
	case 0x61:
		return ChipBME680
	}
	return ""
}

// sht3xChip reads the SHT3x status register and checks its CRC.
func sht3xChip(ctx context.Context, bus i2c.Bus, a uint16) string {
	if bus.Tx(a, []byte{sht3xStatusCmd >> 8, sht3xStatusCmd & 0xFF}, nil) != nil {
		return ""
	}
	if i2cerr.Sleep(ctx, sht3xStatusWait, "status") != nil {
		return ""
	}
	var b [3]byte
	if bus.Tx(a, nil, b[:]) != nil || crc8(b[:2]) != b[2] {
		return ""
	}
	return ChipSHT3x
}

// adsChip reads the ADS1x15 config register.
func adsChip(bus i2c.Bus, a uint16) string {
	var b [2]byte
	if bus.Tx(a, []byte{regADSConfig}, b[:]) != nil {
		return ""
	}
	switch v := uint16(b[0])<<8 | uint16(b[1]); {
	case v == adsResetConfig:
		return ChipADS1x15
	case v&adsInUseMask == adsInUseBits:
		return ChipADS1x15Maybe
	}
	return ""
}

// crc8 is Sensirion's CRC-8: poly 0x31, init 0xFF.
func crc8(b []byte) byte {
	c := byte(0xFF)
	for _, x := range b {
		c ^= x
		for i := 0; i < 8; i++ {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x31
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// Format writes found as a table of address and chip, one device a line;
// unidentified chips show "?" and addresses held by a kernel driver "UU".
func Format(w io.Writer, found []Found) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDR\tCHIP")
	for _, f := range found {
		chip := f.Chip
		switch {
		case f.InUse:
			chip = "UU (in use by a kernel driver)"
		case chip == "":
			chip = "?"
		}
		fmt.Fprintf(tw, "0x%02x\t%s\n", f.Addr, chip)
	}
	return tw.Flush()
}
