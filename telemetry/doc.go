// Package telemetry is the one home of the agent's telemetry formats: the
// batch of readings it stores in the outbox, and the conversion of that
// batch to the SenML CBOR pack the server receives (senml.MediaType),
// re-timed against the clock at send time.
//
// A stored batch (ContentTypeReadings, see Codec.Encode for its layout) is
// a small hand-written binary layout: a version byte, then the boot and
// each reading's name, unit, value, wall time, boot-relative time and
// whether the clock was synchronised. Agents before it stored a CBOR map
// (application/vnd.sioagent.readings+cbor, version 1); the outbox keeps
// each record's content type, so such records may still wait in an
// upgraded device's outbox, and Codec.Prepare still sends them, through a
// reader of exactly that CBOR shape (v1.go). The agent thus links no CBOR
// decoder: only the SenML encoder writes CBOR.
//
// Readings are stored with their clock facts rather than as SenML so that a
// reading taken before the clock was synchronised can still be sent with a
// true time once it is (sensors.Correct): the conversion runs just before
// every send, through the outbox's Prepare hook (Codec.Prepare).
//
// The package sits below agent and above outbox, sensors and
// protocol/senml; it holds no state beyond an immutable Codec.
package telemetry
