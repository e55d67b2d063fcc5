package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
)

// defaultTimeout bounds connecting and, for emit --ack, waiting for the ack.
const defaultTimeout = 10 * time.Second

// connFlags are the connection flags shared by emit and listen.
type connFlags struct {
	namespace string
	auth      string
	headers   multiFlag
	query     multiFlag
	transport string
	path      string
	timeout   time.Duration
	caFile    string
	certFile  string
	keyFile   string
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (f *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.namespace, "namespace", "", "namespace to connect to (default: the URL's path, or /)")
	fs.StringVar(&f.auth, "auth", "", "auth payload sent with CONNECT, a JSON object (never put tokens in the URL)")
	fs.Var(&f.headers, "header", "extra HTTP header `K:V` for the handshake (repeatable)")
	fs.Var(&f.query, "query", "extra query parameter `K=V` (repeatable)")
	fs.StringVar(&f.transport, "transport", "websocket", "transports in order: websocket, polling, polling,websocket (start on polling, upgrade), websocket,polling (fall back to polling)")
	fs.StringVar(&f.path, "path", engineio.DefaultPath, "Engine.IO endpoint path")
	fs.DurationVar(&f.timeout, "timeout", defaultTimeout, "how long to wait for the connection (and for the ack with emit --ack)")
	fs.StringVar(&f.caFile, "ca", "", "PEM file of CA certificates to trust for https/wss")
	fs.StringVar(&f.certFile, "cert", "", "PEM client certificate for mutual TLS (with --key)")
	fs.StringVar(&f.keyFile, "key", "", "PEM client key for mutual TLS (with --cert)")
}

// parseTransports reads the --transport flag: one or two of websocket and
// polling, comma-separated, in the order they are tried.
func parseTransports(v string) ([]string, error) {
	list := strings.Split(v, ",")
	seen := map[string]bool{}
	for i, t := range list {
		t = strings.TrimSpace(t)
		if (t != engineio.TransportWebSocket && t != engineio.TransportPolling) || seen[t] {
			return nil, fmt.Errorf("%w: --transport %q: want websocket, polling, polling,websocket or websocket,polling", errUsage, v)
		}
		seen[t], list[i] = true, t
	}
	return list, nil
}

// newFlagSet returns the flag set of a subcommand with the connection
// flags registered and a usage text made of help, the flags and the exit
// codes.
func newFlagSet(name, help string, stderr io.Writer) (*flag.FlagSet, *connFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := &connFlags{}
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\nFlags:\n", help)
		printFlags(fs.Output(), fs)
		fmt.Fprintf(fs.Output(), "\n%s", exitCodesHelp)
	}
	return fs, cf
}

// newPlainFlagSet returns the flag set of a subcommand without connection
// flags (run, check, status, scan), whose usage text is help and the flags.
func newPlainFlagSet(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(fs.Output(), "%s\n\nFlags:\n", help); printFlags(fs.Output(), fs) }
	return fs
}

// printFlags lists the flags of fs as the README writes them, --name (the
// flag package accepts one dash or two), with their argument, usage and
// default.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "[]" {
			if strings.ContainsAny(def, " \t/") {
				def = strconv.Quote(def)
			}
			line += " (default " + def + ")"
		}
		fmt.Fprintln(w, line)
	})
}

// parseArgs parses args into fs and checks there are at least minArgs
// positional arguments. It returns false and the exit code when the command
// should stop: 0 after -h or --help, whose usage text goes to stdout (so it
// can be piped to a pager), exitUsage on bad usage, whose error and usage
// text go to fs's output (stderr).
func parseArgs(fs *flag.FlagSet, args []string, minArgs int, stdout io.Writer) (int, bool) {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package would print it to stderr
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		out := fs.Output()
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(out)
		return exitOK, false
	case err != nil:
		fs.Usage()
		return exitUsage, false
	case fs.NArg() < minArgs:
		fs.Usage()
		return exitUsage, false
	}
	return exitOK, true
}

// options turns the flags into client and socket options.
func (f *connFlags) options() (*socketio.Options, *socketio.SocketOptions, error) {
	transports, err := parseTransports(f.transport)
	if err != nil {
		return nil, nil, err
	}
	opts := &socketio.Options{Engine: engineio.Options{Transports: transports, Path: f.path, Header: http.Header{}, Query: url.Values{}}}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, nil, fmt.Errorf("%w: --header %q: want K:V", errUsage, h)
		}
		opts.Engine.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	for _, q := range f.query {
		k, v, ok := strings.Cut(q, "=")
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("%w: --query %q: want K=V", errUsage, q)
		}
		opts.Engine.Query.Add(k, v)
	}
	tlsConf, err := f.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	opts.Engine.TLSConfig = tlsConf
	sopts := &socketio.SocketOptions{}
	if f.auth != "" {
		var auth map[string]any
		if err := json.Unmarshal([]byte(f.auth), &auth); err != nil || auth == nil {
			return nil, nil, fmt.Errorf("%w: --auth: want a JSON object, got %q", errUsage, f.auth)
		}
		sopts.Auth = json.RawMessage(f.auth)
	}
	return opts, sopts, nil
}

func (f *connFlags) tlsConfig() (*tls.Config, error) {
	if f.caFile == "" && f.certFile == "" && f.keyFile == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificates found", f.caFile)
		}
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return nil, fmt.Errorf("%w: --cert and --key go together", errUsage)
	}
	if f.certFile != "" {
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// connect creates a client and connects the namespace socket. configure,
// if not nil, adjusts the options, and setup registers handlers, before the
// CONNECT goes out.
func (f *connFlags) connect(ctx context.Context, rawURL string, configure func(*socketio.Options, *socketio.SocketOptions), setup func(*socketio.Socket)) (*socketio.Client, *socketio.Socket, error) {
	opts, sopts, err := f.options()
	if err != nil {
		return nil, nil, err
	}
	if configure != nil {
		configure(opts, sopts)
	}
	client, err := socketio.New(rawURL, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	sock := client.Socket(f.namespace, sopts)
	if setup != nil {
		setup(sock)
	}
	cctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := sock.Connect(cctx); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	return client, sock, nil
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var cerr *socketio.ConnectError
	var herr *engineio.HandshakeError
	var terr *engineio.TransportError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &cerr), errors.Is(err, socketio.ErrServerDisconnect):
		return exitRejected
	case errors.As(err, &herr) && herr.StatusCode == http.StatusForbidden:
		return exitRejected
	case errors.Is(err, socketio.ErrAckTimeout):
		return exitTimeout
	case errors.As(err, &herr), errors.As(err, &terr), errors.Is(err, socketio.ErrDisconnected),
		errors.Is(err, socketio.ErrReconnectFailed), errors.Is(err, engineio.ErrPingTimeout),
		errors.Is(err, engineio.ErrTransportClosed):
		return exitUnreachable // also when the connect timed out after failed attempts
	case errors.Is(err, context.DeadlineExceeded):
		return exitTimeout
	default:
		return exitError
	}
}

// fail prints err for the user and returns its exit code.
func fail(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "sioagent: %v\n", err)
	return exitCode(err)
}
