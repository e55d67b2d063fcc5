package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/internal/testenv"
	"go.uber.org/goleak"
)

// envBeMain makes the test binary act as the sioagent binary, so that
// end-to-end tests run the real main (signals, exit codes, sd_notify) in a
// separate process without a second build.
const envBeMain = "SIOAGENT_TEST_BE_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envBeMain) == "1" {
		os.Exit(mainCode())
	}
	goleak.VerifyTestMain(m)
}

const testTimeout = 20 * time.Second

// runCmd runs the CLI in-process and returns exit code, stdout and stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestEmitAckPrintsReplyWithBinary(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	code, out, errOut := runCmd(t, "emit", "--ack", srv.URL(), "echo",
		`{"n":1,"blob":{"$binary":"AQID"}}`, `"two"`, `{"$binary":"/w=="}`, `9007199254740991`, `1.5e-7`)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	want := `[{"blob":{"$binary":"AQID"},"n":1},"two",{"$binary":"/w=="},9007199254740991,1.5e-7]` + "\n"
	if out != want {
		t.Fatalf("stdout %q, want %q", out, want)
	}
}

func TestEmitAckOverEveryTransport(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	for _, tr := range []string{"websocket", "polling", "polling,websocket", "websocket,polling"} {
		code, out, errOut := runCmd(t, "emit", "--ack", "--transport", tr, srv.URL(), "echo", `{"$binary":"AQID"}`)
		if code != exitOK || out != `[{"$binary":"AQID"}]`+"\n" {
			t.Fatalf("--transport %s: exit %d, stdout %q, stderr %q", tr, code, out, errOut)
		}
	}
}

func TestEmitWithoutAckDelivers(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	if code, _, errOut := runCmd(t, "emit", srv.URL(), "count", "0"); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestEmitExitCodes(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"rejected namespace", []string{"emit", "--namespace", "/no", srv.URL(), "echo"}, exitRejected, "Auth failed (custom namespace)"},
		{"bad token", []string{"emit", "--auth", `{"token":"bad"}`, srv.URL(), "echo"}, exitRejected, "invalid token"},
		{"unreachable", []string{"emit", "--timeout", "2s", deadURL, "echo"}, exitUnreachable, "connect"},
		{"ack timeout", []string{"emit", "--ack", "--timeout", "300ms", srv.URL(), "slow-echo", "3000"}, exitTimeout, "timed out"},
		{"bad JSON arg", []string{"emit", srv.URL(), "echo", "{nope"}, exitUsage, "not JSON"},
		{"bad binary", []string{"emit", srv.URL(), "echo", `{"$binary":"%%"}`}, exitUsage, "$binary"},
		{"bad auth", []string{"emit", "--auth", "[1]", srv.URL(), "echo"}, exitUsage, "--auth"},
		{"missing event", []string{"emit", srv.URL()}, exitUsage, "Usage"},
		{"reserved event", []string{"emit", srv.URL(), "connect"}, exitError, "reserved"},
		{"bad transport", []string{"emit", "--transport", "carrier-pigeon", srv.URL(), "echo"}, exitUsage, "--transport"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q in it)", code, c.code, errOut, c.msg)
			}
		})
	}
}

func TestListenPrintsEventsUntilInterrupted(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	var stderr testenv.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"listen", "--auth", `{"deviceId":"t"}`, srv.URL(), "welcome", "doge"}, pw, &stderr)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var first struct {
		Event string `json:"event"`
		Args  []any  `json:"args"`
	}
	if !lines.Scan() || json.Unmarshal(lines.Bytes(), &first) != nil || first.Event != "welcome" {
		t.Fatalf("first line %q: %v", lines.Text(), lines.Err())
	}
	// A second client asks the server to broadcast a binary event.
	if code, _, errOut := runCmd(t, "emit", srv.URL(), "doge-all"); code != exitOK {
		t.Fatalf("emit: %d %s", code, errOut)
	}
	if !lines.Scan() {
		t.Fatalf("no second line: %v", lines.Err())
	}
	if got, want := lines.Text(), `{"event":"doge","args":[{"$binary":"YXNkZmFzZGY="}]}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stderr.String(), "connected") {
		t.Fatalf("stderr %q lacks the state change", stderr.String())
	}
}

func TestListenExitsWhenServerDisconnects(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var stdout, stderr testenv.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"listen", srv.URL()}, &stdout, &stderr) }()
	deadline := time.Now().Add(testTimeout)
	for !strings.Contains(stdout.String(), "welcome") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, errOut := runCmd(t, "emit", srv.URL(), "disconnect-others"); code != exitOK {
		t.Fatalf("emit: %d %s", code, errOut)
	}
	if code := <-done; code != exitRejected {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "io server disconnect") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestListenKeepsListeningAcrossReconnections(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{Recovery: true})
	p := faultproxy.Start(t, fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var stdout, stderr testenv.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"listen", p.URL(), "welcome", "doge"}, &stdout, &stderr) }()
	waitFor(t, &stdout, `"event":"welcome"`)
	p.Cut()
	waitFor(t, &stderr, "reconnecting: attempt 1")
	waitFor(t, &stderr, "connected / (recovered=true)")
	if code, _, errOut := runCmd(t, "emit", srv.URL(), "doge-all"); code != exitOK {
		t.Fatalf("emit: %d %s", code, errOut)
	}
	waitFor(t, &stdout, `"event":"doge"`)
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
}

// waitFor waits until b contains s.
func waitFor(t *testing.T, b *testenv.Buffer, s string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !strings.Contains(b.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never appeared in:\n%s", s, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHelpListsExitCodes(t *testing.T) {
	if code, _, _ := runCmd(t, "help", "emit"); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	_, out, _ := runCmd(t, "emit", "-h")
	if !strings.Contains(out, "Exit codes") || !strings.Contains(out, "$binary") {
		t.Fatalf("help lacks exit codes: %s", out)
	}
	if code, _, _ := runCmd(t, "bogus"); code != exitUsage {
		t.Fatalf("unknown command exit %d", code)
	}
}

// Asked for, help goes to stdout (so that it pipes to a pager) with exit 0
// and shows flags as the README writes them, --name; a bad flag puts the
// error and the usage on stderr with exit 2.
func TestHelpGoesToStdout(t *testing.T) {
	flagOf := map[string]string{"run": "--config", "check": "--config", "status": "--json", "queue": "--json",
		"scan": "--bus", "emit": "--ack", "listen": "--transport"}
	for _, c := range commands() {
		want, ok := flagOf[c.name]
		if !ok {
			continue
		}
		for _, args := range [][]string{{"help", c.name}, {c.name, "--help"}, {c.name, "-h"}} {
			code, out, errOut := runCmd(t, args...)
			if code != exitOK || errOut != "" {
				t.Errorf("%v: exit %d, stderr %q; want 0 and nothing on stderr", args, code, errOut)
			}
			if !strings.Contains(out, "Usage: sioagent "+c.name) || !strings.Contains(out, "\n  "+want) {
				t.Errorf("%v: stdout lacks the usage or the flag %s:\n%s", args, want, out)
			}
			if strings.Contains(out, "\n  -"+strings.TrimPrefix(want, "--")) {
				t.Errorf("%v: a flag is shown with one dash:\n%s", args, out)
			}
		}
		code, out, errOut := runCmd(t, c.name, "--no-such-flag")
		if code != exitUsage || out != "" || !strings.Contains(errOut, "no-such-flag") || !strings.Contains(errOut, "Usage: sioagent "+c.name) {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want 2, nothing, the error and the usage", c.name, code, out, errOut)
		}
	}
	if len(flagOf) != len(commands())-1 { // version has no flags
		t.Errorf("a command was added without a help check here")
	}
}
