//go:build linux

// Package diskio measures how many bytes a process, and the block device
// under a directory, write: the method of the flash-wear figure in
// docs/OUTBOX.md (bench/diskwrites), for any tool that needs it again.
//
// Two counters, because neither is the whole truth:
//
//   - Process: /proc/<pid>/io write_bytes, the bytes the process caused to
//     be sent to the storage layer (counted when it dirties page-cache
//     pages, so a page rewritten before writeback counts twice, and data
//     overwritten in the cache counts although it never reached the disk;
//     cancelled_write_bytes is what truncation took back). It does not
//     include the file system's journal and metadata, which the kernel
//     writes on the process's behalf (jbd2 on ext4). It is exact for the
//     process and immune to other processes.
//   - Device: sectors written from /sys/dev/block/<major>:<minor>/stat of
//     the device holding the directory, which includes the journal and
//     metadata, but also every other process writing to that device.
//     Compare it only on a quiet machine.
//
// Linux only.
package diskio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// sectorBytes is the unit of the sector counts in /sys/block/*/stat (always
// 512, whatever the device's sector size).
const sectorBytes = 512

// writeSectorsField is the index of "sectors written" in a block device's
// stat file (Documentation/block/stat.rst).
const writeSectorsField = 6

// Process holds the write counters of /proc/<pid>/io.
type Process struct {
	// WriteBytes is write_bytes: bytes sent (at dirtying time) to storage.
	WriteBytes uint64
	// CancelledWriteBytes is cancelled_write_bytes (truncated dirty pages).
	CancelledWriteBytes uint64
	// WChar is wchar, bytes passed to write-like system calls (page cache
	// or not); SyscW is syscw, their number.
	WChar, SyscW uint64
}

// Sample is the counters at one moment.
type Sample struct {
	Proc Process
	// DeviceBytes is the device's sectors written, in bytes.
	DeviceBytes uint64
	// Device names it ("vda", "mmcblk0p2").
	Device string
}

// Sub returns s minus earlier, counter by counter.
func (s Sample) Sub(earlier Sample) Sample {
	return Sample{
		Proc: Process{
			WriteBytes:          s.Proc.WriteBytes - earlier.Proc.WriteBytes,
			CancelledWriteBytes: s.Proc.CancelledWriteBytes - earlier.Proc.CancelledWriteBytes,
			WChar:               s.Proc.WChar - earlier.Proc.WChar,
			SyscW:               s.Proc.SyscW - earlier.Proc.SyscW,
		},
		DeviceBytes: s.DeviceBytes - earlier.DeviceBytes,
		Device:      s.Device,
	}
}

// Take reads the counters of process pid (0: this process) and of the block
// device holding dir.
func Take(pid int, dir string) (Sample, error) {
	p, err := ReadProcess(pid)
	if err != nil {
		return Sample{}, err
	}
	name, written, err := DeviceWritten(dir)
	if err != nil {
		return Sample{}, err
	}
	return Sample{Proc: p, DeviceBytes: written, Device: name}, nil
}

// ReadProcess reads /proc/<pid>/io (pid 0: /proc/self/io).
func ReadProcess(pid int) (Process, error) {
	path := "/proc/self/io"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/io", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Process{}, fmt.Errorf("diskio: %w", err)
	}
	var p Process
	fields := map[string]*uint64{"write_bytes": &p.WriteBytes, "cancelled_write_bytes": &p.CancelledWriteBytes, "wchar": &p.WChar, "syscw": &p.SyscW}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if dst, known := fields[k]; ok && known {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return Process{}, fmt.Errorf("diskio: %s: %s: %w", path, k, err)
			}
			*dst = n
			found++
		}
	}
	if found != len(fields) {
		return Process{}, fmt.Errorf("diskio: %s lacks write counters (kernel without task I/O accounting?)", path)
	}
	return p, nil
}

// DeviceWritten returns the name of the block device holding dir and the
// bytes written to it since boot.
func DeviceWritten(dir string) (name string, written uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return "", 0, fmt.Errorf("diskio: %w", err)
	}
	sys := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	data, err := os.ReadFile(sys + "/stat")
	if err != nil {
		return "", 0, fmt.Errorf("diskio: %s is not on a block device (tmpfs, overlay?): %w", dir, err)
	}
	f := strings.Fields(string(data))
	if len(f) <= writeSectorsField {
		return "", 0, fmt.Errorf("diskio: %s/stat: %d fields", sys, len(f))
	}
	sectors, err := strconv.ParseUint(f[writeSectorsField], 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("diskio: %s/stat: %w", sys, err)
	}
	if target, err := os.Readlink(sys); err == nil {
		name = filepath.Base(target)
	}
	return name, sectors * sectorBytes, nil
}

// FSType returns the file system type of the mount holding dir, from
// /proc/self/mountinfo ("ext4", "tmpfs", ...).
func FSType(dir string) (string, error) {
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("diskio: %w", err)
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("diskio: %w", err)
	}
	best, fstype := "", ""
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 {
			continue
		}
		mnt := f[4]
		if (abs == mnt || strings.HasPrefix(abs, strings.TrimSuffix(mnt, "/")+"/")) && len(mnt) >= len(best) {
			best, fstype = mnt, g[0]
		}
	}
	if fstype == "" {
		return "", errors.New("diskio: no mount holds " + abs)
	}
	return fstype, nil
}
