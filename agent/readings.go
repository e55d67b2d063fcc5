package agent

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
)

// ContentTypeReadings is the content type of the batches the agent stores in
// its outbox: readings with the clock facts needed to re-time them (see
// Prepare). They are turned into SenML CBOR just before each send, so the
// server only ever sees application/senml+cbor.
const ContentTypeReadings = "application/vnd.sioagent.readings+cbor"

// readingsVersion is the version of the stored batch format.
const readingsVersion = 1

// maxStoredBatch bounds a stored batch the agent is willing to decode.
const maxStoredBatch = senml.MaxPackBytes

// storedReading is one reading as kept on disk.
type storedReading struct {
	Name   string  `cbor:"1,keyasint"`
	Unit   string  `cbor:"2,keyasint,omitempty"`
	Value  float64 `cbor:"3,keyasint"`
	Wall   int64   `cbor:"4,keyasint"` // Unix nanoseconds
	Mono   int64   `cbor:"5,keyasint"` // boot-relative nanoseconds
	Synced bool    `cbor:"6,keyasint,omitempty"`
}

// storedBatch is what one outbox record holds: readings of one boot.
type storedBatch struct {
	Version  int             `cbor:"0,keyasint"`
	Boot     string          `cbor:"1,keyasint"`
	Readings []storedReading `cbor:"2,keyasint"`
}

// codec encodes stored batches and turns them into SenML packs. It is
// immutable once built.
type codec struct {
	enc    cbor.EncMode
	dec    cbor.DecMode
	senml  *senml.Encoder
	baseNm string
}

func newCodec(deviceID string) (*codec, error) {
	bn, err := senml.DeviceBaseName(deviceID)
	if err != nil {
		return nil, err
	}
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		return nil, err
	}
	dec, err := cbor.DecOptions{MaxArrayElements: senml.MaxRecords, MaxMapPairs: senml.MaxLabels, MaxNestedLevels: senml.MaxNesting}.DecMode()
	if err != nil {
		return nil, err
	}
	se, err := senml.NewEncoder()
	if err != nil {
		return nil, err
	}
	return &codec{enc: enc, dec: dec, senml: se, baseNm: bn}, nil
}

// encodeBatch encodes readings (all of one boot) for the outbox.
func (c *codec) encodeBatch(rs []sensors.Reading) ([]byte, error) {
	if len(rs) == 0 {
		return nil, errors.New("agent: empty batch")
	}
	b := storedBatch{Version: readingsVersion, Boot: rs[0].Boot, Readings: make([]storedReading, len(rs))}
	for i, r := range rs {
		b.Readings[i] = storedReading{Name: r.Name(), Unit: r.Unit, Value: r.Value, Wall: r.Time.UnixNano(), Mono: int64(r.Mono), Synced: r.Synced}
	}
	return c.enc.Marshal(b)
}

// decodeBatch decodes a stored batch back into readings.
func (c *codec) decodeBatch(data []byte) ([]sensors.Reading, error) {
	if len(data) > maxStoredBatch {
		return nil, fmt.Errorf("agent: stored batch of %d bytes (at most %d)", len(data), maxStoredBatch)
	}
	var b storedBatch
	if err := c.dec.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("agent: stored batch: %w", err)
	}
	if b.Version != readingsVersion {
		return nil, fmt.Errorf("agent: stored batch version %d (this agent reads %d)", b.Version, readingsVersion)
	}
	if len(b.Readings) == 0 {
		return nil, errors.New("agent: stored batch has no readings")
	}
	rs := make([]sensors.Reading, len(b.Readings))
	for i, r := range b.Readings {
		sensor, quantity, ok := strings.Cut(r.Name, "/")
		if !ok {
			return nil, fmt.Errorf("agent: stored reading name %q is not <sensor>/<quantity>", r.Name)
		}
		rs[i] = sensors.Reading{Sensor: sensor, Quantity: quantity, Unit: r.Unit, Value: r.Value, Time: time.Unix(0, r.Wall), Mono: time.Duration(r.Mono), Boot: b.Boot, Synced: r.Synced}
	}
	return rs, nil
}

// pack encodes readings as a SenML pack, re-timing each against now (see
// sensors.Correct).
func (c *codec) pack(rs []sensors.Reading, now sensors.Stamp) ([]byte, error) {
	p, _, err := c.packTimed(rs, now)
	return p, err
}

// packTimed is pack that also reports whether some reading's time could
// not be corrected (sensors.TimeUncertain: taken unsynchronised in an
// earlier boot).
func (c *codec) packTimed(rs []sensors.Reading, now sensors.Stamp) (pack []byte, uncertain bool, err error) {
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

// prepare is the outbox's Prepare hook: it turns a stored batch into a
// SenML pack timed against the clock as it is now. Batches of another
// content type pass unchanged.
func (c *codec) prepare(clock sensors.Clock) func(uint64, outbox.Batch) (outbox.Batch, error) {
	return func(_ uint64, b outbox.Batch) (outbox.Batch, error) {
		if b.ContentType != ContentTypeReadings {
			return b, nil
		}
		rs, err := c.decodeBatch(b.Payload)
		if err != nil {
			return b, err
		}
		p, uncertain, err := c.packTimed(rs, clock.Now())
		if err != nil {
			return b, err
		}
		out := outbox.Batch{Count: len(rs), ContentType: senml.MediaType, Payload: p}
		if uncertain {
			out.Clock = outbox.ClockUncertain
		}
		return out, nil
	}
}
