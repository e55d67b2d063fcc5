package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/sioagent/sioagent/wire"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// Bounds of TestImmediateAnswersNeverBlockTheDispatcher.
const (
	// replyFloodCommands is how many commands arrive while every slot is
	// taken and no ack can be written.
	replyFloodCommands = 10_000
	// replyFloodTimeout bounds the wait for the dispatcher to get through
	// them; it is a bound for a deadlock, not a timing.
	replyFloodTimeout = 20 * time.Second
	// replyFloodHeapBound is the most the live heap may grow meanwhile.
	replyFloodHeapBound = 8 << 20
	// replyFloodGoroutineSlack is the goroutines allowed besides the
	// running commands and the pending replies (test and runtime ones).
	replyFloodGoroutineSlack = 16
)

// TestImmediateAnswersNeverBlockTheDispatcher: with maxConcurrentCommands
// blocked and the connection unable to take an ack (every reply blocks, as
// behind a full send queue), 10,000 more commands get their "busy" answers
// handed off without the caller (the client's dispatcher goroutine)
// waiting for any of them; at most maxPendingReplies wait to be written,
// the rest are dropped, and goroutines and heap stay bounded. The busy
// answer used to be written on the caller's goroutine, so the first one
// blocked it.
func TestImmediateAnswersNeverBlockTheDispatcher(t *testing.T) {
	d := testDispatcher(t, testCommandTimeout, 64)
	unblock := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(unblock) }) }
	defer free()
	var entered sync.WaitGroup
	entered.Add(maxConcurrentCommands)
	d.handle("block", func(context.Context, json.RawMessage) (Result, error) {
		entered.Done()
		<-unblock
		return Result{Value: "done"}, nil
	})
	var mu sync.Mutex
	codes := map[string]int{}
	reply := func(a answer) {
		<-unblock // the send queue is full until the test frees it
		mu.Lock()
		defer mu.Unlock()
		if a.ack.Error != nil {
			codes[a.ack.Error.Code]++
		} else {
			codes["ok"]++
		}
	}
	for i := range maxConcurrentCommands {
		d.dispatch("block", json.RawMessage(fmt.Sprintf(`{"id":"b-%d"}`, i)), reply)
	}
	entered.Wait()

	runtime.GC()
	goroutines := runtime.NumGoroutine()
	heapBase := liveHeap()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range replyFloodCommands {
			d.dispatch("block", json.RawMessage(fmt.Sprintf(`{"id":"x-%d"}`, i)), reply)
		}
	}()
	select {
	case <-done:
	case <-time.After(replyFloodTimeout):
		free()
		<-done
		t.Fatalf("the dispatcher was blocked by the acks of %d busy commands", replyFloodCommands)
	}
	growth := liveHeap() - min(heapBase, liveHeap())
	extra := runtime.NumGoroutine() - goroutines
	t.Logf("%d commands while %d block and no ack can be written: %d more goroutines, heap grew by %.1f MB",
		replyFloodCommands, maxConcurrentCommands, extra, float64(growth)/(1<<20))
	if extra > maxPendingReplies+replyFloodGoroutineSlack {
		t.Errorf("%d more goroutines, bound %d pending replies", extra, maxPendingReplies)
	}
	if growth > replyFloodHeapBound {
		t.Errorf("heap grew by %d bytes, bound %d", growth, replyFloodHeapBound)
	}
	free()
	d.wait()
	mu.Lock()
	defer mu.Unlock()
	if codes["ok"] != maxConcurrentCommands || codes[wire.CodeBusy] != maxPendingReplies {
		t.Errorf("answers %v, want %d ok and %d busy (the other busy answers dropped)", codes, maxConcurrentCommands, maxPendingReplies)
	}
}

// liveHeap returns the bytes of live and unswept heap objects.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
