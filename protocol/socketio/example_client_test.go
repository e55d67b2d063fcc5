package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// A device connects with an auth payload, answers a server command through
// its ack, and sends a reading with a binary attachment, waiting for the
// server's ack.
func Example() {
	client, err := socketio.New("https://iot.example.com", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	sock := client.Socket("/", &socketio.SocketOptions{
		// Called before every CONNECT, so a refreshed token is picked up.
		AuthFunc: func(context.Context) (any, error) {
			return map[string]string{"token": "secret", "deviceId": "pi-7"}, nil
		},
		OnDisconnect: func(reason error) { log.Printf("disconnected: %s", socketio.Reason(reason)) },
	})
	sock.On("gpio:write", func(e *socketio.Event) {
		var cmd struct {
			Pin   string `json:"pin"`
			Value bool   `json:"value"`
		}
		if err := e.Args.Decode(0, &cmd); err != nil {
			e.Ack(map[string]any{"ok": false, "error": map[string]string{"code": "bad_args", "message": err.Error()}})
			return
		}
		e.Ack(map[string]any{"ok": true})
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var refused *socketio.ConnectError
	if err := sock.Connect(ctx); errors.As(err, &refused) {
		log.Fatalf("server said no: %s (%s)", refused.Message, refused.Data)
	} else if err != nil {
		log.Fatal(err)
	}

	header := map[string]any{"deviceId": "pi-7", "seq": 1042, "count": 12}
	reading := []byte{0x81, 0xa2} // sent as a binary attachment
	reply, err := sock.EmitWithAck(ctx, "telemetry", header, reading)
	switch {
	case errors.Is(err, socketio.ErrAckTimeout):
		log.Print("no ack in time; the server may or may not have it")
	case errors.Is(err, socketio.ErrDisconnected):
		log.Print("link dropped before the ack")
	case err != nil:
		log.Fatal(err)
	default:
		ok, _ := socketio.Arg[bool](reply, 0)
		fmt.Println("stored:", ok)
	}
}
