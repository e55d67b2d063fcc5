package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sioagent/sioagent/protocol/socketio"
)

// These examples run against the example server of examples/server
// (exampleServerURL): its "echo" acks with the arguments it got, and its
// "ask" sends an event to the client with an ack, then acks the ask with
// the client's ack arguments.

// An event declared with its argument and ack types: the compiler checks
// the emit, and the ack arrives decoded. The wait for the ack ends with
// the context; the error then matches ErrAckTimeout and the context's
// error.
func ExampleTypedEvent_EmitWithAck() {
	type Reading struct {
		Sensor string  `json:"sensor"`
		Value  float64 `json:"value"`
	}
	// The server's "echo" acks with the reading it got; its "echo-event"
	// never acks.
	echo := socketio.NewEvent[Reading, Reading]("echo")
	noAck := socketio.NewEvent[Reading, Reading]("echo-event")

	client, err := socketio.New(exampleServerURL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	sock := client.Socket("/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}

	got, err := echo.EmitWithAck(ctx, sock, Reading{Sensor: "greenhouse", Value: 21.5})
	fmt.Printf("%+v %v\n", got, err)

	// Like socket.timeout(200).emitWithAck(...) in JavaScript.
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	_, err = noAck.EmitWithAck(short, sock, Reading{Sensor: "greenhouse", Value: 21.5})
	fmt.Println(err)
	fmt.Println(errors.Is(err, socketio.ErrAckTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// {Sensor:greenhouse Value:21.5} <nil>
	// socketio: ack timed out: context deadline exceeded
	// true true
}

// A typed command handler: it gets the decoded arguments, and what it
// returns is the ack. An error becomes the error ack, {"error": message}
// unless SocketOptions.ErrorAck says otherwise.
func ExampleTypedEvent_Handle() {
	type Calibrate struct {
		Sensor string  `json:"sensor"`
		Value  float64 `json:"value"`
	}
	type Calibrated struct {
		Sensor string  `json:"sensor"`
		Offset float64 `json:"offset"`
	}
	calibrate := socketio.NewEvent[Calibrate, Calibrated]("calibrate")
	// The server's "ask"(event, args...) sends event(args...) to the client
	// and acks with the client's ack arguments, as JSON here.
	ask := socketio.NewEvent[socketio.Pair[string, Calibrate], json.RawMessage]("ask")

	client, err := socketio.New(exampleServerURL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	sock := client.Socket("/", nil)
	calibrate.Handle(sock, func(ctx context.Context, c Calibrate) (Calibrated, error) {
		if c.Value < 0 {
			return Calibrated{}, fmt.Errorf("%s: negative reading", c.Sensor)
		}
		return Calibrated{Sensor: c.Sensor, Offset: 0.5}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}

	for _, value := range []float64{21.5, -1} {
		cmd := socketio.Pair[string, Calibrate]{First: "calibrate", Second: Calibrate{Sensor: "greenhouse", Value: value}}
		reply, err := ask.EmitWithAck(ctx, sock, cmd)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("the server got %s\n", reply)
	}
	// Output:
	// the server got [{"sensor":"greenhouse","offset":0.5}]
	// the server got [{"error":"greenhouse: negative reading"}]
}

// On, Once and OnAny return the function that removes the handler; Off
// removes every handler of an event. A removed handler is not called
// again, not even for events that had already arrived, and a handler may
// remove itself. The server's "burst"(n) sends "burst"(0) ...
// "burst"(n-1) as fast as it can, then "burst-done"(n).
func ExampleSocket_On() {
	client, err := socketio.New(exampleServerURL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	sock := client.Socket("/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}

	done := make(chan int, 1)
	sock.On("burst-done", func(e *socketio.Event) {
		n, _ := socketio.Arg[int](e.Args, 0)
		done <- n
	})
	sock.Once("burst", func(*socketio.Event) { fmt.Println("once: the first burst event") })
	var stop func()
	stop = sock.On("burst", func(e *socketio.Event) {
		i, _ := socketio.Arg[int](e.Args, 0)
		fmt.Println("burst", i)
		if i == 2 {
			stop() // 3 and 4 are skipped, even if they wait in the queue already
		}
	})
	if err := sock.Emit(ctx, "burst", 5); err != nil {
		log.Fatal(err)
	}
	fmt.Println("burst done:", <-done)

	sock.On("burst", func(*socketio.Event) { fmt.Println("not printed") })
	sock.Off("burst") // every "burst" handler
	if err := sock.Emit(ctx, "burst", 5); err != nil {
		log.Fatal(err)
	}
	fmt.Println("burst done:", <-done)
	// Output:
	// once: the first burst event
	// burst 0
	// burst 1
	// burst 2
	// burst done: 5
	// burst done: 5
}

// A sender waits for the connection instead of polling Connected; whoever
// connects the socket (Connect, here from another goroutine, the client's
// reconnection or SocketOptions.Rejoin) releases it. A refusal does not
// end the wait: only the context or Client.Close do.
func ExampleSocket_WaitConnected() {
	client, err := socketio.New(exampleServerURL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	sock := client.Socket("/", nil)
	go func() {
		if err := sock.Connect(ctx); err != nil {
			log.Print(err)
		}
	}()
	if err := sock.WaitConnected(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("connected:", sock.Connected())

	// The server refuses the namespace /no.
	refused := client.Socket("/no", nil)
	fmt.Println(refused.Connect(ctx))
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	fmt.Println(refused.WaitConnected(short))

	// WhenConnected is the channel WaitConnected waits on, for a select.
	select {
	case <-sock.WhenConnected():
		fmt.Println("still connected")
	case <-ctx.Done():
	}
	// Output:
	// connected: true
	// socketio: namespace /no refused: Auth failed (custom namespace) (data {"code":42,"reason":"always"})
	// context deadline exceeded
	// still connected
}

// SocketOptions.OnConnect runs at every connection, with whether the
// server's connection state recovery restored the session (the same
// socket id, and the events missed meanwhile delivered first);
// Options.OnStatus follows the reconnection. The example server has
// recovery on; its "send-raw" makes it send a malformed packet, which
// drops the connection (reason "parse error") as a lost link would.
func ExampleSocket_Recovered() {
	// The callbacks run on the client's dispatcher goroutine; they pass
	// what they see to this one.
	events := make(chan string, 10)
	client, err := socketio.New(exampleServerURL(), &socketio.Options{
		ReconnectDelay: 100 * time.Millisecond, // short for the example
		OnStatus: func(st socketio.Status) {
			if st.Kind == socketio.StatusReconnecting {
				events <- fmt.Sprint("reconnecting: attempt ", st.Attempt)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	sock := client.Socket("/", &socketio.SocketOptions{
		OnConnect:    func(recovered bool) { events <- fmt.Sprint("connected, recovered: ", recovered) },
		OnDisconnect: func(reason error) { events <- "disconnected: " + socketio.Reason(reason) },
	})
	// Recovery resumes after the last event received: the example server
	// sends "welcome" on connect for that.
	welcome := make(chan struct{}, 2)
	sock.On("welcome", func(*socketio.Event) { welcome <- struct{}{} })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-events)
	<-welcome
	id := sock.ID()

	if err := sock.Emit(ctx, "send-raw", "2abc"); err != nil {
		log.Fatal(err)
	}
	for range 3 {
		fmt.Println(<-events)
	}
	fmt.Println("Recovered:", sock.Recovered(), "same id:", sock.ID() == id)
	// Output:
	// connected, recovered: false
	// disconnected: parse error
	// reconnecting: attempt 1
	// connected, recovered: true
	// Recovered: true same id: true
}
