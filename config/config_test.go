package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// minimal is the smallest valid configuration.
const minimal = `
[device]
id = "pi-7"
[server]
url = "https://iot.example.com"
`

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func mustParse(t *testing.T, doc string, getenv func(string) string) *Config {
	t.Helper()
	c, err := Parse("test.toml", []byte(doc), getenv)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return c
}

func TestDefaults(t *testing.T) {
	got := mustParse(t, minimal, nil)
	want := &Config{
		File:   "test.toml",
		Device: Device{ID: "pi-7"},
		Server: Server{
			URL:               "https://iot.example.com",
			Namespace:         "/",
			TokenFile:         "",
			Transports:        []string{"websocket"},
			AckTimeout:        10 * time.Second,
			ConnectTimeout:    20 * time.Second,
			ReconnectDelay:    time.Second,
			ReconnectDelayMax: 30 * time.Second,
		},
		Outbox: Outbox{
			Path:       "/var/lib/sioagent/outbox.db",
			MaxBytes:   64 << 20,
			MaxRecords: 0,
			MaxAge:     0,
			Overflow:   "drop-oldest",
			Window:     32,
		},
		Telemetry: Telemetry{Event: "telemetry", BatchMaxRecords: 50, BatchMaxDelay: time.Second, BatchMaxBytes: 256 << 10},
		Commands:  Commands{Timeout: 10 * time.Second, RememberIDs: 1024},
		Agent:     Agent{ShutdownTimeout: 10 * time.Second, RuntimeDir: "/run/sioagent", LogLevel: "info"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestEnvDefaults(t *testing.T) {
	systemd := env(map[string]string{
		"CREDENTIALS_DIRECTORY": "/run/credentials/sioagent.service",
		"STATE_DIRECTORY":       "/var/lib/sioagent:/var/lib/other",
		"RUNTIME_DIRECTORY":     "/run/sioagent-x",
	})
	tests := []struct {
		name             string
		doc              string
		getenv           func(string) string
		token, path, run string
	}{
		{"no env", minimal, env(nil), "", "/var/lib/sioagent/outbox.db", "/run/sioagent"},
		{"systemd env", minimal, systemd, "/run/credentials/sioagent.service/token", "/var/lib/sioagent/outbox.db", "/run/sioagent-x"},
		{"state dir", minimal, env(map[string]string{"STATE_DIRECTORY": "/srv/state"}), "", "/srv/state/outbox.db", "/run/sioagent"},
		{"explicit wins", minimal + "token_file = \"tok\"\n[outbox]\npath = \"q.db\"\n[agent]\nruntime_dir = \"rt\"\n", systemd, "tok", "q.db", "rt"},
		{"explicit empty token", minimal + "token_file = \"\"\n", systemd, "", "/var/lib/sioagent/outbox.db", "/run/sioagent-x"},
		{"nil getenv", minimal, nil, "", "/var/lib/sioagent/outbox.db", "/run/sioagent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.doc, tt.getenv)
			if c.Server.TokenFile != tt.token || c.Outbox.Path != tt.path || c.Agent.RuntimeDir != tt.run {
				t.Errorf("token %q path %q runtime %q; want %q %q %q", c.Server.TokenFile, c.Outbox.Path, c.Agent.RuntimeDir, tt.token, tt.path, tt.run)
			}
		})
	}
}

func TestValues(t *testing.T) {
	doc := minimal + `
namespace = "/devices"
transports = ["polling", "websocket"]
ack_timeout = "1500ms"
connect_timeout = "1m"
reconnect_delay = "2s"
reconnect_delay_max = "2s"
ca_file = "ca.pem"
cert_file = "c.pem"
key_file = "c.key"
[server.headers]
Authorization = "Bearer x"
X-Site = "north"
[outbox]
max_bytes = "1 MiB"
max_records = 1000
max_age = "24h"
overflow = "reject"
window = 256
[telemetry]
event = "readings"
batch_max_records = 1000
batch_max_delay = "1h"
batch_max_bytes = "64KiB"
[commands]
timeout = "3s"
remember_ids = 1
[agent]
shutdown_timeout = "30s"
log_level = "debug"
`
	c := mustParse(t, doc, nil)
	s := c.Server
	if s.Namespace != "/devices" || !reflect.DeepEqual(s.Transports, []string{"polling", "websocket"}) ||
		s.AckTimeout != 1500*time.Millisecond || s.ConnectTimeout != time.Minute ||
		s.ReconnectDelay != 2*time.Second || s.ReconnectDelayMax != 2*time.Second ||
		s.CAFile != "ca.pem" || s.CertFile != "c.pem" || s.KeyFile != "c.key" ||
		!reflect.DeepEqual(s.Headers, map[string]string{"Authorization": "Bearer x", "X-Site": "north"}) {
		t.Errorf("server: %+v", s)
	}
	if want := (Outbox{Path: DefaultOutboxPath, MaxBytes: 1 << 20, MaxRecords: 1000, MaxAge: 24 * time.Hour, Overflow: "reject", Window: 256}); c.Outbox != want {
		t.Errorf("outbox %+v, want %+v", c.Outbox, want)
	}
	if want := (Telemetry{Event: "readings", BatchMaxRecords: 1000, BatchMaxDelay: time.Hour, BatchMaxBytes: 64 << 10}); c.Telemetry != want {
		t.Errorf("telemetry %+v", c.Telemetry)
	}
	if want := (Commands{Timeout: 3 * time.Second, RememberIDs: 1}); c.Commands != want {
		t.Errorf("commands %+v", c.Commands)
	}
	if c.Agent.ShutdownTimeout != 30*time.Second || c.Agent.LogLevel != "debug" {
		t.Errorf("agent %+v", c.Agent)
	}
}

func TestReconnectDefaultsFollowEachOther(t *testing.T) {
	c := mustParse(t, minimal+"reconnect_delay = \"1m\"\n", nil)
	if c.Server.ReconnectDelay != time.Minute || c.Server.ReconnectDelayMax != time.Minute {
		t.Errorf("delay %v max %v, want 1m 1m", c.Server.ReconnectDelay, c.Server.ReconnectDelayMax)
	}
	c = mustParse(t, minimal+"reconnect_delay_max = \"500ms\"\n", nil)
	if c.Server.ReconnectDelay != 500*time.Millisecond || c.Server.ReconnectDelayMax != 500*time.Millisecond {
		t.Errorf("delay %v max %v, want 500ms 500ms", c.Server.ReconnectDelay, c.Server.ReconnectDelayMax)
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{`"64MiB"`, 64 << 20},
		{`"1MiB"`, 1 << 20},
		{`"96MiB"`, 96 << 20},
		{`"2MB"`, 2_000_000},
		{`"2000KB"`, 2_000_000},
		{`"2048KiB"`, 2 << 20},
		{`"3145728B"`, 3 << 20},
		{`"3145728"`, 3 << 20},
		{`3145728`, 3 << 20},
		{`"10 mib"`, 10 << 20},
		{`" 5MiB "`, 5 << 20},
	}
	for _, tt := range tests {
		c := mustParse(t, minimal+"[outbox]\nmax_bytes = "+tt.in+"\n", nil)
		if c.Outbox.MaxBytes != tt.want {
			t.Errorf("max_bytes = %s: got %d, want %d", tt.in, c.Outbox.MaxBytes, tt.want)
		}
	}
}

// sensorDoc wraps one [[sensors]] body in a minimal configuration.
func sensorDoc(body string) string {
	return minimal + "[[sensors]]\n" + body
}

func TestSensorDefaults(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Sensor
	}{
		{"sim", "name = \"s\"\ndriver = \"sim\"\nsignal = \"sine\"\n", Sensor{
			Name: "s", Driver: "sim", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Signal: "sine", Quantity: "value", Period: 60, Amplitude: 1, Step: 1, Min: 0, Max: 100,
		}},
		{"sim short interval lowers timeout", "name = \"s\"\ndriver = \"sim\"\nsignal = \"counter\"\ninterval = \"1s\"\n", Sensor{
			Name: "s", Driver: "sim", Interval: time.Second, Timeout: time.Second, Enabled: true,
			Signal: "counter", Quantity: "value", Period: 60, Amplitude: 1, Step: 1, Min: 0, Max: 100,
		}},
		{"gpio-in level", "name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO17\"\n", Sensor{
			Name: "b", Driver: "gpio-in", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Quantity: "value", Pin: "GPIO17", Pull: "float", Edge: "both", Mode: "level", Scale: 1,
		}},
		{"gpio-in counter", "name = \"r\"\ndriver = \"gpio-in\"\npin = \"GPIO6\"\nmode = \"counter\"\n", Sensor{
			Name: "r", Driver: "gpio-in", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Quantity: "value", Pin: "GPIO6", Pull: "float", Edge: "falling", Mode: "counter", Scale: 1,
		}},
		{"gpio-out", "name = \"p\"\ndriver = \"gpio-out\"\npin = \"GPIO27\"\n", Sensor{
			Name: "p", Driver: "gpio-out", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Pin: "GPIO27",
		}},
		{"bme280", "name = \"g\"\ndriver = \"bme280\"\n", Sensor{
			Name: "g", Driver: "bme280", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Bus: "1", Address: 0x76,
		}},
		{"bmp280", "name = \"g\"\ndriver = \"bmp280\"\n", Sensor{
			Name: "g", Driver: "bmp280", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Bus: "1", Address: 0x76,
		}},
		{"sht3x", "name = \"h\"\ndriver = \"sht3x\"\n", Sensor{
			Name: "h", Driver: "sht3x", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Bus: "1", Address: 0x44,
		}},
		{"sht4x", "name = \"h\"\ndriver = \"sht4x\"\n", Sensor{
			Name: "h", Driver: "sht4x", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Bus: "1", Address: 0x44,
		}},
		{"ads1115", "name = \"a\"\ndriver = \"ads1115\"\n", Sensor{
			Name: "a", Driver: "ads1115", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true, Bus: "1", Address: 0x48,
			Channels: []int{0}, Gain: 4.096, DataRate: 128,
		}},
		{"ds18b20", "name = \"w\"\ndriver = \"ds18b20\"\ndevice = \"28-0316a2794a1f\"\n", Sensor{
			Name: "w", Driver: "ds18b20", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Device: "28-0316a2794a1f", W1Dir: "/sys/bus/w1/devices",
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
	want := []Sensor{
		{Name: "s", Driver: "sim", Interval: 100 * time.Millisecond, Timeout: 100 * time.Millisecond, Enabled: false,
			Signal: "random-walk", Quantity: "humidity", Unit: "%RH", Seed: 42, Period: 2, Amplitude: 5, Offset: -3.5,
			Step: 0.25, Min: -10, Max: 10.5, FailEvery: 3},
		{Name: "r", Driver: "gpio-in", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Quantity: "value", Unit: "m", Pin: "GPIO0", Pull: "up", Edge: "both", Mode: "counter", Debounce: 50 * time.Millisecond,
			Scale: 0.0002794, ActiveLow: true},
		{Name: "o", Driver: "gpio-out", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Pin: "GPIO53", Initial: true, Safe: true, ActiveLow: true},
		{Name: "a", Driver: "ads1115", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Bus: "3", Address: 0x4B, Channels: []int{3, 1}, Gain: 0.256, DataRate: 860},
		{Name: "w", Driver: "ds18b20", Interval: 10 * time.Second, Timeout: 2 * time.Second, Enabled: true,
			Device: "28-00000abcdef0", W1Dir: "testdata/w1"},
	}
	if !reflect.DeepEqual(c.Sensors, want) {
		for i := range want {
			if i < len(c.Sensors) && !reflect.DeepEqual(c.Sensors[i], want[i]) {
				t.Errorf("sensor %d:\n got %+v\nwant %+v", i, c.Sensors[i], want[i])
			}
		}
		t.Fatalf("got %d sensors, want %d", len(c.Sensors), len(want))
	}
	if s, ok := c.SensorByName("o"); !ok || s.Pin != "GPIO53" {
		t.Errorf("SensorByName(o) = %+v, %v", s, ok)
	}
	if _, ok := c.SensorByName("nope"); ok {
		t.Error("SensorByName(nope) found a sensor")
	}
}

// errCase is a document that must fail at key with a reason containing
// every string in reason.
type errCase struct {
	name   string
	doc    string
	key    string
	reason []string
}

func checkErr(t *testing.T, tt errCase) {
	t.Helper()
	c, err := Parse("bad.toml", []byte(tt.doc), env(map[string]string{"CREDENTIALS_DIRECTORY": "/creds"}))
	if err == nil {
		t.Fatalf("no error; config %+v\n%s", c, tt.doc)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if ce.File != "bad.toml" || ce.Key != tt.key {
		t.Errorf("file %q key %q, want bad.toml %q (%v)", ce.File, ce.Key, tt.key, err)
	}
	for _, r := range tt.reason {
		if !strings.Contains(ce.Reason, r) {
			t.Errorf("reason %q does not contain %q", ce.Reason, r)
		}
	}
	if want := "bad.toml: " + ce.Key + ": " + ce.Reason; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestErrors(t *testing.T) {
	const dev = "[device]\nid = \"pi-7\"\n"
	const srv = dev + "[server]\nurl = \"https://x.example\"\n"
	tests := []errCase{
		// device
		{"missing device", "[server]\nurl = \"https://x.example\"\n", "device.id", []string{"missing", "id = "}},
		{"missing id", "[device]\n[server]\nurl = \"https://x.example\"\n", "device.id", []string{"missing"}},
		{"device not a table", "device = \"pi\"\n", "device", []string{"must be a table", "string \"pi\""}},
		{"id with colon", "[device]\nid = \"pi:7\"\n", "device.id", []string{`"pi:7"`, "A-Z a-z 0-9"}},
		{"id with slash", "[device]\nid = \"pi/7\"\n", "device.id", []string{"not a valid device id"}},
		{"id empty", "[device]\nid = \"\"\n", "device.id", []string{"1 to 64"}},
		{"id leading dash", "[device]\nid = \"-pi\"\n", "device.id", []string{"starting with a letter or digit"}},
		{"id too long", "[device]\nid = \"" + strings.Repeat("a", 65) + "\"\n", "device.id", []string{"1 to 64"}},
		{"id integer", "[device]\nid = 7\n", "device.id", []string{"must be a string", "integer 7"}},
		// server
		{"missing server", dev, "server.url", []string{"missing", "url = "}},
		{"missing url", dev + "[server]\nnamespace = \"/\"\n", "server.url", []string{"missing"}},
		{"url scheme", dev + "[server]\nurl = \"ftp://x.example\"\n", "server.url", []string{`"ftp"`, `"http", "https", "ws" or "wss"`}},
		{"url no scheme", dev + "[server]\nurl = \"x.example:3000\"\n", "server.url", []string{"scheme"}},
		{"url no scheme host", dev + "[server]\nurl = \"iot.example.com\"\n", "server.url", []string{"no scheme", "http://"}},
		{"url no host", dev + "[server]\nurl = \"http:///socket.io\"\n", "server.url", []string{"no host"}},
		{"url userinfo", dev + "[server]\nurl = \"https://u:secret@x.example\"\n", "server.url", []string{"user info"}},
		{"url token", dev + "[server]\nurl = \"https://x.example/?a=1&token=secret\"\n", "server.url", []string{`"token" query`, "token_file"}},
		{"url Token", dev + "[server]\nurl = \"https://x.example/?Token=secret\"\n", "server.url", []string{`"token" query`}},
		{"url fragment", dev + "[server]\nurl = \"https://x.example/#frag\"\n", "server.url", []string{"fragment"}},
		{"url empty", dev + "[server]\nurl = \"\"\n", "server.url", []string{"must not be empty"}},
		{"url bad", dev + "[server]\nurl = \"http://[::1\"\n", "server.url", []string{"not a valid URL"}},
		{"namespace slash", srv + "namespace = \"devices\"\n", "server.namespace", []string{`must start with "/"`}},
		{"namespace comma", srv + "namespace = \"/a,b\"\n", "server.namespace", []string{`","`}},
		{"transports bad", srv + "transports = [\"websocket\", \"websocket\"]\n", "server.transports", []string{`["websocket", "websocket"] is not allowed`, `["polling", "websocket"]`}},
		{"transports empty", srv + "transports = []\n", "server.transports", []string{"[] is not allowed"}},
		{"transports unknown", srv + "transports = [\"webtransport\"]\n", "server.transports", []string{"not allowed"}},
		{"transports string", srv + "transports = \"websocket\"\n", "server.transports", []string{"must be an array"}},
		{"transports int", srv + "transports = [1]\n", "server.transports", []string{"must contain strings"}},
		{"ack negative", srv + "ack_timeout = \"-1s\"\n", "server.ack_timeout", []string{`"-1s" is negative`, "at least 100ms"}},
		{"ack zero", srv + "ack_timeout = \"0s\"\n", "server.ack_timeout", []string{"too short", "at least 100ms"}},
		{"ack 1ns", srv + "ack_timeout = \"1ns\"\n", "server.ack_timeout", []string{"too short", "at least 100ms"}},
		{"command 1ms", "[device]\nid = \"d\"\n[server]\nurl = \"http://h\"\n[commands]\ntimeout = \"1ms\"\n", "commands.timeout", []string{"too short", "at least 100ms"}},
		{"ack huge", srv + "ack_timeout = \"2h\"\n", "server.ack_timeout", []string{"too long", "at most 1h"}},
		{"ack no unit", srv + "ack_timeout = \"10\"\n", "server.ack_timeout", []string{`"10" is not a duration`, `"10s"`}},
		{"ack integer", srv + "ack_timeout = 10\n", "server.ack_timeout", []string{"duration string", "integer 10"}},
		{"connect zero", srv + "connect_timeout = \"0s\"\n", "server.connect_timeout", []string{"too short"}},
		{"reconnect negative", srv + "reconnect_delay = \"-5s\"\n", "server.reconnect_delay", []string{"negative"}},
		{"reconnect max < delay", srv + "reconnect_delay = \"10s\"\nreconnect_delay_max = \"5s\"\n", "server.reconnect_delay_max", []string{"shorter than reconnect_delay 10s", "at least reconnect_delay"}},
		{"cert without key", srv + "cert_file = \"c.pem\"\n", "server.cert_file", []string{"without key_file", "both"}},
		{"key without cert", srv + "key_file = \"c.key\"\n", "server.key_file", []string{"without cert_file"}},
		{"ca with http", dev + "[server]\nurl = \"http://x.example\"\nca_file = \"ca.pem\"\n", "server.ca_file", []string{"https or wss", "http"}},
		{"ca empty", srv + "ca_file = \"\"\n", "server.ca_file", []string{"must not be empty"}},
		{"ack datetime", srv + "ack_timeout = 1979-05-27\n", "server.ack_timeout", []string{"duration string", "a date/time"}},
		{"token file int", srv + "token_file = 1\n", "server.token_file", []string{"must be a string"}},
		{"headers not table", srv + "headers = \"x\"\n", "server.headers", []string{"table of header names"}},
		{"header value int", srv + "[server.headers]\nX-A = 1\n", "server.headers.X-A", []string{"must be a string"}},
		{"header bad name", srv + "[server.headers]\n\"X A\" = \"1\"\n", "server.headers.X A", []string{"not a valid HTTP header name"}},
		{"header forbidden", srv + "[server.headers]\nupgrade = \"x\"\n", "server.headers.upgrade", []string{`"Upgrade" is set by the client`}},
		{"header dup", srv + "[server.headers]\nX-A = \"1\"\nx-a = \"2\"\n", "server.headers.x-a", []string{`same header as "X-A"`}},
		{"header control", srv + "[server.headers]\nX-A = \"a\\nb\"\n", "server.headers.X-A", []string{"control character"}},
		// outbox
		{"outbox not table", "outbox = 1\n" + srv, "outbox", []string{"must be a table"}},
		{"path empty", srv + "[outbox]\npath = \"\"\n", "outbox.path", []string{"must not be empty"}},
		{"max_bytes small", srv + "[outbox]\nmax_bytes = \"1KiB\"\n", "outbox.max_bytes", []string{"1024 bytes is out of range", "1MiB to 96MiB"}},
		{"max_bytes large", srv + "[outbox]\nmax_bytes = \"1GiB\"\n", "outbox.max_bytes", []string{"out of range", "96MiB"}},
		{"max_bytes unit", srv + "[outbox]\nmax_bytes = \"64Mb/s\"\n", "outbox.max_bytes", []string{`"64Mb/s" is not a size`, "KiB"}},
		{"max_bytes float", srv + "[outbox]\nmax_bytes = \"1.5MiB\"\n", "outbox.max_bytes", []string{"not a size"}},
		{"max_bytes negative", srv + "[outbox]\nmax_bytes = -1\n", "outbox.max_bytes", []string{"out of range"}},
		{"max_bytes bool", srv + "[outbox]\nmax_bytes = true\n", "outbox.max_bytes", []string{"size string", "boolean"}},
		{"max_bytes overflow", srv + "[outbox]\nmax_bytes = \"99999999999999999999GiB\"\n", "outbox.max_bytes", []string{"not a size"}},
		{"max_records negative", srv + "[outbox]\nmax_records = -1\n", "outbox.max_records", []string{"-1 is out of range", "from 0 to"}},
		{"max_records string", srv + "[outbox]\nmax_records = \"10\"\n", "outbox.max_records", []string{"must be an integer"}},
		{"max_age negative", srv + "[outbox]\nmax_age = \"-1h\"\n", "outbox.max_age", []string{"negative", `must be "0s" (no age limit) or more`}},
		{"overflow", srv + "[outbox]\noverflow = \"drop-newest\"\n", "outbox.overflow", []string{`"drop-newest" is not allowed`, `"drop-oldest" or "reject"`}},
		{"window zero", srv + "[outbox]\nwindow = 0\n", "outbox.window", []string{"0 is out of range", "1 to 256"}},
		{"window big", srv + "[outbox]\nwindow = 257\n", "outbox.window", []string{"257 is out of range"}},
		// telemetry
		{"event empty", srv + "[telemetry]\nevent = \"\"\n", "telemetry.event", []string{"must not be empty"}},
		{"event reserved", srv + "[telemetry]\nevent = \"connect\"\n", "telemetry.event", []string{"reserved"}},
		{"batch records zero", srv + "[telemetry]\nbatch_max_records = 0\n", "telemetry.batch_max_records", []string{"1 to 1000"}},
		{"batch records big", srv + "[telemetry]\nbatch_max_records = 1001\n", "telemetry.batch_max_records", []string{"1001 is out of range"}},
		{"batch delay zero", srv + "[telemetry]\nbatch_max_delay = \"0s\"\n", "telemetry.batch_max_delay", []string{"too short", "more than 0"}},
		{"batch delay long", srv + "[telemetry]\nbatch_max_delay = \"61m\"\n", "telemetry.batch_max_delay", []string{"too long", "at most 1h"}},
		{"batch bytes small", srv + "[telemetry]\nbatch_max_bytes = \"100B\"\n", "telemetry.batch_max_bytes", nil},
		{"batch bytes large", srv + "[telemetry]\nbatch_max_bytes = \"1GiB\"\n", "telemetry.batch_max_bytes", nil},
		// commands
		{"command timeout", srv + "[commands]\ntimeout = \"-1s\"\n", "commands.timeout", []string{"negative"}},
		{"remember zero", srv + "[commands]\nremember_ids = 0\n", "commands.remember_ids", []string{"out of range"}},
		// agent
		{"shutdown", srv + "[agent]\nshutdown_timeout = \"soon\"\n", "agent.shutdown_timeout", []string{"not a duration"}},
		{"runtime empty", srv + "[agent]\nruntime_dir = \"\"\n", "agent.runtime_dir", []string{"must not be empty"}},
		{"log level", srv + "[agent]\nlog_level = \"verbose\"\n", "agent.log_level", []string{`"verbose" is not allowed`, `"debug", "info", "warn" or "error"`}},
		// sensors shape
		{"sensors table", srv + "[sensors]\nname = \"x\"\n", "sensors", []string{"array of tables"}},
		{"sensors scalars", "sensors = [1]\n" + srv, "sensors[0]", []string{"must be a table"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt) })
	}
}

func TestSensorErrors(t *testing.T) {
	sim := "name = \"s\"\ndriver = \"sim\"\nsignal = \"counter\"\n"
	tests := []errCase{
		{"no name", sensorDoc("driver = \"sim\"\nsignal = \"counter\"\n"), "sensors[0].name", []string{"missing", "unique name"}},
		{"no driver", sensorDoc("name = \"x\"\n"), "sensors[0].driver", []string{"missing", `"sim"`, `"ds18b20"`}},
		{"bad driver", sensorDoc("name = \"x\"\ndriver = \"dht22\"\n"), "sensors[0].driver", []string{`"dht22" is not allowed`, `"bme280"`}},
		{"bad name", sensorDoc("name = \"a b\"\ndriver = \"sim\"\n"), "sensors[0].name", []string{`"a b" is not a valid name`, "A-Z a-z 0-9"}},
		{"name slash", sensorDoc("name = \"a/b\"\ndriver = \"sim\"\n"), "sensors[0].name", []string{"not a valid name"}},
		{"interval short", sensorDoc(sim + "interval = \"5ms\"\n"), "sensors[0].interval", []string{`"5ms" is too short`, "at least 10ms"}},
		{"interval negative", sensorDoc(sim + "interval = \"-1s\"\n"), "sensors[0].interval", []string{"negative"}},
		{"timeout > interval", sensorDoc(sim + "interval = \"1s\"\ntimeout = \"2s\"\n"), "sensors[0].timeout", []string{"2s is longer than the interval 1s", "at most the interval"}},
		{"timeout zero", sensorDoc(sim + "timeout = \"0s\"\n"), "sensors[0].timeout", []string{"too short"}},
		{"enabled string", sensorDoc(sim + "enabled = \"yes\"\n"), "sensors[0].enabled", []string{"true or false", `string "yes"`}},
		{"sim no signal", sensorDoc("name = \"s\"\ndriver = \"sim\"\n"), "sensors[0].signal", []string{"missing", `"counter", "sine", "random-walk" or "constant"`}},
		{"sim bad signal", sensorDoc("name = \"s\"\ndriver = \"sim\"\nsignal = \"square\"\n"), "sensors[0].signal", []string{`"square" is not allowed`}},
		{"sim period", sensorDoc(sim + "period = 1\n"), "sensors[0].period", []string{"1 is out of range", "from 2 to"}},
		{"sim fail_every", sensorDoc(sim + "fail_every = -1\n"), "sensors[0].fail_every", []string{"out of range"}},
		{"sim seed", sensorDoc(sim + "seed = -1\n"), "sensors[0].seed", []string{"out of range"}},
		{"sim amplitude string", sensorDoc(sim + "amplitude = \"1\"\n"), "sensors[0].amplitude", []string{"must be a number"}},
		{"sim nan", sensorDoc(sim + "offset = nan\n"), "sensors[0].offset", []string{"finite"}},
		{"sim min >= max", sensorDoc(sim + "min = 5\nmax = 5\n"), "sensors[0].max", []string{"min 5 is not below max 5"}},
		{"sim min above default max", sensorDoc(sim + "min = 200\n"), "sensors[0].min", []string{"min 200 is not below max 100"}},
		{"sim quantity", sensorDoc(sim + "quantity = \"a/b\"\n"), "sensors[0].quantity", []string{"not a valid name"}},
		{"sim unit space", sensorDoc(sim + "unit = \"m s\"\n"), "sensors[0].unit", []string{"not a valid unit"}},
		{"sim unit secondary", sensorDoc(sim + "unit = \"hPa\"\n"), "sensors[0].unit",
			[]string{`unit "hPa" is a secondary SenML unit (RFC 8798), not allowed in version 10 packs`, `use "Pa" (1 hPa = 100 Pa)`}},
		{"sim unit per second", sensorDoc(sim + "unit = \"/s\"\n"), "sensors[0].unit", []string{`unit "/s" is not in the SenML units registry`}},
		{"sim unit unknown", sensorDoc(sim + "unit = \"furlong\"\n"), "sensors[0].unit", []string{`unit "furlong" is not in the SenML units registry`}},
		{"gpio unit secondary", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nunit = \"mm\"\n"), "sensors[0].unit",
			[]string{`unit "mm" is a secondary SenML unit`, `use "m" (1 mm = 0.001 m)`}},
		{"counter rate unit", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"counter\"\nunit = \"Cel\"\n"), "sensors[0].unit",
			[]string{`"Cel" gives the counter's rate the unit "Cel/s"`, `unit "Cel/s" is not in the SenML units registry`, `"m3" (m3/s)`}},
		{"counter rate unit 1/s", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"counter\"\nunit = \"1/s\"\n"), "sensors[0].unit",
			[]string{`rate the unit "1/s/s"`}},
		{"gpio no pin", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\n"), "sensors[0].pin", []string{"missing", "GPIO17"}},
		{"gpio-out no pin", sensorDoc("name = \"b\"\ndriver = \"gpio-out\"\n"), "sensors[0].pin", []string{"missing"}},
		{"gpio bad pin", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"17\"\n"), "sensors[0].pin", []string{`"17" is not a GPIO pin`, `"GPIO0" to "GPIO53"`}},
		{"gpio pin 54", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO54\"\n"), "sensors[0].pin", []string{"not a GPIO pin"}},
		{"gpio pin 017", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO017\"\n"), "sensors[0].pin", []string{"not a GPIO pin"}},
		{"gpio pull", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\npull = \"high\"\n"), "sensors[0].pull", []string{`"high" is not allowed`, `"up", "down" or "float"`}},
		{"gpio edge", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nedge = \"up\"\n"), "sensors[0].edge", []string{`"none", "rising", "falling" or "both"`}},
		{"gpio mode", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"pwm\"\n"), "sensors[0].mode", []string{`"level" or "counter"`}},
		{"counter edge none", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"counter\"\nedge = \"none\"\n"), "sensors[0].edge", []string{`"none" cannot count`, `"rising", "falling" or "both"`}},
		{"scale in level mode", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nscale = 2.0\n"), "sensors[0].scale", []string{`only used with mode "counter"`, `mode is "level"`}},
		{"scale zero", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nmode = \"counter\"\nscale = 0\n"), "sensors[0].scale", []string{"must not be 0"}},
		{"debounce long", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\ndebounce = \"11s\"\n"), "sensors[0].debounce", []string{"too long", "at most 10s"}},
		{"debounce negative", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\ndebounce = \"-1ms\"\n"), "sensors[0].debounce", []string{"negative", `"0s" (off) or more and at most 10s`}},
		{"initial on gpio-in", sensorDoc("name = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\ninitial = true\n"), "sensors[0].initial", []string{`not used by driver "gpio-in"`}},
		{"pull on gpio-out", sensorDoc("name = \"b\"\ndriver = \"gpio-out\"\npin = \"GPIO5\"\npull = \"up\"\n"), "sensors[0].pull", []string{`not used by driver "gpio-out"`}},
		{"signal on bme280", sensorDoc("name = \"g\"\ndriver = \"bme280\"\nsignal = \"sine\"\n"), "sensors[0].signal", []string{`not used by driver "bme280"`}},
		{"key before driver", sensorDoc("name = \"g\"\nsignal = \"sine\"\ndriver = \"bme280\"\n"), "sensors[0].signal", []string{`not used by driver "bme280"`}},
		{"channels on sht3x", sensorDoc("name = \"g\"\ndriver = \"sht3x\"\nchannels = [0]\n"), "sensors[0].channels", []string{`not used by driver "sht3x"`}},
		{"bme address", sensorDoc("name = \"g\"\ndriver = \"bme280\"\naddress = 0x44\n"), "sensors[0].address", []string{"0x44 is not a valid address for \"bme280\"", "0x76 or 0x77"}},
		{"address before driver", sensorDoc("name = \"g\"\naddress = 0x44\ndriver = \"bmp280\"\n"), "sensors[0].address", []string{"0x76 or 0x77"}},
		{"sht3x address", sensorDoc("name = \"h\"\ndriver = \"sht3x\"\naddress = 0x46\n"), "sensors[0].address", []string{"0x44 or 0x45"}},
		{"sht4x address", sensorDoc("name = \"h\"\ndriver = \"sht4x\"\naddress = 0x47\n"), "sensors[0].address", []string{"0x44 to 0x46"}},
		{"ads address", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\naddress = 0x4C\n"), "sensors[0].address", []string{"0x4c is not a valid address", "0x48 to 0x4b"}},
		{"address string", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\naddress = \"0x48\"\n"), "sensors[0].address", []string{"must be an integer I2C address"}},
		{"bus bad", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nbus = \"i2c-1\"\n"), "sensors[0].bus", []string{"I2C bus number", `"i2c-1"`}},
		{"bus negative", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nbus = -1\n"), "sensors[0].bus", []string{"I2C bus number"}},
		{"channels empty", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nchannels = []\n"), "sensors[0].channels", []string{"non-empty", "0 to 3"}},
		{"channels range", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nchannels = [0, 4]\n"), "sensors[0].channels", []string{"integer 4 is not a channel", "0 to 3"}},
		{"channels dup", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\nchannels = [1, 1]\n"), "sensors[0].channels", []string{"channel 1 is listed twice"}},
		{"gain", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\ngain = 5.0\n"), "sensors[0].gain", []string{"5 is not a full-scale range", "6.144, 4.096"}},
		{"data rate", sensorDoc("name = \"a\"\ndriver = \"ads1115\"\ndata_rate = 100\n"), "sensors[0].data_rate", []string{"integer 100 is not a data rate", "8, 16, 32"}},
		{"ds18b20 no device", sensorDoc("name = \"w\"\ndriver = \"ds18b20\"\n"), "sensors[0].device", []string{"missing", "28-"}},
		{"ds18b20 bad device", sensorDoc("name = \"w\"\ndriver = \"ds18b20\"\ndevice = \"10-000000000000\"\n"), "sensors[0].device", []string{"not a DS18B20 id", `"28-"`}},
		{"ds18b20 traversal", sensorDoc("name = \"w\"\ndriver = \"ds18b20\"\ndevice = \"28-../../etc/x\"\n"), "sensors[0].device", []string{"not a DS18B20 id"}},
		{"w1_dir empty", sensorDoc("name = \"w\"\ndriver = \"ds18b20\"\ndevice = \"28-0316a2794a1f\"\nw1_dir = \"\"\n"), "sensors[0].w1_dir", []string{"must not be empty"}},
		// duplicates
		{"dup name", sensorDoc(sim + "[[sensors]]\n" + sim), "sensors[1].name", []string{`duplicate name "s"`, "sensors[0]"}},
		{"dup pin", sensorDoc("name = \"a\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\n[[sensors]]\nname = \"b\"\ndriver = \"gpio-out\"\npin = \"GPIO5\"\n"), "sensors[1].pin", []string{"GPIO5 is already used by sensors[0] (\"a\")"}},
		{"dup pin disabled", sensorDoc("name = \"a\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\nenabled = false\n[[sensors]]\nname = \"b\"\ndriver = \"gpio-in\"\npin = \"GPIO5\"\n"), "sensors[1].pin", []string{"already used"}},
		{"dup i2c", sensorDoc("name = \"a\"\ndriver = \"sht3x\"\n[[sensors]]\nname = \"b\"\ndriver = \"sht4x\"\n"), "sensors[1].address", []string{`bus "1" address 0x44 is already used by sensors[0] ("a")`}},
		{"dup i2c int bus", sensorDoc("name = \"a\"\ndriver = \"bme280\"\nbus = 1\n[[sensors]]\nname = \"b\"\ndriver = \"bmp280\"\nbus = \"1\"\n"), "sensors[1].address", []string{"already used"}},
		{"dup w1", sensorDoc("name = \"a\"\ndriver = \"ds18b20\"\ndevice = \"28-0316a2794a1f\"\n[[sensors]]\nname = \"b\"\ndriver = \"ds18b20\"\ndevice = \"28-0316a2794a1f\"\n"), "sensors[1].device", []string{"already used by sensors[0]"}},
		{"second sensor", sensorDoc(sim + "[[sensors]]\nname = \"t\"\ndriver = \"sim\"\nsignal = \"sine\"\nperiod = 0\n"), "sensors[1].period", []string{"out of range"}},
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

func TestUnknownKeys(t *testing.T) {
	const srv = minimal
	tests := []errCase{
		{"top level", srv + "[sever]\nurl = \"x\"\n", "sever", []string{"unknown key", `did you mean "server"?`}},
		{"top level no suggestion", srv + "[logging]\n", "logging", []string{"unknown key", "device, server, outbox"}},
		{"top level scalar", "version = 2\n" + srv, "version", []string{"unknown key"}},
		{"device", "[device]\nid = \"x\"\nname = \"y\"\n", "device.name", []string{"unknown key", "known keys here: id"}},
		{"server", srv + "urls = \"x\"\n", "server.urls", []string{`did you mean "url"?`}},
		{"server case", srv + "URL = \"x\"\n", "server.URL", []string{`did you mean "url"?`}},
		{"server token", srv + "token = \"secret\"\n", "server.token", []string{"unknown key"}},
		{"server nested", srv + "[server.tls]\nca = \"x\"\n", "server.tls", []string{"unknown key"}},
		{"outbox", srv + "[outbox]\nmax_byte = \"1MiB\"\n", "outbox.max_byte", []string{`did you mean "max_bytes"?`}},
		{"telemetry", srv + "[telemetry]\nbatch_size = 10\n", "telemetry.batch_size", []string{"unknown key", "batch_max_records"}},
		{"commands", srv + "[commands]\ntimout = \"1s\"\n", "commands.timout", []string{`did you mean "timeout"?`}},
		{"agent", srv + "[agent]\nloglevel = \"info\"\n", "agent.loglevel", []string{`did you mean "log_level"?`}},
		{"sensor", sensorDoc("name = \"g\"\ndriver = \"bme280\"\nadress = 0x76\n"), "sensors[0].adress", []string{`did you mean "address"?`}},
		{"sensor unknown driver keys listed", sensorDoc("name = \"g\"\ndriver = \"bme280\"\nfoo = 1\n"), "sensors[0].foo", []string{"unknown key", "bus, address"}},
		{"sensor without driver", sensorDoc("name = \"g\"\nintervall = \"1s\"\n"), "sensors[0].intervall", []string{`did you mean "interval"?`}},
		{"sensor nested table", sensorDoc("name = \"g\"\ndriver = \"bme280\"\n[sensors.i2c]\nbus = 1\n"), "sensors[0].i2c", []string{"unknown key"}},
		{"second sensor", sensorDoc("name = \"a\"\ndriver = \"sim\"\nsignal = \"counter\"\n[[sensors]]\nname = \"b\"\ndriver = \"sim\"\nsignl = \"counter\"\n"), "sensors[1].signl", []string{`did you mean "signal"?`}},
		{"inline sensors", "sensors = [{name = \"a\", driver = \"sim\", signal = \"counter\", colour = 1}]\n" + srv, "sensors[0].colour", []string{"unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt) })
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []errCase{
		{"missing value", "[device]\nid = \"x\"\n[server]\nurl =\n", "line 4", []string{"syntax error"}},
		{"unterminated string", "[device]\nid = \"x\n", "line 2", []string{"syntax error"}},
		{"duplicate key", "[device]\nid = \"a\"\nid = \"b\"\n", "line 3", []string{"syntax error", "already been defined"}},
		{"duplicate table", "[device]\nid = \"a\"\n[server]\nurl = \"http://x\"\n[device]\n", "line 5", []string{"syntax error"}},
		{"junk after value", "[device]\nid = \"a\" b\n", "line 2", []string{"syntax error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt)
			_, err := Parse("bad.toml", []byte(tt.doc), nil)
			var pe toml.ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error does not wrap a toml.ParseError: %v", err)
			}
		})
	}
}

// TestFirstErrorInDocumentOrder checks that of two errors the one written
// first is reported, whichever it is.
func TestFirstErrorInDocumentOrder(t *testing.T) {
	const dev = "[device]\nid = \"x\"\n"
	tests := []errCase{
		{"server before outbox", dev + "[server]\nurl = \"ftp://x\"\n[outbox]\nwindow = 0\n", "server.url", nil},
		{"outbox before server", dev + "[outbox]\nwindow = 0\n[server]\nurl = \"ftp://x\"\n", "outbox.window", nil},
		{"keys in order a", minimal + "ack_timeout = \"x\"\nconnect_timeout = \"y\"\n", "server.ack_timeout", nil},
		{"keys in order b", minimal + "connect_timeout = \"y\"\nack_timeout = \"x\"\n", "server.connect_timeout", nil},
		{"sensor keys a", sensorDoc("name = \"s\"\ndriver = \"sim\"\nsignal = \"x\"\ninterval = \"1\"\n"), "sensors[0].signal", nil},
		{"sensor keys b", sensorDoc("name = \"s\"\ndriver = \"sim\"\ninterval = \"1\"\nsignal = \"x\"\n"), "sensors[0].interval", nil},
		{"sensor before later section", sensorDoc("name = \"s\"\ndriver = \"nope\"\n") + "[agent]\nlog_level = \"x\"\n", "sensors[0].driver", nil},
		{"section before sensor", minimal + "[agent]\nlog_level = \"x\"\n[[sensors]]\nname = \"s\"\ndriver = \"nope\"\n", "agent.log_level", nil},
		{"unknown before bad", minimal + "bogus = 1\nnamespace = \"x\"\n", "server.bogus", nil},
		{"bad before unknown", minimal + "namespace = \"x\"\nbogus = 1\n", "server.namespace", nil},
		{"first sensor first", sensorDoc("name = \"a\"\ndriver = \"sim\"\nsignal = \"counter\"\nperiod = 0\n[[sensors]]\nname = \"b\"\ndriver = \"x\"\n"), "sensors[0].period", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Deterministic: the same answer every time despite map order.
			for range 20 {
				checkErr(t, tt)
			}
		})
	}
}

func TestErrorWithoutFile(t *testing.T) {
	_, err := Parse("", []byte("[device]\nid = 1\n"), nil)
	if err == nil || err.Error() != "device.id: must be a string, got integer 1" {
		t.Errorf("err = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != path || c.Device.ID != "pi-7" {
		t.Errorf("File %q id %q", c.File, c.Device.ID)
	}
	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte(minimal+"#"+strings.Repeat("x", MaxFileSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *Error
	if _, err := Load(big); !errors.As(err, &ce) || ce.File != big || !strings.Contains(ce.Reason, "larger than") {
		t.Errorf("big file: %v", err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[device]\nid = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || err.Error() != bad+": device.id: must be a string, got integer 5" {
		t.Errorf("bad file: %v", err)
	}
}

func TestShippedConfigs(t *testing.T) {
	for _, name := range []string{"example.toml", "demo.toml"} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(name, mustRead(t, filepath.Join("..", "configs", name)), env(nil))
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
	c, err := Load(filepath.Join("..", "configs", "demo.toml"))
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
		if !ok || s.Driver != "sim" || s.Signal != w.signal || s.Quantity != w.quantity || s.Unit != w.unit || s.Interval != w.interval {
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
	sections := map[string][]string{
		"device": deviceKeys, "server": serverKeys, "outbox": outboxKeys, "telemetry": telemetryKeys,
		"commands": commandsKeys, "agent": agentKeys, "sensors": allSensorKeys,
	}
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
	c, err := Parse("example.toml", []byte(text), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range c.Sensors {
		seen[s.Driver] = true
	}
	for _, d := range []string{DriverSim, DriverGPIOIn, DriverGPIOOut, DriverBME280, DriverSHT3x, DriverADS1115, DriverDS18B20} {
		if !seen[d] {
			t.Errorf("example.toml has no %s sensor", d)
		}
	}
	rain, _ := c.SensorByName("rain")
	if rain.Mode != ModeCounter || rain.Scale != 0.0002794 || rain.Unit != "m" {
		t.Errorf("rain gauge %+v", rain)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"url", "urls", 1}, {"adress", "address", 1},
		{"kitten", "sitting", 3}, {"timout", "timeout", 1}, {"loglevel", "log_level", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if s := suggest("x", []string{"min", "max"}); s != "" {
		t.Errorf("suggest(x) = %q, want none", s)
	}
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
		if got := c.Sensors[0].Unit; got != tt.unit {
			t.Errorf("unit %q, want %q\n%s", got, tt.unit, tt.body)
		}
	}
}

func TestCounterRateUnit(t *testing.T) {
	tests := []struct{ unit, want string }{
		{"", "1/s"}, {"count", "1/s"}, {"m", "m/s"}, {"m3", "m3/s"}, {"Cel", "Cel/s"},
	}
	for _, tt := range tests {
		if got := counterRateUnit(tt.unit); got != tt.want {
			t.Errorf("counterRateUnit(%q) = %q, want %q", tt.unit, got, tt.want)
		}
	}
}
