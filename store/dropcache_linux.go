package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// dropCache asks the kernel to forget the cached pages of the file at
// path, so that the next read comes from the disk: after a failed fsync
// the page cache may hold pages that were never written (see ErrFailed).
// Best effort; dirty pages are not dropped (the kernel writes them back).
func dropCache(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
