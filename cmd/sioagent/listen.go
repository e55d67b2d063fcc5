package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// eventLine is one line of listen's output.
type eventLine struct {
	Event string `json:"event"`
	Args  []any  `json:"args"`
}

const listenHelp = `Usage: sioagent listen [flags] URL [EVENT...]

Connects to the Socket.IO server at URL and prints each incoming event (only
the named EVENTs, when given) as one JSON line {"event":"...","args":[...]}
on stdout, binary shown as {"$binary":"<base64>"}. Connection state changes
go to stderr. Runs until interrupted. Flags come before URL.
`

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, cf := newFlagSet("listen", listenHelp, stderr)
	if code, ok := parseArgs(fs, args, 1, stdout); !ok {
		return code
	}
	l := &listener{stdout: stdout, stderr: stderr, only: fs.Args()[1:], lost: make(chan error, 1)}
	client, sock, err := cf.connect(ctx, fs.Arg(0), l.configure, l.subscribe)
	if err != nil {
		return fail(stderr, err)
	}
	defer client.Close()
	select {
	case <-ctx.Done():
		l.state(fmt.Sprintf("interrupted, disconnecting %s", sock.Namespace()))
		return exitOK
	case err := <-l.lost:
		return fail(stderr, fmt.Errorf("stopped listening: %w", err))
	}
}

// listener prints events and state changes.
type listener struct {
	mu     sync.Mutex
	stdout io.Writer
	stderr io.Writer
	only   []string
	lost   chan error // why the socket will not reconnect
}

// configure makes the client report every state change, and the listener
// stop when the socket will not be reconnected (the server disconnected
// or refused it, or reconnection gave up). Across ordinary link losses it
// keeps listening.
func (l *listener) configure(o *socketio.Options, so *socketio.SocketOptions) {
	o.OnStatus = func(st socketio.Status) {
		l.state(st.String())
		if st.Kind == socketio.StatusReconnectFailed {
			l.stop(st.Err)
		}
	}
	so.OnDisconnect = func(reason error) {
		if errors.Is(reason, socketio.ErrServerDisconnect) {
			l.stop(reason)
		}
	}
	so.OnConnectError = func(err *socketio.ConnectError) { l.stop(err) }
}

// subscribe registers the printer for the named events, or for every
// event when none was named.
func (l *listener) subscribe(s *socketio.Socket) {
	if len(l.only) == 0 {
		s.OnAny(l.print)
		return
	}
	for _, name := range slices.Compact(slices.Sorted(slices.Values(l.only))) {
		s.On(name, l.print)
	}
}

func (l *listener) stop(err error) {
	select {
	case l.lost <- err:
	default:
	}
}

func (l *listener) state(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.stderr, "sioagent: %s\n", s)
}

func (l *listener) print(e *socketio.Event) {
	vals, err := e.Args.Values()
	if err != nil {
		l.state(fmt.Sprintf("event %q: %v", e.Name, err))
		return
	}
	line, err := marshalLine(eventLine{Event: e.Name, Args: toJSON(vals).([]any)})
	if err != nil {
		l.state(fmt.Sprintf("event %q: %v", e.Name, err))
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stdout.Write(line)
}
