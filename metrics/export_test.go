package metrics

import (
	"bufio"
	"net"
	"time"
)

// ServeConn is serveConn with the request timeout given, for tests.
func ServeConn(c net.Conn, r *Registry, timeout time.Duration) { serveConn(c, r, timeout) }

// ReadRequest is readRequest, for tests.
func ReadRequest(br *bufio.Reader) (method, path string, err error) { return readRequest(br) }

// MaxRequestBytes and MaxConns are the endpoint's bounds, for tests.
const (
	MaxRequestBytes = maxRequestBytes
	MaxConns        = maxConns
	RequestTimeout  = requestTimeout
)
