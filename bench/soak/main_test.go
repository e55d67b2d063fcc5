package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsDefaults(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.duration != 10*time.Minute || !slices.Equal(cfg.transports, []string{"websocket"}) ||
		cfg.cutEvery != 5*time.Second || cfg.restartEvery != time.Minute ||
		cfg.streamEvery != 20*time.Millisecond || cfg.seed == 0 {
		t.Fatalf("defaults: %+v", cfg)
	}
	if !strings.Contains(cfg.command(), "-seed ") {
		t.Fatalf("command %q does not show the seed", cfg.command())
	}
}

func TestParseFlagsTransports(t *testing.T) {
	cfg, err := parseFlags([]string{"-transport", "polling,websocket", "-seed", "7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.transports, []string{"polling", "websocket"}) || cfg.seed != 7 {
		t.Fatalf("got %+v", cfg)
	}
	for _, bad := range [][]string{
		{"-transport", "websocket,polling"},
		{"-transport", "carrier-pigeon"},
		{"-duration", "0s"},
		{"-stream-every", "0"},
		{"extra"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
}
