//go:build !arm

package powercut

import (
	"fmt"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// mount serves the backing directory at the mount point.
func (f *FS) mount() error {
	root, err := fusefs.NewLoopbackRoot(f.backing)
	if err != nil {
		return err
	}
	lb := root.(*fusefs.LoopbackNode)
	top := &node{LoopbackNode: lb, fs: f}
	lb.RootData.RootNode = top
	timeout := cacheTimeout
	server, err := fusefs.Mount(f.mnt, top, &fusefs.Options{
		MountOptions: fuse.MountOptions{
			DirectMount: true,
			FsName:      "powercut",
			Name:        "powercut",
		},
		EntryTimeout:    &timeout,
		AttrTimeout:     &timeout,
		NegativeTimeout: &timeout,
	})
	if err != nil {
		return fmt.Errorf("powercut: mount %s: %w", f.mnt, err)
	}
	f.mu.Lock()
	f.server = server
	f.mu.Unlock()
	return nil
}
