package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/drivers"
	"github.com/sioagent/sioagent/sensors/gpio"
	"github.com/sioagent/sioagent/sensors/sim"
)

func TestShippedConfigs(t *testing.T) {
	for _, name := range []string{"example.toml", "demo.toml"} {
		t.Run(name, func(t *testing.T) {
			c, err := parse(name, mustRead(t, filepath.Join("..", "configs", name)), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Sensors) == 0 {
				t.Error("no sensors")
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDemoConfig(t *testing.T) {
	c, err := config.Load(filepath.Join("..", "configs", "demo.toml"), drivers.New())
	if err != nil {
		t.Fatal(err)
	}
	if c.Device.ID != "demo-pi" || c.Server.URL != "http://127.0.0.1:3000" || c.Server.TokenFile != "configs/demo-token" ||
		c.Outbox.Path != ".demo/outbox.db" || c.Telemetry.BatchMaxDelay != time.Second {
		t.Errorf("demo: %+v", c)
	}
	type want struct {
		signal, quantity, unit string
		interval               time.Duration
	}
	wants := map[string]want{
		"counter":     {"counter", "value", "", time.Second},
		"temperature": {"sine", "temperature", "Cel", 2 * time.Second},
		"humidity":    {"random-walk", "humidity", "%RH", 2 * time.Second},
	}
	if len(c.Sensors) != len(wants) {
		t.Fatalf("%d sensors, want %d", len(c.Sensors), len(wants))
	}
	for name, w := range wants {
		s, ok := c.SensorByName(name)
		o, _ := s.Options.(sim.Config)
		if !ok || s.Driver != "sim" || o.Signal != w.signal || o.Quantity != w.quantity || o.Unit != w.unit || s.Interval != w.interval {
			t.Errorf("sensor %s = %+v, want %+v", name, s, w)
		}
	}
	tok := strings.TrimSpace(string(mustRead(t, filepath.Join("..", c.Server.TokenFile))))
	if tok != "demo-token" {
		t.Errorf("demo token %q", tok)
	}
}

// TestExampleDocumentsEveryKey checks that example.toml mentions every key
// (set or commented out) and has one sensor of each driver.
func TestExampleDocumentsEveryKey(t *testing.T) {
	text := string(mustRead(t, filepath.Join("..", "configs", "example.toml")))
	sections := config.SectionKeys()
	sections["sensors"] = drivers.New().Keys()
	for sec, keys := range sections {
		for _, k := range keys {
			re := regexp.MustCompile(`(?m)^(# )?` + regexp.QuoteMeta(k) + ` = `)
			if k == "headers" {
				re = regexp.MustCompile(`(?m)^\[server\.headers\]`)
			}
			if !re.MatchString(text) {
				t.Errorf("example.toml does not document %s.%s", sec, k)
			}
		}
	}
	c, err := parse("example.toml", []byte(text), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range c.Sensors {
		seen[s.Driver] = true
	}
	for _, d := range []string{"sim", "gpio-in", "gpio-out", "bme280", "sht3x", "ads1115", "ds18b20"} {
		if !seen[d] {
			t.Errorf("example.toml has no %s sensor", d)
		}
	}
	rain, _ := c.SensorByName("rain")
	if in, ok := rain.Options.(gpio.InputConfig); !ok || in.Mode != gpio.ModeCounter || in.Scale != 0.0002794 || in.Unit != "m" {
		t.Errorf("rain gauge %+v", rain)
	}
}
