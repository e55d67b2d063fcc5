//go:build sioagent_nofsync

package store

// fsyncOff: this build makes no fsync at all (see fsync.go). It exists
// only for the mutation check; a store built this way loses data in a
// power cut.
const fsyncOff = true
