// Package store is a durable FIFO outbox on go.etcd.io/bbolt.
//
// A Store keeps opaque byte records in one bbolt file, oldest first. Every
// record gets a sequence number (seq) from the records bucket's
// NextSequence: seqs increase, are never reused, and survive restarts,
// compaction and the loss of the file, so they double as durable message
// ids that a server can dedupe on. A sidecar file, "<path>.seq", holds a
// durable high-water mark reserved ahead in blocks of 2^20 seqs (written
// atomically before any seq above it is handed out, and lowered to the
// last seq used by Close), together with the boot id of the machine
// (Linux's /proc/sys/kernel/random/boot_id) that wrote it. After a clean
// Close, or a process crash (kill -9, panic, OOM kill) with the machine
// still up, the seqs go on without a gap: the kernel kept every commit.
// They skip ahead, by up to 2^20, to continue above the mark when the
// file may have lost commits or handed-out seqs: after the machine went
// down without a clean shutdown (power cut, kernel crash: a disk that
// acknowledges fsyncs it has not done can lose the last commits, whose
// seqs may have been sent already), when the boot is unknown (another OS,
// or a sidecar of the previous format), for a fresh file after damage or
// deletion, for a file older than the sidecar (a copy restored, in the
// same boot or not: the sidecar records the last seq the file had
// committed when it was written), and by one block when the sidecar
// itself is unreadable. The sequence of a damaged file that was set aside
// is also read when it can be. Keep the sidecar with the database file. The
// package knows nothing of what the records mean.
//
// # Durability
//
// Append and AppendBatch return only after the transaction that holds the
// record has been committed and fsynced: once they return a seq, the record
// survives a process crash or a power cut (as far as the disk honours
// fdatasync). There is no NoSync mode. Concurrent producers share
// transactions (group commit, see GroupCommit), so the fsync cost is paid
// once per batch instead of once per record.
//
// # Draining
//
// A consumer reads with Peek or PeekAfter (copies; nothing is removed),
// sends the records, and deletes them with Remove or RemoveThrough once the
// receiver has acknowledged them. A record the receiver keeps refusing can
// be moved aside with DeadLetter. Wait returns a channel that is closed when
// new records are appended; take it before peeking:
//
//	for {
//		wake := s.Wait()
//		recs, err := s.Peek(32)
//		...
//		if len(recs) == 0 {
//			select {
//			case <-wake:
//			case <-ctx.Done():
//				return
//			}
//		}
//	}
//
// # Bounds
//
// Options.MaxBytes, MaxRecords and MaxAge bound the queue. They are enforced
// in the same transaction as the append: with DropOldest (the default) the
// oldest records make room and every drop is counted by reason (Stats.Drops);
// with Reject an append that does not fit fails with ErrFull. Records older
// than MaxAge are dropped when records are appended and when the queue is
// peeked. Options.MaxFileSize is bbolt's MaxSize, a backstop that keeps the
// file (and its memory map) well below the ~512 MiB a 32-bit ARM process can
// usually map.
//
// # Damage and recovery
//
// Each record is stored in a small versioned envelope with a CRC32C. A
// record that fails its check is moved to a quarantine bucket, counted
// (Stats.Quarantined) and skipped: it never blocks the queue. A file that
// bbolt cannot open or that fails its consistency check at Open is renamed
// to "<path>.corrupt-<UTC timestamp>" and kept, a fresh file is started
// (its seqs continue above the old file's, see above), and
// the event is logged and reported (Store.Recovery, Stats.Recovered) instead
// of failing: a service restarted by systemd does not crash-loop on a bad
// file.
//
// # File format
//
// The file holds four buckets:
//
//	records     key: seq (8 bytes, big endian)  value: record envelope
//	meta        "format": format version (1 byte)
//	            "state":  counters (count, bytes, drops, dead letters ...)
//	deadletter  key: seq                         value: dead-letter envelope
//	quarantine  key: seq                         value: the damaged value as found
//
// A record envelope is
//
//	version (1 byte, = 1) | seq (8, BE) | appended (8, BE Unix ns) | data | CRC32C (4, BE)
//
// with the CRC (Castagnoli) over everything before it. The seq inside the
// envelope must match the key. The meta counters are updated in the same
// transaction as every change, so Stats is O(1); Open recounts them from the
// buckets and repairs them if they disagree.
//
// # Space
//
// bbolt files never shrink. When the queue becomes empty and the file is
// larger than 1 MiB and four times the live data, the store compacts it: it
// copies the live data (and the bucket sequences) into a new file in the same
// directory, fsyncs it, renames it over the old one and fsyncs the directory.
// The file lock is held throughout.
//
// # Clocks
//
// Append times come from Options.Clock (time.Now by default) and MaxAge
// compares them with the current time. A board without a real-time clock
// starts with a stale time until NTP syncs, and the jump that follows can
// make records look older than they are: leave MaxAge at zero (unlimited)
// unless the clock is trustworthy, or size it generously.
package store
