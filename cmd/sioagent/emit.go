package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/sioagent/sioagent/protocol/socketio"
)

func runEmit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("emit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf connFlags
	cf.register(fs)
	wantAck := fs.Bool("ack", false, "ask for an ack and print its arguments as one JSON array on stdout")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: sioagent emit [flags] URL EVENT [ARG...]

Sends EVENT with the given arguments to the Socket.IO server at URL (http,
https, ws or wss). Each ARG is a JSON value; an object {"$binary":"<base64>"}
anywhere in an ARG is sent as a binary attachment. With --ack, the ack's
arguments are printed as one JSON array on stdout, binary shown the same way.
Flags come before URL.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\n%s", exitCodesHelp)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return exitUsage
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
	return emitWithAck(ctx, sock, cf, event, values, stdout, stderr)
}

func emitWithAck(ctx context.Context, sock *socketio.Socket, cf connFlags, event string, values []any, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
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
