//go:build !sioagent_nofsync

package store

// fsyncOff removes every fsync the store makes when true. It is true only
// in the test build tagged sioagent_nofsync, which the mutation check
// (make test-mutants) uses to prove that the power-cut tests see a
// missing fsync: with the tag, TestPowerCut* must fail.
const fsyncOff = false
