// Package size checks the size of the sioagent binary against a floor: the
// smallest Go program that makes one HTTPS request (testdata/floor, net/http
// and crypto/tls only), built with the same toolchain and flags for the same
// architecture. Its test builds both for every release target, prints the
// sizes and ratios, and fails where sioagent exceeds MaxRatio times the
// floor on a checked target. It runs when SIOAGENT_SIZE_CHECK=1 is set
// (make size-check), since it builds eight binaries.
package size

// MaxRatio is the largest size of the sioagent binary allowed, as a
// multiple of the floor program's on the same architecture.
const MaxRatio = 1.40
