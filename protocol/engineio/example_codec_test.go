package engineio_test

import (
	"fmt"
	"strings"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// A long-polling POST body: text packets as "<type><data>", binary packets as
// "b" + base64, separated by 0x1e (shown here as "|").
func ExampleEncodePayload() {
	body := engineio.EncodePayload(nil, []engineio.Packet{
		{Type: engineio.Message, Data: []byte("hello")},
		{Type: engineio.Message, Data: []byte{1, 2, 3, 4}, Binary: true},
		{Type: engineio.Pong},
	})
	fmt.Println(strings.ReplaceAll(string(body), "\x1e", "|"))
	// Output: 4hello|bAQIDBA==|3
}

func ExampleDecodePayload() {
	packets, err := engineio.DecodePayload([]byte("4hello\x1e2\x1ebAQIDBA=="))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range packets {
		if p.Binary {
			fmt.Printf("%s binary % x\n", p.Type, p.Data)
		} else {
			fmt.Printf("%s %q\n", p.Type, p.Data)
		}
	}
	// Output:
	// message "hello"
	// ping ""
	// message binary 01 02 03 04
}

// Splitting queued packets into POST bodies of at most maxPayload bytes: a
// body of n packets is one byte shorter than the sum of their PayloadSize.
func ExamplePayloadSize() {
	const maxPayload = 16
	queue := []engineio.Packet{
		{Type: engineio.Message, Data: []byte("hello")},
		{Type: engineio.Message, Data: []byte("world")},
		{Type: engineio.Message, Data: []byte{1, 2, 3, 4}, Binary: true},
	}
	for len(queue) > 0 {
		n, size := 1, engineio.PayloadSize(queue[0]) // always send at least one
		for n < len(queue) && size+engineio.PayloadSize(queue[n]) <= maxPayload+1 {
			size += engineio.PayloadSize(queue[n])
			n++
		}
		body := engineio.EncodePayload(nil, queue[:n])
		fmt.Printf("%d bytes: %q\n", len(body), body)
		queue = queue[n:]
	}
	// Output:
	// 13 bytes: "4hello\x1e4world"
	// 9 bytes: "bAQIDBA=="
}

func ExampleParseHandshake() {
	frame := []byte(`0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	p, err := engineio.DecodeText(frame)
	if err != nil || p.Type != engineio.Open {
		fmt.Println("not an open packet:", err)
		return
	}
	h, err := engineio.ParseHandshake(p.Data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.SID, h.Upgrades, h.PingInterval+h.PingTimeout, h.MaxPayload)
	// Output: lv_VI97HAXpY6yYWAAAC [websocket] 45000 1000000
}

func ExampleDecodeText() {
	for _, frame := range []string{"2probe", "4€", "7"} {
		p, err := engineio.DecodeText([]byte(frame))
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%s %q -> %s\n", p.Type, p.Data, engineio.EncodeText(nil, p))
	}
	// Output:
	// ping "probe" -> 2probe
	// message "€" -> 4€
	// error: engineio: invalid packet: unknown type '7'
}
