package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

// model is the in-memory specification the store is checked against.
type model struct {
	maxRecords, maxBytes uint64
	maxAge               time.Duration
	reject               bool
	maxDead              int

	recs      []modelRec
	next      uint64
	drops     Drops
	dead      []uint64 // seqs in the dead-letter bucket, ascending
	deadTotal uint64
}

type modelRec struct {
	seq  uint64
	data []byte
	at   time.Time
}

func (m *model) bytes() uint64 {
	var n uint64
	for _, r := range m.recs {
		n += storedSize(len(r.data))
	}
	return n
}

// trim drops expired records from the head.
func (m *model) trim(now time.Time) {
	for len(m.recs) > 0 && m.maxAge > 0 && now.Sub(m.recs[0].at) > m.maxAge {
		m.recs = m.recs[1:]
		m.drops.MaxAge++
	}
}

func (m *model) append(now time.Time, batch [][]byte) ([]uint64, error) {
	var size uint64
	for _, d := range batch {
		size += storedSize(len(d))
	}
	if size > m.maxBytes || (m.maxRecords > 0 && uint64(len(batch)) > m.maxRecords) {
		return nil, ErrTooLarge
	}
	m.trim(now)
	if m.reject && ((m.maxRecords > 0 && uint64(len(m.recs)+len(batch)) > m.maxRecords) || m.bytes()+size > m.maxBytes) {
		return nil, ErrFull
	}
	var seqs []uint64
	for _, d := range batch {
		m.recs = append(m.recs, modelRec{m.next, bytes.Clone(d), now})
		seqs = append(seqs, m.next)
		m.next++
	}
	for !m.reject && len(m.recs) > 0 {
		switch {
		case m.maxRecords > 0 && uint64(len(m.recs)) > m.maxRecords:
			m.drops.MaxRecords++
		case m.bytes() > m.maxBytes:
			m.drops.MaxBytes++
		default:
			return seqs, nil
		}
		m.recs = m.recs[1:]
	}
	return seqs, nil
}

func (m *model) peekAfter(now time.Time, after uint64, n int) []modelRec {
	m.trim(now)
	var out []modelRec
	for _, r := range m.recs {
		if r.seq > after && len(out) < n {
			out = append(out, r)
		}
	}
	return out
}

func (m *model) remove(keep func(seq uint64) bool) {
	m.recs = slices.DeleteFunc(m.recs, func(r modelRec) bool { return !keep(r.seq) })
}

func (m *model) deadLetter(seq uint64) error {
	i := slices.IndexFunc(m.recs, func(r modelRec) bool { return r.seq == seq })
	if i < 0 {
		return ErrNotFound
	}
	m.recs = slices.Delete(m.recs, i, i+1)
	m.dead = append(m.dead, seq)
	slices.Sort(m.dead)
	m.deadTotal++
	if len(m.dead) > m.maxDead {
		m.dead = m.dead[len(m.dead)-m.maxDead:]
	}
	return nil
}

// drawSeq picks a seq to operate on: usually a queued one, sometimes one
// that is not queued.
func (m *model) drawSeq(t *rapid.T, label string) uint64 {
	if len(m.recs) > 0 && rapid.IntRange(0, 4).Draw(t, label+"_kind") > 0 {
		return rapid.SampledFrom(m.recs).Draw(t, label).seq
	}
	return rapid.Uint64Range(0, m.next+2).Draw(t, label)
}

// TestModel checks the store against the model with random sequences of
// appends, peeks, removals, dead letters, clock jumps, reopens and
// crashes (the file copied while the store is open, as a kill -9 would
// leave it, then opened without the first store ever closing it cleanly).
// It makes modelChecks runs by default; raise its effort with
// -rapid.checks=N and -rapid.steps=N (average actions per run, 30).
func TestModel(t *testing.T) {
	root := t.TempDir()
	checkNo := 0
	rapid.Check(t, func(rt *rapid.T) {
		checkNo++
		dir := filepath.Join(root, fmt.Sprint(checkNo))
		if err := os.Mkdir(dir, 0o700); err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)

		clock := newFakeClock()
		opts := &Options{
			MaxRecords:     rapid.SampledFrom([]int{0, 1, 3, 10}).Draw(rt, "maxRecords"),
			MaxBytes:       rapid.SampledFrom([]int64{0, 200, 1000}).Draw(rt, "maxBytes"),
			MaxAge:         rapid.SampledFrom([]time.Duration{0, time.Minute}).Draw(rt, "maxAge"),
			Overflow:       rapid.SampledFrom([]Overflow{DropOldest, Reject}).Draw(rt, "overflow"),
			MaxDeadLetters: rapid.IntRange(1, 3).Draw(rt, "maxDead"),
			GroupCommit:    GroupCommit{MaxDelay: -1},
			Clock:          clock.Now,
		}
		cfg, _ := resolve(opts)
		m := &model{
			maxRecords: cfg.maxRecords, maxBytes: cfg.maxBytes, maxAge: cfg.maxAge,
			reject: cfg.overflow == Reject, maxDead: int(cfg.maxDeadLetters), next: 1,
		}

		path := filepath.Join(dir, "outbox.db")
		s, err := Open(path, opts)
		if err != nil {
			rt.Fatal(err)
		}
		defer func() {
			if s != nil {
				if err := s.Close(); err != nil {
					rt.Error(err)
				}
			}
			if err := verifyFile(path); err != nil {
				rt.Errorf("final file check: %v", err)
			}
		}()
		ctx := context.Background()
		crashes := 0

		checkErr := func(op string, got, want error) {
			if (got == nil) != (want == nil) || (want != nil && !errors.Is(got, want)) {
				rt.Fatalf("%s: error %v, model says %v", op, got, want)
			}
		}
		checkRecs := func(op string, got []Record, want []modelRec) {
			if len(got) != len(want) {
				rt.Fatalf("%s: %d records, model has %d", op, len(got), len(want))
			}
			for i := range got {
				if got[i].Seq != want[i].seq || !bytes.Equal(got[i].Data, want[i].data) || !got[i].Appended.Equal(want[i].at) {
					rt.Fatalf("%s: record %d is seq %d, model has seq %d", op, i, got[i].Seq, want[i].seq)
				}
			}
		}
		// Sizes chosen so that sums hit MaxBytes exactly: stored sizes
		// 29, 30, 50, 100 and 149 bytes.
		dataLen := rapid.SampledFrom([]int{0, 1, 21, 71, 120})
		drawData := func(label string) []byte {
			n := dataLen.Draw(rt, label+"_len")
			return rapid.SliceOfN(rapid.Byte(), n, n).Draw(rt, label)
		}

		rt.Repeat(map[string]func(*rapid.T){
			"Append": func(rt *rapid.T) {
				d := drawData("data")
				seq, err := s.Append(ctx, d)
				want, werr := m.append(clock.Now(), [][]byte{d})
				checkErr("Append", err, werr)
				if werr == nil && seq != want[0] {
					rt.Fatalf("Append: seq %d, model says %d", seq, want[0])
				}
			},
			"AppendBatch": func(rt *rapid.T) {
				n := rapid.IntRange(0, 4).Draw(rt, "n")
				batch := make([][]byte, n)
				for i := range batch {
					batch[i] = drawData("data")
				}
				seqs, err := s.AppendBatch(ctx, batch)
				if n == 0 {
					if seqs != nil || err != nil {
						rt.Fatalf("empty AppendBatch = %v, %v", seqs, err)
					}
					return
				}
				want, werr := m.append(clock.Now(), batch)
				checkErr("AppendBatch", err, werr)
				if !equalSeqs(seqs, want) {
					rt.Fatalf("AppendBatch: seqs %v, model says %v", seqs, want)
				}
			},
			"Peek": func(rt *rapid.T) {
				n := rapid.IntRange(1, 12).Draw(rt, "n")
				recs, err := s.Peek(n)
				checkErr("Peek", err, nil)
				checkRecs("Peek", recs, m.peekAfter(clock.Now(), 0, n))
			},
			"PeekAfter": func(rt *rapid.T) {
				after := m.drawSeq(rt, "after")
				n := rapid.IntRange(1, 12).Draw(rt, "n")
				recs, err := s.PeekAfter(after, n)
				checkErr("PeekAfter", err, nil)
				checkRecs("PeekAfter", recs, m.peekAfter(clock.Now(), after, n))
			},
			"Remove": func(rt *rapid.T) {
				k := rapid.IntRange(0, 3).Draw(rt, "k")
				seqs := make([]uint64, k)
				for i := range seqs {
					seqs[i] = m.drawSeq(rt, "seq")
				}
				checkErr("Remove", s.Remove(seqs...), nil)
				m.remove(func(seq uint64) bool { return !slices.Contains(seqs, seq) })
			},
			"RemoveThrough": func(rt *rapid.T) {
				through := m.drawSeq(rt, "through")
				checkErr("RemoveThrough", s.RemoveThrough(through), nil)
				m.remove(func(seq uint64) bool { return seq > through })
			},
			"DeadLetter": func(rt *rapid.T) {
				seq := m.drawSeq(rt, "seq")
				checkErr("DeadLetter", s.DeadLetter(seq, "refused"), m.deadLetter(seq))
			},
			"AdvanceClock": func(rt *rapid.T) {
				clock.Advance(time.Duration(rapid.IntRange(0, 90).Draw(rt, "seconds")) * time.Second)
			},
			"Reopen": func(rt *rapid.T) {
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				s = nil
				if s, err = Open(path, opts); err != nil {
					rt.Fatal(err)
				}
			},
			"Crash": func(rt *rapid.T) {
				// What a kill -9 leaves: the file as it is now, never closed.
				image, err := os.ReadFile(path)
				if err != nil {
					rt.Fatal(err)
				}
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				s = nil
				crashes++
				path = filepath.Join(dir, fmt.Sprintf("crash-%d.db", crashes))
				if err := os.WriteFile(path, image, 0o600); err != nil {
					rt.Fatal(err)
				}
				if s, err = Open(path, opts); err != nil {
					rt.Fatal(err)
				}
				if s.Recovery() != nil {
					rt.Fatalf("recovery after a crash: %v", s.Recovery().Err)
				}
			},
			"": func(rt *rapid.T) {
				st := s.Stats()
				if st.Count != uint64(len(m.recs)) || st.Bytes != m.bytes() || st.NextSeq != m.next ||
					st.Drops != m.drops || st.DeadLetters != uint64(len(m.dead)) || st.DeadLettered != m.deadTotal {
					rt.Fatalf("Stats %+v; model: count %d bytes %d next %d drops %+v dead %d/%d",
						st, len(m.recs), m.bytes(), m.next, m.drops, len(m.dead), m.deadTotal)
				}
				var wantAge time.Duration
				if len(m.recs) > 0 {
					wantAge = clock.Now().Sub(m.recs[0].at)
				}
				if st.OldestAge != wantAge {
					rt.Fatalf("OldestAge %v, model %v", st.OldestAge, wantAge)
				}
				if !m.reject {
					if (m.maxRecords > 0 && st.Count > m.maxRecords) || st.Bytes > m.maxBytes {
						rt.Fatalf("bounds exceeded: %+v", st)
					}
				}
				// The whole queue, read without side effects (Peek may drop).
				var all []Record
				_ = s.view(func(tx *bolt.Tx) error {
					return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
						rec, err := decodeRecord(k, v)
						if err != nil {
							return err
						}
						rec.Data = bytes.Clone(rec.Data)
						all = append(all, rec)
						return nil
					})
				})
				checkRecs("queue", all, m.recs)
				dead, err := s.DeadLetters(10)
				checkErr("DeadLetters", err, nil)
				if got := make([]uint64, len(dead)); true {
					for i, d := range dead {
						got[i] = d.Seq
					}
					if !equalSeqs(got, m.dead) {
						rt.Fatalf("dead letters %v, model %v", got, m.dead)
					}
				}
			},
		})
	})
}
