// Package outbox delivers the records of a durable store (package store) to
// a Socket.IO server as acknowledged telemetry events, so that a reading
// that was queued reaches the server even across network outages, server
// restarts and agent crashes. It is the delivery half of the durable outbox
// (docs/ARCHITECTURE.md); docs/OUTBOX.md is the server author's view.
//
// # Producing
//
// Enqueue stores one batch (count readings of one content type) and returns
// its seq once it is durable:
//
//	seq, err := outbox.Enqueue(ctx, st, 12, outbox.ContentTypeSenMLCBOR, pack)
//
// A store record holds a small versioned header and the payload (see
// Batch.AppendBinary); the record's store seq becomes the message id.
//
// # Wire contract
//
// Each record is emitted, with an ack, as
//
//	telemetry({"deviceId": "pi-7", "seq": 1042, "count": 12, "contentType": "application/senml+cbor"}, <payload as a binary attachment>)
//
// and the server acknowledges with one argument (wire.TelemetryAck; the whole event is wire.Telemetry):
//
//	{"ok": true}                      stored; the record is deleted
//	{"ok": true, "duplicate": true}   stored earlier (the flag is optional); deleted
//	{"ok": false, "error": {"code": "...", "message": "...", "permanent": true|false}}
//
// seq is unique and increasing per device and never reused, across restarts:
// the server must dedupe on (deviceId, seq) and ack a duplicate with ok,
// because the drainer sends a record again whenever it could not see the ack
// (timeout, disconnection, crash). A permanent error counts toward
// Options.MaxAttempts, after which the record is moved to the store's
// dead-letter bucket; a transient error, an unreadable ack and a timeout
// are retried with backoff for as long as it takes.
//
// # Draining
//
// A Drainer sends the oldest records first with up to Options.Window of
// them in flight (a window of W records costs one round trip, not W),
// using Socket.EmitWithAckAsync so that the events leave in seq order.
// By default (WindowAuto) it sizes the window itself: from
// AutoWindowInitial records at each connection, grown while the acks'
// round trip stays near the least seen and shrunk when it inflates or an
// ack times out, within AutoWindowMaxRecords records and
// AutoWindowMaxBytes of payload (docs/OUTBOX.md, "The window").
// It deletes a record only after an ack that said ok, and in seq order:
// a record acked after an older one whose ack was lost or refused is kept
// until that older one is acked too (or dead-lettered, or dropped by a
// store bound); meanwhile the drainer remembers the ack in memory and does
// not send the record again while Run lasts (a new Run sends it again, and
// the server dedupes). A deletion that fails is not retried in order: the
// records stay queued and are sent again.
// When an ack is lost (disconnection, timeout) or refused, it stops
// sending, lets the flights end, and starts again from the oldest record
// left in the store: everything unacknowledged goes out again, in order,
// after the retry delay or, after a disconnection, as soon as the socket is
// connected again. Records appended while the drainer is idle go out at
// once (Store.Wait).
//
// The store is the buffer: the drainer sends only while the socket is
// connected and never relies on the socket's in-memory send buffer, so it
// works with any SocketOptions.SendBuffer. SendBuffer: -1 is the natural
// setting for a socket used only by the drainer. SocketOptions.Retries
// does not apply to its emits.
//
// The drainer needs of the socket only what Sender says, which
// *socketio.Socket provides: it waits for the connection on
// Sender.WhenConnected, never by polling. Wiring, with OnConnect waking the
// drainer so that a record held for its size is tried at once in a new
// session (HeldRecord):
//
//	var d *outbox.Drainer
//	sock := client.Socket("/", &socketio.SocketOptions{
//		Auth:       auth,
//		SendBuffer: -1,
//		OnConnect:  func(bool) { d.Wake() },
//	})
//	d, err := outbox.NewDrainer(st, sock, &outbox.Options{DeviceID: "pi-7"})
//	...
//	go sock.Connect(ctx)
//	err = d.Run(ctx)
//
// Options.DeviceID must match what the server expects; the other options
// have defaults (WindowAuto, DefaultAckTimeout, DefaultMaxAttempts,
// DefaultRetryDelay, DefaultRetryDelayMax). Stats reports what the drainer
// did: records in flight, sent, resent, acked, duplicates, rejected,
// timeouts, disconnections, dead letters and the last error.
//
// Delivery is at least once, and exactly once at the server that dedupes.
// Attempt counts of permanent rejections live in memory: a restart gives
// a record MaxAttempts new tries.
package outbox
