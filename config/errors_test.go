package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

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
		{"compression string", srv + "compression = \"yes\"\n", "server.compression", []string{"must be true or false", `string "yes"`}},
		{"window zero", srv + "[outbox]\nwindow = 0\n", "outbox.window", []string{"0 is out of range", `"auto" or from 1 to 256`}},
		{"window big", srv + "[outbox]\nwindow = 257\n", "outbox.window", []string{"257 is out of range"}},
		{"window word", srv + "[outbox]\nwindow = \"adaptive\"\n", "outbox.window", []string{`"adaptive" is not allowed`, `"auto" or an integer from 1 to 256`}},
		{"window case", srv + "[outbox]\nwindow = \"Auto\"\n", "outbox.window", []string{`"Auto" is not allowed`}},
		{"window float", srv + "[outbox]\nwindow = 32.5\n", "outbox.window", []string{`must be "auto" or an integer`, "float"}},
		// telemetry
		{"event empty", srv + "[telemetry]\nevent = \"\"\n", "telemetry.event", []string{"must not be empty"}},
		{"event reserved", srv + "[telemetry]\nevent = \"connect\"\n", "telemetry.event", []string{"reserved"}},
		{"clock trust", srv + "[clock]\ntrust = \"rtc\"\n", "clock.trust", []string{"auto", "system"}},
		{"drain rate not a rate", srv + "[outbox]\ndrain_rate = \"16KiB\"\n", "outbox.drain_rate", []string{"rate like", "/s"}},
		{"drain rate integer", srv + "[outbox]\ndrain_rate = 16384\n", "outbox.drain_rate", []string{"rate like"}},
		{"drain rate too low", srv + "[outbox]\ndrain_rate = \"10B/s\"\n", "outbox.drain_rate", []string{"out of range"}},
		{"drain rate bad size", srv + "[outbox]\ndrain_rate = \"fast/s\"\n", "outbox.drain_rate", []string{"not a rate"}},
		{"metrics listen no port", srv + "[metrics]\nlisten = \"127.0.0.1\"\n", "metrics.listen", []string{"not host:port"}},
		{"metrics listen no host", srv + "[metrics]\nlisten = \":9464\"\n", "metrics.listen", []string{"no host", "127.0.0.1:9464", "0.0.0.0:9464"}},
		{"metrics listen bad port", srv + "[metrics]\nlisten = \"127.0.0.1:99999\"\n", "metrics.listen", []string{"1 to 65535"}},
		{"metrics listen empty", srv + "[metrics]\nlisten = \"\"\n", "metrics.listen", []string{"must not be empty"}},
		{"metrics textfile relative", srv + "[metrics]\ntextfile = \"sioagent.prom\"\n", "metrics.textfile", []string{"absolute"}},
		{"metrics textfile suffix", srv + "[metrics]\ntextfile = \"/var/lib/x/sioagent.txt\"\n", "metrics.textfile", []string{".prom"}},
		{"metrics textfile bare suffix", srv + "[metrics]\ntextfile = \"/var/lib/x/.prom\"\n", "metrics.textfile", []string{".prom"}},
		{"metrics interval short", srv + "[metrics]\ninterval = \"100ms\"\n", "metrics.interval", []string{"too short", "at least 1s"}},
		{"metrics unknown key", srv + "[metrics]\nport = 9464\n", "metrics.port", []string{"unknown key", "listen"}},
		{"clock unknown key", srv + "[clock]\ntrusted = \"system\"\n", "clock.trusted", []string{"unknown key", "trust"}},
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
		{"sensor", sensorDoc("name = \"g\"\ndriver = \"bme280\"\nadress = 0x76\n"), `sensors."g".adress`, []string{`did you mean "address"?`}},
		{"sensor unknown driver keys listed", sensorDoc("name = \"g\"\ndriver = \"bme280\"\nfoo = 1\n"), `sensors."g".foo`, []string{"unknown key", "bus, address"}},
		{"sensor without driver", sensorDoc("name = \"g\"\nintervall = \"1s\"\n"), `sensors."g".intervall`, []string{`did you mean "interval"?`}},
		{"sensor nested table", sensorDoc("name = \"g\"\ndriver = \"bme280\"\n[sensors.i2c]\nbus = 1\n"), `sensors."g".i2c`, []string{"unknown key"}},
		{"second sensor", sensorDoc("name = \"a\"\ndriver = \"sim\"\nsignal = \"counter\"\n[[sensors]]\nname = \"b\"\ndriver = \"sim\"\nsignl = \"counter\"\n"), `sensors."b".signl`, []string{`did you mean "signal"?`}},
		{"inline sensors", "sensors = [{name = \"a\", driver = \"sim\", signal = \"counter\", colour = 1}]\n" + srv, `sensors."a".colour`, []string{"unknown key"}},
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
			_, err := parse("bad.toml", []byte(tt.doc), nil)
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
		{"sensor keys a", sensorDoc("name = \"s\"\ndriver = \"sim\"\nsignal = \"x\"\ninterval = \"1\"\n"), `sensors."s".signal`, nil},
		{"sensor keys b", sensorDoc("name = \"s\"\ndriver = \"sim\"\ninterval = \"1\"\nsignal = \"x\"\n"), `sensors."s".interval`, nil},
		{"sensor before later section", sensorDoc("name = \"s\"\ndriver = \"nope\"\n") + "[agent]\nlog_level = \"x\"\n", `sensors."s".driver`, nil},
		{"section before sensor", minimal + "[agent]\nlog_level = \"x\"\n[[sensors]]\nname = \"s\"\ndriver = \"nope\"\n", "agent.log_level", nil},
		{"unknown before bad", minimal + "bogus = 1\nnamespace = \"x\"\n", "server.bogus", nil},
		{"bad before unknown", minimal + "namespace = \"x\"\nbogus = 1\n", "server.namespace", nil},
		{"first sensor first", sensorDoc("name = \"a\"\ndriver = \"sim\"\nsignal = \"counter\"\nperiod = 0\n[[sensors]]\nname = \"b\"\ndriver = \"x\"\n"), `sensors."a".period`, nil},
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
