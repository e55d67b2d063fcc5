package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/sensors/drivers"
)

// Example wires an agent from a small config, registers an application
// command and runs it (here with a context that has already ended, so it
// stops at once and keeps the outbox on disk for the next start).
func Example() {
	dir, err := os.MkdirTemp("", "sioagent-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	toml := fmt.Sprintf(`
[device]
id = "demo-pi"

[server]
url = "http://127.0.0.1:3000"

[outbox]
path = %q

[agent]
runtime_dir = %q
`, filepath.Join(dir, "outbox.db"), dir)
	cfg, err := config.Parse("demo.toml", []byte(toml), nil, drivers.New())
	if err != nil {
		log.Fatal(err)
	}

	a, err := agent.New(agent.Options{
		Config:  cfg,
		Logger:  slog.New(slog.DiscardHandler),
		Version: "1.0.0",
		Notify:  func(string) error { return nil }, // not under systemd
	})
	if err != nil {
		log.Fatal(err)
	}

	// The server calls it with emitWithAck("relay:pulse", {"ms": 250}).
	a.Handle("relay:pulse", func(ctx context.Context, raw json.RawMessage) (agent.Result, error) {
		var args struct {
			MS int `json:"ms"`
		}
		if err := json.Unmarshal(raw, &args); err != nil || args.MS <= 0 {
			return agent.Result{}, agent.BadArgs(`"ms" must be a positive number`)
		}
		return agent.Result{Value: map[string]any{"pulsed": args.MS}}, nil
	})

	st := a.Status()
	fmt.Println("device:", st.DeviceID, "version:", st.Version, "connected:", st.Conn.Connected)

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a real program cancels on SIGTERM
	fmt.Println("run:", a.Run(ctx))
	// Output:
	// device: demo-pi version: 1.0.0 connected: false
	// run: <nil>
}
