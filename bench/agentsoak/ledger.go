package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

const (
	// countAttempts is how many times a count is tried before the soak
	// gives up on it (the server may just have restarted).
	countAttempts = 3
	// countTimeout bounds one attempt: connect, ask, answer.
	countTimeout = 10 * time.Second
	// countRetryDelay is the pause between two attempts.
	countRetryDelay = time.Second
	// maxRangesShown is how many missing ranges the report lists.
	maxRangesShown = 10
)

// serverStats is the example server's telemetry-stats answer for one
// device: what one server process (one "life") stored.
type serverStats struct {
	Stored     int         `json:"stored"`
	Duplicates int         `json:"duplicates"`
	Rejected   int         `json:"rejected"`
	Ignored    int         `json:"ignored"`
	Records    int         `json:"records"`
	Runs       [][2]uint64 `json:"runs"` // stored seqs in arrival order, as [first, last] of consecutive seqs
}

// ledger collects what each server life stored, counted through an
// observer client connected straight to the server (not through the
// proxy).
type ledger struct {
	url    string // the server's own URL
	device string

	mu sync.Mutex
	ls []serverStats
}

// count asks the server what it stored for the device and records it as
// one server life. Call it once per life: right before a restart, and at
// the end.
func (l *ledger) count(ctx context.Context) error {
	var errs []error
	for attempt := range countAttempts {
		if attempt > 0 {
			sleep(ctx, countRetryDelay)
		}
		st, err := askStats(ctx, l.url, l.device)
		if err == nil {
			l.mu.Lock()
			l.ls = append(l.ls, st)
			l.mu.Unlock()
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("telemetry-stats from %s: %w", l.url, errors.Join(errs...))
}

// lives returns the counts recorded so far, one per server life.
func (l *ledger) lives() []serverStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]serverStats(nil), l.ls...)
}

// askStats connects a fresh client to url, asks telemetry-stats for
// device and closes the client.
func askStats(ctx context.Context, url, device string) (serverStats, error) {
	ctx, cancel := context.WithTimeout(ctx, countTimeout)
	defer cancel()
	c, err := socketio.New(url, &socketio.Options{NoReconnect: true})
	if err != nil {
		return serverStats{}, err
	}
	defer c.Close()
	s := c.Socket("/", nil)
	if err := s.Connect(ctx); err != nil {
		return serverStats{}, fmt.Errorf("observer connect: %w", err)
	}
	args, err := s.EmitWithAck(ctx, "telemetry-stats", map[string]string{"deviceId": device})
	if err != nil {
		return serverStats{}, err
	}
	var st serverStats
	if err := args.Decode(0, &st); err != nil {
		return serverStats{}, fmt.Errorf("telemetry-stats answer: %w", err)
	}
	return st, nil
}

// seqRange is the seqs first..last, both included.
type seqRange struct{ first, last uint64 }

func (r seqRange) String() string {
	if r.first == r.last {
		return fmt.Sprint(r.first)
	}
	return fmt.Sprintf("%d-%d", r.first, r.last)
}

// accounting compares what the outbox produced with what the server lives
// stored.
type accounting struct {
	Lives    int    // server lives counted
	Produced uint64 // the outbox gave out seqs 1..Produced
	Stored   int    // distinct seqs stored by any life
	// Missing are the produced seqs no life stored, as ranges (each range
	// is one gap); MissingCount is how many seqs they hold.
	Missing      []seqRange
	MissingCount uint64
	// Unexpected are stored seqs the outbox never gave out (above
	// Produced, or 0): a bookkeeping bug.
	Unexpected []seqRange
	// ServerDuplicates sums the lives' duplicate counts: batches the
	// server already had and acked again.
	ServerDuplicates int
	// CrossLife counts seqs stored by more than one life: delivered to a
	// server whose ack was lost, then delivered again to its successor.
	CrossLife int
	// OrderBreaks counts, within each life, the places where a stored seq
	// did not follow its predecessor (len(runs)-1 per life).
	OrderBreaks int
	// Records sums the readings of the stored batches, over all lives
	// (batches stored by two lives count twice).
	Records int
}

// analyse merges the lives' counts and compares them with produced.
func analyse(lives []serverStats, produced uint64) accounting {
	a := accounting{Lives: len(lives), Produced: produced}
	stored := make(map[uint64]struct{})
	var unexpected []uint64
	add := func(seq uint64) {
		if _, dup := stored[seq]; dup {
			a.CrossLife++
			return
		}
		stored[seq] = struct{}{}
		if seq == 0 || seq > produced {
			unexpected = append(unexpected, seq)
		}
	}
	for _, life := range lives {
		a.ServerDuplicates += life.Duplicates
		a.Records += life.Records
		a.OrderBreaks += max(len(life.Runs)-1, 0)
		for _, run := range life.Runs {
			for seq := run[0]; seq <= run[1]; seq++ {
				add(seq)
				if seq == run[1] {
					break // seq++ would wrap if run[1] were the largest uint64
				}
			}
		}
	}
	a.Stored = len(stored)
	a.Unexpected = toRanges(unexpected)
	var missing []uint64
	for seq := uint64(1); seq <= produced; seq++ {
		if _, ok := stored[seq]; !ok {
			missing = append(missing, seq)
		}
	}
	a.MissingCount = uint64(len(missing))
	a.Missing = toRanges(missing)
	return a
}

// toRanges turns seqs into ranges of consecutive seqs, in order of
// appearance.
func toRanges(seqs []uint64) []seqRange {
	var out []seqRange
	for _, s := range seqs {
		if n := len(out); n > 0 && out[n-1].last+1 == s {
			out[n-1].last = s
			continue
		}
		out = append(out, seqRange{s, s})
	}
	return out
}

// rangesString lists at most maxRangesShown ranges.
func rangesString(rs []seqRange) string {
	parts := make([]string, 0, min(len(rs), maxRangesShown)+1)
	for i, r := range rs {
		if i == maxRangesShown {
			parts = append(parts, fmt.Sprintf("... (%d more)", len(rs)-i))
			break
		}
		parts = append(parts, r.String())
	}
	return strings.Join(parts, ", ")
}
