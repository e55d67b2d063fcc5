package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
)

// PacketType is the one-digit Socket.IO v5 packet type.
type PacketType byte

// Socket.IO v5 packet types.
const (
	PacketConnect      PacketType = 0
	PacketDisconnect   PacketType = 1
	PacketEvent        PacketType = 2
	PacketAck          PacketType = 3
	PacketConnectError PacketType = 4
	PacketBinaryEvent  PacketType = 5
	PacketBinaryAck    PacketType = 6
)

var packetTypeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the protocol name of t ("EVENT", "BINARY_ACK", ...).
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("PacketType(%d)", byte(t))
}

// DefaultNamespace is the main namespace.
const DefaultNamespace = "/"

// DefaultMaxAttachments is the largest number of binary attachments a decoder
// accepts in one packet, the same as the reference parser (socket.io-parser
// 4.2.6 and later); current servers reject packets with more.
const DefaultMaxAttachments = 10

// Packet is one Socket.IO packet. Data holds the JSON payload with every
// binary value replaced by a {"_placeholder":true,"num":N} object, and
// Attachments holds the binary values in placeholder order.
type Packet struct {
	Type PacketType
	// Namespace is "/" for the main namespace (an empty string means "/").
	Namespace string
	// ID is the ack id; it is meaningful only when HasID is true.
	ID    uint64
	HasID bool
	// Data is the JSON payload, or nil when the packet has none.
	Data json.RawMessage
	// Attachments are the binary attachments of a BINARY_EVENT or BINARY_ACK.
	Attachments [][]byte
}

// ErrInvalidPacket is wrapped by every decoding error of this package.
var ErrInvalidPacket = errors.New("socketio: invalid packet")

// ErrTooManyAttachments is returned (wrapped in ErrInvalidPacket's chain by
// the decoder, or alone by the encoder) when a packet has more attachments
// than allowed.
var ErrTooManyAttachments = errors.New("socketio: too many attachments")
