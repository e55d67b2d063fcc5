package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	at := time.Date(2026, 7, 1, 12, 0, 0, 123, time.UTC)
	for _, d := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte{0xAB}, 600)} {
		v := encodeRecord(42, at, d)
		if uint64(keySize+len(v)) != storedSize(len(d)) {
			t.Fatalf("stored size %d, want %d", keySize+len(v), storedSize(len(d)))
		}
		rec, err := decodeRecord(seqKey(42), v)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Seq != 42 || !bytes.Equal(rec.Data, d) || !rec.Appended.Equal(at) {
			t.Fatalf("decoded %+v", rec)
		}
	}
}

// Every single-byte change, truncation and wrong key is detected.
func TestEnvelopeDetectsDamage(t *testing.T) {
	at := time.Unix(1_750_000_000, 0)
	v := encodeRecord(7, at, []byte("a SenML pack"))
	for i := range v {
		bad := bytes.Clone(v)
		bad[i] ^= 0x40
		if _, err := decodeRecord(seqKey(7), bad); !errors.Is(err, errDamaged) {
			t.Errorf("flip of byte %d not detected: %v", i, err)
		}
	}
	for n := 0; n < len(v); n++ {
		if _, err := decodeRecord(seqKey(7), v[:n]); !errors.Is(err, errDamaged) {
			t.Errorf("truncation to %d bytes not detected", n)
		}
	}
	if _, err := decodeRecord(seqKey(8), v); !errors.Is(err, errDamaged) {
		t.Error("record under the wrong key not detected")
	}
	if _, err := decodeRecord([]byte{7}, v); !errors.Is(err, errDamaged) {
		t.Error("short key not detected")
	}
}

func TestDeadEnvelope(t *testing.T) {
	at := time.Unix(1_750_000_000, 5)
	env := encodeRecord(9, at, []byte("payload"))
	v := encodeDead(at.Add(time.Hour), "server said no", env)
	d, err := decodeDead(seqKey(9), v)
	if err != nil {
		t.Fatal(err)
	}
	if d.Seq != 9 || string(d.Data) != "payload" || d.Reason != "server said no" ||
		!d.DeadLettered.Equal(at.Add(time.Hour)) || !d.Appended.Equal(at) {
		t.Fatalf("decoded %+v", d)
	}
	for i := range v {
		bad := bytes.Clone(v)
		bad[i] ^= 1
		if _, err := decodeDead(seqKey(9), bad); err == nil {
			t.Errorf("flip of byte %d not detected", i)
		}
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := meta{count: 1, bytes: 2, drops: Drops{MaxBytes: 3, MaxRecords: 4, MaxAge: 5, MaxFileSize: 15}, deadCount: 6, deadBytes: 7, deadTotal: 8, quarCount: 9, quarBytes: 10, quarTotal: 11}
	var got meta
	if err := got.decode(m.encode()); err != nil || got != m {
		t.Fatalf("decode(encode(m)) = %+v, %v", got, err)
	}
	if err := got.decode(m.encode()[:10]); err == nil {
		t.Fatal("short meta accepted")
	}
}
