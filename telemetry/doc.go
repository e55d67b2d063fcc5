// Package telemetry is the one home of the agent's telemetry formats: the
// batch of readings it stores in the outbox (ContentTypeReadings, a small
// CBOR map keeping each reading's wall time, boot-relative time and boot),
// and the conversion of that batch to the SenML CBOR pack the server
// receives (senml.MediaType), re-timed against the clock at send time.
//
// Readings are stored with their clock facts rather than as SenML so that a
// reading taken before the clock was synchronised can still be sent with a
// true time once it is (sensors.Correct): the conversion runs just before
// every send, through the outbox's Prepare hook (Codec.Prepare).
//
// The package sits below agent and above outbox, sensors and
// protocol/senml; it holds no state beyond an immutable Codec.
package telemetry
