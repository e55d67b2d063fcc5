//go:build !linux

package store

// defaultBootIDPath is empty where the boot id is unknown: the store then
// never trusts its file's sequence after a crash (see seqfloor.go).
const defaultBootIDPath = ""
