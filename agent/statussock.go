package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// StatusSocketName is the file name of the status socket in the runtime
// directory.
const StatusSocketName = "status.sock"

// Limits of the status socket.
const (
	statusWriteTimeout = 2 * time.Second
	statusSocketMode   = 0o660
)

// statusServer answers each connection on the status socket with one JSON
// Status and closes it.
type statusServer struct {
	ln   net.Listener
	path string
	wg   sync.WaitGroup
}

// StatusSocketPath returns the status socket of a runtime directory.
func StatusSocketPath(runtimeDir string) string {
	return filepath.Join(runtimeDir, StatusSocketName)
}

func (a *Agent) serveStatus() (*statusServer, error) {
	dir := a.cfg.Agent.RuntimeDir
	if dir == "" {
		return nil, errors.New("no runtime directory")
	}
	path := StatusSocketPath(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	// A socket left by a process that died is in the way and is removed;
	// one that answers belongs to another agent (with another outbox but
	// the same runtime directory) and is left alone.
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", path, statusWriteTimeout); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another agent answers there", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, statusSocketMode); err != nil {
		ln.Close()
		return nil, err
	}
	s := &statusServer{ln: ln, path: path}
	s.wg.Add(1)
	go s.serve(a)
	return s, nil
}

func (s *statusServer) serve(a *Agent) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		c.SetWriteDeadline(time.Now().Add(statusWriteTimeout))
		enc := json.NewEncoder(c)
		enc.SetIndent("", "  ")
		if err := enc.Encode(a.Status()); err != nil {
			a.log.Debug("status socket write failed", "err", err)
		}
		c.Close()
	}
}

func (s *statusServer) close() {
	s.ln.Close() // also removes the socket file
	s.wg.Wait()
}
