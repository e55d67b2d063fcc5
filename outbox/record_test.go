package outbox_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/outbox"
)

// The record format, byte for byte.
func TestBatchGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    outbox.Batch
		want []byte
	}{
		{"senml", outbox.Batch{Count: 12, ContentType: outbox.ContentTypeSenMLCBOR, Payload: []byte{0x81, 0xa1}},
			append(append([]byte{1, 12, 22}, "application/senml+cbor"...), 0x81, 0xa1)},
		{"empty", outbox.Batch{}, []byte{1, 0, 0}},
		{"varint count", outbox.Batch{Count: 300, ContentType: "x", Payload: []byte("p")}, []byte{1, 0xac, 0x02, 1, 'x', 'p'}},
		{"replaces", outbox.Batch{Replaces: 300, Count: 1, ContentType: "x", Payload: []byte("p")}, []byte{2, 0xac, 0x02, 1, 1, 'x', 'p'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("MarshalBinary = % x, want % x", got, tc.want)
			}
			var back outbox.Batch
			if err := back.UnmarshalBinary(got); err != nil {
				t.Fatal(err)
			}
			if back.Count != tc.b.Count || back.Replaces != tc.b.Replaces || back.ContentType != tc.b.ContentType || !bytes.Equal(back.Payload, tc.b.Payload) {
				t.Fatalf("round trip gave %+v, want %+v", back, tc.b)
			}
		})
	}
}

func TestBatchErrors(t *testing.T) {
	if _, err := (outbox.Batch{Count: -1}).MarshalBinary(); err == nil {
		t.Error("negative count accepted")
	}
	if _, err := (outbox.Batch{ContentType: strings.Repeat("x", outbox.MaxContentType+1)}).MarshalBinary(); err == nil {
		t.Error("oversized content type accepted")
	}
	for _, data := range [][]byte{
		nil,                   // empty
		{3, 0, 0},             // newer version
		{2, 0, 0, 0},          // replaces zero
		{2, 0x80},             // torn replaces
		{1},                   // no count
		{1, 0x80},             // torn count
		{1, 0, 5, 'a', 'b'},   // content type longer than the record
		{1, 0, 0xff, 0x01},    // content type longer than MaxContentType
		{1, 0x80, 0x80, 0x80}, // torn count, longer
	} {
		var b outbox.Batch
		if err := b.UnmarshalBinary(data); !errors.Is(err, outbox.ErrBadRecord) {
			t.Errorf("UnmarshalBinary(% x) = %v, want ErrBadRecord", data, err)
		}
	}
}

// FuzzBatch: decoding never panics, and whatever decodes encodes back to
// a record that decodes to the same batch.
func FuzzBatch(f *testing.F) {
	f.Add([]byte{1, 12, 3, 'a', '/', 'b', 0x81})
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 0x80, 0x00, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b outbox.Batch
		if err := b.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, outbox.ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		enc, err := b.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", b, err)
		}
		var back outbox.Batch
		if err := back.UnmarshalBinary(enc); err != nil || back.Count != b.Count || back.ContentType != b.ContentType || !bytes.Equal(back.Payload, b.Payload) {
			t.Fatalf("re-encoded %+v decodes to %+v (%v)", b, back, err)
		}
	})
}
