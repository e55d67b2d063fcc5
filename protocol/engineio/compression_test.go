package engineio_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/protocol/engineio"
)

// wsExtensions is the reply of the example server's ws-extensions.
type wsExtensions struct {
	Transport string `json:"transport"`
	Offered   string `json:"offered"`
	Accepted  string `json:"accepted"`
}

// extensions asks the server what the connection negotiated.
func (c *client) extensions(ackID int) wsExtensions {
	c.t.Helper()
	c.send(fmt.Sprintf(`2%d["ws-extensions"]`, ackID))
	m := c.next()
	prefix := fmt.Sprintf("3%d", ackID)
	var reply []wsExtensions
	if !strings.HasPrefix(m.data, prefix) || json.Unmarshal([]byte(m.data[len(prefix):]), &reply) != nil || len(reply) != 1 {
		c.t.Fatalf("ws-extensions reply %q", m.data)
	}
	return reply[0]
}

// Compression (permessage-deflate) is used only when the client offers it
// and the server accepts, on a WebSocket opened directly or by upgrade:
// then the server sees it negotiated, Compressed says so, and a message
// of a repetitive 20 KB crosses the link in a fraction of its size (the
// proxy counts the bytes); otherwise nothing is compressed and the
// session works as before.
func TestCompressionNegotiatedOnlyWhenOffered(t *testing.T) {
	const size = 20_000
	for _, c := range []struct {
		name           string
		server, client bool
		m              mode
	}{
		{"both", true, true, modes[0]},
		{"both after upgrade", true, true, modes[2]},
		{"server only", true, false, modes[0]},
		{"client only", false, true, modes[0]},
		{"neither", false, false, modes[0]},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := nodeserver.Start(t, nodeserver.Options{PerMessageDeflate: c.server})
			p := faultproxy.Start(t, strings.TrimPrefix(srv.URL(), "http://"))
			cl := newClient(t, p.URL(), c.m, &engineio.Options{Compression: c.client})
			if len(c.m.transports) > 1 {
				if err := cl.waitUpgrade(); err != nil {
					t.Fatalf("upgrade: %v", err)
				}
			}
			cl.connect()
			want := c.server && c.client
			if got := cl.s.Compressed(); got != want {
				t.Errorf("Compressed() = %v, want %v", got, want)
			}
			ext := cl.extensions(1)
			if ext.Transport != engineio.TransportWebSocket {
				t.Fatalf("the server sees transport %q", ext.Transport)
			}
			if offered := strings.Contains(ext.Offered, "permessage-deflate"); offered != c.client {
				t.Errorf("the client offered %q; want permessage-deflate offered: %v", ext.Offered, c.client)
			}
			if accepted := ext.Accepted == "permessage-deflate"; accepted != want {
				t.Errorf("the server accepted %q; want permessage-deflate: %v", ext.Accepted, want)
			}
			up0, down0 := p.Forwarded()
			msg := strings.Repeat("reading ", size/8)
			cl.send(`22["echo",` + `"` + msg + `"]`)
			cl.expect(`32["` + msg + `"]`)
			up, down := p.Forwarded()
			up, down = up-up0, down-down0
			t.Logf("%d bytes echoed: %d up, %d down", len(msg), up, down)
			if small := up < size/4 && down < size/4; small != want {
				t.Errorf("%d bytes up and %d down for a %d-byte message; compressed: %v, want %v", up, down, len(msg), small, want)
			}
		})
	}
}

// A compressed message is bounded by ReadLimit once inflated, not only on
// the wire: 500 KB of one letter travel as about a kilobyte, and a client
// with a 64 KiB limit ends the session instead of inflating it.
func TestCompressedMessageBoundedByReadLimit(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{PerMessageDeflate: true})
	cl := newClient(t, srv.URL(), modes[0], &engineio.Options{Compression: true, ReadLimit: 64 << 10})
	cl.connect()
	if !cl.s.Compressed() {
		t.Fatal("compression was not negotiated")
	}
	cl.send(`21["echo","` + strings.Repeat("a", 500_000) + `"]`)
	select {
	case <-cl.s.Done():
	case <-time.After(testTimeout):
		t.Fatal("the session read a message larger than its ReadLimit once inflated")
	}
	var te *engineio.TransportError
	if err := cl.s.Err(); !errors.As(err, &te) || !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("Err() = %v, want a *TransportError of websocket.ErrReadLimit", err)
	}
}
