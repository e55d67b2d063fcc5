package telemetry

import (
	"math"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/wire"
)

// Pack encodes readings as a SenML pack, re-timing each against now (see
// sensors.Correct).
func (c *Codec) Pack(rs []sensors.Reading, now sensors.Stamp) ([]byte, error) {
	p, _, err := c.PackTimed(rs, now)
	return p, err
}

// PackTimed is pack that also reports whether some reading's time could
// not be corrected (sensors.TimeUncertain: taken unsynchronised in an
// earlier boot).
func (c *Codec) PackTimed(rs []sensors.Reading, now sensors.Stamp) (pack []byte, uncertain bool, err error) {
	relative := false
	readings := make([]senml.Reading, len(rs))
	times := make([]float64, len(rs)) // seconds: absolute, or negative age
	for i, r := range rs {
		t, q := sensors.Correct(r, now)
		unit := r.Unit
		if senml.CheckUnit(unit) != nil {
			// Config checks units, so this is a driver bug; losing the
			// unit is better than dead-lettering the whole batch.
			unit = ""
		}
		readings[i] = senml.Reading{Name: r.Name(), Unit: unit, Value: r.Value, Time: t}
		uncertain = uncertain || q == sensors.TimeUncertain
		if q == sensors.TimeRelative {
			relative = true
			times[i] = -now.Mono.Seconds() + r.Mono.Seconds()
		} else {
			times[i] = float64(t.UnixNano()) / 1e9
		}
	}
	if !relative {
		pack, err = c.senml.Encode(c.baseNm, readings)
		return pack, uncertain, err
	}
	// Some readings can only be placed relative to the moment the server
	// receives the pack (RFC 8428 section 4.5.3: a time below 2^28 is
	// relative to "now"): no base time, each record its own t.
	recs := make([]senml.Record, len(rs))
	for i, r := range readings {
		v := r.Value
		recs[i] = senml.Record{Name: r.Name, Unit: r.Unit, Value: &v, Time: roundMillis(times[i])}
	}
	recs[0].BaseName = c.baseNm
	pack, err = c.senml.EncodeRecords(recs)
	return pack, uncertain, err
}

func roundMillis(s float64) float64 { return math.Round(s*1000) / 1000 }

// Prepare returns the outbox's Prepare hook (outbox.Options.Prepare): it
// turns a stored batch (ContentTypeReadings, or the CBOR batches of earlier
// agents, contentTypeReadingsV1) into a SenML pack timed against the clock
// as it is now. Batches of another content type pass unchanged.
func (c *Codec) Prepare(clock sensors.Clock) func(uint64, outbox.Batch) (outbox.Batch, error) {
	return func(_ uint64, b outbox.Batch) (outbox.Batch, error) {
		var rs []sensors.Reading
		var err error
		switch b.ContentType {
		case ContentTypeReadings:
			rs, err = c.Decode(b.Payload)
		case contentTypeReadingsV1:
			rs, err = decodeV1(b.Payload)
		default:
			return b, nil
		}
		if err != nil {
			return b, err
		}
		p, uncertain, err := c.PackTimed(rs, clock.Now())
		if err != nil {
			return b, err
		}
		out := outbox.Batch{Count: len(rs), ContentType: senml.MediaType, Payload: p}
		if uncertain {
			out.Clock = wire.ClockUncertain
		}
		return out, nil
	}
}
