package main

import (
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/drivers"
)

// loadConfig loads the configuration file at path with every sensor driver
// sioagent has.
func loadConfig(path string) (*config.Config, error) {
	return config.Load(path, newDrivers())
}

// newDrivers returns every sensor driver sioagent has.
func newDrivers() *config.Drivers { return drivers.New() }
