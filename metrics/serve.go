package metrics

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Path is the one path the HTTP endpoint serves.
const Path = "/metrics"

// Bounds of the HTTP endpoint: a scraper that stalls is cut off, and
// Serve returns within shutdownTimeout of its context ending.
const (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = time.Minute
	maxHeaderBytes    = 8 << 10
	shutdownTimeout   = 2 * time.Second
)

// FileMode is the mode of the textfile: readable by node_exporter, which
// runs as another user.
const FileMode = 0o644

// Handler serves r at Path, for GET and HEAD; any other path is 404 and
// any other method 405.
func Handler(r *Registry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != Path {
			http.NotFound(w, req)
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var b bytes.Buffer
		if err := r.Write(&b); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		if req.Method == http.MethodGet {
			_, _ = w.Write(b.Bytes())
		}
	})
}

// Serve serves Handler(r) on ln until ctx ends, then shuts the server
// down (waiting at most shutdownTimeout for scrapes in progress) and
// returns nil; it returns the error that stopped it otherwise. It closes
// ln.
func Serve(ctx context.Context, ln net.Listener, r *Registry) error {
	srv := &http.Server{
		Handler:           Handler(r),
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
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
