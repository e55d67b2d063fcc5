package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/store"
)

// With no agent running, `sioagent queue` acts on the outbox file itself:
// it lists the dead letters, requeues one under a new seq and drops one,
// and the counters show both.
func TestQueueOnFileWithoutAgent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	st, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		seq, err := outbox.Enqueue(context.Background(), st, 4, outbox.ContentTypeSenMLCBOR, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := st.DeadLetter(seq, "rejected 5 times, last: bad_request: nope"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	flags := []string{"queue", "--runtime-dir", filepath.Join(dir, "run"), "--outbox", path}

	code, out, errOut := runCmd(t, append(flags, "list")...)
	if code != exitOK || !strings.Contains(out, "bad_request: nope") || strings.Count(out, "rejected 5 times") != 2 {
		t.Fatalf("list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, append(flags, "requeue", "1")...)
	if code != exitOK || !strings.Contains(out, "dead letter 1 requeued as seq 4") {
		t.Fatalf("requeue: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, append(flags, "drop", "2")...)
	if code != exitOK || !strings.Contains(out, "1 dropped, 1 requeued") || !strings.Contains(out, "0 kept") {
		t.Fatalf("drop: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut = runCmd(t, append(flags, "drop", "2")...); code != exitError || !strings.Contains(errOut, "no dead letter with seq 2") {
		t.Fatalf("drop twice: exit %d, %s", code, errOut)
	}
	if code, _, _ = runCmd(t, append(flags, "requeue", "x")...); code != exitUsage {
		t.Fatalf("bad seq: exit %d", code)
	}

	st, err = store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Peek(10)
	if err != nil || len(recs) != 2 || recs[1].Seq != 4 {
		t.Fatalf("queue %v %v, want seqs 3 and 4", recs, err)
	}
	var b outbox.Batch
	if err := b.UnmarshalBinary(recs[1].Data); err != nil || b.Replaces != 1 || b.Count != 4 {
		t.Fatalf("requeued batch %+v %v", b, err)
	}
}
