package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/store"
)

// Operations of a QueueRequest.
const (
	// OpStatus asks for the Status (what a connection that sends no
	// request gets).
	OpStatus = "status"
	// OpQueueList lists the dead letters, lowest seq first, and the record
	// that holds the queue, if any.
	OpQueueList = "queue-list"
	// OpQueueRequeue puts the dead letter Seq back in the queue under a
	// new seq (outbox.Requeue).
	OpQueueRequeue = "queue-requeue"
	// OpQueueDrop deletes the dead letter Seq for good (counted in the
	// store's Stats.DeadLettersDropped).
	OpQueueDrop = "queue-drop"
)

// Limits of a queue listing.
const (
	// DefaultQueueListLimit is how many dead letters one listing returns
	// when QueueRequest.Limit is zero.
	DefaultQueueListLimit = 100
	// MaxQueueListLimit caps QueueRequest.Limit, which keeps one reply
	// well within the status socket's answer size.
	MaxQueueListLimit = 1000
)

// QueueRequest is one request line on the status socket (JSON), or an
// operation `sioagent queue` runs on the outbox file directly when no
// agent runs.
type QueueRequest struct {
	// Op is one of OpStatus, OpQueueList, OpQueueRequeue, OpQueueDrop.
	Op string `json:"op"`
	// Seq is the dead letter that OpQueueRequeue and OpQueueDrop act on.
	Seq uint64 `json:"seq,omitempty"`
	// After and Limit page OpQueueList: the dead letters with a seq above
	// After, at most Limit (DefaultQueueListLimit when zero, at most
	// MaxQueueListLimit).
	After uint64 `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// QueueReply answers a QueueRequest other than OpStatus.
type QueueReply struct {
	// Error says why the operation failed; empty on success.
	Error string `json:"error,omitempty"`
	// DeadLetters is the page OpQueueList asked for.
	DeadLetters []DeadLetterEntry `json:"deadLetters,omitempty"`
	// More is true when OpQueueList left dead letters after the page.
	More bool `json:"more,omitempty"`
	// Held is the record holding the queue back (outbox.HeldRecord),
	// known only to a running agent.
	Held *outbox.HeldRecord `json:"held,omitempty"`
	// Seq is the dead letter acted on; NewSeq the seq OpQueueRequeue
	// gave it.
	Seq    uint64 `json:"seq,omitempty"`
	NewSeq uint64 `json:"newSeq,omitempty"`
	// Stats are the outbox's dead-letter counters after the operation.
	Stats DeadLetterStats `json:"stats"`
}

// DeadLetterEntry is one dead letter in a listing.
type DeadLetterEntry struct {
	Seq          uint64    `json:"seq"`
	Appended     time.Time `json:"appended"`
	DeadLettered time.Time `json:"deadLettered"`
	Reason       string    `json:"reason"`
	// Bytes is the stored record's size; Count, ContentType and Replaces
	// come from the batch, when it decodes (Undecodable otherwise).
	Bytes       int    `json:"bytes"`
	Count       int    `json:"count"`
	ContentType string `json:"contentType,omitempty"`
	Replaces    uint64 `json:"replaces,omitempty"`
	Undecodable bool   `json:"undecodable,omitempty"`
}

// DeadLetterStats are the store's dead-letter counters.
type DeadLetterStats struct {
	Kept      uint64 `json:"kept"`
	Bytes     uint64 `json:"bytes"`
	Total     uint64 `json:"deadLettered"`
	Discarded uint64 `json:"discarded"`
	Dropped   uint64 `json:"dropped"`
	Requeued  uint64 `json:"requeued"`
}

// errUnknownOp is the reply to a request this version does not know.
var errUnknownOp = errors.New("unknown op")

// QueueDo runs one dead-letter operation on st (OpQueueList,
// OpQueueRequeue or OpQueueDrop). The running agent runs it on its own
// store; `sioagent queue` runs it on the outbox file when no agent does.
func QueueDo(st *store.Store, req QueueRequest) QueueReply {
	var r QueueReply
	var err error
	switch req.Op {
	case OpQueueList:
		r.DeadLetters, r.More, err = listDead(st, req.After, req.Limit)
	case OpQueueRequeue:
		r.Seq = req.Seq
		r.NewSeq, err = outbox.Requeue(st, req.Seq)
	case OpQueueDrop:
		r.Seq = req.Seq
		err = st.DropDeadLetter(req.Seq)
	default:
		err = fmt.Errorf("%w %q", errUnknownOp, req.Op)
	}
	if err != nil {
		r.Error = err.Error()
	}
	s := st.Stats()
	r.Stats = DeadLetterStats{Kept: s.DeadLetters, Bytes: s.DeadLetterBytes, Total: s.DeadLettered,
		Discarded: s.DeadLettersDiscarded, Dropped: s.DeadLettersDropped, Requeued: s.DeadLettersRequeued}
	return r
}

// listDead returns one page of dead letters.
func listDead(st *store.Store, after uint64, limit int) ([]DeadLetterEntry, bool, error) {
	if limit <= 0 {
		limit = DefaultQueueListLimit
	}
	limit = min(limit, MaxQueueListLimit)
	dead, err := st.DeadLettersAfter(after, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(dead) > limit
	dead = dead[:min(len(dead), limit)]
	out := make([]DeadLetterEntry, 0, len(dead))
	for _, d := range dead {
		e := DeadLetterEntry{Seq: d.Seq, Appended: d.Appended, DeadLettered: d.DeadLettered, Reason: d.Reason, Bytes: len(d.Data)}
		var b outbox.Batch
		if err := b.UnmarshalBinary(d.Data); err != nil {
			e.Undecodable = true
		} else {
			e.Count, e.ContentType, e.Replaces = b.Count, b.ContentType, b.Replaces
		}
		out = append(out, e)
	}
	return out, more, nil
}

// queue runs a request from the status socket on the agent's store: a
// requeued record is sent at once.
func (a *Agent) queue(req QueueRequest) QueueReply {
	r := QueueDo(a.st, req)
	r.Held = a.drainer.Stats().Held
	if req.Op == OpQueueRequeue && r.Error == "" {
		a.drainer.Wake()
	}
	return r
}
