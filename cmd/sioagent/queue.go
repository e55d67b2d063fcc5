package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sioagent/sioagent/agent"
	"github.com/sioagent/sioagent/store"
)

// queueLockTimeout is how long `sioagent queue` waits for the outbox
// file's lock when no agent answers (an agent starting meanwhile holds it).
const queueLockTimeout = 2 * time.Second

// queueMaxReply bounds one answer of the agent, in bytes.
const queueMaxReply = 8 << 20

const queueHelp = `Usage: sioagent queue [flags] list
       sioagent queue [flags] requeue SEQ
       sioagent queue [flags] drop SEQ

Shows and acts on the outbox's dead letters: batches the server refused for
good (or that could not be decoded), kept aside instead of being sent.

  list         list the dead letters, and the record holding the queue back
               (one larger than the server accepts), if any
  requeue SEQ  put dead letter SEQ back in the queue under a NEW seq (above
               every seq sent); its telemetry header names SEQ in "replaces"
  drop SEQ     delete dead letter SEQ for good (counted)

When an agent runs, the command goes through its status socket (the agent
holds the outbox file's lock); otherwise it opens the outbox file itself
(--outbox, or outbox.path of --config). Needs membership of the agent's
group (or root), or write access to the file.

Exit codes: 0 done, 1 failed (no such dead letter, no agent and no file),
2 bad usage, 78 --config does not load.`

func runQueue(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPlainFlagSet("queue", queueHelp, stderr)
	asJSON := fs.Bool("json", false, "print the raw JSON reply")
	cfgPath := fs.String("config", "", "take the runtime directory and the outbox file from this config `file`")
	dir := fs.String("runtime-dir", "", "runtime `directory` of the agent (default $RUNTIME_DIRECTORY or "+defaultRuntimeDir+")")
	file := fs.String("outbox", "", "outbox `file` to open when no agent runs")
	if code, ok := parseArgs(fs, args, 1, stdout); !ok {
		return code
	}
	req, err := queueRequest(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: queue: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	rd, path := *dir, *file
	if *cfgPath != "" {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "sioagent: config: %v\n", err)
			return exitConfig
		}
		if rd == "" {
			rd = cfg.Agent.RuntimeDir
		}
		if path == "" {
			path = cfg.Outbox.Path
		}
	}
	if rd == "" {
		rd = os.Getenv("RUNTIME_DIRECTORY")
	}
	if rd == "" {
		rd = defaultRuntimeDir
	}

	var reply agent.QueueReply
	sock := agent.StatusSocketPath(rd)
	reply, err = queueViaAgent(ctx, sock, req)
	if isNoAgent(err) {
		if path == "" {
			fmt.Fprintf(stderr, "sioagent: no agent answered at %s, and no outbox file given (--outbox or --config)\n", sock)
			return exitError
		}
		reply, err = queueOnFile(path, req)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: queue: %v\n", err)
		return exitError
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(reply)
	} else {
		printQueue(stdout, req, reply)
	}
	if reply.Error != "" {
		fmt.Fprintf(stderr, "sioagent: queue %s: %s\n", fs.Arg(0), reply.Error)
		return exitError
	}
	return exitOK
}

// queueRequest parses the positional arguments.
func queueRequest(args []string) (agent.QueueRequest, error) {
	switch {
	case args[0] == "list" && len(args) == 1:
		return agent.QueueRequest{Op: agent.OpQueueList}, nil
	case (args[0] == "requeue" || args[0] == "drop") && len(args) == 2:
		seq, err := strconv.ParseUint(args[1], 10, 64)
		if err != nil || seq == 0 {
			return agent.QueueRequest{}, fmt.Errorf("%w: bad seq %q", errUsage, args[1])
		}
		op := agent.OpQueueRequeue
		if args[0] == "drop" {
			op = agent.OpQueueDrop
		}
		return agent.QueueRequest{Op: op, Seq: seq}, nil
	}
	return agent.QueueRequest{}, fmt.Errorf("%w: want list, requeue SEQ or drop SEQ", errUsage)
}

// isNoAgent reports whether a dial error means that no agent listens
// (rather than, say, a permission problem).
func isNoAgent(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)
}

// queueViaAgent sends req to the running agent; a listing is read page
// by page.
func queueViaAgent(ctx context.Context, path string, req agent.QueueRequest) (agent.QueueReply, error) {
	var all agent.QueueReply
	for {
		r, err := askAgent(ctx, path, req)
		if err != nil {
			return all, err
		}
		entries := append(all.DeadLetters, r.DeadLetters...)
		all, all.DeadLetters = r, entries
		if req.Op != agent.OpQueueList || !r.More || len(r.DeadLetters) == 0 || r.Error != "" {
			all.More = false
			return all, nil
		}
		req.After = r.DeadLetters[len(r.DeadLetters)-1].Seq
	}
}

// askAgent sends one request line on the status socket and reads the reply.
func askAgent(ctx context.Context, path string, req agent.QueueRequest) (agent.QueueReply, error) {
	var r agent.QueueReply
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return r, err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	line, _ := json.Marshal(req)
	if _, err := c.Write(append(line, '\n')); err != nil {
		return r, fmt.Errorf("agent at %s: %w", path, err)
	}
	raw, err := io.ReadAll(io.LimitReader(c, queueMaxReply))
	if err != nil {
		return r, fmt.Errorf("agent at %s: %w", path, err)
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("agent at %s: bad reply: %w", path, err)
	}
	return r, nil
}

// queueOnFile runs req on the outbox file, which no agent holds.
func queueOnFile(path string, req agent.QueueRequest) (agent.QueueReply, error) {
	if _, err := os.Stat(path); err != nil {
		return agent.QueueReply{}, fmt.Errorf("no agent runs, and the outbox file: %w", err)
	}
	st, err := store.Open(path, &store.Options{LockTimeout: queueLockTimeout})
	if err != nil {
		return agent.QueueReply{}, err
	}
	var all agent.QueueReply
	for {
		r := agent.QueueDo(st, req)
		entries := append(all.DeadLetters, r.DeadLetters...)
		all, all.DeadLetters = r, entries
		if req.Op != agent.OpQueueList || !r.More || len(r.DeadLetters) == 0 || r.Error != "" {
			break
		}
		req.After = r.DeadLetters[len(r.DeadLetters)-1].Seq
	}
	all.More = false
	if err := st.Close(); err != nil {
		return all, err
	}
	return all, nil
}

// printQueue prints a reply for people.
func printQueue(w io.Writer, req agent.QueueRequest, r agent.QueueReply) {
	if h := r.Held; h != nil {
		fmt.Fprintf(w, "queue held at seq %d: %d bytes, more than the server accepts in this session (%d); since %s, %d tries\n",
			h.Seq, h.Size, h.Limit, h.Since.Format(time.RFC3339), h.Tries)
	}
	switch req.Op {
	case agent.OpQueueList:
		if len(r.DeadLetters) == 0 {
			fmt.Fprintln(w, "no dead letters")
		} else {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tDEAD-LETTERED\tBYTES\tREADINGS\tREASON")
			for _, d := range r.DeadLetters {
				readings := strconv.Itoa(d.Count)
				if d.Undecodable {
					readings = "?"
				}
				reason := d.Reason
				if d.Replaces != 0 {
					reason += fmt.Sprintf(" (requeued from seq %d)", d.Replaces)
				}
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\n", d.Seq, d.DeadLettered.Format(time.RFC3339), d.Bytes, readings, reason)
			}
			tw.Flush()
		}
	case agent.OpQueueRequeue:
		if r.Error == "" {
			fmt.Fprintf(w, "dead letter %d requeued as seq %d\n", r.Seq, r.NewSeq)
		}
	case agent.OpQueueDrop:
		if r.Error == "" {
			fmt.Fprintf(w, "dead letter %d dropped\n", r.Seq)
		}
	}
	s := r.Stats
	fmt.Fprintf(w, "dead letters: %d kept (%d bytes); %d ever, %d discarded by the bounds, %d dropped, %d requeued\n",
		s.Kept, s.Bytes, s.Total, s.Discarded, s.Dropped, s.Requeued)
}
