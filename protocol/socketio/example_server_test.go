package socketio_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/sioagent/sioagent/internal/nodeserver"
)

// The examples that run (those with an Output comment) talk to the
// example Node server of examples/server, started at the first
// exampleServerURL and stopped by TestMain after every test and example,
// before the goroutine leak check.
var exampleServer struct {
	once sync.Once
	srv  *nodeserver.Server
	err  error
}

// exampleServerURL returns the URL of the shared example server, with
// connection state recovery on. Examples cannot fail through a testing.T:
// a server that does not start panics, which fails the example.
func exampleServerURL() string {
	exampleServer.once.Do(func() {
		exampleServer.srv, exampleServer.err = nodeserver.Launch(nodeserver.Options{Recovery: true}, nil)
	})
	if exampleServer.err != nil {
		panic(fmt.Sprintf("example server: %v", exampleServer.err))
	}
	return exampleServer.srv.URL()
}

// stopExampleServer stops the example server if an example started it.
func stopExampleServer() {
	if exampleServer.srv != nil {
		exampleServer.srv.Stop()
	}
}

// stopsExampleServer is m, with the example server stopped once m.Run
// returns, so that goleak.VerifyTestMain does not see its goroutines.
type stopsExampleServer struct{ m *testing.M }

func (s stopsExampleServer) Run() int {
	defer stopExampleServer()
	return s.m.Run()
}
