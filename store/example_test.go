package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sioagent/sioagent/store"
)

func Example() {
	dir, err := os.MkdirTemp("", "outbox")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := store.Open(filepath.Join(dir, "outbox.db"), &store.Options{
		MaxBytes: 16 << 20,
		Overflow: store.DropOldest,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// Producers: Append returns once the record is on disk.
	ctx := context.Background()
	for _, reading := range []string{"21.5 Cel", "21.7 Cel", "21.6 Cel"} {
		if _, err := s.Append(ctx, []byte(reading)); err != nil {
			log.Fatal(err)
		}
	}

	// The sender: peek the oldest, send, remove what the server acknowledged.
	recs, err := s.Peek(2)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range recs {
		fmt.Printf("send seq=%d %s\n", r.Seq, r.Data)
	}
	if err := s.RemoveThrough(recs[len(recs)-1].Seq); err != nil {
		log.Fatal(err)
	}
	st := s.Stats()
	fmt.Printf("queued=%d next seq=%d\n", st.Count, st.NextSeq)
	// Output:
	// send seq=1 21.5 Cel
	// send seq=2 21.7 Cel
	// queued=1 next seq=4
}
