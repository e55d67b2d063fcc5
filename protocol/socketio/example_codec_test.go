package socketio_test

import (
	"fmt"

	"github.com/sioagent/sioagent/protocol/socketio"
)

func ExampleMarshalArgs() {
	// Binary values become placeholders and travel as attachments.
	data, attachments, err := socketio.MarshalArgs("baz", []byte{1, 2, 3, 4})
	if err != nil {
		panic(err)
	}
	p := socketio.Packet{Type: socketio.PacketBinaryEvent, Data: data, Attachments: attachments}
	fmt.Printf("%s\n", socketio.AppendPacket(nil, &p))
	for _, a := range p.Attachments {
		fmt.Printf("+ % x\n", a)
	}
	// Output:
	// 51-["baz",{"_placeholder":true,"num":0}]
	// + 01 02 03 04
}

func ExampleDecoder() {
	var d socketio.Decoder
	messages := []struct {
		data   []byte
		binary bool
	}{
		{[]byte(`2/admin,["hello","world"]`), false},
		{[]byte(`61-15["bar",{"_placeholder":true,"num":0}]`), false},
		{[]byte{1, 2, 3, 4}, true},
	}
	for _, m := range messages {
		p, err := d.Decode(m.data, m.binary)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		if p == nil {
			fmt.Println("waiting for attachments")
			continue
		}
		args, err := socketio.SplitArray(p.Data)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		var first string
		var second any
		_ = socketio.UnmarshalArg(args[0], p.Attachments, &first)
		_ = socketio.UnmarshalArg(args[1], p.Attachments, &second)
		fmt.Printf("%v %s id=%d/%v: %q %v\n", p.Type, p.Namespace, p.ID, p.HasID, first, second)
	}
	// Output:
	// EVENT /admin id=0/false: "hello" world
	// waiting for attachments
	// BINARY_ACK / id=15/true: "bar" [1 2 3 4]
}
