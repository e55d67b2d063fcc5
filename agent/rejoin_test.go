package agent

import (
	"context"
	"testing"
	"time"

	"github.com/sioagent/sioagent/internal/nodeserver"
)

// rejoinWait bounds the wait for the agent to come back after a server
// DISCONNECT (one reconnection delay of the test config, on a loaded
// machine).
const rejoinWait = 20 * time.Second

// The agent connects again by itself after the server disconnected it:
// its socket has SocketOptions.Rejoin.
func TestAgentRejoinsAfterServerDisconnect(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	a := flushAgent(t, srv.URL(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), rejoinWait)
	defer cancel()
	if err := a.sock.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	first := a.sock.ID()
	if err := a.sock.Emit(ctx, "disconnect-me"); err != nil {
		t.Fatal(err)
	}
	for a.sock.ID() == first || a.sock.ID() == "" {
		st := a.sock.State()
		if err := a.sock.WaitConnected(ctx); err != nil {
			t.Fatalf("not connected again after the server disconnected the agent: %v", err)
		}
		if a.sock.ID() == first {
			// Not disconnected yet: wait for the disconnection.
			select {
			case <-st.Changed:
			case <-ctx.Done():
				t.Fatal("the server never disconnected the agent")
			}
		}
	}
}
