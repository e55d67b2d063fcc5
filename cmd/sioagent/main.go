// Command sioagent is the sioagent device agent and a Socket.IO v4 command
// line client.
//
//	sioagent run --config FILE                 run the device agent
//	sioagent check --config FILE               validate the config and read every sensor once
//	sioagent status [--json]                   ask the running agent for its state
//	sioagent queue list|requeue SEQ|drop SEQ   show and act on the outbox's dead letters
//	sioagent scan [--bus 1]                    list the devices on an I2C bus
//	sioagent emit [flags] URL EVENT [ARG...]   send one event, optionally wait for its ack
//	sioagent listen [flags] URL [EVENT...]     print incoming events as JSON lines
//	sioagent version                           print the version
//
// Run "sioagent help COMMAND" for the flags of a command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in the help text of every command.
const (
	exitOK          = 0
	exitError       = 1 // anything not listed below
	exitUsage       = 2 // bad flags or arguments
	exitUnreachable = 3 // the server could not be reached, or the link dropped
	exitRejected    = 4 // the server refused the namespace or disconnected us
	exitTimeout     = 5 // the connect or the ack did not complete in time
	exitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0  success
  1  other error
  2  bad usage
  3  server unreachable, or the connection was lost
  4  rejected by the server (CONNECT_ERROR, auth refused, server disconnect)
  5  timed out (connect or ack)
  130 interrupted (SIGINT or SIGTERM) before it was done
`

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run the device agent (sensors -> outbox -> server, commands)", runRun},
		{"check", "validate the config and read every sensor once", runCheck},
		{"status", "ask the running agent for its state", runStatus},
		{"queue", "show, requeue or drop the outbox's dead letters", runQueue},
		{"scan", "list the devices on an I2C bus, naming known chips", runScan},
		{"emit", "send one event to a Socket.IO server, optionally waiting for its ack", runEmit},
		{"listen", "print the events a Socket.IO server sends, one JSON line each", runListen},
		{"version", "print the version", runVersion},
	}
}

func main() { os.Exit(mainCode()) }

// mainCode runs the command line of the process; the first SIGINT or
// SIGTERM cancels the command's context.
func mainCode() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, the default handling comes back: a
		// second Ctrl-C ends a shutdown that takes too long.
		<-ctx.Done()
		stop()
	}()
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	if name == "help" || name == "-h" || name == "--help" {
		if len(rest) == 0 {
			usage(stdout)
			return exitOK
		}
		name, rest = rest[0], []string{"-h"}
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "sioagent: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: sioagent COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"sioagent help COMMAND\" for the flags of a command.\n\n%s", exitCodesHelp)
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "sioagent %s\n", version)
	return exitOK
}

// errUsage marks errors in the command line.
var errUsage = errors.New("usage")
