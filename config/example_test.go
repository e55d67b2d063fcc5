package config_test

import (
	"fmt"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/bme280"
	"github.com/sioagent/sioagent/sensors/drivers"
)

func ExampleParse() {
	doc := `
[device]
id = "pi-7"

[server]
url = "https://iot.example.com"

[[sensors]]
name = "greenhouse"
driver = "bme280"
interval = "30s"
`
	getenv := func(name string) string {
		if name == "CREDENTIALS_DIRECTORY" {
			return "/run/credentials/sioagent.service"
		}
		return ""
	}
	reg := drivers.New() // every sensor driver sioagent has
	c, err := config.Parse("config.toml", []byte(doc), getenv, reg)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := c.SensorByName("greenhouse")
	fmt.Println(c.Server.TokenFile, c.Server.AckTimeout, c.Outbox.MaxBytes)
	chip := s.Options.(bme280.Config) // what the bme280 driver decoded
	fmt.Printf("%s bus %s address %#x every %s\n", s.Driver, chip.Bus, chip.Address, s.Interval)

	_, err = config.Parse("config.toml", []byte(doc+"adress = 0x77\n"), getenv, reg)
	fmt.Println(err)
	// Output:
	// /run/credentials/sioagent.service/token 10s 67108864
	// bme280 bus 1 address 0x76 every 30s
	// config.toml: sensors."greenhouse".adress: unknown key; did you mean "address"?
}
