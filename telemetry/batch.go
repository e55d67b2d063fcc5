package telemetry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/sioagent/sioagent/protocol/senml"
	"github.com/sioagent/sioagent/sensors"
)

// ContentTypeReadings is the content type of the batches the agent stores in
// its outbox: readings with the clock facts needed to re-time them (see
// Codec.Prepare). They are turned into SenML CBOR just before each send, so the
// server only ever sees application/senml+cbor.
const ContentTypeReadings = "application/vnd.sioagent.readings+cbor"

// readingsVersion is the version of the stored batch format.
const readingsVersion = 1

// maxStoredBatch bounds a stored batch Decode is willing to read.
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

// Codec encodes stored batches and turns them into SenML packs. It is
// immutable once built and safe for concurrent use.
type Codec struct {
	enc    cbor.EncMode
	dec    cbor.DecMode
	senml  *senml.Encoder
	baseNm string
}

// New returns the codec of one device: its SenML base name is derived from
// deviceID (senml.DeviceBaseName).
func New(deviceID string) (*Codec, error) {
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
	return &Codec{enc: enc, dec: dec, senml: se, baseNm: bn}, nil
}

// Encode encodes readings (all of one boot) for the outbox.
func (c *Codec) Encode(rs []sensors.Reading) ([]byte, error) {
	if len(rs) == 0 {
		return nil, errors.New("telemetry: empty batch")
	}
	b := storedBatch{Version: readingsVersion, Boot: rs[0].Boot, Readings: make([]storedReading, len(rs))}
	for i, r := range rs {
		b.Readings[i] = storedReading{Name: r.Name(), Unit: r.Unit, Value: r.Value, Wall: r.Time.UnixNano(), Mono: int64(r.Mono), Synced: r.Synced}
	}
	return c.enc.Marshal(b)
}

// Decode decodes a stored batch back into readings.
func (c *Codec) Decode(data []byte) ([]sensors.Reading, error) {
	if len(data) > maxStoredBatch {
		return nil, fmt.Errorf("telemetry: stored batch of %d bytes (at most %d)", len(data), maxStoredBatch)
	}
	var b storedBatch
	if err := c.dec.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("telemetry: stored batch: %w", err)
	}
	if b.Version != readingsVersion {
		return nil, fmt.Errorf("telemetry: stored batch version %d (this agent reads %d)", b.Version, readingsVersion)
	}
	if len(b.Readings) == 0 {
		return nil, errors.New("telemetry: stored batch has no readings")
	}
	rs := make([]sensors.Reading, len(b.Readings))
	for i, r := range b.Readings {
		sensor, quantity, ok := strings.Cut(r.Name, "/")
		if !ok {
			return nil, fmt.Errorf("telemetry: stored reading name %q is not <sensor>/<quantity>", r.Name)
		}
		rs[i] = sensors.Reading{Sensor: sensor, Quantity: quantity, Unit: r.Unit, Value: r.Value, Time: time.Unix(0, r.Wall), Mono: time.Duration(r.Mono), Boot: b.Boot, Synced: r.Synced}
	}
	return rs, nil
}
