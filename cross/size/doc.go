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
// It is a ratchet at today's size plus about 75 KB on arm64 (the tighter
// target: 1.566 when it was set, 1.552 on ARMv6), so that new features
// pay for their bytes. The goal is 1.40, which is not reached: measured
// with go tool nm -size, the libraries alone (TOML, JSON, slog, CBOR,
// bbolt, WebSocket) cost about 1.23 times the floor, and removing client
// certificates, the CBOR decoder, the cookie jar and periph's bcm283x and
// sysfs drivers together would still leave 1.448. Lower it whenever the
// binary shrinks.
const MaxRatio = 1.58
