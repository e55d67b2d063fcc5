package agent

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/wire"
)

// maxConcurrentCommands bounds the commands running at once; more get a
// "busy" error ack instead of piling up goroutines.
const maxConcurrentCommands = 16

// maxPendingReplies bounds the immediate answers ("busy", "agent
// stopping") waiting to be written; beyond it they are dropped (logged),
// and the server's wait for that ack times out. They never wait on the
// client's dispatcher goroutine.
const maxPendingReplies = 64

// maxCommandID is the longest command id remembered for idempotency.
const maxCommandID = 128

// BadArgs returns a *wire.CommandError with code "bad_args". Return a
// *wire.CommandError from a CommandFunc to choose the code of its error
// ack; any other error is answered with code "failed".
func BadArgs(format string, a ...any) error {
	return &wire.CommandError{Code: wire.CodeBadArgs, Message: fmt.Sprintf(format, a...)}
}

// Result is what a command answers with: Value goes into the ack's
// "result"; Binary, when not nil, travels as a binary attachment, the ack's
// second argument.
type Result struct {
	Value  any
	Binary []byte
}

// CommandFunc runs one command. args is the command's JSON argument (an
// object, or null when the server sent none); ctx ends at the per-command
// timeout or when the agent stops. It runs on its own goroutine, never on
// the connection's.
type CommandFunc func(ctx context.Context, args json.RawMessage) (Result, error)

// answer is a complete ack: the JSON object and an optional attachment.
type answer struct {
	ack    wire.Reply[any]
	binary []byte
}

func (a answer) args() []any {
	if a.binary != nil {
		return []any{a.ack, a.binary}
	}
	return []any{a.ack}
}

// dispatcher runs commands: it looks the name up, bounds concurrency,
// applies the timeout and answers repeated ids from memory.
type dispatcher struct {
	mu       sync.Mutex
	handlers map[string]CommandFunc
	timeout  time.Duration
	slots    chan struct{}
	replies  chan struct{} // slots of immediate answers being written (maxPendingReplies)
	ids      *idCache
	log      *slog.Logger
	wg       sync.WaitGroup
	replyWG  sync.WaitGroup  // immediate answers being written
	stopping bool            // guarded by mu: no command starts any more
	ctx      context.Context // ends when the agent stops
	// onAnswer, when set, sees every answer to a server's command (for
	// metrics): the name, whether a handler is registered under it, the
	// answer and the time since the command arrived.
	onAnswer func(name string, known bool, a answer, took time.Duration)
}

func newDispatcher(ctx context.Context, timeout time.Duration, remember int, log *slog.Logger) *dispatcher {
	return &dispatcher{handlers: map[string]CommandFunc{}, timeout: timeout, slots: make(chan struct{}, maxConcurrentCommands), replies: make(chan struct{}, maxPendingReplies), ids: newIDCache(remember), log: log, ctx: ctx}
}

func (d *dispatcher) handle(name string, fn CommandFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.handlers[name] = fn
}

func (d *dispatcher) lookup(name string) (CommandFunc, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn, ok := d.handlers[name]
	return fn, ok
}

// onEvent is the socket's catch-all handler. It runs on the client's
// dispatcher goroutine, so it only starts work and returns, never waiting
// to write an ack (see dispatch). Events the server sends without asking
// for an ack are not commands and are ignored.
func (d *dispatcher) onEvent(ev *socketio.Event) {
	if !ev.WantsAck() {
		return
	}
	began := time.Now()
	reply := func(a answer) {
		if d.onAnswer != nil {
			_, known := d.lookup(ev.Name)
			d.onAnswer(ev.Name, known, a, time.Since(began))
		}
		d.reply(ev, a)
	}
	if n := ev.Args.Len(); n > 1 {
		// One argument object, as the wire definitions (Strict) say.
		d.replyAsync(ev.Name, reply, errAnswer(&wire.CommandError{Code: wire.CodeBadArgs, Message: fmt.Sprintf("%d arguments; a command takes one object", n)}))
		return
	}
	var raw json.RawMessage
	if ev.Args.Len() > 0 {
		raw = ev.Args.Raw(0)
	}
	d.dispatch(ev.Name, raw, reply)
}

// dispatch is start for the client's dispatcher goroutine: it never blocks.
// An immediate answer ("busy", "agent stopping") is written by a goroutine
// of its own (at most maxPendingReplies at a time, beyond which it is
// dropped), since writing an ack may wait for a full send queue.
//
// Ordering: acks of different commands are independent (the server
// matches each to its event by id), and none is promised to leave before
// another, nor before or after the agent's own emits.
func (d *dispatcher) dispatch(name string, raw json.RawMessage, reply func(answer)) {
	if a, now := d.begin(name, raw, reply); now {
		d.replyAsync(name, reply, a)
	}
}

// replyAsync hands a to reply on a goroutine of its own, or drops it when
// maxPendingReplies are being written already.
func (d *dispatcher) replyAsync(name string, reply func(answer), a answer) {
	select {
	case d.replies <- struct{}{}:
	default:
		d.log.Info("command ack dropped: too many acks waiting to be written", "command", name, "max", maxPendingReplies)
		return
	}
	d.replyWG.Add(1)
	go func() {
		defer d.replyWG.Done()
		defer func() { <-d.replies }()
		reply(a)
	}()
}

// start runs the command name on its own goroutine and hands its answer to
// reply. With maxConcurrentCommands already running it answers "busy" at
// once, on the caller's goroutine.
func (d *dispatcher) start(name string, raw json.RawMessage, reply func(answer)) {
	if a, now := d.begin(name, raw, reply); now {
		reply(a)
	}
}

// begin runs the command name on its own goroutine, which hands its answer
// to reply, and returns false; or, when the agent stops or
// maxConcurrentCommands are running already, returns the answer to send at
// once ("agent stopping", "busy") and true.
func (d *dispatcher) begin(name string, raw json.RawMessage, reply func(answer)) (answer, bool) {
	id, idErr := commandID(raw)
	d.mu.Lock()
	if d.stopping {
		d.mu.Unlock()
		return errAnswer(errStopping()), true
	}
	d.wg.Add(1) // under mu: close cannot be between the check and the Add
	d.mu.Unlock()
	select {
	case d.slots <- struct{}{}:
	default:
		d.wg.Done()
		return errAnswer(&wire.CommandError{Code: wire.CodeBusy, Message: fmt.Sprintf("more than %d commands running", maxConcurrentCommands)}), true
	}
	release := func() { <-d.slots }
	go func() {
		defer d.wg.Done()
		if idErr != nil {
			release()
			reply(errAnswer(&wire.CommandError{Code: wire.CodeBadArgs, Message: idErr.Error()}))
			return
		}
		reply(d.run(name, id, raw, release))
	}()
	return answer{}, false
}

// run answers one command, running it at most once per (name, id). The
// slot (release) is held until the command's function has returned, even
// if the answer was a timeout, so functions that ignore their context
// cannot pile up beyond maxConcurrentCommands.
func (d *dispatcher) run(name, id string, raw json.RawMessage, release func()) answer {
	if id == "" {
		p := newPending()
		d.launch(name, raw, release, p, nil)
		return d.await(name, p)
	}
	e, first := d.ids.claim(name, id)
	if !first {
		defer release()
		return d.await(name, e.pending)
	}
	d.launch(name, raw, release, e.pending, e)
	return d.await(name, e.pending)
}

// pending is one command's outcome; done is closed once answer is set.
type pending struct {
	done   chan struct{}
	answer answer
}

func newPending() *pending { return &pending{done: make(chan struct{})} }

// launch runs the command's function on its own goroutine with the
// command timeout. When it returns, its answer is recorded (in e, if the
// command has an id), release is called and done is closed. A timeout
// answer is not remembered for the id: the function gave up, so a retry
// runs it again.
func (d *dispatcher) launch(name string, raw json.RawMessage, release func(), c *pending, e *idEntry) {
	fn, ok := d.lookup(name)
	if !ok {
		c.answer = errAnswer(&wire.CommandError{Code: wire.CodeUnknownCommand, Message: fmt.Sprintf("unknown command %q", name)})
		d.finish(c, e, release)
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.finish(c, e, release)
		c.answer = d.exec(name, fn, raw)
	}()
}

func (d *dispatcher) finish(c *pending, e *idEntry, release func()) {
	if e != nil && c.answer.ack.Error != nil && c.answer.ack.Error.Code == wire.CodeTimeout {
		d.ids.forget(e)
	}
	close(c.done)
	if e != nil {
		d.ids.finished(e)
	}
	release()
}

// await waits for a call's answer, at most the command timeout: a function
// still running then is answered with a timeout while it goes on.
func (d *dispatcher) await(name string, c *pending) answer {
	t := time.NewTimer(d.timeout)
	defer t.Stop()
	select {
	case <-c.done:
		return c.answer
	case <-t.C:
		return errAnswer(&wire.CommandError{Code: wire.CodeTimeout, Message: fmt.Sprintf("command %q did not finish within %s", name, d.timeout)})
	case <-d.ctx.Done():
		return errAnswer(errStopping())
	}
}

// exec calls fn with the timeout and turns its outcome into an answer; a
// panic, in fn or in encoding its result, and a result that cannot be
// encoded become a "failed" answer.
func (d *dispatcher) exec(name string, fn CommandFunc, raw json.RawMessage) (a answer) {
	ctx, cancel := context.WithTimeout(d.ctx, d.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			d.log.Error("command panicked", "command", name, "panic", p)
			a = errAnswer(&wire.CommandError{Code: wire.CodeFailed, Message: fmt.Sprintf("command %q failed", name)})
		}
	}()
	res, err := fn(ctx, raw)
	switch {
	case err != nil && d.ctx.Err() != nil:
		return errAnswer(errStopping())
	case err != nil:
		return errAnswer(asCommandError(err, ctx))
	}
	// Encoded here, where a panic in a MarshalJSON is recovered, rather
	// than only when the ack is sent, where it would end the process.
	if _, err := json.Marshal(res.Value); err != nil {
		d.log.Error("command result cannot be encoded", "command", name, "err", err)
		return errAnswer(&wire.CommandError{Code: wire.CodeFailed, Message: fmt.Sprintf("command %q: its result cannot be encoded", name)})
	}
	return answer{ack: wire.Reply[any]{OK: true, Result: res.Value}, binary: res.Binary}
}

func asCommandError(err error, ctx context.Context) *wire.CommandError {
	var ce *wire.CommandError
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return &wire.CommandError{Code: wire.CodeTimeout, Message: err.Error()}
	}
	return &wire.CommandError{Code: wire.CodeFailed, Message: err.Error()}
}

// errStopping is the error of a command cut short because the agent stops.
func errStopping() *wire.CommandError {
	return &wire.CommandError{Code: wire.CodeFailed, Message: "agent stopping"}
}

func errAnswer(e *wire.CommandError) answer { return answer{ack: wire.Reply[any]{Error: e}} }

func (d *dispatcher) reply(ev *socketio.Event, a answer) {
	if err := ev.Ack(a.args()...); err != nil {
		d.log.Info("command ack not sent", "command", ev.Name, "err", err)
	}
}

// wait waits for running commands to finish, and for the immediate
// answers being written.
func (d *dispatcher) wait() {
	d.wg.Wait()
	d.replyWG.Wait()
}

// close stops new commands (they are answered "agent stopping") and waits
// up to grace for the running ones. It reports whether they all finished;
// functions that ignore their context may go on after it returns.
func (d *dispatcher) close(grace time.Duration) bool {
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// commandID returns the "id" member of a command's argument object, if any.
func commandID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return "", nil
	}
	var v struct {
		ID *json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.ID == nil {
		return "", nil
	}
	var id string
	if err := json.Unmarshal(*v.ID, &id); err != nil {
		return "", errors.New(`"id" must be a string`)
	}
	if len(id) > maxCommandID {
		return "", fmt.Errorf(`"id" longer than %d bytes`, maxCommandID)
	}
	return id, nil
}

// decodeArgs decodes a command's argument object strictly into v: no
// argument and null are the empty object; anything but an object, and
// members v does not have, are bad_args (wire.CommandID gives every
// built-in's arguments the "id" member).
func decodeArgs(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	if raw[0] != '{' {
		return BadArgs("arguments must be a JSON object")
	}
	if err := socketio.NewArgs([]json.RawMessage{raw}, nil).Strict().Decode(0, v); err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner // the JSON error, without "argument 0"
		}
		return BadArgs("arguments: %v", err)
	}
	return nil
}

// idCache remembers the answers of the most recent command ids. Entries
// of commands still running are never evicted, so the cache may hold up to
// maxConcurrentCommands more than its bound for a while.
type idCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *idEntry, oldest first
	byKey map[idKey]*list.Element
}

// idKey identifies a command for idempotency: its name and id.
type idKey struct{ name, id string }

type idEntry struct {
	key     idKey
	pending *pending
	running bool // guarded by idCache.mu
}

func newIDCache(max int) *idCache {
	return &idCache{max: max, order: list.New(), byKey: map[idKey]*list.Element{}}
}

// claim returns the entry of (name, id) and whether the caller is the first
// to claim it (and so must launch the command with it).
func (c *idCache) claim(name, id string) (*idEntry, bool) {
	key := idKey{name, id}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		return el.Value.(*idEntry), false
	}
	e := &idEntry{key: key, pending: newPending(), running: true}
	c.byKey[key] = c.order.PushBack(e)
	c.evictLocked()
	return e, true
}

// finished marks e's command as done, so it may be evicted.
func (c *idCache) finished(e *idEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.running = false
	c.evictLocked()
}

// forget removes e, so the next command with its id runs again.
func (c *idCache) forget(e *idEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[e.key]; ok && el.Value == e {
		c.order.Remove(el)
		delete(c.byKey, e.key)
	}
}

// evictLocked drops the oldest finished entries beyond the bound.
func (c *idCache) evictLocked() {
	for el := c.order.Front(); el != nil && c.order.Len() > c.max; {
		next := el.Next()
		if e := el.Value.(*idEntry); !e.running {
			c.order.Remove(el)
			delete(c.byKey, e.key)
		}
		el = next
	}
}
