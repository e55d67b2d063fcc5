package main

import "fmt"

// sequence checks the numbers of the server's "seq" stream, one stream at
// a time. A stream sends 0, 1, 2, ... to one socket id; within it every
// number must arrive exactly once and in order, across any number of
// recovered reconnections: that is the guarantee of connection state
// recovery. A reconnection that is not recovered ends the stream (the
// server-side stream belongs to the old socket id, or died with the old
// server process) and a new one starts from 0: what the old stream sent
// meanwhile was missed, which is expected, and is only estimated.
//
// sequence does no locking and no I/O; the monitor owns it.
type sequence struct {
	streams  int // streams begun, the current one included
	next     int // the number expected next in the current stream
	seen     bitset
	received int64 // numbers received, in every stream
	lost     int64 // numbers skipped within a stream and never received
	dups     int64 // numbers received twice within a stream
	late     int64 // numbers received after a higher one (out of order)
	missed   int64 // estimated numbers sent to ended streams while not recovered
}

// verdictKind says how a received number fits the stream.
type verdictKind int

const (
	inOrder    verdictKind = iota // the expected number
	gap                           // higher than expected: the numbers between are lost
	duplicate                     // received before
	outOfOrder                    // lower than expected, not received before: it was counted lost, now late
	invalid                       // negative: not a stream number
)

// verdict describes one received number.
type verdict struct {
	kind verdictKind
	got  int // the number received
	want int // the number expected
}

// ok reports whether the number arrived as the guarantee requires.
func (v verdict) ok() bool { return v.kind == inOrder }

// String describes a verdict for the anomaly log.
func (v verdict) String() string {
	switch v.kind {
	case inOrder:
		return fmt.Sprintf("%d in order", v.got)
	case gap:
		return fmt.Sprintf("got %d, want %d: %d lost", v.got, v.want, v.got-v.want)
	case duplicate:
		return fmt.Sprintf("got %d again (want %d): duplicate", v.got, v.want)
	case outOfOrder:
		return fmt.Sprintf("got %d after %d: out of order", v.got, v.want-1)
	default:
		return fmt.Sprintf("got %d: not a stream number", v.got)
	}
}

// begin starts a new stream, expected from 0. missed is the estimate of
// what the previous stream sent that was never received (0 when it ended
// normally).
func (q *sequence) begin(missed int64) {
	q.streams++
	q.next = 0
	q.seen.clear()
	q.missed += max(missed, 0)
}

// observe accounts for number i of the current stream.
func (q *sequence) observe(i int) verdict {
	v := verdict{got: i, want: q.next}
	switch {
	case i < 0:
		v.kind = invalid
		return v
	case i == q.next:
		v.kind = inOrder
		q.next++
	case i > q.next:
		v.kind = gap
		q.lost += int64(i - q.next)
		q.next = i + 1
	case q.seen.has(i):
		v.kind = duplicate
		q.dups++
		q.received++
		return v
	default: // skipped earlier and counted lost; it came after all
		v.kind = outOfOrder
		q.lost--
		q.late++
	}
	q.received++
	q.seen.set(i)
	return v
}

// end accounts for the server's "stream-done"(n): numbers up to n-1 that
// never came are lost. It returns how many.
func (q *sequence) end(n int) int64 {
	if n <= q.next {
		return 0
	}
	tail := int64(n - q.next)
	q.lost += tail
	q.next = n
	return tail
}

// expecting returns the number the current stream expects next; 0 means
// nothing has been received from it yet.
func (q *sequence) expecting() int { return q.next }

// bitset is a growable set of small non-negative integers.
type bitset struct{ words []uint64 }

func (b *bitset) set(i int) {
	w := i / 64
	if w >= len(b.words) {
		b.words = append(b.words, make([]uint64, w+1-len(b.words))...)
	}
	b.words[w] |= 1 << (uint(i) % 64)
}

func (b *bitset) has(i int) bool {
	w := i / 64
	return w < len(b.words) && b.words[w]&(1<<(uint(i)%64)) != 0
}

func (b *bitset) clear() { b.words = b.words[:0] }
