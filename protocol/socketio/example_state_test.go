package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// A device shows its link on a status LED: it follows the socket's state,
// taking a snapshot and waiting for the change that comes after it, until
// the client is closed. Nothing polls, and no change is waited for twice.
func ExampleSocket_State() {
	client, err := socketio.New("https://iot.example.com", nil)
	if err != nil {
		log.Fatal(err)
	}
	sock := client.Socket("/", nil)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			st := sock.State() // a snapshot, and the channel its next change closes
			switch st.Kind {
			case socketio.StateConnected:
				fmt.Println("LED green; session recovered:", st.Recovered)
			case socketio.StateConnecting:
				fmt.Println("LED blinking: connecting, attempt", st.Attempt)
			case socketio.StateReconnecting:
				fmt.Printf("LED orange: %s, attempt %d in %v\n", socketio.Reason(st.Err), st.Attempt, st.Delay)
			case socketio.StateDisconnected:
				if errors.Is(st.Err, socketio.ErrClosed) {
					fmt.Println("LED off")
					return // the state after Close is final
				}
				fmt.Println("LED red:", st) // e.g. "disconnected: io server disconnect"
			}
			<-st.Changed
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sock.Connect(ctx); err != nil {
		log.Print(err) // unless it was refused, the socket keeps trying in the background
	}
	// ... the device's work ...
	client.Close()
	<-done
}
