package main

import (
	"fmt"
	"log/slog"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
)

// hostHardware opens real buses and pins through periph.io's host drivers.
// Buses are opened once and shared by the sensors on them.
type hostHardware struct {
	log *slog.Logger

	initOnce sync.Once
	initErr  error

	mu    sync.Mutex
	buses map[string]i2c.BusCloser
}

func newHostHardware(log *slog.Logger) *hostHardware {
	return &hostHardware{log: log, buses: map[string]i2c.BusCloser{}}
}

// init loads periph's drivers once. Drivers that fail to load are logged,
// not fatal: on a Pi some always fail (no /dev/mem as non-root, say).
func (h *hostHardware) init() error {
	h.initOnce.Do(func() {
		state, err := host.Init()
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
		return nil, fmt.Errorf("I2C bus %q: %w (is I2C enabled, and is the user in group i2c?)", name, err)
	}
	h.buses[name] = b
	return b, nil
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
