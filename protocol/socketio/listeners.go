package socketio

import (
	"slices"
	"sync"
	"sync/atomic"
)

// listener is one registration of On, OnAny or Once.
type listener struct {
	fn     func(*Event)
	once   bool
	detach func() // takes it out of its table
	// gone is set when the registration is removed (or, for Once, when it
	// has fired): the dispatcher checks it right before each call, so a
	// removed handler never starts again, not even for events queued
	// before the removal.
	gone atomic.Bool
}

// call runs the handler for e unless it was removed; a Once handler runs
// at most once, however many of its events were queued.
func (l *listener) call(e *Event) {
	if l.once {
		if !l.gone.CompareAndSwap(false, true) {
			return
		}
		l.detach()
	} else if l.gone.Load() {
		return
	}
	l.fn(e)
}

// listeners are a socket's handler tables. They have their own lock,
// taken after Socket.mu when both are held, and never held while a
// handler runs, so handlers may add and remove handlers, themselves
// included.
type listeners struct {
	mu     sync.Mutex
	byName map[string][]*listener // no empty slices: an event without handlers has no key
	any    []*listener
}

// add registers fn for event name (every event when catchAll) and returns
// the function that removes exactly this registration.
func (t *listeners) add(name string, catchAll, once bool, fn func(*Event)) func() {
	l := &listener{fn: fn, once: once}
	l.detach = func() { t.detach(name, catchAll, l) }
	t.mu.Lock()
	if catchAll {
		t.any = append(t.any, l)
	} else {
		if t.byName == nil {
			t.byName = make(map[string][]*listener)
		}
		t.byName[name] = append(t.byName[name], l)
	}
	t.mu.Unlock()
	return func() {
		l.gone.Store(true)
		l.detach()
	}
}

// detach removes l from its table, if it is still there.
func (t *listeners) detach(name string, catchAll bool, l *listener) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if catchAll {
		t.any = without(t.any, l)
		return
	}
	if rest := without(t.byName[name], l); len(rest) > 0 {
		t.byName[name] = rest
	} else {
		delete(t.byName, name)
	}
}

// without returns list without l; nil when nothing is left, so that an
// emptied table holds no memory.
func without(list []*listener, l *listener) []*listener {
	list = slices.DeleteFunc(list, func(x *listener) bool { return x == l })
	if len(list) == 0 {
		return nil
	}
	return list
}

// off removes every handler of event name.
func (t *listeners) off(name string) {
	t.mu.Lock()
	list := t.byName[name]
	delete(t.byName, name)
	t.mu.Unlock()
	for _, l := range list {
		l.gone.Store(true)
	}
}

// offAny removes every catch-all handler.
func (t *listeners) offAny() {
	t.mu.Lock()
	list := t.any
	t.any = nil
	t.mu.Unlock()
	for _, l := range list {
		l.gone.Store(true)
	}
}

// match returns the handlers an event named name runs now: the catch-all
// ones, then the event's own, each in the order they were added.
func (t *listeners) match(name string) []*listener {
	t.mu.Lock()
	defer t.mu.Unlock()
	named := t.byName[name]
	if len(t.any)+len(named) == 0 {
		return nil
	}
	return append(slices.Clip(slices.Clone(t.any)), named...)
}

// sizes returns how many event names have handlers and how many catch-all
// handlers there are (for tests of the tables' growth).
func (t *listeners) sizes() (names, catchAll int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byName), len(t.any)
}

// On registers fn for events named event and returns a function that
// removes this registration. Handlers run on the client's dispatcher
// goroutine, one at a time, in the order events arrived; for each event
// the OnAny handlers run first, then the event's own, each in the order
// they were registered.
//
// Removal: once the returned function (or Off) has returned, fn is not
// called for any event still waiting on the dispatcher. Called from a
// handler (the dispatcher's goroutine), this is exact: fn never runs
// again. Called from another goroutine, the removal does not wait for the
// dispatcher, so a call of fn that the dispatcher had already begun (it
// checked fn was still registered) may still start or run while the
// removal returns: at most that one call. The function is idempotent and
// safe to call from any goroutine, including from fn itself. Registering
// the same fn twice makes two registrations, removed separately.
func (s *Socket) On(event string, fn func(*Event)) (remove func()) {
	return s.ls.add(event, false, false, fn)
}

// Once is On for a single event: fn runs for the first event named event
// that reaches it and is then removed (it does not run twice even if
// several such events were queued). The returned function removes it
// before that, with the same rules as On's.
func (s *Socket) Once(event string, fn func(*Event)) (remove func()) {
	return s.ls.add(event, false, true, fn)
}

// OnAny registers fn for every incoming event (a catch-all handler) and
// returns a function that removes this registration, with the same rules
// as On's.
func (s *Socket) OnAny(fn func(*Event)) (remove func()) {
	return s.ls.add("", true, false, fn)
}

// Off removes every handler registered with On or Once for event, with the
// same rules as the removal function On returns. Handlers added later are
// not affected.
func (s *Socket) Off(event string) { s.ls.off(event) }

// OffAny removes every handler registered with OnAny, with the same rules
// as the removal function On returns.
func (s *Socket) OffAny() { s.ls.offAny() }
