package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// benchRecordSize is about one SenML CBOR batch of a dozen readings.
const benchRecordSize = 600

// benchProducers is how many goroutines per GOMAXPROCS append at once in
// the parallel benchmarks (b.SetParallelism).
const benchProducers = 32

func benchStore(b *testing.B, opts Options) *Store {
	b.Helper()
	// Room for everything a run appends, so that no drop muddies the figure.
	opts.MaxBytes = 1 << 30
	opts.MaxFileSize = -1
	s, err := Open(filepath.Join(b.TempDir(), "outbox.db"), &opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func reportAppends(b *testing.B, s *Store, start time.Time, commits uint64) {
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	if c := s.Stats().Commits - commits; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "records/commit")
	}
}

// BenchmarkAppendGroupCommit: many concurrent producers, each Append
// durable, sharing transactions (default GroupCommit).
func BenchmarkAppendGroupCommit(b *testing.B) {
	s := benchStore(b, Options{})
	rec := make([]byte, benchRecordSize)
	commits := s.Stats().Commits
	b.SetParallelism(benchProducers)
	b.SetBytes(benchRecordSize)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(context.Background(), rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportAppends(b, s, start, commits)
}

// BenchmarkAppendOneTxPerRecord: the baseline, one durable transaction
// (two fdatasyncs) per record, sequential.
func BenchmarkAppendOneTxPerRecord(b *testing.B) {
	s := benchStore(b, Options{GroupCommit: GroupCommit{MaxRecords: 1, MaxDelay: -1}})
	rec := make([]byte, benchRecordSize)
	commits := s.Stats().Commits
	b.SetBytes(benchRecordSize)
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Append(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportAppends(b, s, start, commits)
}

// BenchmarkAppendBatch64: one producer that batches 64 records per
// AppendBatch call.
func BenchmarkAppendBatch64(b *testing.B) {
	s := benchStore(b, Options{GroupCommit: GroupCommit{MaxDelay: -1}})
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = make([]byte, benchRecordSize)
	}
	commits := s.Stats().Commits
	b.SetBytes(benchRecordSize)
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch) {
		if _, err := s.AppendBatch(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportAppends(b, s, start, commits)
}

// BenchmarkAppendGroupCommitNoDelay: as BenchmarkAppendGroupCommit with
// GroupCommit.MaxDelay < 0: appends group only while a commit runs.
func BenchmarkAppendGroupCommitNoDelay(b *testing.B) {
	s := benchStore(b, Options{GroupCommit: GroupCommit{MaxDelay: -1}})
	rec := make([]byte, benchRecordSize)
	commits := s.Stats().Commits
	b.SetParallelism(benchProducers)
	b.SetBytes(benchRecordSize)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Append(context.Background(), rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportAppends(b, s, start, commits)
}
