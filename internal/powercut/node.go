//go:build !arm

package powercut

import (
	"context"
	"os"
	"path/filepath"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node that keeps the model up to date.
type node struct {
	*fusefs.LoopbackNode
	fs *FS
}

var (
	_ fusefs.NodeWrapChilder     = (*node)(nil)
	_ fusefs.NodeCreater         = (*node)(nil)
	_ fusefs.NodeOpener          = (*node)(nil)
	_ fusefs.NodeOpendirHandler  = (*node)(nil)
	_ fusefs.NodeUnlinker        = (*node)(nil)
	_ fusefs.NodeRenamer         = (*node)(nil)
	_ fusefs.NodeSetattrer       = (*node)(nil)
	_ fusefs.NodeLinker          = (*node)(nil)
	_ fusefs.NodeSymlinker       = (*node)(nil)
	_ fusefs.NodeMknoder         = (*node)(nil)
	_ fusefs.NodeCopyFileRanger  = (*node)(nil)
	_ fusefs.FileFsyncdirer      = (*dirHandle)(nil)
	_ fusefs.FileReaddirenter    = (*dirHandle)(nil)
	_ fusefs.FileFsyncer         = (*handle)(nil)
	_ fusefs.FileWriter          = (*handle)(nil)
	_ fusefs.FileWritever        = (*handle)(nil)
	_ fusefs.FileSetattrer       = (*handle)(nil)
	_ fusefs.FilePassthroughFder = (*fusefs.LoopbackFile)(nil)
)

// WrapChild makes every node of the tree a node of this filesystem.
func (n *node) WrapChild(_ context.Context, ops fusefs.InodeEmbedder) fusefs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fusefs.LoopbackNode), fs: n.fs}
}

// rel is the node's path relative to the mount.
func (n *node) rel() string { return n.Path(nil) }

// backingPath is the node's path in the backing directory.
func (n *node) backingPath(name string) string {
	return filepath.Join(n.fs.backing, n.rel(), name)
}

// Create creates a file and gives it a fresh id with no durable content
// (or opens the one that exists).
func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, fusefs.FileHandle, uint32, syscall.Errno) {
	var st syscall.Stat_t
	existed := syscall.Lstat(n.backingPath(name), &st) == nil
	ino, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return ino, fh, fl, errno
	}
	h, errno := n.wrap(fh, filepath.Join(n.rel(), name), !existed)
	return ino, h, fl, errno
}

// Open opens a file.
func (n *node) Open(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return fh, fl, errno
	}
	h, errno := n.wrap(fh, n.rel(), false)
	return h, fl, errno
}

// wrap turns a loopback file handle into one that reports to the model;
// created marks a new file (a backing inode the model may have seen
// before, reused after an unlink, must get a new id).
func (n *node) wrap(fh fusefs.FileHandle, rel string, created bool) (fusefs.FileHandle, syscall.Errno) {
	lf := fh.(*fusefs.LoopbackFile)
	fd, ok := lf.PassthroughFd()
	if !ok {
		_ = lf.Release(context.Background())
		return nil, syscall.EBADF
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		_ = lf.Release(context.Background())
		return nil, fusefs.ToErrno(err)
	}
	f := n.fs
	f.mu.Lock()
	if created {
		delete(f.ids, st.Ino)
	}
	id := f.fileFor(st.Ino)
	f.mu.Unlock()
	return &handle{lf: lf, fd: fd, id: id, rel: rel, fs: f}, 0
}

// OpendirHandle opens a directory with a handle whose fsync reaches the
// model.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return fh, fl, errno
	}
	return &dirHandle{inner: fh, n: n}, fl, 0
}

// Unlink removes a name; a file losing its last link loses its id.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	var st syscall.Stat_t
	statErr := syscall.Lstat(n.backingPath(name), &st)
	if errno := n.LoopbackNode.Unlink(ctx, name); errno != 0 {
		return errno
	}
	if statErr == nil && st.Nlink == 1 {
		n.fs.mu.Lock()
		delete(n.fs.ids, st.Ino)
		n.fs.mu.Unlock()
	}
	return 0
}

// Rename renames a file (directories are not supported); a file replaced
// by it loses its id.
func (n *node) Rename(ctx context.Context, name string, newParent fusefs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	var src syscall.Stat_t
	if err := syscall.Lstat(n.backingPath(name), &src); err != nil {
		return fusefs.ToErrno(err)
	}
	if src.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		return syscall.ENOTSUP
	}
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	var dst syscall.Stat_t
	dstErr := syscall.Lstat(np.backingPath(newName), &dst)
	if errno := n.LoopbackNode.Rename(ctx, name, np.LoopbackNode, newName, flags); errno != 0 {
		return errno
	}
	if dstErr == nil && dst.Nlink == 1 && dst.Ino != src.Ino {
		n.fs.mu.Lock()
		delete(n.fs.ids, dst.Ino)
		n.fs.mu.Unlock()
	}
	return 0
}

// Setattr records a size change before passing it on.
func (n *node) Setattr(ctx context.Context, fh fusefs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		f := n.fs
		f.mu.Lock()
		var id uint64
		if h, ok := fh.(*handle); ok {
			id = h.id
		} else {
			var st syscall.Stat_t
			if err := syscall.Lstat(n.backingPath(""), &st); err == nil {
				id = f.fileFor(st.Ino)
			}
		}
		if fl := f.files[id]; fl != nil {
			fl.truncated(int64(size))
		}
		f.mu.Unlock()
	}
	if h, ok := fh.(*handle); ok {
		return n.LoopbackNode.Setattr(ctx, h.lf, in, out)
	}
	return n.LoopbackNode.Setattr(ctx, fh, in, out)
}

// Link is not supported by the model.
func (n *node) Link(context.Context, fusefs.InodeEmbedder, string, *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

// Symlink is not supported by the model.
func (n *node) Symlink(context.Context, string, string, *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

// Mknod is not supported by the model.
func (n *node) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

// CopyFileRange is not supported by the model (the kernel falls back to
// reads and writes).
func (n *node) CopyFileRange(context.Context, fusefs.FileHandle, uint64, *fusefs.Inode, fusefs.FileHandle, uint64, uint64, uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOTSUP
}

// handle is an open file. It does not offer the kernel a passthrough
// descriptor: every read and write must come through here.
type handle struct {
	lf  *fusefs.LoopbackFile
	fd  int // lf's descriptor, valid until Release
	id  uint64
	rel string
	fs  *FS
}

// Read reads from the backing file.
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return h.lf.Read(ctx, dest, off)
}

// Write writes to the backing file and records the range as unsynced.
func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	f := h.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if errno := f.check(Op{Kind: Write, Path: h.rel, Off: off, Len: len(data)}); errno != 0 {
		return 0, errno
	}
	n, errno := h.lf.Write(ctx, data, off)
	if fl := f.files[h.id]; fl != nil {
		fl.touch(off, int(n))
		f.last = &write{id: h.id, off: off, data: append([]byte(nil), data[:n]...)}
	}
	if errno == 0 {
		f.stats.Writes++
	}
	return n, errno
}

// Writev is Write for several buffers.
func (h *handle) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	var b []byte
	for _, d := range data {
		b = append(b, d...)
	}
	return h.Write(ctx, b, off)
}

// Fsync makes the file's data durable in the model, or, failed by the
// fault hook, loses its unsynced writes.
func (h *handle) Fsync(_ context.Context, _ uint32) syscall.Errno {
	f := h.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.files[h.id]
	if errno := f.check(Op{Kind: Fsync, Path: h.rel}); errno != 0 {
		if fl != nil {
			fl.lose()
		}
		if f.last != nil && f.last.id == h.id {
			f.last = nil
		}
		return errno
	}
	if fl != nil {
		if err := fl.sync(h.fd); err != nil {
			return fusefs.ToErrno(err)
		}
	}
	if f.last != nil && f.last.id == h.id {
		f.last = nil
	}
	f.stats.Fsyncs++
	return 0
}

// Release closes the backing file.
func (h *handle) Release(ctx context.Context) syscall.Errno { return h.lf.Release(ctx) }

// Flush passes a close on.
func (h *handle) Flush(ctx context.Context) syscall.Errno { return h.lf.Flush(ctx) }

// Getattr stats the backing file.
func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.lf.Getattr(ctx, out)
}

// Setattr changes the backing file (node.Setattr has recorded a size
// change).
func (h *handle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return h.lf.Setattr(ctx, in, out)
}

// Lseek passes SEEK_DATA and SEEK_HOLE on.
func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return h.lf.Lseek(ctx, off, whence)
}

// Allocate is not supported by the model.
func (h *handle) Allocate(context.Context, uint64, uint64, uint32) syscall.Errno {
	return syscall.ENOTSUP
}

// dirHandle is an open directory whose fsync records its entries as
// durable.
type dirHandle struct {
	inner fusefs.FileHandle
	n     *node
}

// Readdirent passes on the next entry.
func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if r, ok := d.inner.(fusefs.FileReaddirenter); ok {
		return r.Readdirent(ctx)
	}
	return nil, syscall.ENOTSUP
}

// Seekdir passes a rewind on.
func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if s, ok := d.inner.(fusefs.FileSeekdirer); ok {
		return s.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

// Releasedir closes the backing directory.
func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	if r, ok := d.inner.(fusefs.FileReleasedirer); ok {
		r.Releasedir(ctx, flags)
	}
}

// Fsyncdir records the directory's current entries as durable.
func (d *dirHandle) Fsyncdir(_ context.Context, _ uint32) syscall.Errno {
	rel := d.n.rel()
	f := d.n.fs
	entries, err := os.ReadDir(filepath.Join(f.backing, rel))
	if err != nil {
		return fusefs.ToErrno(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if errno := f.check(Op{Kind: FsyncDir, Path: rel}); errno != 0 {
		return errno
	}
	listing := make(map[string]dirent, len(entries))
	for _, e := range entries {
		p := filepath.Join(f.backing, rel, e.Name())
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			continue // removed meanwhile
		}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			listing[e.Name()] = dirent{dir: true}
			if _, ok := f.dirs[filepath.Join(rel, e.Name())]; !ok {
				f.dirs[filepath.Join(rel, e.Name())] = map[string]dirent{}
			}
		case syscall.S_IFREG:
			listing[e.Name()] = dirent{id: f.fileFor(st.Ino)}
		}
	}
	f.dirs[rel] = listing
	f.stats.DirSyncs++
	return 0
}
