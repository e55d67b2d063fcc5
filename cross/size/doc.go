// Package size checks the size of the sioagent binary against a floor: the
// smallest Go program that makes one HTTPS request (testdata/floor, net/http
// and crypto/tls only), built with the same toolchain and the release build
// of cross/lib.sh (go_build, the one home of the flags) for the same
// architecture. Its test builds both for every release target, prints the
// sizes and ratios, and fails where sioagent exceeds MaxRatio times the
// floor on a checked target. It runs when SIOAGENT_SIZE_CHECK=1 is set
// (make size-check), since it builds eight binaries.
package size

// MaxRatio is the largest size of the sioagent binary allowed, as a
// multiple of the floor program's on the same architecture.
//
// It is a ratchet at the size of the latest feature plus about 70 KB
// on arm64 (the tighter target), so that new features pay for their
// bytes. Before issue 14 it stood at 1.578 on arm64 (8,585,342 bytes) and
// 1.540 on ARMv6 (8,781,950). Issue 14 added, measured one at a time on
// the stripped binaries:
//   - the metrics (package metrics, the agent's families, the process
//     and Go runtime families, the hooks in store, sensors and outbox):
//     +131 KB on arm64, +197 KB on ARMv6 (156 KB of text and data);
//     net/http's server would have cost about 330 KB more, a metrics
//     library 393 KB (VictoriaMetrics/metrics) to 4 MB (client_golang);
//   - the remote configuration with rollback (remoteconfig, config's
//     documents and their TOML writer): +131 KB on arm64 (two 64 KiB
//     segments; about 65 KB of code and data);
//   - the auto window and permessage-deflate: nothing (the compressor
//     was linked already).
//
// Now: arm64 8,847,486 bytes (1.626), ARMv6 9,109,630 (1.598). The goal
// is 1.40, which is not reached: measured with go tool nm -size, the
// libraries alone (TOML, JSON, slog, CBOR encoding, bbolt, WebSocket)
// cost about 1.2 times the floor, and removing client certificates, the
// cookie jar and periph's bcm283x and sysfs drivers would still leave
// about 1.44. Lower it whenever the binary shrinks.
const MaxRatio = 1.64
