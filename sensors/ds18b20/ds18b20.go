// Package ds18b20 reads DS18B20 (and other w1_therm) 1-Wire temperature
// sensors through the Linux kernel's w1 sysfs interface
// (dtoverlay=w1-gpio), without periph.
//
// Reading <dir>/<device>/w1_slave makes the kernel run a conversion and
// blocks for up to 750 ms (12-bit). Read does the file read in a goroutine
// so that it returns as soon as its context ends; at most one file read is
// in flight per sensor: a Read that finds one still running waits for its
// result instead of starting another, and a result that arrives after
// every Read gave up is discarded as stale.
package ds18b20

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sioagent/sioagent/sensors"
)

// Driver is the driver name used in errors.
const Driver = "ds18b20"

// DefaultDir is where the kernel lists 1-Wire devices.
const DefaultDir = "/sys/bus/w1/devices"

// slaveFile is the per-device file holding the scratchpad and temperature.
const slaveFile = "w1_slave"

// Known values of the temperature field, in milli-°C.
const (
	// powerOnMilli is the scratchpad's power-on value: no conversion ran.
	powerOnMilli = 85000
	// minMilli and maxMilli are the DS18B20's measuring range.
	minMilli = -55000
	maxMilli = 125000
)

// Device id format: "ff-" family then 12 hex digits of serial.
const (
	deviceIDLen   = 15
	deviceDashPos = 2
)

// Options configure a 1-Wire temperature sensor.
type Options struct {
	// Name is the configured sensor name; it defaults to Driver.
	Name string
	// Dir is the sysfs device directory; it defaults to DefaultDir.
	Dir string
	// Device is the kernel's device id, e.g. "28-00000a1b2c3d" (required).
	Device string
}

// result is the outcome of one file read.
type result struct {
	data []byte
	err  error
}

// Dev is one 1-Wire temperature sensor. It implements sensors.Sensor.
type Dev struct {
	name     string
	path     string
	inflight chan result // file read started by an earlier Read, or nil
}

var _ sensors.Sensor = (*Dev)(nil)

// New checks o and that the device's directory exists (KindMissing if not).
// It does not read the sensor, which would take up to 750 ms.
func New(o Options) (*Dev, error) {
	d := &Dev{name: o.Name}
	if d.name == "" {
		d.name = Driver
	}
	dir := o.Dir
	if dir == "" {
		dir = DefaultDir
	}
	d.path = filepath.Join(dir, o.Device, slaveFile)
	if err := checkDevice(o.Device); err != nil {
		return nil, d.err(sensors.KindOther, err)
	}
	devDir := filepath.Join(dir, o.Device)
	if _, err := os.Stat(devDir); err != nil {
		return nil, d.err(fileKind(err), fmt.Errorf("device %s: %w", o.Device, err))
	}
	return d, nil
}

// checkDevice validates a device id such as "28-00000a1b2c3d".
func checkDevice(id string) error {
	if id == "" {
		return errors.New("device id is required (e.g. 28-00000a1b2c3d)")
	}
	if len(id) != deviceIDLen || id[deviceDashPos] != '-' {
		return fmt.Errorf("device id %q: want ff-ssssssssssss (family, dash, 12 hex digits)", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		hex := c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
		if i != deviceDashPos && !hex {
			return fmt.Errorf("device id %q: %q is not a hex digit", id, c)
		}
	}
	return nil
}

// fileKind classifies a file error: a missing file or directory is
// KindMissing.
func fileKind(err error) sensors.Kind {
	if errors.Is(err, fs.ErrNotExist) {
		return sensors.KindMissing
	}
	return sensors.KindOther
}

// err builds a *sensors.Error for this sensor.
func (d *Dev) err(k sensors.Kind, err error) error {
	return &sensors.Error{Sensor: d.name, Driver: Driver, Where: d.path, Kind: k, Err: err}
}

// Name returns the configured sensor name.
func (d *Dev) Name() string { return d.name }

// Read reads w1_slave and returns "temperature" in Cel. It returns when ctx
// is done even if the kernel is still converting.
func (d *Dev) Read(ctx context.Context) ([]sensors.Value, error) {
	ch := d.inflight
	if ch != nil {
		select {
		case <-ch:
			ch = nil // finished long ago: stale, read again
		default: // still reading: its result is fresh, wait for it
		}
	}
	if ch == nil {
		ch = d.start()
	}
	d.inflight = ch
	select {
	case r := <-ch:
		d.inflight = nil
		return d.values(r)
	case <-ctx.Done():
		k := sensors.KindOther
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			k = sensors.KindTimeout
		}
		return nil, d.err(k, fmt.Errorf("reading %s: %w", slaveFile, ctx.Err()))
	}
}

// start reads the file in a goroutine that ends when the read does. The
// channel is buffered so the goroutine never waits for a receiver.
func (d *Dev) start() chan result {
	ch := make(chan result, 1)
	path := d.path
	go func() {
		b, err := os.ReadFile(path)
		ch <- result{b, err}
	}()
	return ch
}

// values converts a finished file read.
func (d *Dev) values(r result) ([]sensors.Value, error) {
	if r.err != nil {
		return nil, d.err(fileKind(r.err), r.err)
	}
	milli, err := Parse(r.data)
	if err != nil {
		return nil, d.err(sensors.KindBadData, err)
	}
	return []sensors.Value{{Quantity: "temperature", Unit: "Cel", Value: float64(milli) / 1000}}, nil
}

// Parse extracts the temperature in milli-°C from the contents of a
// w1_slave file:
//
//	72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
//	72 01 4b 46 7f ff 0e 10 57 t=23125
//
// It fails if the CRC line does not end in YES, if the temperature is the
// power-on value 85000 (no conversion ran) or outside -55..125 °C.
func Parse(b []byte) (int, error) {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) < 2 {
		return 0, fmt.Errorf("%s: want 2 lines, got %q", slaveFile, b)
	}
	crcLine := bytes.TrimSpace(lines[0])
	if !bytes.HasSuffix(crcLine, []byte("YES")) {
		return 0, fmt.Errorf("%s: CRC check failed: %q", slaveFile, crcLine)
	}
	_, tField, ok := bytes.Cut(lines[1], []byte("t="))
	if !ok {
		return 0, fmt.Errorf("%s: no t= in %q", slaveFile, lines[1])
	}
	milli, err := strconv.Atoi(string(bytes.TrimSpace(tField)))
	if err != nil {
		return 0, fmt.Errorf("%s: temperature %q: %w", slaveFile, tField, err)
	}
	if milli == powerOnMilli {
		return 0, fmt.Errorf("%s: t=%d is the power-on value, conversion did not run (check power or parasitic-power wiring)", slaveFile, milli)
	}
	if milli < minMilli || milli > maxMilli {
		return 0, fmt.Errorf("%s: t=%d outside the sensor's range %d..%d", slaveFile, milli, minMilli, maxMilli)
	}
	return milli, nil
}

// Close does nothing; a file read still in flight ends on its own.
func (d *Dev) Close() error { return nil }
