package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

const emitHelp = `Usage: sioagent emit [flags] URL EVENT [ARG...]

Sends EVENT with the given arguments to the Socket.IO server at URL (http,
https, ws or wss). Each ARG is a JSON value; an object {"$binary":"<base64>"}
anywhere in an ARG is sent as a binary attachment. With --ack, the ack's
arguments are printed as one JSON array on stdout, binary shown the same way.
Flags come before URL.
`

func runEmit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, cf := newFlagSet("emit", emitHelp, stderr)
	wantAck := fs.Bool("ack", false, "ask for an ack and print its arguments as one JSON array on stdout")
	if code, ok := parseArgs(fs, args, 2, stdout); !ok {
		return code
	}
	rawURL, event := fs.Arg(0), fs.Arg(1)
	values := make([]any, 0, fs.NArg()-2)
	for _, a := range fs.Args()[2:] {
		v, err := parseArg(a)
		if err != nil {
			return fail(stderr, err)
		}
		values = append(values, v)
	}
	client, sock, err := cf.connect(ctx, rawURL, nil, nil)
	if err != nil {
		return fail(stderr, err)
	}
	defer client.Close()
	if !*wantAck {
		return fail(stderr, sock.Emit(ctx, event, values...))
	}
	return emitWithAck(ctx, sock, cf.timeout, event, values, stdout, stderr)
}

func emitWithAck(ctx context.Context, sock *socketio.Socket, timeout time.Duration, event string, values []any, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reply, err := sock.EmitWithAck(ctx, event, values...)
	if err != nil {
		return fail(stderr, fmt.Errorf("ack for %q: %w", event, err))
	}
	vals, err := reply.Values()
	if err != nil {
		return fail(stderr, err)
	}
	line, err := marshalLine(toJSON(vals))
	if err != nil {
		return fail(stderr, err)
	}
	stdout.Write(line)
	return exitOK
}
