//go:build !linux

package store

// dropCache is a no-op where posix_fadvise is not used.
func dropCache(string) {}
