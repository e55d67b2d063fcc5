package engineio_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/sioagent/sioagent/protocol/engineio"
)

// A session that behaves like the reference JavaScript client: it opens on
// HTTP long-polling, then upgrades to WebSocket when the server offers it.
// (Devices usually keep the default, WebSocket only; list
// {"websocket", "polling"} to fall back to polling where WebSockets are
// blocked.)
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := engineio.Dial(ctx, "http://127.0.0.1:3000", &engineio.Options{
		Transports: []string{engineio.TransportPolling, engineio.TransportWebSocket},
		OnUpgrade: func(transport string, err error) {
			if err != nil {
				log.Printf("staying on polling: %v", err)
				return
			}
			log.Printf("upgraded to %s", transport)
		},
		OnMessage: func(data []byte, binary bool) error {
			log.Printf("message %q", data)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// A Socket.IO CONNECT to the main namespace.
	if err := s.Send(ctx, engineio.Packet{Type: engineio.Message, Data: []byte("0")}); err != nil {
		log.Fatal(err)
	}
	<-s.Done()
	if errors.Is(s.Err(), engineio.ErrSessionUnknown) {
		log.Print("the server forgot the session: reconnect")
	}
}
