package socketio_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"

	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/internal/testtls"
	"github.com/sioagent/sioagent/protocol/engineio"
	"github.com/sioagent/sioagent/protocol/socketio"
)

func TestTLSWithCustomCAAndClientCert(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	ca := testtls.NewCA(t, "sioagent test CA")
	addr := testtls.StartProxy(t, ca.Issue(t, "127.0.0.1"), ca, fmt.Sprintf("127.0.0.1:%d", srv.Port())).Addr
	good := &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{ca.Issue(t, "client")}}
	for _, scheme := range []string{"https", "wss"} {
		c := newClient(t, scheme+"://"+addr, &socketio.Options{Engine: engineio.Options{TLSConfig: good}})
		s := c.Socket("/", nil)
		if err := s.Connect(ctxT(t)); err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		reply, err := s.EmitWithAck(ctxT(t), "echo", "over tls")
		if err != nil {
			t.Fatal(err)
		}
		jsonEq(t, reply.Raw(0), `"over tls"`)
		c.Close()
	}
	// Without the CA the server certificate is not trusted.
	c := newClient(t, "https://"+addr, &socketio.Options{NoReconnect: true, Engine: engineio.Options{TLSConfig: &tls.Config{Certificates: good.Certificates}}})
	err := c.Socket("/", nil).Connect(ctxT(t))
	var te *engineio.TransportError
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &te) || !errors.As(err, &unknown) {
		t.Fatalf("untrusted server: %v", err)
	}
}
