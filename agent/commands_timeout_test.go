package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/sioagent/sioagent/wire"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A command whose function ignores its context and outlives the timeout:
// the caller gets "timeout", but a retry with the same id does not run it
// a second time; it gets the real answer once the function returns.
func TestTimedOutCommandRunsOnce(t *testing.T) {
	d := testDispatcher(t, 50*time.Millisecond, 8)
	var effects atomic.Int32
	d.handle("slow", func(context.Context, json.RawMessage) (Result, error) {
		time.Sleep(150 * time.Millisecond) // ignores ctx
		return Result{Value: effects.Add(1)}, nil
	})
	wantError(t, d.run("slow", "s-1", nil, noRelease), wire.CodeTimeout)
	// The function is still running: a retry waits for it (and may time
	// out again), but never starts it twice.
	deadline := time.Now().Add(5 * time.Second)
	var a answer
	for {
		a = d.run("slow", "s-1", nil, noRelease)
		if a.ack.OK || time.Now().After(deadline) {
			break
		}
		wantError(t, a, wire.CodeTimeout)
	}
	if !a.ack.OK || a.ack.Result != int32(1) {
		t.Fatalf("retry answered %+v, want the first run's result 1", a.ack)
	}
	if n := effects.Load(); n != 1 {
		t.Fatalf("the command ran %d times", n)
	}
}

// A command that honours its context and gives up is answered "timeout"
// and not remembered: a retry with the same id runs it again.
func TestHonouredTimeoutIsNotRemembered(t *testing.T) {
	d := testDispatcher(t, 30*time.Millisecond, 8)
	var runs atomic.Int32
	d.handle("gives-up", func(ctx context.Context, _ json.RawMessage) (Result, error) {
		runs.Add(1)
		<-ctx.Done()
		return Result{}, ctx.Err()
	})
	wantError(t, d.run("gives-up", "g", nil, noRelease), wire.CodeTimeout)
	d.wait() // the function has returned and the id is forgotten
	wantError(t, d.run("gives-up", "g", nil, noRelease), wire.CodeTimeout)
	if n := runs.Load(); n != 2 {
		t.Fatalf("ran %d times, want 2 (a timeout is not an answer to remember)", n)
	}
}

// Functions that ignore their context keep their slot until they return,
// so they cannot pile up beyond maxConcurrentCommands.
func TestSlotsHeldUntilFunctionsReturn(t *testing.T) {
	d := testDispatcher(t, 20*time.Millisecond, 64)
	release := make(chan struct{})
	d.handle("stuck", func(context.Context, json.RawMessage) (Result, error) {
		<-release
		return Result{}, nil
	})
	answers := make(chan answer, maxConcurrentCommands+1)
	reply := func(a answer) { answers <- a }
	for i := range maxConcurrentCommands {
		d.start("stuck", json.RawMessage(fmt.Sprintf(`{"id":"s-%d"}`, i)), reply)
	}
	for range maxConcurrentCommands {
		wantError(t, <-answers, wire.CodeTimeout)
	}
	d.start("stuck", json.RawMessage(`{"id":"one-more"}`), reply)
	wantError(t, <-answers, wire.CodeBusy)
	close(release)
	d.wait()
	d.start("stuck", json.RawMessage(`{"id":"after"}`), reply)
	if a := <-answers; !a.ack.OK {
		t.Fatalf("after the functions returned: %+v", a.ack)
	}
}

// A tiny id memory never evicts a command that is still running, so the
// same id cannot start it twice.
func TestRunningIDsAreNotEvicted(t *testing.T) {
	d := testDispatcher(t, testCommandTimeout, 1)
	var runs sync.Map
	gate := make(chan struct{})
	d.handle("work", func(_ context.Context, raw json.RawMessage) (Result, error) {
		id, _ := commandID(raw)
		n, _ := runs.LoadOrStore(id, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		<-gate
		return Result{Value: id}, nil
	})
	var wg sync.WaitGroup
	for _, id := range []string{"A", "B", "A", "B", "A"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.run("work", id, json.RawMessage(`{"id":"`+id+`"}`), noRelease)
		}()
		time.Sleep(10 * time.Millisecond)
	}
	close(gate)
	wg.Wait()
	runs.Range(func(k, v any) bool {
		if n := v.(*atomic.Int32).Load(); n != 1 {
			t.Errorf("id %v ran %d times with remember_ids = 1", k, n)
		}
		return true
	})
}

// Commands arriving while the agent stops are answered "agent stopping"
// and never race the final wait (a WaitGroup reused during Wait panics);
// close gives up on functions that ignore their context after its grace.
func TestDispatcherCloseRacesStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d := newDispatcher(ctx, testCommandTimeout, 8, slog.New(slog.DiscardHandler))
	release := make(chan struct{})
	d.handle("quick", func(context.Context, json.RawMessage) (Result, error) { return Result{Value: 1}, nil })
	d.handle("deaf", func(context.Context, json.RawMessage) (Result, error) {
		<-release
		return Result{Value: 2}, nil
	})
	answers := make(chan answer, 1000)
	reply := func(a answer) { answers <- a }
	d.start("deaf", nil, reply)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				d.start("quick", nil, reply)
			}
		}()
	}
	cancel()
	if d.close(50 * time.Millisecond) {
		t.Fatal("close reported every command done while one ignores its context")
	}
	wg.Wait()
	d.start("quick", nil, reply)
	a := <-answers
	for len(answers) > 0 {
		a = <-answers
	}
	wantError(t, a, wire.CodeFailed) // the last one came after close
	close(release)
	if !d.close(5 * time.Second) {
		t.Fatal("the deaf command did not finish after its release")
	}
}

// Ids of different commands never share a cache entry, whatever bytes
// their names and ids hold.
func TestIDKeysDoNotCollide(t *testing.T) {
	d := testDispatcher(t, testCommandTimeout, 8)
	var ran atomic.Int32
	d.handle("a", func(context.Context, json.RawMessage) (Result, error) { ran.Add(1); return Result{Value: "a"}, nil })
	wantError(t, d.run("a\x00b", "c", nil, noRelease), wire.CodeUnknownCommand)
	if a := d.run("a", "b\x00c", nil, noRelease); !a.ack.OK || ran.Load() != 1 {
		t.Fatalf("command a with id b\\x00c answered %+v (ran %d)", a.ack, ran.Load())
	}
}
