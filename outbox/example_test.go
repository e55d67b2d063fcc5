package outbox_test

import (
	"context"
	"log"
	"os"
	"os/signal"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
)

// A device queues telemetry durably and a drainer delivers it whenever the
// server is reachable.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	st, err := store.Open("/var/lib/sioagent/outbox.db", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	client, err := socketio.New("https://iot.example.com", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	var d *outbox.Drainer
	sock := client.Socket("/", &socketio.SocketOptions{
		Auth:       map[string]string{"token": "…", "deviceId": "pi-7"},
		SendBuffer: -1,                      // the store is the buffer
		OnConnect:  func(bool) { d.Wake() }, // resend at once after a reconnection
	})
	d, err = outbox.NewDrainer(st, sock, &outbox.Options{DeviceID: "pi-7"})
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		if err := sock.Connect(ctx); err != nil {
			log.Print(err) // the socket keeps trying in the background
		}
	}()

	// A producer: durable once Enqueue returns, delivered whenever possible.
	go func() {
		pack := []byte{0x81, 0xa2, 0x00, 0x64, 0x74, 0x65, 0x6d, 0x70, 0x02, 0x18, 0x15} // a SenML CBOR pack
		if _, err := outbox.Enqueue(ctx, st, 1, outbox.ContentTypeSenMLCBOR, pack); err != nil {
			log.Print(err)
		}
	}()

	if err := d.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
	log.Printf("outbox: %+v", d.Stats())
}
