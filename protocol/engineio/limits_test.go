package engineio_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// absurdOpen is an open packet whose maxPayload (2^40) no client could
// honour as a read limit.
const absurdOpen = `0{"sid":"huge","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1099511627776}`

// wsServer is a WebSocket-only Engine.IO server that sends the open packet
// open, then frames, then holds the connection until the client leaves.
func wsServer(t *testing.T, open string, frames ...[]byte) *httptest.Server {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte(open))
		for _, f := range frames {
			if ws.WriteMessage(websocket.TextMessage, f) != nil {
				return
			}
		}
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// bigMessage is a text message packet ("4" + data) whose data is n bytes.
func bigMessage(n int) []byte {
	b := make([]byte, n+1)
	b[0] = '4'
	for i := 1; i < len(b); i++ {
		b[i] = 'x'
	}
	return b
}

// dialCounting dials with opts and counts the messages OnMessage gets.
func dialCounting(t *testing.T, url string, opts *engineio.Options) (*engineio.Session, *atomic.Int64) {
	t.Helper()
	var got atomic.Int64
	opts.OnMessage = func([]byte, bool) error {
		got.Add(1)
		return nil
	}
	return dial(t, url, opts), &got
}

// TestReadLimitNotRaisedByHandshake checks that a server announcing an
// absurd maxPayload does not raise the client's read limit: a packet one
// byte over DefaultReadLimit ends the session instead of being delivered,
// on both transports. (The read limit used to be max(maxPayload,
// DefaultReadLimit) when Options.ReadLimit was zero.)
func TestReadLimitNotRaisedByHandshake(t *testing.T) {
	frame := bigMessage(engineio.DefaultReadLimit + 1)
	t.Run("websocket", func(t *testing.T) {
		srv := wsServer(t, absurdOpen, frame)
		s, got := dialCounting(t, srv.URL, &engineio.Options{})
		if hs := s.Handshake(); hs.MaxPayload != 1<<40 {
			t.Fatalf("handshake maxPayload %d, want 2^40", hs.MaxPayload)
		}
		err := waitDone(t, s)
		var te *engineio.TransportError
		if !errors.As(err, &te) || !errors.Is(err, websocket.ErrReadLimit) {
			t.Fatalf("session ended with %v, want a read limit TransportError", err)
		}
		if n := got.Load(); n != 0 {
			t.Fatalf("%d oversized messages delivered", n)
		}
	})
	t.Run("polling", func(t *testing.T) {
		var sent atomic.Bool
		f := newFakeServer(t, absurdOpen, func(w http.ResponseWriter, r *http.Request) {
			if sent.Swap(true) {
				holdGET(w, r)
				return
			}
			w.Write(frame)
		})
		s, got := dialCounting(t, f.URL, pollingOnly())
		err := waitDone(t, s)
		if !errors.Is(err, engineio.ErrInvalidPacket) || !strings.Contains(err.Error(), "read limit "+strconv.Itoa(engineio.DefaultReadLimit)) {
			t.Fatalf("session ended with %v, want the read limit of %d", err, engineio.DefaultReadLimit)
		}
		if n := got.Load(); n != 0 {
			t.Fatalf("%d oversized messages delivered", n)
		}
	})
}

// TestWebSocketOpenPacketIsBounded checks that the read limit holds from
// the first frame on: a giant open packet fails the dial.
func TestWebSocketOpenPacketIsBounded(t *testing.T) {
	open := absurdOpen + strings.Repeat(" ", 4096)
	srv := wsServer(t, open)
	s, err := engineio.Dial(t.Context(), srv.URL, &engineio.Options{ReadLimit: 1024})
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("Dial: %v, want a read limit error", err)
	}
}

// TestPollingBodyBoundedByReadLimit checks that a GET body larger than
// PollBodyFactor times the read limit (and MinPollBodyLimit) ends the
// session with ErrBodyTooLarge, whether the server sends a Content-Length
// or streams the body, and that nothing of it is delivered. The body is
// made of small packets, each well within the read limit. (The body limit
// used to be 16 times the read limit and at least 1 MiB.)
func TestPollingBodyBoundedByReadLimit(t *testing.T) {
	const readLimit = 1000
	const packets = 3 * engineio.MinPollBodyLimit / 8 // 3 times the body limit
	body := strings.Repeat("4abcdef\x1e", packets)
	body = body[:len(body)-1]
	if int64(len(body)) <= engineio.MinPollBodyLimit || len(body) > 1<<20 {
		t.Fatalf("body of %d bytes does not test the bound", len(body))
	}
	for _, streamed := range []bool{false, true} {
		t.Run("streamed="+strconv.FormatBool(streamed), func(t *testing.T) {
			var sent atomic.Bool
			f := newFakeServer(t, fakeOpen, func(w http.ResponseWriter, r *http.Request) {
				if sent.Swap(true) {
					holdGET(w, r)
					return
				}
				if !streamed {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
					io.WriteString(w, body)
					return
				}
				for i := 0; i < len(body); i += 4096 {
					io.WriteString(w, body[i:min(i+4096, len(body))])
					w.(http.Flusher).Flush()
				}
			})
			opts := pollingOnly()
			opts.ReadLimit = readLimit
			s, got := dialCounting(t, f.URL, opts)
			err := waitDone(t, s)
			var te *engineio.TransportError
			if !errors.Is(err, engineio.ErrBodyTooLarge) || !errors.As(err, &te) || te.Op != "read" {
				t.Fatalf("session ended with %v, want a read TransportError wrapping ErrBodyTooLarge", err)
			}
			if n := got.Load(); n != 0 {
				t.Fatalf("%d messages of the oversized body delivered", n)
			}
		})
	}
}
