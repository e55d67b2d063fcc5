package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"

	// The periph drivers a Raspberry Pi needs, registered by their init
	// functions; driverreg.Init loads them. bcm283x names the pins GPIO0 to
	// GPIO53 and sets pulls on a Pi 1 to 4; gpioioctl (the GPIO character
	// device, /dev/gpiochip*) does the edges there and all of GPIO on a
	// Pi 5; sysfs opens /dev/i2c-*. periph's host.Init would also register
	// every other SoC and board it knows (Allwinner, BeagleBone, C.H.I.P.,
	// Pine64, ODROID, the Pi's P1_* header names): about 400 KB of the
	// ARM binary that a Pi never uses (cross/size checks the binary size).
	_ "periph.io/x/host/v3/bcm283x"
	_ "periph.io/x/host/v3/gpioioctl"
	_ "periph.io/x/host/v3/sysfs"
)

// i2cDevices matches the device files of the kernel's I2C buses, the ones
// periph's sysfs driver registers.
const i2cDevices = "/dev/i2c-*"

// hostHardware opens real buses and pins through periph.io's host drivers.
// Buses are opened once and shared by the sensors on them.
type hostHardware struct {
	log *slog.Logger
	// i2cDevices is the glob of the I2C device files (tests change it).
	i2cDevices string

	initOnce sync.Once
	initErr  error

	mu    sync.Mutex
	buses map[string]i2c.BusCloser
}

func newHostHardware(log *slog.Logger) *hostHardware {
	return &hostHardware{log: log, i2cDevices: i2cDevices, buses: map[string]i2c.BusCloser{}}
}

// init loads periph's drivers once. Drivers that fail to load are logged,
// not fatal: on a Pi some always fail (no /dev/mem as non-root, say).
func (h *hostHardware) init() error {
	h.initOnce.Do(func() {
		state, err := driverreg.Init()
		if err != nil {
			h.initErr = fmt.Errorf("periph host: %w", err)
			return
		}
		for _, f := range state.Failed {
			h.log.Debug("periph driver not loaded", "driver", f.D.String(), "err", f.Err)
		}
	})
	return h.initErr
}

// I2CBus implements agent.Hardware.
func (h *hostHardware) I2CBus(name string) (i2c.Bus, error) {
	if err := h.init(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.buses[name]; ok {
		return b, nil
	}
	b, err := i2creg.Open(name)
	if err != nil {
		return nil, i2cOpenError(name, err, h.i2cDevices)
	}
	h.buses[name] = b
	return b, nil
}

// i2cOpenError explains why bus name could not be opened. With no device
// file matching devices, periph only says "no bus found; did you forget to
// call Init()?", so the error says what is missing instead.
func i2cOpenError(name string, err error, devices string) error {
	if found, gerr := filepath.Glob(devices); gerr == nil && len(found) == 0 {
		return fmt.Errorf("I2C bus %q: this machine has no I2C bus (no %s): enable I2C (raspi-config, or dtparam=i2c_arm=on in config.txt) and reboot", name, devices)
	}
	return fmt.Errorf("I2C bus %q: %w (is I2C enabled, and is the user in group i2c?)", name, err)
}

// GPIOPin implements agent.Hardware.
func (h *hostHardware) GPIOPin(name string) (gpio.PinIO, error) {
	if err := h.init(); err != nil {
		return nil, err
	}
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("GPIO pin %q not found (GPIO unavailable: check group gpio and the unit's DeviceAllow, or the pin name, e.g. GPIO17)", name)
	}
	return p, nil
}

// close closes the buses opened.
func (h *hostHardware) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name, b := range h.buses {
		if err := b.Close(); err != nil {
			h.log.Warn("closing I2C bus", "bus", name, "err", err)
		}
		delete(h.buses, name)
	}
}
