package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/sioagent/sioagent/sensors/i2cscan"
)

const scanHelp = `Usage: sioagent scan [--bus 1]

Probes an I2C bus and lists the addresses that answer, naming the chips it
recognises (BME280/BMP280, SHT3x, ADS1x15). Like i2cdetect, a probe is a read
of one byte, which some chips dislike; run it while the agent is stopped.`

func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newPlainFlagSet("scan", scanHelp, stderr)
	bus := fs.String("bus", "1", "I2C bus: a number (1 = /dev/i2c-1) or a path")
	if code, ok := parseArgs(fs, args, 0, stdout); !ok {
		return code
	}
	hw := newHostHardware(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	defer hw.close()
	b, err := hw.I2CBus(*bus)
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: %v\n", err)
		return exitError
	}
	found, err := i2cscan.Scan(ctx, b, i2cscan.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "sioagent: scan: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "I2C bus %s: %d devices\n", *bus, len(found))
	i2cscan.Format(stdout, found)
	return exitOK
}
