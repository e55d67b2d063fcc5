package nodeserver_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sioagent/sioagent/internal/nodeserver"
)

// handshake performs an Engine.IO polling handshake and returns the body.
func handshake(t *testing.T, client *http.Client, baseURL string) string {
	t.Helper()
	resp, err := client.Get(baseURL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatalf("GET handshake: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read handshake: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("handshake status %d: %s", resp.StatusCode, body)
	}
	return string(body)
}

func TestStartRestartStop(t *testing.T) {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}

	srv := nodeserver.Start(t, nodeserver.Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		MaxPayload:   4096,
		Recovery:     true,
		Env:          []string{"CONNECT_TIMEOUT=1000"},
	})
	port := srv.Port()
	if want := "http://127.0.0.1:" + strconv.Itoa(port); srv.URL() != want {
		t.Fatalf("URL() = %q, want %q", srv.URL(), want)
	}

	body := handshake(t, client, srv.URL())
	if !strings.HasPrefix(body, `0{"sid"`) {
		t.Fatalf("handshake body = %q, want an open packet", body)
	}
	// The options reach the server.
	for _, want := range []string{`"pingInterval":300`, `"pingTimeout":200`, `"maxPayload":4096`} {
		if !strings.Contains(body, want) {
			t.Errorf("handshake body %q lacks %s", body, want)
		}
	}

	srv.Restart(t)
	if srv.Port() != port {
		t.Fatalf("port after restart = %d, want %d", srv.Port(), port)
	}
	body = handshake(t, client, srv.URL())
	if !strings.HasPrefix(body, `0{"sid"`) {
		t.Fatalf("handshake body after restart = %q, want an open packet", body)
	}

	srv.Stop()
	srv.Stop() // idempotent
	if _, err := client.Get(srv.URL() + "/socket.io/?EIO=4&transport=polling"); err == nil {
		t.Errorf("server still answers after Stop")
	}

	// Restart also works on a stopped server.
	srv.Restart(t)
	handshake(t, client, srv.URL())
	srv.Stop()

	client.CloseIdleConnections()
	goleak.VerifyNone(t)
}

// TestLaunchWithoutTesting drives the constructor for programs: errors are
// returned, log lines go to the given function, and Stop leaves nothing
// behind.
func TestLaunchWithoutTesting(t *testing.T) {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	var (
		mu    sync.Mutex
		lines []string
	)
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}

	srv, err := nodeserver.Launch(nodeserver.Options{PingInterval: 400 * time.Millisecond}, logf)
	if err != nil {
		t.Fatal(err)
	}
	port := srv.Port()
	if body := handshake(t, client, srv.URL()); !strings.Contains(body, `"pingInterval":400`) {
		t.Fatalf("handshake body = %q, want pingInterval 400", body)
	}
	if err := srv.Relaunch(); err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	if srv.Port() != port {
		t.Errorf("port after Relaunch = %d, want %d", srv.Port(), port)
	}
	handshake(t, client, srv.URL())
	srv.Stop()
	srv.Stop() // idempotent

	mu.Lock()
	got := strings.Join(lines, "\n")
	mu.Unlock()
	if !strings.Contains(got, "node: ") || !strings.Contains(got, "listening") {
		t.Errorf("log lines do not show the server starting:\n%s", got)
	}
	client.CloseIdleConnections()
	goleak.VerifyNone(t)
}

func TestLaunchReportsBadOptions(t *testing.T) {
	// server.js exits at once on an invalid setting: Launch returns the
	// error with the server's stderr instead of failing a test.
	srv, err := nodeserver.Launch(nodeserver.Options{Env: []string{"PING_INTERVAL=oops"}}, nil)
	if err == nil {
		srv.Stop()
		t.Fatal("Launch succeeded with PING_INTERVAL=oops")
	}
	if !strings.Contains(err.Error(), "PING_INTERVAL") {
		t.Fatalf("error %q does not name the bad setting", err)
	}
	goleak.VerifyNone(t)
}

func TestTwoServers(t *testing.T) {
	a := nodeserver.Start(t, nodeserver.Options{})
	b := nodeserver.Start(t, nodeserver.Options{Demo: true})
	if a.Port() == b.Port() {
		t.Fatalf("both servers on port %d", a.Port())
	}
	// b is stopped by t.Cleanup; a explicitly.
	a.Stop()
}

// Start a server in a test and talk to it. (Compiled, not run: it needs
// the *testing.T of a real test.)
func ExampleStart() {
	var t *testing.T // the test's t
	srv := nodeserver.Start(t, nodeserver.Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		Recovery:     true,
	})
	resp, err := http.Get(srv.URL() + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	// Later: drop every connection and come back on the same URL.
	srv.Restart(t)
}

// Run the server from a program that is not a test, such as a soak or a
// demo: Launch and Relaunch return errors, and the caller stops the server.
func ExampleLaunch() {
	srv, err := nodeserver.Launch(nodeserver.Options{Recovery: true}, log.Printf)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()
	fmt.Println("clients connect to", srv.URL())

	// Later: drop every connection and come back on the same URL.
	if err := srv.Relaunch(); err != nil {
		log.Print(err)
	}
}
