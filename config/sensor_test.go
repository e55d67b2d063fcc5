package config_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/ads1115"
	"github.com/sioagent/sioagent/sensors/bme280"
	"github.com/sioagent/sioagent/sensors/ds18b20"
	"github.com/sioagent/sioagent/sensors/gpio"
	"github.com/sioagent/sioagent/sensors/sht3x"
	"github.com/sioagent/sioagent/sensors/sim"
)

// sensorDoc wraps one [[sensors]] body in a minimal configuration.
func sensorDoc(body string) string {
	return minimal + "[[sensors]]\n" + body
}

func TestSensorDefaults(t *testing.T) {
	tests := []struct {
		name string
		body string
		want config.Sensor
	}{
		{"sim", "name = \"s\"\ndriver = \"sim\"\nsignal = \"sine\"\n", config.Sensor{
			Name: "s", Driver: "sim", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: sim.Config{Signal: "sine", Quantity: "value", Period: 60, Amplitude: 1, Step: 1, Min: 0, Max: 100},
		}},
		{"sim short interval lowers timeout", "name = \"s\"\ndriver = \"sim\"\nsignal = \"counter\"\ninterval = \"1s\"\n", config.Sensor{
			Name: "s", Driver: "sim", Interval: time.Second, Timeout: time.Second, Enabled: true,
			Options: sim.Config{Signal: "counter", Quantity: "value", Period: 60, Amplitude: 1, Step: 1, Min: 0, Max: 100},
		}},
		{"gpio-in level", "name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO17\"\n", config.Sensor{
			Name: "b", Driver: "gpio-in", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: gpio.InputConfig{Quantity: "value", Pin: "GPIO17", Pull: "float", Edge: "both", Mode: "level", Scale: 1},
		}},
		{"gpio-in counter", "name = \"r\"\ndriver = \"gpio-in\"\npin = \"GPIO6\"\nmode = \"counter\"\n", config.Sensor{
			Name: "r", Driver: "gpio-in", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: gpio.InputConfig{Quantity: "value", Pin: "GPIO6", Pull: "float", Edge: "falling", Mode: "counter", Scale: 1},
		}},
		{"gpio-out", "name = \"p\"\ndriver = \"gpio-out\"\npin = \"GPIO27\"\n", config.Sensor{
			Name: "p", Driver: "gpio-out", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Options: gpio.OutputConfig{Pin: "GPIO27"},
		}},
		{"bme280", "name = \"g\"\ndriver = \"bme280\"\n", config.Sensor{
			Name: "g", Driver: "bme280", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Options: bme280.Config{Want: "bme280", Bus: "1", Address: 0x76},
		}},
		{"bmp280", "name = \"g\"\ndriver = \"bmp280\"\n", config.Sensor{
			Name: "g", Driver: "bmp280", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Options: bme280.Config{Want: "bmp280", Bus: "1", Address: 0x76},
		}},
		{"sht3x", "name = \"h\"\ndriver = \"sht3x\"\n", config.Sensor{
			Name: "h", Driver: "sht3x", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Options: sht3x.Config{Family: "sht3x", Bus: "1", Address: 0x44},
		}},
		{"sht4x", "name = \"h\"\ndriver = \"sht4x\"\n", config.Sensor{
			Name: "h", Driver: "sht4x", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Options: sht3x.Config{Family: "sht4x", Bus: "1", Address: 0x44},
		}},
		{"ads1115", "name = \"a\"\ndriver = \"ads1115\"\n", config.Sensor{
			Name: "a", Driver: "ads1115", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: ads1115.Config{Bus: "1", Address: 0x48, Channels: []int{0}, Gain: 4.096, DataRate: 128},
		}},
		{"ds18b20", "name = \"w\"\ndriver = \"ds18b20\"\ndevice = \"28-0316a2794a1f\"\n", config.Sensor{
			Name: "w", Driver: "ds18b20", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: ds18b20.Config{Device: "28-0316a2794a1f", W1Dir: "/sys/bus/w1/devices"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, sensorDoc(tt.body), nil)
			if len(c.Sensors) != 1 {
				t.Fatalf("%d sensors", len(c.Sensors))
			}
			if !reflect.DeepEqual(c.Sensors[0], tt.want) {
				t.Errorf("\n got %+v\nwant %+v", c.Sensors[0], tt.want)
			}
		})
	}
}

func TestSensorValues(t *testing.T) {
	doc := minimal + `
[[sensors]]
name = "s"
driver = "sim"
signal = "random-walk"
interval = "100ms"
timeout = "100ms"
enabled = false
quantity = "humidity"
unit = "%RH"
seed = 42
period = 2
amplitude = 5
offset = -3.5
step = 0.25
min = -10
max = 10.5
fail_every = 3
[[sensors]]
name = "r"
driver = "gpio-in"
pin = "GPIO0"
pull = "up"
edge = "both"
mode = "counter"
debounce = "50ms"
scale = 0.0002794
active_low = true
unit = "m"
[[sensors]]
name = "o"
driver = "gpio-out"
pin = "GPIO53"
initial = true
safe = true
active_low = true
[[sensors]]
name = "a"
driver = "ads1115"
bus = 3
address = 0x4B
channels = [3, 1]
gain = 0.256
data_rate = 860
[[sensors]]
name = "w"
driver = "ds18b20"
device = "28-00000abcdef0"
w1_dir = "testdata/w1"
`
	c := mustParse(t, doc, nil)
	want := []config.Sensor{
		{Name: "s", Driver: "sim", Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond, Enabled: false,
			Options: sim.Config{Signal: "random-walk", Quantity: "humidity", Unit: "%RH", Seed: 42, Period: 2, Amplitude: 5, Offset: -3.5,
				Step: 0.25, Min: -10, Max: 10.5, FailEvery: 3}},
		{Name: "r", Driver: "gpio-in", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: gpio.InputConfig{Quantity: "value", Unit: "m", Pin: "GPIO0", Pull: "up", Edge: "both", Mode: "counter", Debounce: 50 * time.Millisecond,
				Scale: 0.0002794, ActiveLow: true}},
		{Name: "o", Driver: "gpio-out", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: gpio.OutputConfig{Pin: "GPIO53", Initial: true, Safe: true, ActiveLow: true}},
		{Name: "a", Driver: "ads1115", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: ads1115.Config{Bus: "3", Address: 0x4B, Channels: []int{3, 1}, Gain: 0.256, DataRate: 860}},
		{Name: "w", Driver: "ds18b20", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Options: ds18b20.Config{Device: "28-00000abcdef0", W1Dir: "testdata/w1"}},
	}
	if !reflect.DeepEqual(c.Sensors, want) {
		for i := range want {
			if i < len(c.Sensors) && !reflect.DeepEqual(c.Sensors[i], want[i]) {
				t.Errorf("sensor %d:\n got %+v\nwant %+v", i, c.Sensors[i], want[i])
			}
		}
		t.Fatalf("got %d sensors, want %d", len(c.Sensors), len(want))
	}
	if s, ok := c.SensorByName("o"); !ok || s.Options.(gpio.OutputConfig).Pin != "GPIO53" {
		t.Errorf("SensorByName(o) = %+v, %v", s, ok)
	}
	if _, ok := c.SensorByName("nope"); ok {
		t.Error("SensorByName(nope) found a sensor")
	}
}

// unitOf returns the unit of a sim or gpio-in sensor.
func unitOf(s config.Sensor) string {
	switch o := s.Options.(type) {
	case sim.Config:
		return o.Unit
	case gpio.InputConfig:
		return o.Unit
	}
	return "no unit in " + s.Driver
}

// TestUnitsAccepted checks that primary units pass, including the rate
// units a gpio-in counter derives from them.
func TestUnitsAccepted(t *testing.T) {
	gpioIn := "name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\n"
	tests := []struct{ body, unit string }{
		{gpioIn + "mode = \"counter\"\n", ""},
		{gpioIn + "mode = \"counter\"\nunit = \"count\"\n", "count"},
		{gpioIn + "mode = \"counter\"\nunit = \"m\"\n", "m"},
		{gpioIn + "mode = \"counter\"\nunit = \"m3\"\n", "m3"},
		{gpioIn + "mode = \"counter\"\nunit = \"l\"\n", "l"}, // l and l/s: NOT RECOMMENDED but registered
		{gpioIn + "unit = \"Cel\"\n", "Cel"},                 // level mode reports no rate
		{"name = \"s\"\ndriver = \"sim\"\nsignal = \"sine\"\nunit = \"Pa\"\n", "Pa"},
		{"name = \"s\"\ndriver = \"sim\"\nsignal = \"counter\"\nunit = \"1/s\"\n", "1/s"},
	}
	for _, tt := range tests {
		c := mustParse(t, sensorDoc(tt.body), nil)
		if got := unitOf(c.Sensors[0]); got != tt.unit {
			t.Errorf("unit %q, want %q\n%s", got, tt.unit, tt.body)
		}
	}
}

func TestSensorErrors(t *testing.T) {
	sim := "name = \"s\"\ndriver = \"sim\"\nsignal = \"counter\"\n"
	tests := []errCase{
		{"no name", sensorDoc("driver = \"sim\"\nsignal = \"counter\"\n"), "sensors[0].name", []string{"missing", "unique name"}},
		{"no driver", sensorDoc("name = \"x\"\n"), `sensors."x".driver`, []string{"missing", `"sim"`, `"ds18b20"`}},
		{"bad driver", sensorDoc("name = \"x\"\ndriver = \"dht22\"\n"), `sensors."x".driver`, []string{`"dht22" is not allowed`, `"bme280"`}},
		{"bad name", sensorDoc("name = \"a b\"\ndriver = \"sim\"\n"), "sensors[0].name", []string{`"a b" is not a valid name`, "A-Z a-z 0-9"}},
		{"name slash", sensorDoc("name = \"a/b\"\ndriver = \"sim\"\n"), "sensors[0].name", []string{"not a valid name"}},
		{"interval short", sensorDoc(sim + "interval = \"5ms\"\n"), `sensors."s".interval`, []string{`"5ms" is too short`, "at least 10ms"}},
		{"interval negative", sensorDoc(sim + "interval = \"-1s\"\n"), `sensors."s".interval`, []string{"negative"}},
		{"timeout > interval", sensorDoc(sim + "interval = \"1s\"\ntimeout = \"2s\"\n"), `sensors."s".timeout`, []string{"2s is longer than the interval 1s", "at most the interval"}},
		{"timeout zero", sensorDoc(sim + "timeout = \"0s\"\n"), `sensors."s".timeout`, []string{"too short"}},
		{"enabled string", sensorDoc(sim + "enabled = \"yes\"\n"), `sensors."s".enabled`, []string{"true or false", `string "yes"`}},
		{"sim no signal", sensorDoc("name = \"s\"\ndriver = \"sim\"\n"), `sensors."s".signal`, []string{"missing", `"counter", "sine", "random-walk" or "constant"`}},
		{"sim bad signal", sensorDoc("name = \"s\"\ndriver = \"sim\"\nsignal = \"square\"\n"), `sensors."s".signal`, []string{`"square" is not allowed`}},
		{"sim period", sensorDoc(sim + "period = 1\n"), `sensors."s".period`, []string{"1 is out of range", "from 2 to"}},
		{"sim fail_every", sensorDoc(sim + "fail_every = -1\n"), `sensors."s".fail_every`, []string{"out of range"}},
		{"sim seed", sensorDoc(sim + "seed = -1\n"), `sensors."s".seed`, []string{"out of range"}},
		{"sim amplitude string", sensorDoc(sim + "amplitude = \"1\"\n"), `sensors."s".amplitude`, []string{"must be a number"}},
		{"sim nan", sensorDoc(sim + "offset = nan\n"), `sensors."s".offset`, []string{"finite"}},
		{"sim min >= max", sensorDoc(sim + "min = 5\nmax = 5\n"), `sensors."s".max`, []string{"min 5 is not below max 5"}},
		{"sim min above default max", sensorDoc(sim + "min = 200\n"), `sensors."s".min`, []string{"min 200 is not below max 100"}},
		{"sim quantity", sensorDoc(sim + "quantity = \"a/b\"\n"), `sensors."s".quantity`, []string{"not a valid name"}},
		{"sim unit space", sensorDoc(sim + "unit = \"m s\"\n"), `sensors."s".unit`, []string{"not a valid unit"}},
		{"sim unit secondary", sensorDoc(sim + "unit = \"hPa\"\n"), `sensors."s".unit`,
			[]string{`unit "hPa" is a secondary SenML unit (RFC 8798), not allowed in version 10 packs`, `use "Pa" (1 hPa = 100 Pa)`}},
		{"sim unit per second", sensorDoc(sim + "unit = \"/s\"\n"), `sensors."s".unit`, []string{`unit "/s" is not in the SenML units registry`}},
		{"sim unit unknown", sensorDoc(sim + "unit = \"furlong\"\n"), `sensors."s".unit`, []string{`unit "furlong" is not in the SenML units registry`}},
		{"gpio unit secondary", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nunit = \"mm\"\n"), `sensors."b".unit`,
			[]string{`unit "mm" is a secondary SenML unit`, `use "m" (1 mm = 0.001 m)`}},
		{"counter rate unit", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"counter\"\nunit = \"Cel\"\n"), `sensors."b".unit`,
			[]string{`"Cel" gives the counter's rate the unit "Cel/s"`, `unit "Cel/s" is not in the SenML units registry`, `"m3" (m3/s)`}},
		{"counter rate unit 1/s", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"counter\"\nunit = \"1/s\"\n"), `sensors."b".unit`,
			[]string{`rate the unit "1/s/s"`}},
		{"gpio no pin", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\n"), `sensors."b".pin`, []string{"missing", "GPIO17"}},
		{"gpio-out no pin", sensorDoc("name = \"b\"\ndriver = \"gpio-out\"\n"), `sensors."b".pin`, []string{"missing"}},
		{"gpio bad pin", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"17\"\n"), `sensors."b".pin`, []string{`"17" is not a GPIO pin`, `"GPIO0" to "GPIO53"`}},
		{"gpio pin 54", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO54\"\n"), `sensors."b".pin`, []string{"not a GPIO pin"}},
		{"gpio pin 017", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO017\"\n"), `sensors."b".pin`, []string{"not a GPIO pin"}},
		{"gpio pull", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\npull = \"high\"\n"), `sensors."b".pull`, []string{`"high" is not allowed`, `"up", "down" or "float"`}},
		{"gpio edge", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nedge = \"up\"\n"), `sensors."b".edge`, []string{`"none", "rising", "falling" or "both"`}},
		{"gpio mode", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"pwm\"\n"), `sensors."b".mode`, []string{`"level" or "counter"`}},
		{"counter edge none", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"counter\"\nedge = \"none\"\n"), `sensors."b".edge`, []string{`"none" cannot count`, `"rising", "falling" or "both"`}},
		{"scale in level mode", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nscale = 2.0\n"), `sensors."b".scale`, []string{`only used with mode "counter"`, `mode is "level"`}},
		{"scale zero", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"counter\"\nscale = 0\n"), `sensors."b".scale`, []string{"must not be 0"}},
		{"debounce long", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\ndebounce = \"11s\"\n"), `sensors."b".debounce`, []string{"too long", "at most 10s"}},
		{"debounce negative", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\ndebounce = \"-1ms\"\n"), `sensors."b".debounce`, []string{"negative", `"0s" (off) or more and at most 10s`}},
		{"initial on gpio-in", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\ninitial = true\n"), `sensors."b".initial`, []string{`not used by driver "gpio-in"`}},
		{"pull on gpio-out", sensorDoc("name = \"b\"\ndriver = \"gpio-out\"\npin = \"GPIO5\"\npull = \"up\"\n"), `sensors."b".pull`, []string{`not used by driver "gpio-out"`}},
		{"signal on bme280", sensorDoc("name = \"g\"\ndriver = \"bme280\"\nsignal = \"sine\"\n"), `sensors."g".signal`, []string{`not used by driver "bme280"`}},
		{"key before driver", sensorDoc("name = \"g\"\nsignal = \"sine\"\ndriver = \"bme280\"\n"), `sensors."g".signal`, []string{`not used by driver "bme280"`}},
		{"channels on sht3x", sensorDoc("name = \"g\"\ndriver = \"sht3x\"\nchannels = [0]\n"), `sensors."g".channels`, []string{`not used by driver "sht3x"`}},
		{"bme address", sensorDoc("name = \"g\"\ndriver = \"bme280\"\naddress = 0x44\n"), `sensors."g".address`, []string{"0x44 is not a valid address for \"bme280\"", "0x76 or 0x77"}},
		{"address before driver", sensorDoc("name = \"g\"\naddress = 0x44\ndriver = \"bmp280\"\n"), `sensors."g".address`, []string{"0x76 or 0x77"}},
		{"sht3x address", sensorDoc("name = \"h\"\ndriver = \"sht3x\"\naddress = 0x46\n"), `sensors."h".address`, []string{"0x44 or 0x45"}},
		{"sht4x address", sensorDoc("name = \"h\"\ndriver = \"sht4x\"\naddress = 0x47\n"), `sensors."h".address`, []string{"0x44 to 0x46"}},
		{"ads address", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\naddress = 0x4C\n"), `sensors."a".address`, []string{"0x4c is not a valid address", "0x48 to 0x4b"}},
		{"address string", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\naddress = \"0x48\"\n"), `sensors."a".address`, []string{"must be an integer I2C address"}},
		{"bus bad", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nbus = \"i2c-1\"\n"), `sensors."a".bus`, []string{"I2C bus number", `"i2c-1"`}},
		{"bus negative", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nbus = -1\n"), `sensors."a".bus`, []string{"I2C bus number"}},
		{"channels empty", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nchannels = []\n"), `sensors."a".channels`, []string{"non-empty", "0 to 3"}},
		{"channels range", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nchannels = [0, 4]\n"), `sensors."a".channels`, []string{"integer 4 is not a channel", "0 to 3"}},
		{"channels dup", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nchannels = [1, 1]\n"), `sensors."a".channels`, []string{"channel 1 is listed twice"}},
		{"gain", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\ngain = 5.0\n"), `sensors."a".gain`, []string{"5 is not a full-scale range", "6.144, 4.096"}},
		{"data rate", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\ndata_rate = 100\n"), `sensors."a".data_rate`, []string{"integer 100 is not a data rate", "8, 16, 32"}},
		{"ds18b20 no device", sensorDoc("name = \"w\"\ndriver = \"ds18b20\"\n"), `sensors."w".device`, []string{"missing", "28-"}},
		{"ds18b20 bad device", sensorDoc("name = \"w\"\ndriver = \"ds18b20\"\ndevice = \"10-000000000000\"\n"), `sensors."w".device`, []string{"not a DS18B20 id", `"28-"`}},
		{"ds18b20 traversal", sensorDoc("name = \"w\"\ndriver = \"ds18b20\"\ndevice = \"28-../../etc/x\"\n"), `sensors."w".device`, []string{"not a DS18B20 id"}},
		{"w1_dir empty", sensorDoc("name = \"w\"\ndriver = \"ds18b20\"\ndevice = \"28-0316a2794a1f\"\nw1_dir = \"\"\n"), `sensors."w".w1_dir`, []string{"must not be empty"}},
		// duplicates
		{"dup name", sensorDoc(sim + "[[sensors]]\n" + sim), `sensors."s".name`, []string{`duplicate name "s"`, "sensors[0]"}},
		{"dup pin", sensorDoc("name = \"a\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\n[[sensors]]\nname = \"b\"\ndriver = \"gpio-out\"\npin = \"GPIO5\"\n"), `sensors."b".pin`, []string{"GPIO5 is already used by sensors[0] (\"a\")"}},
		{"dup pin disabled", sensorDoc("name = \"a\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nenabled = false\n[[sensors]]\nname = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\n"), `sensors."b".pin`, []string{"already used"}},
		{"dup i2c", sensorDoc("name = \"a\"\ndriver = \"sht3x\"\n[[sensors]]\nname = \"b\"\ndriver = \"sht4x\"\n"), `sensors."b".address`, []string{`bus "1" address 0x44 is already used by sensors[0] ("a")`}},
		{"dup i2c int bus", sensorDoc("name = \"a\"\ndriver = \"bme280\"\nbus = 1\n[[sensors]]\nname = \"b\"\ndriver = \"bmp280\"\nbus = \"1\"\n"), `sensors."b".address`, []string{"already used"}},
		{"dup w1", sensorDoc("name = \"a\"\ndriver = \"ds18b20\"\ndevice = \"28-0316a2794a1f\"\n[[sensors]]\nname = \"b\"\ndriver = \"ds18b20\"\ndevice = \"28-0316a2794a1f\"\n"), `sensors."b".device`, []string{"already used by sensors[0]"}},
		{"second sensor", sensorDoc(sim + "[[sensors]]\nname = \"t\"\ndriver = \"sim\"\nsignal = \"sine\"\nperiod = 0\n"), `sensors."t".period`, []string{"out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt) })
	}
}

func TestNoDuplicateWhenDistinct(t *testing.T) {
	doc := sensorDoc(`name = "a"
driver = "sht3x"
[[sensors]]
name = "b"
driver = "sht3x"
address = 0x45
[[sensors]]
name = "c"
driver = "sht3x"
bus = "0"
[[sensors]]
name = "d"
driver = "ds18b20"
device = "28-0316a2794a1f"
[[sensors]]
name = "e"
driver = "ds18b20"
device = "28-0316a2794a1f"
w1_dir = "/other"
`)
	c := mustParse(t, doc, nil)
	if len(c.Sensors) != 5 {
		t.Fatalf("%d sensors", len(c.Sensors))
	}
}
