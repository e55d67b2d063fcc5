package sensors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Read reads the named sensor now and returns its stamped readings, which
// are not passed to OnReadings. It waits for a periodic read of the same
// sensor in progress and counts in Status, but does not change the schedule.
// Errors are *Error.
func (s *Sampler) Read(ctx context.Context, name string) ([]Reading, error) {
	e, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("sensors: read %q: %w", name, ErrUnknownSensor)
	}
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, s.wrapErr(e, ctx.Err())
	}
	defer func() { <-e.sem }()
	if s.closed.Load() {
		return nil, s.wrapErr(e, ErrSamplerClosed)
	}
	return s.readLocked(ctx, e)
}

type readResult struct {
	vals []Value
	err  error
}

// readLocked reads e once (the caller holds e.sem), counts the outcome and
// stamps the values. A Read that ignores its timeout is abandoned after
// ReadGrace and marked stuck.
func (s *Sampler) readLocked(ctx context.Context, e *entry) ([]Reading, error) {
	if e.stuck != nil {
		select {
		case <-e.stuck:
			e.stuck = nil
			e.mu.Lock()
			e.isStuck = false
			e.mu.Unlock()
		default:
			err := s.wrapErr(e, &Error{Kind: KindTimeout, Err: errors.New("previous read has not returned yet")})
			s.count(e, err, time.Time{}, 0)
			return nil, err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, e.timeout())
	defer cancel()
	began := time.Now()
	done := make(chan readResult, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		v, err := safeRead(rctx, e.sensor)
		done <- readResult{v, err}
	}()
	var res readResult
	select {
	case res = <-done:
	case <-rctx.Done():
		res = s.awaitGrace(rctx, e, done, returned)
	}
	if res.err == nil {
		res.err = checkFinite(res.vals)
	}
	if res.err != nil {
		err := s.wrapErr(e, res.err)
		s.count(e, err, time.Time{}, time.Since(began))
		return nil, err
	}
	st := s.clock.Now()
	s.count(e, nil, st.Wall, time.Since(began))
	return stamp(e.name(), res.vals, st), nil
}

// awaitGrace waits ReadGrace for a Read whose context is done. If it does
// not return, e is marked stuck until it does.
func (s *Sampler) awaitGrace(rctx context.Context, e *entry, done <-chan readResult, returned chan struct{}) readResult {
	t := time.NewTimer(ReadGrace)
	defer t.Stop()
	select {
	case res := <-done:
		return res
	case <-t.C:
	}
	e.stuck = returned
	e.mu.Lock()
	e.isStuck = true
	e.mu.Unlock()
	return readResult{err: &Error{Kind: KindTimeout, Err: fmt.Errorf("read ignored its timeout: %w", rctx.Err())}}
}

// safeRead calls sensor.Read, turning a panic into an error.
func safeRead(ctx context.Context, sensor Sensor) (vals []Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			vals = nil
			err = &Error{Kind: KindOther, Err: fmt.Errorf("read of sensor %q panicked: %v", sensor.Name(), p)}
		}
	}()
	return sensor.Read(ctx)
}

// safeClose calls sensor.Close, turning a panic into an error, so that one
// driver's panic does not keep the sensors after it (outputs among them)
// from being closed.
func safeClose(sensor Sensor) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{Kind: KindOther, Err: fmt.Errorf("close of sensor %q panicked: %v", sensor.Name(), p)}
		}
	}()
	return sensor.Close()
}

// checkFinite returns a KindBadData error if a value is NaN or infinite:
// such a value cannot be sent (SenML forbids it) and would make the whole
// batch it is in unsendable.
func checkFinite(vals []Value) error {
	for _, v := range vals {
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			return &Error{Kind: KindBadData, Err: fmt.Errorf("%s is %v", v.Quantity, v.Value)}
		}
	}
	return nil
}

// count records the outcome of one read, which took took, in e's status
// and passes it to SamplerOptions.OnRead.
func (s *Sampler) count(e *entry, err error, at time.Time, took time.Duration) {
	e.mu.Lock()
	e.reads++
	if err != nil {
		e.failures++
		e.lastErr = err.Error()
	} else {
		e.lastReading = at
	}
	e.mu.Unlock()
	if s.onRead != nil {
		s.onRead(e.name(), took, err)
	}
}

// wrapErr returns err as an *Error naming e's sensor, driver and place.
// A driver's *Error is copied with the missing names filled in; a context
// deadline becomes KindTimeout; anything else is wrapped as KindOther.
func (s *Sampler) wrapErr(e *entry, err error) error {
	var se *Error
	if errors.As(err, &se) {
		c := *se
		if c.Sensor == "" {
			c.Sensor = e.name()
		}
		if c.Driver == "" {
			c.Driver = e.driver
		}
		if c.Where == "" {
			c.Where = e.where
		}
		return &c
	}
	kind := KindOther
	if errors.Is(err, context.DeadlineExceeded) {
		kind = KindTimeout
	}
	return &Error{Sensor: e.name(), Driver: e.driver, Where: e.where, Kind: kind, Err: err}
}

// stamp turns values into readings of sensor taken at st.
func stamp(sensor string, vals []Value, st Stamp) []Reading {
	rs := make([]Reading, len(vals))
	for i, v := range vals {
		rs[i] = Reading{
			Sensor:   sensor,
			Quantity: v.Quantity,
			Unit:     v.Unit,
			Value:    v.Value,
			Time:     st.Wall,
			Mono:     st.Mono,
			Boot:     st.Boot,
			Synced:   st.Synced,
		}
	}
	return rs
}
