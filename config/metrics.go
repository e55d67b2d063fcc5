package config

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults and bounds of the [metrics] section.
const (
	// DefaultMetricsInterval is how often the textfile is rewritten: once
	// a minute, node_exporter's usual scrape interval or longer, which
	// keeps the flash writes to a few kilobytes a minute.
	DefaultMetricsInterval = time.Minute
	// MinMetricsInterval and MaxMetricsInterval bound [metrics] interval.
	MinMetricsInterval = time.Second
	MaxMetricsInterval = time.Hour
)

// Metrics is the [metrics] section: where the agent's Prometheus metrics
// go. Both outputs are off by default.
type Metrics struct {
	// Listen is the host:port of the HTTP endpoint (/metrics); empty (the
	// default) serves none. A host that is not a loopback address is the
	// operator's explicit choice: the endpoint has no authentication.
	Listen string
	// Textfile is the path of a file rewritten every Interval in the text
	// format, for node_exporter's textfile collector; empty (the default)
	// writes none. It must end in ".prom", which the collector reads.
	Textfile string
	// Interval is how often Textfile is rewritten; default
	// DefaultMetricsInterval.
	Interval time.Duration
}

var (
	metricsKeys     = []string{"listen", "textfile", "interval"}
	metricsInterval = DurationRange{Min: MinMetricsInterval, Max: MaxMetricsInterval}
)

// metricsKey parses one key of [metrics]; unknown keys are left to the
// caller.
func (p *parser) metricsKey(m *Metrics, k, key string, v any) *Error {
	var err *Error
	switch k {
	case "listen":
		m.Listen, err = p.listenAddr(key, v)
	case "textfile":
		m.Textfile, err = p.textfile(key, v)
	case "interval":
		m.Interval, err = p.duration(key, v, metricsInterval)
	}
	return err
}

// listenAddr decodes a host:port to listen on, with an explicit host and
// a port from 1 to 65535.
func (p *parser) listenAddr(key string, v any) (string, *Error) {
	s, err := p.nonEmpty(key, v)
	if err != nil {
		return "", err
	}
	host, port, perr := net.SplitHostPort(s)
	if perr != nil {
		return "", p.errf(key, "%q is not host:port, e.g. \"127.0.0.1:9464\"", s)
	}
	if host == "" {
		return "", p.errf(key, "%q has no host; say \"127.0.0.1:%s\" for this machine only, or \"0.0.0.0:%s\" to serve every network", s, port, port)
	}
	if n, e := strconv.Atoi(port); e != nil || n < 1 || n > 65535 {
		return "", p.errf(key, "%q: the port must be a number from 1 to 65535", s)
	}
	return s, nil
}

// textfile decodes [metrics] textfile: an absolute path ending in .prom.
func (p *parser) textfile(key string, v any) (string, *Error) {
	s, err := p.nonEmpty(key, v)
	if err != nil {
		return "", err
	}
	if !filepath.IsAbs(s) {
		return "", p.errf(key, "%q is not an absolute path", s)
	}
	if !strings.HasSuffix(s, ".prom") || filepath.Base(s) == ".prom" {
		return "", p.errf(key, "%q does not end in a name and \".prom\"; node_exporter's textfile collector reads only *.prom files", s)
	}
	return filepath.Clean(s), nil
}
