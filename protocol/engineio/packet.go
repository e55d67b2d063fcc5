// Package engineio implements the client side of the Engine.IO v4 protocol:
// a pure packet codec (this file and payload.go) and one client session
// (session.go) over WebSocket (websocket.go) or HTTP long-polling
// (polling.go), with the upgrade from polling to WebSocket (upgrade.go).
// It never reconnects; that is the job of the layer above (package
// socketio).
package engineio

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Protocol is the Engine.IO protocol revision this package speaks (the EIO
// query parameter).
const Protocol = 4

// PacketType is the one-digit Engine.IO packet type.
type PacketType byte

// Engine.IO v4 packet types.
const (
	Open    PacketType = 0
	Close   PacketType = 1
	Ping    PacketType = 2
	Pong    PacketType = 3
	Message PacketType = 4
	Upgrade PacketType = 5
	Noop    PacketType = 6
)

var packetTypeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// String returns the protocol name of t ("open", "message", ...).
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("PacketType(%d)", byte(t))
}

// Packet is one Engine.IO packet. Binary packets are always of type Message
// and carry raw bytes in Data; text packets carry UTF-8 text in Data.
type Packet struct {
	Type   PacketType
	Data   []byte
	Binary bool
}

// ErrInvalidPacket is wrapped by every decoding error of this package.
var ErrInvalidPacket = errors.New("engineio: invalid packet")

// EncodeText appends the text encoding of p ("4hello") to dst. It must not be
// called for binary packets: on WebSocket those go out as raw binary frames
// (the Data itself), and on polling through EncodePayload.
func EncodeText(dst []byte, p Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// DecodeText decodes one text frame or record ("4hello"). The returned
// packet's Data aliases frame.
func DecodeText(frame []byte) (Packet, error) {
	if len(frame) == 0 {
		return Packet{}, fmt.Errorf("%w: empty", ErrInvalidPacket)
	}
	t := frame[0] - '0'
	if t > byte(Noop) {
		return Packet{}, fmt.Errorf("%w: unknown type %q", ErrInvalidPacket, frame[0])
	}
	return Packet{Type: PacketType(t), Data: frame[1:]}, nil
}

// DecodeBinary decodes one binary WebSocket frame: a Message whose Data is
// the frame itself (Engine.IO v4 sends no type byte with binary frames).
func DecodeBinary(frame []byte) Packet {
	return Packet{Type: Message, Data: frame, Binary: true}
}

// Handshake is the JSON payload of the server's open packet.
type Handshake struct {
	// SID is the session id, sent back on every later request.
	SID string `json:"sid"`
	// Upgrades lists the transports the session may upgrade to.
	Upgrades []string `json:"upgrades"`
	// PingInterval is the server's ping period in milliseconds.
	PingInterval int64 `json:"pingInterval"`
	// PingTimeout is how long the server waits for a pong, in milliseconds.
	PingTimeout int64 `json:"pingTimeout"`
	// MaxPayload is the largest packet (or polling body) the server accepts,
	// in bytes.
	MaxPayload int64 `json:"maxPayload"`
}

// maxHandshakeMillis is the largest millisecond count a time.Duration holds.
const maxHandshakeMillis = math.MaxInt64 / int64(time.Millisecond)

// ParseHandshake decodes and checks the data of an open packet: sid must be
// set, pingInterval and pingTimeout must be positive and their sum must fit
// in a time.Duration, and maxPayload must not be negative (zero means the
// server did not advertise one).
func ParseHandshake(data []byte) (Handshake, error) {
	var h Handshake
	if err := json.Unmarshal(data, &h); err != nil {
		return Handshake{}, fmt.Errorf("%w: open payload: %v", ErrInvalidPacket, err)
	}
	switch {
	case h.SID == "":
		return Handshake{}, fmt.Errorf("%w: open payload: missing sid", ErrInvalidPacket)
	case h.PingInterval <= 0 || h.PingTimeout <= 0:
		return Handshake{}, fmt.Errorf("%w: open payload: pingInterval and pingTimeout must be positive", ErrInvalidPacket)
	case h.PingInterval > maxHandshakeMillis-h.PingTimeout:
		return Handshake{}, fmt.Errorf("%w: open payload: pingInterval + pingTimeout overflows a time.Duration", ErrInvalidPacket)
	case h.MaxPayload < 0:
		return Handshake{}, fmt.Errorf("%w: open payload: negative maxPayload", ErrInvalidPacket)
	}
	return h, nil
}
