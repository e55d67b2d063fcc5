package socketio_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer is a scripted Socket.IO server over WebSocket for the few
// tests that need exact timing the Node server cannot give (a DISCONNECT
// in the middle of a flush, a CONNECT reply held back). Everything else is
// tested against the real server.
type fakeServer struct {
	t     *testing.T
	srv   *httptest.Server
	conns chan *fakeConn
	quit  chan struct{} // closed when the test ends
	mu    sync.Mutex
	all   []*fakeConn
	wg    sync.WaitGroup // script goroutines
}

// fakeConn is one client connection: text frames it sent arrive on in.
type fakeConn struct {
	ws      *websocket.Conn
	in      chan string
	stalled atomic.Bool
	quit    chan struct{} // the server's: closed when the test ends
	done    chan struct{} // closed when read returns
	wmu     sync.Mutex
}

// fakeHandshake is the open packet the fake server sends.
const fakeHandshake = `0{"sid":"fake","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`

func newFakeServer(t *testing.T) *fakeServer {
	return newFakeServerOpen(t, fakeHandshake)
}

// newFakeServerOpen is newFakeServer with open as the open packet.
func newFakeServerOpen(t *testing.T, open string) *fakeServer {
	f := &fakeServer{t: t, conns: make(chan *fakeConn, 10), quit: make(chan struct{})}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &fakeConn{ws: ws, in: make(chan string, 10000), quit: f.quit, done: make(chan struct{})}
		f.mu.Lock()
		f.all = append(f.all, c)
		f.mu.Unlock()
		c.send(open)
		go c.read()
		f.conns <- c
	}))
	t.Cleanup(f.close)
	return f
}

func (f *fakeServer) url() string { return f.srv.URL }

// next waits for the next client connection.
func (f *fakeServer) next() *fakeConn {
	f.t.Helper()
	c, ok := f.accept()
	if !ok {
		f.t.Fatal("no connection to the fake server")
	}
	return c
}

// accept waits for the next client connection; false once the test is
// over or after testTimeout. Script goroutines use it, since they may not
// call t.Fatal.
func (f *fakeServer) accept() (*fakeConn, bool) {
	select {
	case c := <-f.conns:
		return c, true
	case <-f.quit:
		return nil, false
	case <-time.After(testTimeout):
		return nil, false
	}
}

// script runs fn on its own goroutine, as the server's side of a test;
// the test's cleanup waits for it.
func (f *fakeServer) script(fn func()) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		fn()
	}()
}

// acceptConnect accepts a connection and answers its CONNECT for "/"; false
// when either does not come.
func (f *fakeServer) acceptConnect(sid string) (*fakeConn, bool) {
	c, ok := f.accept()
	if ok {
		_, ok = c.await("40")
	}
	if ok {
		c.send(`40{"sid":"` + sid + `"}`)
	}
	return c, ok
}

// conn returns the i-th connection the server accepted.
func (f *fakeServer) conn(i int) *fakeConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.all[i]
}

func (f *fakeServer) close() {
	close(f.quit)
	f.wg.Wait()
	f.mu.Lock()
	for _, c := range f.all {
		c.ws.Close()
		<-c.done
	}
	f.mu.Unlock()
	f.srv.Close()
}

// stall makes the connection stop reading, like a peer that is stuck.
func (c *fakeConn) stall() { c.stalled.Store(true) }

func (c *fakeConn) read() {
	defer close(c.done)
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if typ == websocket.TextMessage && string(data) != "3" { // pongs are noise here
			c.in <- string(data)
		}
		if c.stalled.Load() {
			<-c.quit
			return
		}
	}
}

func (c *fakeConn) send(frame string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.WriteMessage(websocket.TextMessage, []byte(frame))
}

// expect waits for the next frame and checks its prefix.
func (c *fakeConn) expect(t *testing.T, prefix string) string {
	t.Helper()
	frame, ok := c.await(prefix)
	if !ok {
		t.Fatalf("client sent %q, want %q...", frame, prefix)
	}
	return frame
}

// await waits for the next frame; false when it does not start with
// prefix, or none comes in time (the frame is then "").
func (c *fakeConn) await(prefix string) (string, bool) {
	select {
	case frame := <-c.in:
		return frame, strings.HasPrefix(frame, prefix)
	case <-c.quit:
		return "", false
	case <-time.After(testTimeout):
		return "", false
	}
}
