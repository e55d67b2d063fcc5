package nodeserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

// These tests drive the HTTP API of examples/server (api.js) and its SenML
// decoding of telemetry (senml.js) with a Go device.

const (
	// apiTimeout bounds each HTTP request and each wait of these tests.
	apiTimeout = 10 * time.Second
	// pollEvery is the pause between two looks at an eventually true state.
	pollEvery = 20 * time.Millisecond
)

// apiError is the body of every error answer of the API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// deviceInfo is one entry of GET /api/devices.
type deviceInfo struct {
	DeviceID    string `json:"deviceId"`
	SocketID    string `json:"socketId"`
	Namespace   string `json:"namespace"`
	ConnectedAt string `json:"connectedAt"`
	Stored      int    `json:"stored"`
	Duplicates  int    `json:"duplicates"`
	LastSeq     *int64 `json:"lastSeq"`
}

// senmlRecord is a resolved record as the API returns it.
type senmlRecord struct {
	Seq int64    `json:"seq"`
	N   string   `json:"n"`
	U   string   `json:"u"`
	V   *float64 `json:"v"`
	VB  *bool    `json:"vb"`
	T   float64  `json:"t"`
}

// telemetryInfo is the body of GET /api/devices/:id/telemetry.
type telemetryInfo struct {
	DeviceID     string        `json:"deviceId"`
	Stored       int           `json:"stored"`
	Duplicates   int           `json:"duplicates"`
	DecodeErrors int           `json:"decodeErrors"`
	LastSeq      *int64        `json:"lastSeq"`
	Seqs         []int64       `json:"seqs"`
	Recent       []senmlRecord `json:"recent"`
}

// commandAnswer is the body of a successful POST .../commands.
type commandAnswer struct {
	ID         string          `json:"id"`
	Ack        json.RawMessage `json:"ack"`
	More       []any           `json:"more"`
	Binary     []string        `json:"binary"`
	SenML      []senmlRecord   `json:"senml"`
	SenMLError string          `json:"senmlError"`
}

func newHTTPClient() *http.Client {
	return &http.Client{Timeout: apiTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

// call does one request and decodes a JSON answer into out (if not nil).
// It returns the status code.
func call(t *testing.T, c *http.Client, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: status %d, body %q is not the expected JSON: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// connectDevice connects a Go device to srv's "/" with auth {deviceId: id};
// register runs before Connect, to add handlers.
func connectDevice(t *testing.T, srv *nodeserver.Server, id string, register func(*socketio.Socket)) (*socketio.Client, *socketio.Socket) {
	t.Helper()
	client, err := socketio.New(srv.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	sock := client.Socket("/", &socketio.SocketOptions{
		Auth:       map[string]string{"deviceId": id},
		AckTimeout: apiTimeout,
	})
	if register != nil {
		register(sock)
	}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	if err := sock.Connect(ctx); err != nil {
		t.Fatalf("connect device %s: %v", id, err)
	}
	return client, sock
}

// waitFor polls cond until it is true or apiTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(apiTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pollEvery)
	}
}

// sendTelemetry emits one telemetry batch and returns the server's ack.
func sendTelemetry(t *testing.T, sock *socketio.Socket, id string, seq int64, count int, batch []byte) map[string]any {
	t.Helper()
	header := map[string]any{"deviceId": id, "seq": seq, "count": count, "contentType": senml.MediaType}
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	reply, err := sock.EmitWithAck(ctx, wire.Telemetry.Name(), header, batch)
	if err != nil {
		t.Fatalf("telemetry seq %d: %v", seq, err)
	}
	var ack map[string]any
	if err := reply.Decode(0, &ack); err != nil {
		t.Fatalf("telemetry seq %d: ack: %v", seq, err)
	}
	return ack
}

// testPack encodes two readings of device id at base.
func testPack(t *testing.T, id string, base time.Time) []byte {
	t.Helper()
	bn, err := senml.DeviceBaseName(id)
	if err != nil {
		t.Fatal(err)
	}
	pack, err := senml.Encode(bn, []senml.Reading{
		{Name: "greenhouse/temperature", Unit: senml.UnitCelsius, Value: 21.5, Time: base},
		{Name: "counter/value", Unit: "count", Value: 12, Time: base.Add(1500 * time.Millisecond)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return pack
}

func TestAPIWithoutDevices(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	c := newHTTPClient()
	base := srv.URL()

	var devices []deviceInfo
	if code := call(t, c, "GET", base+"/api/devices", "", &devices); code != http.StatusOK || devices == nil || len(devices) != 0 {
		t.Errorf("GET /api/devices = %d %+v, want 200 and an empty list", code, devices)
	}

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown device", "POST", "/api/devices/nobody/commands", `{"name":"agent:ping"}`, 404, "unknown_device"},
		{"bad JSON", "POST", "/api/devices/nobody/commands", `{"name":`, 400, "bad_json"},
		{"no name", "POST", "/api/devices/nobody/commands", `{"args":{}}`, 400, "bad_request"},
		{"args not an object", "POST", "/api/devices/nobody/commands", `{"name":"x","args":[1]}`, 400, "bad_request"},
		{"bad timeout", "POST", "/api/devices/nobody/commands", `{"name":"x","timeoutMs":-1}`, 400, "bad_request"},
		{"telemetry of unknown device", "GET", "/api/devices/nobody/telemetry", "", 404, "unknown_device"},
		{"bad after", "GET", "/api/devices/nobody/telemetry?after=x", "", 400, "bad_request"},
		{"wrong method", "GET", "/api/devices/nobody/commands", "", 405, "method_not_allowed"},
		{"unknown path", "GET", "/api/nothing", "", 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e apiError
			code := call(t, c, tc.method, base+tc.path, tc.body, &e)
			if code != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Errorf("%s %s = %d %+v, want %d with code %q and a message", tc.method, tc.path, code, e, tc.status, tc.code)
			}
		})
	}

	// The live page is served, self-contained.
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(page, []byte("/api/events")) || bytes.Contains(page, []byte("<script src=\"http")) {
		t.Errorf("GET / = %d %q (%d bytes), want the self-contained live page", resp.StatusCode, resp.Header.Get("Content-Type"), len(page))
	}

	// Socket.IO still answers under /socket.io/.
	if body := handshake(t, c, base); !strings.HasPrefix(body, `0{"sid"`) {
		t.Errorf("handshake = %q", body)
	}
}

func TestAPICommands(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	c := newHTTPClient()
	base := srv.URL()
	pack := testPack(t, "t1", time.Now())

	var (
		mu       sync.Mutex
		pingArgs []map[string]any
	)
	client, _ := connectDevice(t, srv, "t1", func(s *socketio.Socket) {
		s.On(wire.Ping.Name(), func(e *socketio.Event) {
			var args map[string]any
			_ = e.Args.Decode(0, &args)
			mu.Lock()
			pingArgs = append(pingArgs, args)
			mu.Unlock()
			_ = e.Ack(map[string]any{"ok": true, "result": map[string]any{"pong": true}})
		})
		s.On(wire.SensorRead.Name(), func(e *socketio.Event) {
			_ = e.Ack(map[string]any{"ok": true, "result": map[string]any{"count": 2}}, pack)
		})
		s.On("never", func(*socketio.Event) {}) // no ack
	})

	var devices []deviceInfo
	call(t, c, "GET", base+"/api/devices", "", &devices)
	if len(devices) != 1 || devices[0].DeviceID != "t1" || devices[0].Namespace != "/" || devices[0].SocketID == "" ||
		devices[0].ConnectedAt == "" || devices[0].Stored != 0 || devices[0].LastSeq != nil {
		t.Fatalf("devices = %+v, want t1 on / with nothing stored", devices)
	}

	// agent:ping: the ack comes back; an id is added when absent and kept
	// when given.
	var ans commandAnswer
	if code := call(t, c, "POST", base+"/api/devices/t1/commands", `{"name":"agent:ping","args":{"x":1},"timeoutMs":5000}`, &ans); code != 200 {
		t.Fatalf("POST agent:ping = %d", code)
	}
	if string(ans.Ack) != `{"ok":true,"result":{"pong":true}}` || len(ans.Binary) != 0 || !strings.HasPrefix(ans.ID, "c-") {
		t.Errorf("agent:ping answer = %+v (ack %s)", ans, ans.Ack)
	}
	firstID := ans.ID
	ans = commandAnswer{}
	call(t, c, "POST", base+"/api/devices/t1/commands", `{"name":"agent:ping","args":{"id":"mine"}}`, &ans)
	if ans.ID != "mine" {
		t.Errorf("answer id = %q, want mine", ans.ID)
	}
	mu.Lock()
	got := slices.Clone(pingArgs)
	mu.Unlock()
	if len(got) != 2 || fmt.Sprint(got[0]["x"]) != "1" || got[0]["id"] != firstID || got[1]["id"] != "mine" {
		t.Errorf("device saw args %v", got)
	}

	// sensor:read: the binary attachment comes back in base64 and decoded.
	ans = commandAnswer{}
	call(t, c, "POST", base+"/api/devices/t1/commands", `{"name":"sensor:read","args":{"sensor":"greenhouse"}}`, &ans)
	raw, err := base64.StdEncoding.DecodeString(firstOr(ans.Binary))
	if err != nil || !bytes.Equal(raw, pack) {
		t.Errorf("binary = %v (%v), want the pack's %d bytes", ans.Binary, err, len(pack))
	}
	if len(ans.More) != 1 || len(ans.SenML) != 2 || ans.SenML[0].N != "t1:greenhouse/temperature" || ans.SenML[0].U != "Cel" ||
		ans.SenML[0].V == nil || *ans.SenML[0].V != 21.5 || ans.SenML[1].V == nil || *ans.SenML[1].V != 12 {
		t.Errorf("sensor:read answer = %+v", ans)
	}

	// No ack: 504.
	var e apiError
	if code := call(t, c, "POST", base+"/api/devices/t1/commands", `{"name":"never","timeoutMs":200}`, &e); code != 504 || e.Error.Code != "timeout" {
		t.Errorf("unanswered command = %d %+v, want 504 timeout", code, e)
	}
	// A reserved event name cannot be emitted: 400.
	if code := call(t, c, "POST", base+"/api/devices/t1/commands", `{"name":"disconnect"}`, &e); code != 400 {
		t.Errorf("reserved name = %d %+v, want 400", code, e)
	}

	// Once the device is gone, it is unknown again.
	_ = client.Close()
	waitFor(t, "t1 to leave /api/devices", func() bool {
		devices = nil
		call(t, c, "GET", base+"/api/devices", "", &devices)
		return len(devices) == 0
	})
	if code := call(t, c, "POST", base+"/api/devices/t1/commands", `{"name":"agent:ping"}`, &e); code != 404 {
		t.Errorf("command to a gone device = %d, want 404", code)
	}
	srv.Stop()
	c.CloseIdleConnections()
	goleak.VerifyNone(t)
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestAPITelemetry(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	c := newHTTPClient()
	base := srv.URL()
	_, sock := connectDevice(t, srv, "t1", nil)

	// Listen to the event stream before anything is stored.
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/events", nil)
	stream, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if ct := stream.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("/api/events Content-Type = %q", ct)
	}

	now := time.Now().Truncate(time.Millisecond)
	pack := testPack(t, "t1", now)
	if ack := sendTelemetry(t, sock, "t1", 7, 2, pack); ack["ok"] != true || ack["duplicate"] != nil {
		t.Errorf("ack of seq 7 = %v", ack)
	}
	if ack := sendTelemetry(t, sock, "t1", 7, 2, pack); ack["ok"] != true || ack["duplicate"] != true {
		t.Errorf("ack of seq 7 again = %v, want a duplicate", ack)
	}
	// A batch that is not SenML is stored and acked all the same.
	if ack := sendTelemetry(t, sock, "t1", 9, 1, []byte("not cbor")); ack["ok"] != true {
		t.Errorf("ack of seq 9 = %v", ack)
	}

	var tel telemetryInfo
	if code := call(t, c, "GET", base+"/api/devices/t1/telemetry", "", &tel); code != 200 {
		t.Fatalf("GET telemetry = %d", code)
	}
	if !slices.Equal(tel.Seqs, []int64{7, 9}) || tel.Stored != 2 || tel.Duplicates != 1 || tel.DecodeErrors != 1 ||
		tel.LastSeq == nil || *tel.LastSeq != 9 || len(tel.Recent) != 2 {
		t.Fatalf("telemetry = %+v", tel)
	}
	checkRecords(t, tel.Recent, now)

	// A resolved time below 2^28 is relative to the time of receipt
	// (RFC 8428 section 4.5.3); bv and bu apply to the record.
	v, bv := 3.0, 0.5
	rel, err := senml.EncodeRecords([]senml.Record{{BaseName: "t1:", BaseUnit: "V", BaseValue: bv, Name: "rel", Value: &v, Time: -5}})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	sendTelemetry(t, sock, "t1", 10, 1, rel)
	after := time.Now()
	tel = telemetryInfo{}
	call(t, c, "GET", base+"/api/devices/t1/telemetry?after=7", "", &tel)
	if !slices.Equal(tel.Seqs, []int64{9, 10}) || len(tel.Recent) != 1 {
		t.Fatalf("telemetry after 7 = %+v, want seqs 9, 10 and one record", tel)
	}
	r := tel.Recent[0]
	lo, hi := float64(before.UnixMilli())/1000-5-0.002, float64(after.UnixMilli())/1000-5+0.002
	if r.Seq != 10 || r.N != "t1:rel" || r.U != "V" || r.V == nil || *r.V != 3.5 || r.T < lo || r.T > hi {
		t.Errorf("relative record = %+v (v %v), want t1:rel = 3.5 V at t in [%f, %f]", r, r.V, lo, hi)
	}

	var devices []deviceInfo
	call(t, c, "GET", base+"/api/devices", "", &devices)
	if len(devices) != 1 || devices[0].Stored != 3 || devices[0].Duplicates != 1 || devices[0].LastSeq == nil || *devices[0].LastSeq != 10 {
		t.Errorf("devices = %+v", devices)
	}

	// The stream carried the stored batch with its records (and not the
	// duplicate).
	events := bufio.NewScanner(stream.Body)
	batch := readSSE(t, events, "telemetry")
	var ev struct {
		DeviceID string        `json:"deviceId"`
		Seq      int64         `json:"seq"`
		Records  []senmlRecord `json:"records"`
		Error    *string       `json:"error"`
	}
	if err := json.Unmarshal([]byte(batch), &ev); err != nil || ev.DeviceID != "t1" || ev.Seq != 7 || ev.Error != nil {
		t.Fatalf("first telemetry event = %s (%v)", batch, err)
	}
	checkRecords(t, ev.Records, now)
	batch = readSSE(t, events, "telemetry")
	if err := json.Unmarshal([]byte(batch), &ev); err != nil || ev.Seq != 9 || ev.Error == nil || len(ev.Records) != 0 {
		t.Errorf("second telemetry event = %s, want seq 9 with an error", batch)
	}
}

// checkRecords checks the two records of testPack.
func checkRecords(t *testing.T, recs []senmlRecord, base time.Time) {
	t.Helper()
	if len(recs) != 2 {
		t.Fatalf("records = %+v, want 2", recs)
	}
	want := []struct {
		n, u string
		v    float64
		t    time.Time
	}{
		{"t1:greenhouse/temperature", "Cel", 21.5, base},
		{"t1:counter/value", "count", 12, base.Add(1500 * time.Millisecond)},
	}
	for i, w := range want {
		r := recs[i]
		if r.N != w.n || r.U != w.u || r.V == nil || *r.V != w.v || math.Abs(r.T-float64(w.t.UnixMilli())/1000) > 0.001 {
			t.Errorf("record %d = %+v (v %v), want %s=%v %s at %v", i, r, r.V, w.n, w.v, w.u, w.t)
		}
	}
}

// readSSE reads the stream until an event named name and returns its data.
func readSSE(t *testing.T, sc *bufio.Scanner, name string) string {
	t.Helper()
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "":
			if event == name {
				return data
			}
			event, data = "", ""
		}
	}
	t.Fatalf("event stream ended before a %q event: %v", name, sc.Err())
	return ""
}

func TestDemoLinesAndCommandCLI(t *testing.T) {
	var (
		mu    sync.Mutex
		lines []string
	)
	srv, err := nodeserver.Launch(nodeserver.Options{Demo: true}, func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(args) > 0 {
			if s, ok := args[0].(string); ok {
				lines = append(lines, s)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	_, sock := connectDevice(t, srv, "demo-pi", func(s *socketio.Socket) {
		s.On(wire.Ping.Name(), func(e *socketio.Event) {
			_ = e.Ack(map[string]any{"ok": true, "result": map[string]any{"pong": true}})
		})
	})
	pack := testPack(t, "demo-pi", time.Now())
	sendTelemetry(t, sock, "demo-pi", 12, 2, pack)
	sendTelemetry(t, sock, "demo-pi", 12, 2, pack)

	wantLines := []string{
		"telemetry demo-pi seq=12 count=2 greenhouse/temperature=21.5 Cel | counter/value=12 count",
		"telemetry demo-pi seq=12 duplicate",
	}
	waitFor(t, "the demo lines", func() bool {
		mu.Lock()
		defer mu.Unlock()
		all := strings.Join(lines, "\n")
		for _, w := range wantLines {
			if !strings.Contains(all, w) {
				return false
			}
		}
		return true
	})

	// command.js prints the answer, and exits 1 on an HTTP error.
	script := filepath.Join("..", "..", "examples", "server", "command.js")
	out, err := exec.Command("node", script, "--url", srv.URL(), "demo-pi", "agent:ping", `{"id":"cli-1"}`).Output()
	var ans commandAnswer
	var ack bytes.Buffer
	if err != nil || json.Unmarshal(out, &ans) != nil || ans.ID != "cli-1" || json.Compact(&ack, ans.Ack) != nil ||
		ack.String() != `{"ok":true,"result":{"pong":true}}` {
		t.Errorf("command.js agent:ping = %s (%v)", out, err)
	}
	out, err = exec.Command("node", script, "--url", srv.URL(), "nobody", "agent:ping").Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "unknown_device") {
		t.Errorf("command.js to an unknown device = %s (%v), want exit status 1 and the error", out, err)
	}
	out, err = exec.Command("node", script, "--url", srv.URL(), "demo-pi", "agent:ping", "{bad").CombinedOutput()
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("command.js with bad JSON args = %s (%v), want exit status 2", out, err)
	}
}
