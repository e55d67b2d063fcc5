package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/internal/nodeserver"
)

// server.compression (true by default) offers permessage-deflate; it is
// used only when the server accepts it, and the status says so. The
// server reports what the agent offered and what the connection uses.
func TestCompressionOnlyWhenBothWant(t *testing.T) {
	for _, c := range []struct {
		server, agent bool
	}{{true, true}, {true, false}, {false, true}} {
		t.Run(fmt.Sprintf("server %v agent %v", c.server, c.agent), func(t *testing.T) {
			srv := nodeserver.Start(t, nodeserver.Options{PerMessageDeflate: c.server})
			a := flushAgentWith(t, srv.URL(), 0, func(cfg *config.Config) {
				if cfg.Server.Compression != config.DefaultCompression || !config.DefaultCompression {
					t.Fatalf("default server.compression = %v", cfg.Server.Compression)
				}
				cfg.Server.Compression = c.agent
			})
			ctx, cancel := context.WithTimeout(context.Background(), rejoinWait)
			defer cancel()
			if err := a.sock.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			// The status follows OnConnect, which runs on the client's
			// dispatcher after Connect returns.
			waitFor(t, "the status to say connected", func() bool { return a.Status().Conn.Connected })
			want := c.server && c.agent
			if got := a.Status().Conn.Compressed; got != want {
				t.Errorf("status: compressed %v, want %v", got, want)
			}
			args, err := a.sock.EmitWithAck(ctx, "ws-extensions")
			if err != nil {
				t.Fatal(err)
			}
			var ext struct{ Offered, Accepted string }
			if err := args.Decode(0, &ext); err != nil {
				t.Fatal(err)
			}
			if offered := strings.Contains(ext.Offered, "permessage-deflate"); offered != c.agent {
				t.Errorf("the agent offered %q, want permessage-deflate offered: %v", ext.Offered, c.agent)
			}
			if accepted := ext.Accepted == "permessage-deflate"; accepted != want {
				t.Errorf("the connection uses %q, want permessage-deflate: %v", ext.Accepted, want)
			}
		})
	}
}
