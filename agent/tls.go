package agent

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"

	"github.com/sioagent/sioagent/config"
)

// tlsConfig returns the client's TLS configuration for [server]'s ca_file,
// cert_file and key_file, or nil when none is set. The files are read now,
// so that a bad one fails at start naming its key, and again at every TLS
// handshake (every connection and reconnection), so that a rotated
// certificate or CA bundle is used from the next connection on, without a
// restart. A file that cannot be read or parsed at a handshake (a rotation
// half written) is logged and the last good one is used.
func tlsConfig(s config.Server, log *slog.Logger) (*tls.Config, error) {
	if s.CAFile == "" && s.CertFile == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		roots := &reloading[*x509.CertPool]{path: s.CAFile, load: loadCA, log: log}
		if err := roots.reload(); err != nil {
			return nil, &ConfigError{Key: "server.ca_file", Err: err}
		}
		// The standard verification, against the CA bundle as it is now:
		// crypto/tls's documented way to customise it.
		u, err := url.Parse(s.URL)
		if err != nil || u.Hostname() == "" {
			return nil, &ConfigError{Key: "server.url", Err: fmt.Errorf("no host to verify the server certificate against in %q", s.URL)}
		}
		host := u.Hostname() // the one server the client dials (through a proxy too)
		conf.InsecureSkipVerify = true
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyServer(cs, host, roots.get())
		}
	}
	if s.CertFile != "" {
		pair := &reloading[*tls.Certificate]{path: s.CertFile, load: func(string) (*tls.Certificate, error) {
			cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
			return &cert, err
		}, log: log}
		if err := pair.reload(); err != nil {
			return nil, &ConfigError{Key: "server.cert_file", Err: err}
		}
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return pair.get(), nil
		}
	}
	return conf, nil
}

// reloading is a value read from a file at every use, falling back to the
// last good one.
type reloading[T any] struct {
	path string
	load func(path string) (T, error)
	log  *slog.Logger

	mu   sync.Mutex
	last T
}

// reload reads the file; on success its value becomes the last good one.
func (r *reloading[T]) reload() error {
	v, err := r.load(r.path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.last = v
	r.mu.Unlock()
	return nil
}

// get reloads the file and returns its value, or the last good value when
// the file cannot be read now.
func (r *reloading[T]) get() T {
	if err := r.reload(); err != nil {
		r.log.Warn("TLS file unreadable; using the last good one", "file", r.path, "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// loadCA reads a PEM bundle of CA certificates.
func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}

// verifyServer verifies the server's chain against roots and its name
// against host (a name or an IP address), as crypto/tls does by default.
func verifyServer(cs tls.ConnectionState, host string, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return err
}
