// Package drivers lists sioagent's sensor drivers: it builds, in one
// place, the config.Drivers that Load and Parse decode [[sensors]] tables
// with. It only lists them; each driver lives in its own package under
// sensors/ (see sensors/README.md for how to add one).
package drivers

import (
	"fmt"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/ads1115"
	"github.com/sioagent/sioagent/sensors/bme280"
	"github.com/sioagent/sioagent/sensors/ds18b20"
	"github.com/sioagent/sioagent/sensors/gpio"
	"github.com/sioagent/sioagent/sensors/sht3x"
	"github.com/sioagent/sioagent/sensors/sim"
)

// New returns every driver sioagent has, in the order messages list them.
// Each call builds a new set; it panics only if two drivers claim one name
// (the package's tests build it).
func New() *config.Drivers {
	d, err := config.NewDrivers(
		sim.Drivers(),
		gpio.Drivers(),
		bme280.Drivers(),
		sht3x.Drivers(),
		ads1115.Drivers(),
		ds18b20.Drivers(),
	)
	if err != nil {
		panic(fmt.Sprintf("sensors/drivers: %v", err))
	}
	return d
}
