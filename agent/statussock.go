package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// StatusRequestWait is how long the status socket waits for a request
	// line (a QueueRequest) before it answers with the Status, as it does
	// to a client that sends none or closes its side at once.
	StatusRequestWait = 500 * time.Millisecond
	// maxStatusRequest bounds one request line, in bytes.
	maxStatusRequest = 4 << 10
)

// statusServer answers each connection on the status socket with one JSON
// document and closes it: the Status, or the QueueReply to the one
// QueueRequest line the client sent first. Anyone who may connect (the
// socket's group) may thus requeue and drop dead letters.
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
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.answer(a, c)
		}()
	}
}

// answer reads the request of one connection, if any, and writes the
// reply.
func (s *statusServer) answer(a *Agent, c net.Conn) {
	defer c.Close()
	req := readStatusRequest(c)
	var reply any
	if req.Op == "" || req.Op == OpStatus {
		reply = a.Status()
	} else {
		reply = a.queue(req)
	}
	c.SetWriteDeadline(time.Now().Add(statusWriteTimeout))
	enc := json.NewEncoder(c)
	enc.SetIndent("", "  ")
	if err := enc.Encode(reply); err != nil {
		a.log.Debug("status socket write failed", "err", err)
	}
}

// readStatusRequest reads one request line within StatusRequestWait. A
// client that sends nothing, closes its side or sends a line that is not a
// QueueRequest gets the Status.
func readStatusRequest(c net.Conn) QueueRequest {
	var req QueueRequest
	c.SetReadDeadline(time.Now().Add(StatusRequestWait))
	line, err := bufio.NewReader(io.LimitReader(c, maxStatusRequest)).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return req
	}
	if line = bytes.TrimSpace(line); len(line) > 0 && json.Unmarshal(line, &req) != nil {
		return QueueRequest{}
	}
	return req
}

func (s *statusServer) close() {
	s.ln.Close() // also removes the socket file
	s.wg.Wait()
}
