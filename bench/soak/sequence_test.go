package main

import "testing"

func TestSequenceInOrder(t *testing.T) {
	var q sequence
	q.begin(0)
	for i := range 200 {
		if v := q.observe(i); !v.ok() {
			t.Fatalf("observe(%d) = %v", i, v)
		}
	}
	if q.end(200) != 0 || q.received != 200 || q.lost != 0 || q.dups != 0 || q.late != 0 {
		t.Fatalf("after a clean stream: %+v", q)
	}
}

func TestSequenceGapDuplicateLate(t *testing.T) {
	var q sequence
	q.begin(0)
	for _, step := range []struct {
		i    int
		kind verdictKind
	}{
		{0, inOrder}, {1, inOrder}, {4, gap}, {4, duplicate}, {2, outOfOrder}, {2, duplicate}, {5, inOrder}, {-1, invalid},
	} {
		if v := q.observe(step.i); v.kind != step.kind {
			t.Fatalf("observe(%d) = %v, want kind %d", step.i, v, step.kind)
		}
	}
	// 3 never came; 2 came late.
	if q.lost != 1 || q.late != 1 || q.dups != 2 || q.received != 7 {
		t.Fatalf("lost=%d late=%d dups=%d received=%d, want 1 1 2 7", q.lost, q.late, q.dups, q.received)
	}
	if tail := q.end(8); tail != 2 || q.lost != 3 {
		t.Fatalf("end(8): tail %d, lost %d; want 2, 3", tail, q.lost)
	}
}

func TestSequenceNewStreamStartsOver(t *testing.T) {
	var q sequence
	q.begin(0)
	for i := range 10 {
		q.observe(i)
	}
	q.begin(25) // not recovered: about 25 numbers went to the old socket
	if q.streams != 2 || q.missed != 25 || q.expecting() != 0 {
		t.Fatalf("after begin: %+v", q)
	}
	for i := range 3 {
		if v := q.observe(i); !v.ok() {
			t.Fatalf("new stream: observe(%d) = %v", i, v)
		}
	}
	if q.lost != 0 || q.dups != 0 {
		t.Fatalf("a new stream counted losses: %+v", q)
	}
}
