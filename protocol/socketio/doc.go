// Package socketio implements a Socket.IO v5 client (the protocol revision
// spoken by Socket.IO 3.x and 4.x servers): a pure packet codec and a client
// with namespaces, acks and binary attachments.
//
// The codec has no goroutines and does no I/O. [AppendPacket] writes the text
// part of a packet, [Decoder] reassembles packets from Engine.IO messages,
// and [MarshalArgs], [UnmarshalArg] and [DecodeValue] convert between Go
// values and JSON payloads whose []byte values travel as separate binary
// attachments, referenced by {"_placeholder":true,"num":N} objects.
package socketio
