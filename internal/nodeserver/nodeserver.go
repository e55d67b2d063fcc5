// Package nodeserver runs the reference Node.js Socket.IO server of
// examples/server for integration tests.
//
// Start launches `node examples/server/server.js` on a free loopback port
// and stops it when the test ends:
//
//	srv := nodeserver.Start(t, nodeserver.Options{PingInterval: 300 * time.Millisecond})
//	c := dial(srv.URL()) // "http://127.0.0.1:PORT"
//
// The server's dependencies must be installed first (`npm ci` in
// examples/server; `make test` does it). A missing installation fails the
// test rather than skipping it, so integration coverage cannot silently
// disappear.
//
// The server's log lines are forwarded to the test log of the test that
// called Start. Stop waits for every goroutine of the helper, so tests may
// use goleak after it.
//
// Programs that are not tests, such as the soak command in bench/soak, use
// Launch, Relaunch and Stop instead, which return errors and send the log
// lines to a function of their choice:
//
//	srv, err := nodeserver.Launch(nodeserver.Options{Recovery: true}, log.Printf)
//	if err != nil {
//		return err
//	}
//	defer srv.Stop()
package nodeserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// ReadyTimeout is how long Start waits for the server's listening line.
	ReadyTimeout = 10 * time.Second
	// StopTimeout is how long Stop waits after SIGTERM before killing the
	// server.
	StopTimeout = 5 * time.Second
	// RestartTimeout bounds how long Restart keeps retrying while the old
	// port is still taken.
	RestartTimeout = 5 * time.Second

	// stderrTail is the number of last stderr lines kept for failure
	// messages.
	stderrTail = 50
)

// configKeys are the environment variables server.js reads. They are removed
// from the inherited environment so that a developer's shell cannot change
// the server under test; use Options.Env to set them deliberately.
var configKeys = []string{
	"PORT", "HOST", "PING_INTERVAL", "PING_TIMEOUT", "MAX_PAYLOAD",
	"CONNECT_TIMEOUT", "RECOVERY", "PER_MESSAGE_DEFLATE", "DEMO", "EXIT_ON_EOF",
}

// Options configure one example server process. The zero value runs the
// server with the Socket.IO defaults.
type Options struct {
	// PingInterval is the Engine.IO pingInterval; 0 keeps the server
	// default (25 s). It is sent in milliseconds.
	PingInterval time.Duration
	// PingTimeout is the Engine.IO pingTimeout; 0 keeps the server default
	// (20 s). It is sent in milliseconds.
	PingTimeout time.Duration
	// MaxPayload is the server's maxHttpBufferSize in bytes; 0 keeps the
	// default (1e6).
	MaxPayload int
	// Recovery enables connection state recovery
	// ({maxDisconnectionDuration: 120000, skipMiddlewares: true}).
	Recovery bool
	// PerMessageDeflate makes the server offer WebSocket permessage-deflate
	// (Socket.IO's perMessageDeflate: true, which compresses the server's
	// messages of 1024 bytes or more); Socket.IO leaves it off by default.
	PerMessageDeflate bool
	// Demo makes the server emit `tick` every second and log every event.
	Demo bool
	// Env holds extra "KEY=value" entries for the server process, applied
	// last (for example "CONNECT_TIMEOUT=1000").
	Env []string
}

// Server is a running (or stopped) example server. Its methods are safe for
// concurrent use.
type Server struct {
	logf func(format string, args ...any) // receives the log lines; never nil
	root string                           // repository root
	opts Options

	mu   sync.Mutex
	port int
	url  string
	proc *process // nil when stopped
}

// process is one run of node.
type process struct {
	cmd *exec.Cmd
	// stdin stays open while node runs: server.js runs with EXIT_ON_EOF=1,
	// so if the test binary dies without cleanup, the closed pipe stops
	// the server instead of leaving it bound to its port.
	stdin io.WriteCloser
	ready chan string   // receives the first stdout line
	done  chan struct{} // closed once node has exited and its output is drained
	err   error         // cmd.Wait result, set before done is closed

	tailMu sync.Mutex
	tail   []string // last stderr lines
}

// Start starts node examples/server/server.js on a free loopback port and
// stops it in t.Cleanup. It fails the test if Node.js or the server's npm
// dependencies are missing, or if the server does not report that it is
// listening within ReadyTimeout. The server's log lines go to t.Logf, only
// while the test runs: Stop waits for the goroutines that forward them, and
// runs at the latest in t.Cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Launch(opts, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Launch is Start for programs that are not tests: it starts node
// examples/server/server.js on a free loopback port and returns an error
// if Node.js or the server's npm dependencies are missing, or if the server
// does not report that it is listening within ReadyTimeout. The caller must
// call Stop. logf receives the server's log lines, from goroutines of the
// helper, until Stop returns; nil discards them.
func Launch(opts Options, logf func(format string, args ...any)) (*Server, error) {
	opts.Env = append([]string(nil), opts.Env...) // never alias the caller's slice
	if logf == nil {
		logf = func(string, ...any) {}
	}
	root, err := repoRoot()
	if err != nil {
		return nil, fmt.Errorf("nodeserver: %w", err)
	}
	s := &Server{logf: logf, root: root, opts: opts}
	if err := s.checkInstall(); err != nil {
		return nil, fmt.Errorf("nodeserver: %w", err)
	}
	p, port, url, err := s.launch(0)
	if err != nil {
		return nil, fmt.Errorf("nodeserver: %w", err)
	}
	s.proc, s.port, s.url = p, port, url
	return s, nil
}

// URL returns the server's base URL, "http://127.0.0.1:PORT".
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Port returns the server's TCP port. It stays the same across Restart.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// Stop sends SIGTERM to the server, waits up to StopTimeout for it to exit,
// then kills it. It returns once the process and all goroutines of the
// helper are gone, so no log line is forwarded after it. Stop cannot fail
// and is idempotent; a test may call it before its cleanup, which calls it
// again harmlessly.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart stops the server (if it is running) and starts it again on the
// same port with the same options, so clients can reconnect to the same
// URL. All connection state of the old process is lost. Failures are
// reported through t.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.Relaunch(); err != nil {
		t.Fatal(err)
	}
}

// RestartWith is Restart with other options from now on (for example
// another MaxPayload, as a redeployed server would have): same port, so
// clients reconnect to the same URL. Failures are reported through t.
func (s *Server) RestartWith(t testing.TB, opts Options) {
	t.Helper()
	s.mu.Lock()
	opts.Env = append([]string(nil), opts.Env...) // never alias the caller's slice
	s.opts = opts
	s.mu.Unlock()
	s.Restart(t)
}

// Relaunch is Restart for programs that are not tests: it stops the server
// (if it is running) and starts it again on the same port with the same
// options, retrying for up to RestartTimeout while the old port is still
// taken, and returns why it could not. After an error the server is
// stopped; Relaunch may be called again.
func (s *Server) Relaunch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	deadline := time.Now().Add(RestartTimeout)
	for {
		p, _, _, err := s.launch(s.port)
		if err == nil {
			s.proc = p
			return nil
		}
		// The old socket may linger for a moment; retry while the port is
		// reported as taken.
		if !errors.Is(err, errAddrInUse) || time.Now().After(deadline) {
			return fmt.Errorf("nodeserver: restart on port %d: %w", s.port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *Server) stopLocked() {
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	p.stop()
}

// stop terminates the process and waits for it and for the output readers.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = p.cmd.Process.Kill() // e.g. no SIGTERM on this platform
	}
	timer := time.NewTimer(StopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

var errAddrInUse = errors.New("address in use")

// listening is the first line server.js prints on stdout.
type listening struct {
	Event string `json:"event"`
	Port  int    `json:"port"`
	URL   string `json:"url"`
}

// launch starts node on port (0: any free port) and waits for its
// listening line.
func (s *Server) launch(port int) (p *process, gotPort int, url string, err error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, 0, "", fmt.Errorf("node not found in PATH (install Node.js 20): %w", err)
	}
	cmd := exec.Command(node, "server.js")
	cmd.Dir = filepath.Join(s.root, "examples", "server")
	cmd.Env = s.env(port)

	p = &process{cmd: cmd, ready: make(chan string, 1), done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, "", err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, 0, "", err
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, 0, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, "", fmt.Errorf("start node: %w", err)
	}

	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		p.readStdout(stdout, s.logf)
	}()
	go func() {
		defer readers.Done()
		p.readStderr(stderr, s.logf)
	}()
	go func() {
		// Wait may only be called once the pipes are drained; the pipes
		// reach EOF when node exits.
		readers.Wait()
		p.err = cmd.Wait()
		close(p.done)
	}()

	timer := time.NewTimer(ReadyTimeout)
	defer timer.Stop()
	select {
	case line := <-p.ready:
		var l listening
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Event != "listening" || l.Port <= 0 {
			p.stop()
			return nil, 0, "", fmt.Errorf("unexpected first line %q from server.js%s", line, p.stderrText())
		}
		return p, l.Port, l.URL, nil
	case <-p.done:
		err := fmt.Errorf("server.js exited before listening (%v)%s", p.err, p.stderrText())
		if strings.Contains(p.stderrText(), "EADDRINUSE") {
			err = fmt.Errorf("%w: %w", errAddrInUse, err)
		}
		return nil, 0, "", err
	case <-timer.C:
		p.stop()
		return nil, 0, "", fmt.Errorf("server.js did not print its listening line within %v%s", ReadyTimeout, p.stderrText())
	}
}

// env builds the server's environment: the inherited one without the
// server's configuration keys, then the options, then Options.Env.
func (s *Server) env(port int) []string {
	var env []string
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		if !containsKey(key) {
			env = append(env, kv)
		}
	}
	env = append(env,
		"HOST=127.0.0.1",
		"PORT="+strconv.Itoa(port),
		"EXIT_ON_EOF=1",
	)
	if d := s.opts.PingInterval; d > 0 {
		env = append(env, "PING_INTERVAL="+strconv.FormatInt(max(d.Milliseconds(), 1), 10))
	}
	if d := s.opts.PingTimeout; d > 0 {
		env = append(env, "PING_TIMEOUT="+strconv.FormatInt(max(d.Milliseconds(), 1), 10))
	}
	if s.opts.MaxPayload > 0 {
		env = append(env, "MAX_PAYLOAD="+strconv.Itoa(s.opts.MaxPayload))
	}
	if s.opts.Recovery {
		env = append(env, "RECOVERY=1")
	}
	if s.opts.PerMessageDeflate {
		env = append(env, "PER_MESSAGE_DEFLATE=1")
	}
	if s.opts.Demo {
		env = append(env, "DEMO=1")
	}
	return append(env, s.opts.Env...) // exec.Cmd keeps the last value of a key
}

func containsKey(key string) bool {
	for _, k := range configKeys {
		if k == key {
			return true
		}
	}
	return false
}

// readStdout hands the first line to launch and forwards the rest.
func (p *process) readStdout(r io.Reader, logf func(string, ...any)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	first := true
	for sc.Scan() {
		if first {
			first = false
			p.ready <- sc.Text()
			continue
		}
		logf("node: %s", sc.Text())
	}
	_, _ = io.Copy(io.Discard, r) // drain an over-long line so node never blocks
}

// readStderr forwards stderr lines and keeps the last ones for errors.
func (p *process) readStderr(r io.Reader, logf func(string, ...any)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		p.tailMu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > stderrTail {
			p.tail = p.tail[len(p.tail)-stderrTail:]
		}
		p.tailMu.Unlock()
		logf("node: %s", line)
	}
	_, _ = io.Copy(io.Discard, r)
}

// stderrText returns the captured stderr lines for an error message.
func (p *process) stderrText() string {
	p.tailMu.Lock()
	defer p.tailMu.Unlock()
	if len(p.tail) == 0 {
		return ""
	}
	return "\nstderr:\n\t" + strings.Join(p.tail, "\n\t")
}

// checkInstall reports a missing npm installation with the fix.
func (s *Server) checkInstall() error {
	dir := filepath.Join(s.root, "examples", "server")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io", "package.json")); err != nil {
		return fmt.Errorf("socket.io is not installed in %s: run `npm ci` in examples/server (or `make test`) first", dir)
	}
	return nil
}

// repoRoot walks up from the working directory to the directory that holds
// go.mod and examples/server/server.js.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) && isFile(filepath.Join(dir, "examples", "server", "server.js")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found: no go.mod with examples/server/server.js above the working directory")
		}
		dir = parent
	}
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
