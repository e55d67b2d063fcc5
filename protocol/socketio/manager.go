package socketio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// ErrReconnectFailed is the reason sockets disconnect when
// Options.ReconnectAttempts attempts in a row have failed.
var ErrReconnectFailed = errors.New("socketio: reconnection failed")

// run is the manager goroutine. Whenever a socket wants to be connected it
// opens an Engine.IO session, connects the sockets on it, and when the
// session ends, reconnects with backoff. It exits when Close is called.
func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	for c.waitActive(ctx) {
		sess, err := c.open(ctx)
		if err == nil {
			up := time.Now()
			err = c.serve(ctx, sess)
			if time.Since(up) >= c.opts.StableAfter {
				c.reconnect.Reset()
			}
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errIdle):
			continue // no socket wants the session: wait for one, no backoff
		case !c.retry(ctx, err):
			return
		}
	}
}

// errIdle ends a session that no socket needs any more.
var errIdle = errors.New("socketio: no namespace left")

// errClientClosed is the disconnect reason when Client.Close is called.
var errClientClosed = fmt.Errorf("%w (%w)", ErrClientDisconnect, ErrClosed)

// waitActive blocks until some socket wants to be connected; false once
// the client is closing.
func (c *Client) waitActive(ctx context.Context) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		if c.anyActive() {
			return true
		}
		select {
		case <-c.wake:
		case <-ctx.Done():
			return false
		}
	}
}

func (c *Client) anyActive() bool {
	for _, s := range c.allSockets() {
		if s.isActive() {
			return true
		}
	}
	return false
}

// open opens one Engine.IO session.
func (c *Client) open(ctx context.Context) (*engineio.Session, error) {
	c.setLink(State{Kind: StateConnecting, Attempt: c.tries})
	c.status(Status{Kind: StatusConnecting, Attempt: c.tries})
	c.mu.Lock()
	c.decoder.Reset()
	c.mu.Unlock()
	eopts := c.opts.Engine
	eopts.OnMessage = c.onMessage
	sess, err := engineio.Dial(ctx, c.url, &eopts)
	if err == nil {
		c.setLink(State{}) // no reconnection under way
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failures++
		c.lastErr = err
		c.log.Debug("socketio: connection attempt failed", "err", err)
		c.status(Status{Kind: StatusOpenFailed, Err: err})
		return nil, err
	}
	c.lastErr, c.failures, c.tries = nil, 0, 0
	c.sess = sess
	c.log.Debug("socketio: session open", "transport", sess.Transport())
	c.status(Status{Kind: StatusOpen, Transport: sess.Transport()})
	return sess, nil
}

// serve connects the active sockets on sess, and those that become active
// later, until the session ends or the client closes; it returns why the
// session ended.
func (c *Client) serve(ctx context.Context, sess *engineio.Session) error {
	c.connectSockets(ctx, sess)
	idle := false
loop:
	for {
		select {
		case <-c.wake:
			c.connectSockets(ctx, sess)
			if idle = !c.anyActive(); idle {
				break loop // like the reference Manager: no namespace, no session
			}
		case <-sess.Done():
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	sess.Close() // flushes when closing; otherwise waits for the reader and writer to exit
	reason := sess.Err()
	switch {
	case ctx.Err() != nil:
		reason = errClientClosed
	case idle:
		reason = errIdle
	}
	c.log.Debug("socketio: session ended", "reason", Reason(reason))
	c.mu.Lock()
	c.sess = nil
	sockets := c.socketList()
	c.mu.Unlock()
	for _, s := range sockets {
		s.onSessionEnd(sess, reason)
	}
	return reason
}

// connectSockets does the socket work that must not run on the session's
// reader: CONNECT for every socket that wants to connect and has not sent
// it on sess yet, the flush of the send buffers of sockets that just
// connected, and DISCONNECT for namespaces connected after their socket
// gave up.
func (c *Client) connectSockets(ctx context.Context, sess *engineio.Session) {
	for _, s := range c.allSockets() {
		s.sayGoodbye(sess) // before a new CONNECT for the same namespace
		s.sendConnect(ctx, sess)
		s.flush(ctx, sess)
	}
}

// retry waits before the next attempt after err, or gives up; false once
// the client is closing.
func (c *Client) retry(ctx context.Context, err error) bool {
	switch {
	case !c.anyActive():
		return true // e.g. the server disconnected every namespace: nothing to reconnect
	case c.opts.NoReconnect:
		c.deactivateWaiting(err)
		return true
	}
	if n := c.opts.ReconnectAttempts; n > 0 && c.failureCount() >= n {
		c.setLink(State{}) // given up
		c.status(Status{Kind: StatusReconnectFailed, Err: err})
		c.deactivateWaiting(fmt.Errorf("%w after %d attempts: %w", ErrReconnectFailed, n, err))
		c.reconnect.Reset()
		c.mu.Lock()
		c.failures, c.tries = 0, 0
		c.mu.Unlock()
		return true
	}
	d := c.reconnect.Next()
	c.tries++
	c.setLink(State{Kind: StateReconnecting, Attempt: c.tries, Delay: d, Err: err})
	c.status(Status{Kind: StatusReconnecting, Attempt: c.tries, Delay: d, Err: err})
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		// The next attempt starts as soon as a socket wants it.
		c.setLink(State{Kind: StateConnecting, Attempt: c.tries})
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Client) failureCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failures
}

// deactivateWaiting gives up on every socket that wants to connect.
func (c *Client) deactivateWaiting(reason error) {
	for _, s := range c.allSockets() {
		s.deactivate(reason)
	}
}
