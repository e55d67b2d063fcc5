package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/config"
	"github.com/sioagent/sioagent/internal/nodeserver"
	"github.com/sioagent/sioagent/internal/testtls"
)

// TestTLSFilesRereadAtReconnection: the agent reads its client
// certificate and its CA bundle again at every connection. The proxy in
// front of the server records the certificate each connection presents;
// after both files are rotated (a new client certificate, and a new CA
// that signed the proxy's new server certificate) and the link drops, the
// agent connects again with the new ones, without a restart.
func TestTLSFilesRereadAtReconnection(t *testing.T) {
	srv := nodeserver.Start(t, nodeserver.Options{})
	clients := testtls.NewCA(t, "clients")
	servers := testtls.NewCA(t, "servers 1")
	proxy := testtls.StartProxy(t, servers.Issue(t, "127.0.0.1"), clients, fmt.Sprintf("127.0.0.1:%d", srv.Port()))

	dir := t.TempDir()
	caFile, certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	servers.WriteCA(t, caFile)
	testtls.WritePair(t, clients.Issue(t, "device-cert-1"), certFile, keyFile)

	cfg := testConfig(t, strings.Replace(builtinsTOML, "http://127.0.0.1:1", "https://"+proxy.Addr, 1))
	cfg.Server.CAFile, cfg.Server.CertFile, cfg.Server.KeyFile = caFile, certFile, keyFile
	cfg.Server.ReconnectDelay, cfg.Server.ReconnectDelayMax = 50*time.Millisecond, 100*time.Millisecond
	a, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := a.sock.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if seen := proxy.Seen(); !slices.Equal(seen, []string{"device-cert-1"}) {
		t.Fatalf("client certificates presented: %v", seen)
	}

	// Rotate everything: a new client certificate, and a server
	// certificate from a new CA, which only the new CA bundle trusts.
	servers2 := testtls.NewCA(t, "servers 2")
	proxy.SetCertificate(servers2.Issue(t, "127.0.0.1"))
	servers2.WriteCA(t, caFile)
	testtls.WritePair(t, clients.Issue(t, "device-cert-2"), certFile, keyFile)
	up := a.sock.State()
	proxy.CloseAll()
	<-up.Changed // the agent saw the link drop
	if err := a.sock.WaitConnected(ctx); err != nil {
		t.Fatalf("not connected again after the rotation (presented %v): %v", proxy.Seen(), err)
	}
	if seen := proxy.Seen(); seen[len(seen)-1] != "device-cert-2" || slices.Contains(seen[1:], "device-cert-1") {
		t.Errorf("client certificates presented: %v, want the new one after the rotation", seen)
	}
}

// A bad TLS file fails at start, naming its key.
func TestTLSFilesCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		key  string
		edit func(*config.Server)
	}{
		{"server.ca_file", func(s *config.Server) { s.CAFile = filepath.Join(dir, "missing.pem") }},
		{"server.cert_file", func(s *config.Server) {
			s.CertFile, s.KeyFile = filepath.Join(dir, "missing.pem"), filepath.Join(dir, "missing.key")
		}},
	} {
		cfg := testConfig(t, builtinsTOML)
		tt.edit(&cfg.Server)
		_, err := New(Options{Config: cfg, Hardware: newFakeHardware("GPIO27", "GPIO17"), Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("%s: New = %v, want an error naming it", tt.key, err)
		}
	}
}

// verifyServer checks the chain and the name, as the default verification
// does: a certificate for another address, or from another CA, fails.
func TestVerifyServer(t *testing.T) {
	ca, other := testtls.NewCA(t, "ca"), testtls.NewCA(t, "other")
	state := func(c *testtls.CA) tls.ConnectionState {
		cert, err := x509.ParseCertificate(c.Issue(t, "127.0.0.1").Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	}
	if err := verifyServer(state(ca), "127.0.0.1", ca.Pool); err != nil {
		t.Errorf("good certificate: %v", err)
	}
	if err := verifyServer(state(ca), "10.0.0.1", ca.Pool); err == nil {
		t.Error("a certificate for 127.0.0.1 was accepted for 10.0.0.1")
	}
	if err := verifyServer(state(other), "127.0.0.1", ca.Pool); err == nil {
		t.Error("a certificate from an untrusted CA was accepted")
	}
	if err := verifyServer(tls.ConnectionState{}, "127.0.0.1", ca.Pool); err == nil {
		t.Error("no certificate was accepted")
	}
}
