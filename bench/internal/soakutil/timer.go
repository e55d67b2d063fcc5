package soakutil

import "time"

// Timer is a time.Timer that may be disabled (a zero or negative duration
// never fires).
type Timer struct{ t *time.Timer }

// NewTimer returns a Timer that fires after d, or never if d <= 0.
func NewTimer(d time.Duration) *Timer {
	if d <= 0 {
		return &Timer{}
	}
	return &Timer{t: time.NewTimer(d)}
}

// C returns the timer's channel, or nil (blocks forever) when disabled.
func (t *Timer) C() <-chan time.Time {
	if t.t == nil {
		return nil
	}
	return t.t.C
}

// Reset restarts the timer with d; it does nothing if the timer is
// disabled or d is not positive.
func (t *Timer) Reset(d time.Duration) {
	if t.t != nil && d > 0 {
		t.t.Reset(d)
	}
}

// Stop stops the timer.
func (t *Timer) Stop() {
	if t.t != nil {
		t.t.Stop()
	}
}
