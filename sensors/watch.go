package sensors

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// watch runs w.Watch until ctx is done, restarting it with backoff when it
// fails or panics.
func (s *Sampler) watch(ctx context.Context, e *entry, w Watcher) {
	emit := func(vals []Value) {
		// An event of a watcher still running while Run stops is handed
		// over, up to closeAll; one later (after Run returned) is not.
		if len(vals) == 0 || s.closed.Load() {
			return
		}
		if err := checkFinite(vals); err != nil {
			s.log.Warn("sensor event dropped", "sensor", e.name(), "err", s.wrapErr(e, err))
			return
		}
		st := s.clock.Now()
		e.mu.Lock()
		e.events++
		e.mu.Unlock()
		s.onReadings(stamp(e.name(), vals, st), true)
	}
	for n := 1; ; n++ {
		began := time.Now()
		err := safeWatch(ctx, w, emit)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) >= s.maxBackoff {
			n = 1 // it ran well for a long time: start the backoff afresh
		}
		delay := retryDelay(s.minBackoff, s.maxBackoff, n, s.jitter())
		s.log.Warn("sensor watch stopped; restarting", "sensor", e.name(), "err", s.wrapErr(e, err), "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// safeWatch calls w.Watch, turning a panic into an error.
func safeWatch(ctx context.Context, w Watcher, emit func([]Value)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{Kind: KindOther, Err: fmt.Errorf("watch of sensor %q panicked: %v", w.Name(), p)}
		}
	}()
	err = w.Watch(ctx, emit)
	if err == nil {
		err = errors.New("watch returned early")
	}
	return err
}
