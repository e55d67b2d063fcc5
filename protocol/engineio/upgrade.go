package engineio

import (
	"context"
	"fmt"
)

// handover coordinates the upgrade of a polling session to WebSocket, as
// the reference client does it: once the probe succeeded, the polling
// transport is paused (no new GET or POST; the ones in flight complete),
// then reader and writer switch to the WebSocket, and the writer sends the
// upgrade packet before anything else.
//
// The upgrade goroutine closes pause; the reader closes readerPaused after
// handling the last GET's packets, the writer closes writerPaused between
// two POSTs; the upgrade goroutine then sets next and closes resumed.
// Everything the reader handled from polling therefore comes before the
// first WebSocket message, and the writer's outbox, which keeps what it had
// not written yet, goes out on the WebSocket in order.
type handover struct {
	from         transport // the polling transport
	pause        chan struct{}
	readerPaused chan struct{}
	writerPaused chan struct{}
	resumed      chan struct{}
	next         transport // set before resumed is closed
}

func newHandover(from transport) *handover {
	return &handover{
		from:         from,
		pause:        make(chan struct{}),
		readerPaused: make(chan struct{}),
		writerPaused: make(chan struct{}),
		resumed:      make(chan struct{}),
	}
}

// pauseRequested reports whether the probe succeeded and polling must
// pause.
func (h *handover) pauseRequested() bool {
	select {
	case <-h.pause:
		return true
	default:
		return false
	}
}

// pauseReader reports that the reader has stopped polling and returns the
// transport to go on with, or nil when the session ended meanwhile.
func (h *handover) pauseReader(done <-chan struct{}) transport {
	close(h.readerPaused)
	return h.await(done)
}

// pauseWriter is pauseReader for the writer.
func (h *handover) pauseWriter(done <-chan struct{}) transport {
	close(h.writerPaused)
	return h.await(done)
}

func (h *handover) await(done <-chan struct{}) transport {
	select {
	case <-h.resumed:
		return h.next
	case <-done:
		return nil
	}
}

// upgrade is the upgrade goroutine: it probes a WebSocket with the
// session's sid and, if the server answers the probe, moves the session
// onto it. A failed probe leaves the session on polling.
func (s *Session) upgrade() {
	defer s.wg.Done()
	ws, err := s.probe()
	if err == nil && !s.handOver(ws) {
		return
	}
	select {
	case <-s.done:
		return // a probe cut short by the end of the session is no news
	default:
	}
	if s.opts.OnUpgrade != nil {
		s.opts.OnUpgrade(TransportWebSocket, err)
	}
}

// probe opens the WebSocket and exchanges 2probe and 3probe on it, within
// Options.HandshakeTimeout. On success the WebSocket is tracked by the
// session; on failure it is closed.
func (s *Session) probe() (*wsTransport, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.HandshakeTimeout)
	defer cancel()
	ws, err := s.dialWebSocket(ctx, s.handshake.SID)
	if err != nil {
		return nil, fmt.Errorf("engineio: upgrade probe: %w", err)
	}
	if !s.track(ws) {
		return nil, ErrClosed
	}
	if err := ws.probe(ctx); err != nil {
		s.untrack(ws)
		return nil, fmt.Errorf("engineio: upgrade probe: %w", err)
	}
	return ws, nil
}

// handOver pauses polling, switches reader and writer to ws and closes the
// polling transport. It reports false if the session ended meanwhile.
func (s *Session) handOver(ws transport) bool {
	h := s.up
	close(h.pause)
	for _, paused := range []chan struct{}{h.readerPaused, h.writerPaused} {
		select {
		case <-paused:
		case <-s.done:
			return false
		}
	}
	h.next = ws
	s.deflate.Store(deflates(ws))
	s.polling.Store(false)
	close(h.resumed)
	s.untrack(h.from) // no request is in flight: release its connections
	return true
}
