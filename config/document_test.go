package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/drivers"
	"github.com/sioagent/sioagent/sensors/sim"
)

// base is a local file with secrets, two sensors and telemetry settings.
const base = `
[device]
id = "pi-7"
[server]
url = "https://iot.example.com"
token_file = "/etc/sioagent/token"
ca_file = "/etc/sioagent/ca.pem"
[server.headers]
Authorization = "Bearer secret"
[telemetry]
batch_max_records = 50
batch_max_delay = "2s"
[remote_config]
enabled = true
[[sensors]]
name = "a"
driver = "sim"
signal = "counter"
[[sensors]]
name = "b"
driver = "sim"
signal = "constant"
`

func mustDoc(t *testing.T, file, text string) *config.Document {
	t.Helper()
	d, err := config.DecodeDocument(file, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// An overlay's keys replace the same keys of a table, the rest of the
// table stays; its [[sensors]] replace the whole list.
func TestMergeAtTableGranularity(t *testing.T) {
	merged := mustDoc(t, "base.toml", base).Merge(mustDoc(t, "overlay", `
[telemetry]
batch_max_records = 20
[[sensors]]
name = "c"
driver = "sim"
signal = "sine"
interval = "1s"
`))
	c, err := merged.Parse(nil, drivers.New())
	if err != nil {
		t.Fatal(err)
	}
	if c.File != "base.toml" || c.Telemetry.BatchMaxRecords != 20 || c.Telemetry.BatchMaxDelay != 2*time.Second || c.Server.TokenFile != "/etc/sioagent/token" {
		t.Errorf("merged config %+v", c)
	}
	if len(c.Sensors) != 1 || c.Sensors[0].Name != "c" || c.Sensors[0].Interval != time.Second || c.Sensors[0].Options.(sim.Config).Signal != "sine" {
		t.Errorf("sensors %+v, want the overlay's list only", c.Sensors)
	}
	// The documents themselves are unchanged.
	if c, _ := mustDoc(t, "base.toml", base).Parse(nil, drivers.New()); len(c.Sensors) != 2 {
		t.Errorf("base sensors %d", len(c.Sensors))
	}
}

// A merged document is validated by the same code as a file, and each
// error names the file that set the key.
func TestMergedErrorsNameTheirFile(t *testing.T) {
	for _, tc := range []struct {
		name, overlay, file, key, reason string
	}{
		{"overlay value", "[telemetry]\nbatch_max_records = 5000\n", "overlay", "telemetry.batch_max_records", "out of range"},
		{"overlay unknown key", "[telemetry]\nbatch_max_recrods = 5\n", "overlay", "telemetry.batch_max_recrods", `did you mean "batch_max_records"`},
		{"overlay sensor", "[[sensors]]\nname = \"x\"\ndriver = \"sim\"\n", "overlay", `sensors."x".signal`, "missing"},
		{"overlay sensors not an array", "sensors = 3\n", "overlay", "sensors", "array of tables"},
		{"base key still checked", "[server]\nurl = \"http://iot.example.com\"\n", "base.toml", "server.ca_file", "only used with https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			merged := mustDoc(t, "base.toml", base).Merge(mustDoc(t, "overlay", tc.overlay))
			_, err := merged.Parse(nil, drivers.New())
			var ce *config.Error
			if !errors.As(err, &ce) || ce.File != tc.file || ce.Key != tc.key || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("error %v, want %s: %s: ...%s...", err, tc.file, tc.key, tc.reason)
			}
		})
	}
}

func TestRemoteCheck(t *testing.T) {
	def := config.RemoteConfig{Enabled: true, Allow: []string{"sensors", "telemetry", "outbox"}}
	withServer := def
	withServer.AllowServer = true
	only := config.RemoteConfig{Enabled: true, Allow: []string{"sensors"}}
	for _, tc := range []struct {
		name    string
		r       config.RemoteConfig
		overlay string
		key     string // "" when allowed
	}{
		{"sensors", def, "[[sensors]]\nname = \"x\"\n", ""},
		{"telemetry and outbox", def, "[telemetry]\nbatch_max_records = 3\n[outbox]\nmax_bytes = \"2MiB\"\n", ""},
		{"empty", def, "", ""},
		{"device", def, "[device]\nid = \"other\"\n", "device"},
		{"remote_config itself", def, "[remote_config]\nallow_server = true\n", "remote_config"},
		{"agent", def, "[agent]\nlog_level = \"debug\"\n", "agent"},
		{"server without allow_server", def, "[server]\nurl = \"https://x.example\"\n", "server"},
		{"server url", withServer, "[server]\nurl = \"https://x.example\"\nack_timeout = \"5s\"\n", ""},
		{"token", withServer, "[server]\ntoken_file = \"/tmp/t\"\n", "server.token_file"},
		{"key", withServer, "[server]\nkey_file = \"/tmp/k\"\n", "server.key_file"},
		{"headers", withServer, "[server.headers]\nAuthorization = \"x\"\n", "server.headers"},
		{"outbox path", def, "[outbox]\npath = \"/tmp/o.db\"\n", "outbox.path"},
		{"telemetry not allowed", only, "[telemetry]\nbatch_max_records = 3\n", "telemetry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Check(mustDoc(t, "overlay", tc.overlay))
			if tc.key == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Key != tc.key || !errors.Is(err, config.ErrNotAllowed) {
				t.Fatalf("error %v, want %s not allowed", err, tc.key)
			}
		})
	}
}

// config:get's JSON: canonical, secrets redacted; its hash follows every
// change but the secrets'.
func TestJSONAndHash(t *testing.T) {
	d := mustDoc(t, "base.toml", base)
	js, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	for _, secret := range []string{"/etc/sioagent/token", "ca.pem", "Bearer"} {
		if strings.Contains(s, secret) {
			t.Errorf("JSON shows %q: %s", secret, s)
		}
	}
	for _, want := range []string{`"token_file":"(redacted)"`, `"ca_file":"(redacted)"`, `"headers":{"Authorization":"(redacted)"}`, `"batch_max_records":50`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s lacks %s", s, want)
		}
	}
	if strings.ContainsAny(s, " \n") || !strings.HasPrefix(s, `{"device":`) || strings.Index(s, `"batch_max_delay"`) > strings.Index(s, `"batch_max_records"`) {
		t.Errorf("JSON is not canonical (sorted members, no white space): %s", s)
	}
	h1, _ := d.Hash()
	h2, _ := mustDoc(t, "other-name.toml", base).Hash()
	if len(h1) != 64 || h1 != h2 {
		t.Errorf("hashes %s and %s of the same tables", h1, h2)
	}
	changed, _ := d.Merge(mustDoc(t, "overlay", "[telemetry]\nbatch_max_records = 20\n")).Hash()
	secret, _ := mustDoc(t, "base.toml", strings.Replace(base, "Bearer secret", "Bearer other", 1)).Hash()
	if changed == h1 || secret != h1 {
		t.Errorf("hash %s; after a change %s (must differ); with another secret %s (must not)", h1, changed, secret)
	}
	if js, _ := mustDoc(t, "x", "[device]\nid = \"a<b>&\"\n").JSON(); string(js) != `{"device":{"id":"a<b>&"}}` {
		t.Errorf("JSON %s escapes HTML", js)
	}
}

// A JSON overlay holds the same tables as its TOML: integers stay
// integers, the [[sensors]] list becomes an array of tables, and its TOML
// text decodes to the same document.
func TestDocumentFromJSON(t *testing.T) {
	d, err := config.DocumentFromJSON("overlay", []byte(`{"telemetry": {"batch_max_records": 20, "batch_max_delay": "500ms"},
		"sensors": [{"name": "s", "driver": "sim", "signal": "sine", "amplitude": 2.5, "offset": 20, "period": 10}]}`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := d.TOML()
	if err != nil {
		t.Fatal(err)
	}
	back := mustDoc(t, "overlay", string(text))
	for _, doc := range []*config.Document{d, back} {
		c, err := mustDoc(t, "base.toml", base).Merge(doc).Parse(nil, drivers.New())
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		o := c.Sensors[0].Options.(sim.Config)
		if c.Telemetry.BatchMaxRecords != 20 || len(c.Sensors) != 1 || o.Amplitude != 2.5 || o.Offset != 20 || o.Period != 10 {
			t.Errorf("config %+v sensor %+v\n%s", c.Telemetry, o, text)
		}
	}
	h1, _ := d.Hash()
	h2, _ := back.Hash()
	if h1 != h2 {
		t.Errorf("the TOML text hashes %s, the JSON %s", h2, h1)
	}
	for _, tc := range []struct{ json, key string }{
		{`{"telemetry": {"batch_max_records": null}}`, "telemetry.batch_max_records"},
		{`[1]`, "json"},
		{`{"a": 1} {}`, "json"},
		{`{"telemetry": {"batch_max_records": 99999999999999999999}}`, "telemetry.batch_max_records"},
	} {
		var ce *config.Error
		if _, err := config.DocumentFromJSON("overlay", []byte(tc.json)); !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%s: error %v, want one at %s", tc.json, err, tc.key)
		}
	}
}

func TestRemoteConfigSection(t *testing.T) {
	c := mustParse(t, minimal+"[remote_config]\nenabled = true\nallow = [\"telemetry\"]\nallow_server = true\n", nil)
	if r := c.RemoteConfig; !r.Enabled || !r.AllowServer || len(r.Allow) != 1 || !r.Allows("telemetry") || r.Allows("sensors") {
		t.Errorf("remote_config %+v", r)
	}
	for _, tc := range []errCase{
		{"allow server", minimal + "[remote_config]\nallow = [\"server\"]\n", "remote_config.allow", []string{"allow_server = true"}},
		{"allow unknown", minimal + "[remote_config]\nallow = [\"device\"]\n", "remote_config.allow", []string{`"device" is not allowed`, `"sensors", "telemetry" or "outbox"`}},
		{"allow twice", minimal + "[remote_config]\nallow = [\"sensors\", \"sensors\"]\n", "remote_config.allow", []string{"twice"}},
		{"allow string", minimal + "[remote_config]\nallow = \"sensors\"\n", "remote_config.allow", []string{"must be an array"}},
		{"enabled string", minimal + "[remote_config]\nenabled = \"yes\"\n", "remote_config.enabled", []string{"true or false"}},
		{"unknown key", minimal + "[remote_config]\nalow = []\n", "remote_config.alow", []string{`did you mean "allow"`}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErr(t, tc) })
	}
}

// Document.TOML's writer: what it writes decodes to the same tables (TOML
// checks that itself, and fails otherwise), for every kind of value.
func TestTOMLWriter(t *testing.T) {
	d, err := config.DocumentFromJSON("x", []byte(`{
		"top": "level", "n": -3, "f": 1.0, "g": 1e300, "h": -0.5, "b": true, "list": ["a", "b\"c"], "empty": [],
		"server": {"url": "http://h", "headers": {"X-Site": "north", "a.b": "q"}},
		"weird": {"key with space": "tab\tnew\nline\u0001 é \\ end", "nested": {"deep": {"x": 1}}},
		"sensors": [{"name": "a", "channels": [0, 1], "opt": {"k": 1}}, {"name": "b"}],
		"mixed": [1, {"inline": true}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := d.TOML()
	if err != nil {
		t.Fatal(err)
	}
	back := mustDoc(t, "x", string(text))
	want, _ := d.JSON()
	got, _ := back.JSON()
	if string(want) != string(got) {
		t.Errorf("written:\n%s\nreads back as %s\nwant %s", text, got, want)
	}
	if !strings.Contains(string(text), "\n[[sensors]]\n") || !strings.Contains(string(text), "\n[server.headers]\n") {
		t.Errorf("tables are not written under their headers:\n%s", text)
	}
}
