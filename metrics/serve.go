package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Path is the one path the HTTP endpoint serves.
const Path = "/metrics"

// Bounds of the HTTP endpoint. A request must arrive whole within
// requestTimeout and its head stay within maxRequestBytes; its response
// must be taken within writeTimeout; at most maxConns are served at once
// (more are closed at once). A scraper needs one connection.
const (
	requestTimeout  = 5 * time.Second
	writeTimeout    = 10 * time.Second
	maxRequestBytes = 8 << 10
	maxConns        = 4
	// acceptRetry is the pause after a failed Accept (too many open
	// files, ...) before the next one.
	acceptRetry = 100 * time.Millisecond
)

// FileMode is the mode of the textfile: readable by node_exporter, which
// runs as another user.
const FileMode = 0o644

// Serve answers HTTP requests on ln until ctx ends, then closes ln, cuts
// the responses still being written and returns nil. An Accept error
// (too many open files, ...) is retried after acceptRetry; Serve returns
// the error only when ln itself is gone.
//
// It is a minimal HTTP/1.x server, not net/http's: one request per
// connection (the response says Connection: close), GET and HEAD of Path
// only, no request body. That is all a Prometheus scraper needs, and the
// agent's binary is spared net/http's server (about 330 KB on arm64).
func Serve(ctx context.Context, ln net.Listener, r *Registry) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			_ = c.SetDeadline(time.Now()) // a stalled scraper does not hold the stop
		}
	})
	defer stop()
	defer wg.Wait()
	slots := make(chan struct{}, maxConns)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			select { // EMFILE and the like pass: try again
			case <-time.After(acceptRetry):
				continue
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case slots <- struct{}{}:
		default:
			_ = c.Close()
			continue
		}
		mu.Lock()
		conns[c] = struct{}{}
		if ctx.Err() != nil {
			_ = c.SetDeadline(time.Now())
		}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			serveConn(c, r, requestTimeout)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
		}()
	}
}

// serveConn reads one request from c (within timeout), writes the
// response and closes c.
func serveConn(c net.Conn, r *Registry, timeout time.Duration) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	method, path, err := readRequest(bufio.NewReaderSize(io.LimitReader(c, maxRequestBytes), 1024))
	_ = c.SetWriteDeadline(time.Now().Add(writeTimeout))
	var body bytes.Buffer
	status, allow := "200 OK", ""
	switch {
	case err != nil:
		status = "400 Bad Request"
		body.WriteString(err.Error() + "\n")
	case path != Path:
		status = "404 Not Found"
		body.WriteString("not found; the metrics are at " + Path + "\n")
	case method != "GET" && method != "HEAD":
		status, allow = "405 Method Not Allowed", "Allow: GET, HEAD\r\n"
		body.WriteString("method not allowed\n")
	default:
		if werr := r.Write(&body); werr != nil {
			status = "500 Internal Server Error"
			body.Reset()
			body.WriteString(werr.Error() + "\n")
		}
	}
	ctype := "text/plain; charset=utf-8"
	if status == "200 OK" {
		ctype = ContentType
	}
	head := fmt.Sprintf("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n", status, ctype, body.Len(), allow)
	w := bufio.NewWriter(c)
	_, _ = w.WriteString(head)
	if method != "HEAD" {
		_, _ = w.Write(body.Bytes())
	}
	_ = w.Flush()
}

// errBadRequest is what readRequest returns for anything but a valid
// HTTP/1.x request head.
var errBadRequest = errors.New("bad request")

// readRequest reads a request head: the request line ("GET /metrics
// HTTP/1.1"), then header lines up to the empty line, which it skips. The
// path is the target without its query; an absolute target
// ("http://host/metrics") counts by its path.
func readRequest(br *bufio.Reader) (method, path string, err error) {
	line, err := readLine(br)
	if err != nil {
		return "", "", err
	}
	parts := strings.Split(line, " ")
	if len(parts) != 3 || parts[0] == "" || !strings.HasPrefix(parts[2], "HTTP/1.") || len(parts[2]) != len("HTTP/1.1") {
		return "", "", fmt.Errorf("%w: request line %q", errBadRequest, truncate(line))
	}
	for _, c := range parts[0] {
		if c < 'A' || c > 'Z' {
			return "", "", fmt.Errorf("%w: method %q", errBadRequest, truncate(parts[0]))
		}
	}
	target := parts[1]
	if rest, ok := strings.CutPrefix(target, "http://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			target = rest[i:]
		} else {
			target = "/"
		}
	}
	if !strings.HasPrefix(target, "/") {
		return "", "", fmt.Errorf("%w: target %q", errBadRequest, truncate(target))
	}
	path, _, _ = strings.Cut(target, "?")
	for {
		h, err := readLine(br)
		if err != nil {
			return "", "", err
		}
		if h == "" {
			return parts[0], path, nil
		}
		if !strings.Contains(h, ":") {
			return "", "", fmt.Errorf("%w: header line %q", errBadRequest, truncate(h))
		}
	}
}

// readLine reads a line ending in LF (a CR before it is dropped); a head
// cut short by maxRequestBytes or the deadline is an error.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("%w: the request head is incomplete or longer than %d bytes", errBadRequest, maxRequestBytes)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	return line, nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// WriteFile writes r to path atomically, as node_exporter's textfile
// collector needs: to a temporary file in the same directory (whose name
// does not end in .prom, so the collector never reads it half written),
// made FileMode, then renamed over path. It does not fsync: the file is
// rewritten at every interval, a power cut at worst leaves an older or
// empty one, and skipping the sync spares the flash.
func WriteFile(path string, r *Registry) error {
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b.Bytes())
	if err == nil {
		err = f.Chmod(FileMode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
