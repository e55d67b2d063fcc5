package socketio

import (
	"math/rand/v2"
	"testing"
)

// telemetryArgs are the arguments of the agent's telemetry event: a header
// and a 256-byte SenML CBOR pack (random bytes here).
func telemetryArgs() (telemetryHeader, []byte) {
	pack := make([]byte, 256)
	r := rand.New(rand.NewChaCha8([32]byte{7}))
	for i := range pack {
		pack[i] = byte(r.Uint32())
	}
	return telemetryHeader{DeviceID: "pi-7", Seq: 1042, Count: 12, ContentType: "application/senml+cbor"}, pack
}

// BenchmarkTelemetryEncode measures MarshalArgs and AppendPacket for one
// telemetry event with an ack id, reusing the output buffer.
func BenchmarkTelemetryEncode(b *testing.B) {
	hdr, pack := telemetryArgs()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		data, atts, err := MarshalArgs("telemetry", hdr, pack)
		if err != nil {
			b.Fatal(err)
		}
		p := Packet{Type: PacketBinaryEvent, ID: 1042, HasID: true, Data: data, Attachments: atts}
		buf = AppendPacket(buf[:0], &p)
	}
}

// BenchmarkTelemetryDecode measures Decoder.Decode of the text message and
// the attachment of one telemetry event.
func BenchmarkTelemetryDecode(b *testing.B) {
	hdr, pack := telemetryArgs()
	data, atts, err := MarshalArgs("telemetry", hdr, pack)
	if err != nil {
		b.Fatal(err)
	}
	text := AppendPacket(nil, &Packet{Type: PacketBinaryEvent, ID: 1042, HasID: true, Data: data, Attachments: atts})
	var d Decoder
	b.SetBytes(int64(len(text) + len(pack)))
	b.ReportAllocs()
	for b.Loop() {
		if p, err := d.Decode(text, false); p != nil || err != nil {
			b.Fatal(p, err)
		}
		p, err := d.Decode(pack, true)
		if p == nil || err != nil {
			b.Fatal(err)
		}
	}
}
