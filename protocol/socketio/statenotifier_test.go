package socketio

import (
	"errors"
	"testing"
	"time"
)

// sliceError is an error whose values cannot be compared with ==.
type sliceError []string

func (e sliceError) Error() string { return "slice error" }

func isClosedCh(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// The state holder closes Changed once per change and never for a state
// equal to the current one; up is closed exactly while connected.
func TestStateNotifierClosesOncePerChange(t *testing.T) {
	h := newStateNotifier()
	st0 := h.get()
	h.set(State{}) // the same: no change
	if isClosedCh(st0.Changed) {
		t.Fatal("Changed closed by a state equal to the current one")
	}
	reason := errors.New("down")
	steps := []State{
		{Kind: StateConnecting},
		{Kind: StateConnected, Recovered: true},
		{Kind: StateConnecting, Err: reason},
		{Kind: StateReconnecting, Attempt: 1, Delay: time.Second, Err: reason},
		{Kind: StateReconnecting, Attempt: 2, Delay: time.Second, Err: reason},
		{Kind: StateDisconnected, Err: reason},
	}
	prev := st0
	var upWhileConnected <-chan struct{}
	for i, want := range steps {
		h.set(want)
		h.set(want) // again: no second close (it would panic), no new channel
		st := h.get()
		if !sameState(st, want) || !isClosedCh(prev.Changed) || isClosedCh(st.Changed) {
			t.Fatalf("step %d: %+v (old Changed closed %v, new closed %v)", i, st, isClosedCh(prev.Changed), isClosedCh(st.Changed))
		}
		if connected := want.Kind == StateConnected; isClosedCh(h.up) != connected {
			t.Fatalf("step %d: %v with up closed %v", i, want.Kind, isClosedCh(h.up))
		}
		if want.Kind == StateConnected {
			upWhileConnected = h.up
		}
		prev = st
	}
	if !isClosedCh(upWhileConnected) {
		t.Fatal("the channel of the connection was reopened")
	}
	// An error that == cannot compare (it would panic) is another error
	// each time: a change, never a panic.
	h.set(State{Kind: StateDisconnected, Err: sliceError{"a"}})
	h.set(State{Kind: StateDisconnected, Err: sliceError{"a"}})
	if _, ok := h.get().Err.(sliceError); !ok || !isClosedCh(prev.Changed) {
		t.Fatalf("after uncomparable errors: %+v", h.get())
	}
}
