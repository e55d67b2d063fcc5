package socketio

import "sync/atomic"

// Stats are counters of a Client, for monitoring: how full its queues of
// incoming events are, and how often they overflowed.
type Stats struct {
	// QueuedEvents and QueuedBytes are the events waiting for (or running)
	// their handlers on the dispatcher, and their payload bytes.
	QueuedEvents int
	QueuedBytes  int64
	// DispatchQueueFull counts the connections closed with
	// ErrDispatchQueueFull since New.
	DispatchQueueFull uint64
	// PreConnectQueueFull counts the connections closed with
	// ErrPreConnectQueueFull since New.
	PreConnectQueueFull uint64
	// HandlerPanics counts the handlers and callbacks that panicked (the
	// dispatcher recovers and goes on) since New.
	HandlerPanics uint64
	// DecodeErrors counts, since New, the times arguments of an incoming
	// event did not decode into the types of a TypedEvent handler (that
	// handler was not called): once per handler, so an event with two
	// typed handlers that both fail counts twice.
	DecodeErrors uint64
}

// counters are the cumulative counts of Stats.
type counters struct {
	dispatchFull   atomic.Uint64
	preConnectFull atomic.Uint64
	handlerPanics  atomic.Uint64
	decodeErrors   atomic.Uint64
}

// Stats returns the client's counters; safe for concurrent use, also from
// handlers.
func (c *Client) Stats() Stats {
	events, bytes := c.disp.queued()
	return Stats{
		QueuedEvents:        events,
		QueuedBytes:         bytes,
		DispatchQueueFull:   c.counts.dispatchFull.Load(),
		PreConnectQueueFull: c.counts.preConnectFull.Load(),
		HandlerPanics:       c.counts.handlerPanics.Load(),
		DecodeErrors:        c.counts.decodeErrors.Load(),
	}
}

// overflow counts a queue overflow of reason err, logs it and returns err,
// which closes the connection.
func (c *Client) overflow(err error, namespace string) error {
	switch err {
	case ErrDispatchQueueFull:
		c.counts.dispatchFull.Add(1)
	case ErrPreConnectQueueFull:
		c.counts.preConnectFull.Add(1)
	}
	c.log.Warn("socketio: closing the connection: incoming events overflow their queue", "namespace", namespace, "err", err,
		"max_events", c.bounds.events, "max_bytes", c.bounds.bytes)
	return err
}
