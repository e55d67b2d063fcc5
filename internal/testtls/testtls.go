// Package testtls is a test helper: a throwaway certificate authority and
// a TLS-terminating TCP proxy in front of a plain server, which records
// the client certificate each connection presented and can change its
// own server certificate between connections (certificate rotation).
package testtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// validity is how long the certificates are valid either side of now.
const validity = time.Hour

// CA issues certificates for one test.
type CA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial atomic.Int64
	// Pool holds the CA certificate, for tls.Config.RootCAs or ClientCAs.
	Pool *x509.CertPool
}

// NewCA returns a new certificate authority named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-validity),
		NotAfter:              time.Now().Add(validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &CA{cert: cert, key: key, Pool: x509.NewCertPool()}
	ca.serial.Store(1)
	ca.Pool.AddCert(cert)
	return ca
}

// Issue returns a leaf certificate for 127.0.0.1 with common name cn,
// usable by servers and clients.
func (ca *CA) Issue(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-validity),
		NotAfter:     time.Now().Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// WriteCA writes the CA certificate to path as PEM, atomically (a
// temporary file renamed over it).
func (ca *CA) WriteCA(t testing.TB, path string) {
	t.Helper()
	writeAtomic(t, path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
}

// WritePair writes cert and its key as PEM to certPath and keyPath,
// atomically each.
func WritePair(t testing.TB, cert tls.Certificate, certPath, keyPath string) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	writeAtomic(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))
}

func writeAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// Proxy terminates TLS, requiring a client certificate signed by the CA
// it was started with, and forwards the plain bytes to a backend.
type Proxy struct {
	// Addr is the proxy's host:port.
	Addr string

	l      net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	cert   tls.Certificate
	conns  map[net.Conn]bool
	seen   []string      // client certificate common names, one per connection
	accept chan struct{} // a signal per handshake
}

// StartProxy starts a proxy to backend with the server certificate cert,
// requiring client certificates issued by clients; it stops at cleanup.
func StartProxy(t testing.TB, cert tls.Certificate, clients *CA, backend string) *Proxy {
	t.Helper()
	p := &Proxy{cert: cert, conns: map[net.Conn]bool{}, accept: make(chan struct{}, 100)}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			c := p.cert
			return &c, nil
		},
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  clients.Pool,
		MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.l, p.Addr = l, l.Addr().String()
	t.Cleanup(p.stop)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c.(*tls.Conn), backend)
			}()
		}
	}()
	return p
}

// SetCertificate makes later handshakes present cert.
func (p *Proxy) SetCertificate(cert tls.Certificate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cert = cert
}

// Seen returns the common names of the client certificates presented so
// far, one per connection that completed its handshake.
func (p *Proxy) Seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// Handshakes signals once per completed handshake.
func (p *Proxy) Handshakes() <-chan struct{} { return p.accept }

// CloseAll closes every open connection (the clients see the link drop).
func (p *Proxy) CloseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *Proxy) serve(c *tls.Conn, backend string) {
	defer c.Close()
	if err := c.Handshake(); err != nil {
		return
	}
	p.mu.Lock()
	if peer := c.ConnectionState().PeerCertificates; len(peer) > 0 {
		p.seen = append(p.seen, peer[0].Subject.CommonName)
	}
	p.conns[c] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	select {
	case p.accept <- struct{}{}:
	default:
	}
	b, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); done <- struct{}{} }()
	go func() { io.Copy(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	<-done
}

func (p *Proxy) stop() {
	p.l.Close()
	p.CloseAll()
	p.wg.Wait()
}
