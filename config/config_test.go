package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/drivers"
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

// parse parses doc with every sensor driver sioagent has.
func parse(file string, doc []byte, getenv func(string) string) (*config.Config, error) {
	return config.Parse(file, doc, getenv, drivers.New())
}

func mustParse(t *testing.T, doc string, getenv func(string) string) *config.Config {
	t.Helper()
	c, err := parse("test.toml", []byte(doc), getenv)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return c
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
	c, err := parse("bad.toml", []byte(tt.doc), env(map[string]string{"CREDENTIALS_DIRECTORY": "/creds"}))
	if err == nil {
		t.Fatalf("no error; config %+v\n%s", c, tt.doc)
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v is not *config.Error", err, err)
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

func TestDefaults(t *testing.T) {
	got := mustParse(t, minimal, nil)
	want := &config.Config{
		File:   "test.toml",
		Device: config.Device{ID: "pi-7"},
		Server: config.Server{
			URL:               "https://iot.example.com",
			Namespace:         "/",
			TokenFile:         "",
			Transports:        []string{"websocket"},
			AckTimeout:        10 * time.Second,
			ConnectTimeout:    20 * time.Second,
			ReconnectDelay:    time.Second,
			ReconnectDelayMax: 30 * time.Second,
			Compression:       true,
		},
		Outbox: config.Outbox{
			Path:       "/var/lib/sioagent/outbox.db",
			MaxBytes:   64 << 20,
			MaxRecords: 0,
			MaxAge:     0,
			Overflow:   "drop-oldest",
			Window:     config.WindowAuto,
		},
		Telemetry: config.Telemetry{BatchMaxRecords: 50, BatchMaxDelay: time.Second, BatchMaxBytes: 256 << 10},
		Commands:  config.Commands{Timeout: 10 * time.Second, RememberIDs: 1024},
		Agent:     config.Agent{ShutdownTimeout: 10 * time.Second, RuntimeDir: "/run/sioagent", LogLevel: "info"},
		Clock:     config.Clock{Trust: "auto"},
		Metrics:   config.Metrics{Interval: time.Minute},
		// Off until the operator opts in; then these tables, not [server].
		RemoteConfig: config.RemoteConfig{Allow: []string{"sensors", "telemetry", "outbox"}},
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
compression = false
[server.headers]
Authorization = "Bearer x"
X-Site = "north"
[outbox]
max_bytes = "1 MiB"
max_records = 1000
max_age = "24h"
overflow = "reject"
window = 256
drain_rate = "16KiB/s"
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
[clock]
trust = "system"
[metrics]
listen = "[::1]:9464"
textfile = "/var/lib/node_exporter/textfile_collector/./sioagent.prom"
interval = "15s"
`
	c := mustParse(t, doc, nil)
	s := c.Server
	if s.Namespace != "/devices" || !reflect.DeepEqual(s.Transports, []string{"polling", "websocket"}) ||
		s.AckTimeout != 1500*time.Millisecond || s.ConnectTimeout != time.Minute ||
		s.ReconnectDelay != 2*time.Second || s.ReconnectDelayMax != 2*time.Second ||
		s.CAFile != "ca.pem" || s.CertFile != "c.pem" || s.KeyFile != "c.key" || s.Compression ||
		!reflect.DeepEqual(s.Headers, map[string]string{"Authorization": "Bearer x", "X-Site": "north"}) {
		t.Errorf("server: %+v", s)
	}
	if want := (config.Outbox{Path: config.DefaultOutboxPath, MaxBytes: 1 << 20, MaxRecords: 1000, MaxAge: 24 * time.Hour, Overflow: "reject", Window: 256, DrainRate: 16 << 10}); c.Outbox != want {
		t.Errorf("outbox %+v, want %+v", c.Outbox, want)
	}
	if want := (config.Telemetry{Event: "readings", BatchMaxRecords: 1000, BatchMaxDelay: time.Hour, BatchMaxBytes: 64 << 10}); c.Telemetry != want {
		t.Errorf("telemetry %+v", c.Telemetry)
	}
	if want := (config.Metrics{Listen: "[::1]:9464", Textfile: "/var/lib/node_exporter/textfile_collector/sioagent.prom", Interval: 15 * time.Second}); c.Metrics != want {
		t.Errorf("metrics %+v, want %+v", c.Metrics, want)
	}
	if c.Clock.Trust != config.ClockTrustSystem {
		t.Errorf("clock.trust = %q, want %q", c.Clock.Trust, config.ClockTrustSystem)
	}
	if want := (config.Commands{Timeout: 3 * time.Second, RememberIDs: 1}); c.Commands != want {
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

// window is "auto" (the default, also when written out) or a fixed number.
func TestWindow(t *testing.T) {
	for doc, want := range map[string]int{
		"":                      config.WindowAuto,
		"window = \"auto\"\n":   config.WindowAuto,
		"window = 1\n":          1,
		"window = 32\n":         32,
		"window = 256\n":        256,
		"window = \" auto \"\n": -1, // no spaces, as for every enumerated value
	} {
		c, err := parse("test.toml", []byte(minimal+"[outbox]\n"+doc), nil)
		switch {
		case want < 0 && err == nil:
			t.Errorf("%q: parsed as window %d, want an error", doc, c.Outbox.Window)
		case want >= 0 && err != nil:
			t.Errorf("%q: %v", doc, err)
		case want >= 0 && c.Outbox.Window != want:
			t.Errorf("%q: window %d, want %d", doc, c.Outbox.Window, want)
		}
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

func TestErrorWithoutFile(t *testing.T) {
	_, err := parse("", []byte("[device]\nid = 1\n"), nil)
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
	c, err := config.Load(path, drivers.New())
	if err != nil {
		t.Fatal(err)
	}
	if c.File != path || c.Device.ID != "pi-7" {
		t.Errorf("File %q id %q", c.File, c.Device.ID)
	}
	_, err = config.Load(filepath.Join(dir, "missing.toml"), drivers.New())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, []byte(minimal+"#"+strings.Repeat("x", config.MaxFileSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *config.Error
	if _, err := config.Load(big, drivers.New()); !errors.As(err, &ce) || ce.File != big || !strings.Contains(ce.Reason, "larger than") {
		t.Errorf("big file: %v", err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[device]\nid = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(bad, drivers.New()); err == nil || err.Error() != bad+": device.id: must be a string, got integer 5" {
		t.Errorf("bad file: %v", err)
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
		if got := config.EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("config.EditDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if s := config.Suggest("x", []string{"min", "max"}); s != "" {
		t.Errorf("config.Suggest(x) = %q, want none", s)
	}
}
