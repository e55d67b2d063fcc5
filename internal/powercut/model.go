package powercut

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// tornGranule is the unit a torn write keeps: a disk persists whole
// sectors, so a torn prefix is a multiple of it.
const tornGranule = 512

// file is the durable state of one file, known by its id (not by name: a
// rename moves the name, not the data).
type file struct {
	// durable is the file's content as of its last successful fsync.
	durable []byte
	// dirty lists the byte ranges written since that fsync.
	dirty []span
	// shrunk is the smallest size the file was truncated to since that
	// fsync, or -1.
	shrunk int64
}

// span is a byte range [off, end).
type span struct{ off, end int64 }

// dirent is one durable directory entry: a file id, or a directory.
type dirent struct {
	id  uint64
	dir bool
}

// write is an unsynced write kept for a torn power cut.
type write struct {
	id   uint64
	off  int64
	data []byte
}

// newFile returns the state of a file whose durable content is b.
func newFile(b []byte) *file { return &file{durable: b, shrunk: -1} }

// touch records that [off, off+n) was written.
func (f *file) touch(off int64, n int) {
	if n > 0 {
		f.dirty = append(f.dirty, span{off, off + int64(n)})
	}
}

// truncated records a size change.
func (f *file) truncated(size int64) {
	if f.shrunk < 0 || size < f.shrunk {
		f.shrunk = size
	}
}

// sync makes what the backing file holds now durable: the dirty ranges
// are read from the file open as fd (which may be write-only: it is
// opened again for reading) and the durable size becomes the file's size.
func (f *file) sync(fd int) error {
	r, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return err
	}
	defer r.Close()
	st, err := r.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	d := f.durable
	if f.shrunk >= 0 && f.shrunk < int64(len(d)) {
		d = d[:f.shrunk]
	}
	d = resize(d, size)
	for _, s := range f.dirty {
		end := min(s.end, size)
		if s.off >= end {
			continue
		}
		if _, err := r.ReadAt(d[s.off:end], s.off); err != nil {
			return err
		}
	}
	f.durable, f.dirty, f.shrunk = d, nil, -1
	return nil
}

// lose forgets the writes since the last fsync without making them
// durable: what Linux does to dirty pages whose writeback failed.
func (f *file) lose() { f.dirty, f.shrunk = nil, -1 }

// resize returns b with length n, zero-filled when it grows.
func resize(b []byte, n int64) []byte {
	if int64(len(b)) >= n {
		return b[:n]
	}
	if int64(cap(b)) >= n {
		old := len(b)
		b = b[:n]
		clear(b[old:])
		return b
	}
	nb := make([]byte, n)
	copy(nb, b)
	return nb
}

// tear applies a prefix of w (a whole number of granules, possibly none,
// never all of it) to the durable content of its file.
func tear(files map[uint64]*file, w *write, r *rand.Rand) {
	f := files[w.id]
	if f == nil || len(w.data) <= tornGranule {
		return
	}
	keep := r.IntN(len(w.data)/tornGranule) * tornGranule
	if keep == 0 {
		return
	}
	end := w.off + int64(keep)
	if int64(len(f.durable)) < end {
		f.durable = resize(f.durable, end)
	}
	copy(f.durable[w.off:end], w.data[:keep])
}

// rebuild replaces everything under root with the durable tree: the
// directory listings in dirs (by path relative to root) and the file
// contents in files.
func rebuild(root string, dirs map[string]map[string]dirent, files map[uint64]*file) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			return err
		}
	}
	return writeDir(root, "", dirs, files)
}

// writeDir creates the durable entries of the directory rel.
func writeDir(root, rel string, dirs map[string]map[string]dirent, files map[uint64]*file) error {
	names := make([]string, 0, len(dirs[rel]))
	for name := range dirs[rel] {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		e := dirs[rel][name]
		p := filepath.Join(root, rel, name)
		if e.dir {
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			if err := writeDir(root, filepath.Join(rel, name), dirs, files); err != nil {
				return err
			}
			continue
		}
		var data []byte
		if f := files[e.id]; f != nil {
			data = f.durable
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// scan reads the tree under root as the durable state it starts from:
// every directory listing and file content is taken as on disk. It
// returns the listings, the files by id and the id of each file's inode.
func scan(root string, nextID *uint64) (map[string]map[string]dirent, map[uint64]*file, map[uint64]uint64, error) {
	dirs := map[string]map[string]dirent{}
	files := map[uint64]*file{}
	ids := map[uint64]uint64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			dirs[""] = map[string]dirent{}
			return nil
		}
		parent := filepath.Dir(rel)
		if parent == "." {
			parent = ""
		}
		switch {
		case d.IsDir():
			dirs[rel] = map[string]dirent{}
			dirs[parent][d.Name()] = dirent{dir: true}
		case d.Type().IsRegular():
			var st syscall.Stat_t
			if err := syscall.Lstat(p, &st); err != nil {
				return err
			}
			id, ok := ids[st.Ino]
			if !ok {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				*nextID++
				id = *nextID
				ids[st.Ino] = id
				files[id] = newFile(b)
			}
			dirs[parent][d.Name()] = dirent{id: id}
		default:
			return fmt.Errorf("powercut: %s: only regular files and directories are supported", p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return dirs, files, ids, nil
}

// errUnsupported is returned for operations the model does not cover.
var errUnsupported = errors.New("powercut: operation not supported")
