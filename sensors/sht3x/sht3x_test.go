package sht3x_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/sensortest"
	"github.com/sioagent/sioagent/sensors/sht3x"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

const addr = 0x44

// CRCs (poly 0x31, init 0xFF): 0x8010→E1, 0x6666→93, 0x8000→A2,
// 0x0123→A0, 0x4567→53.
var (
	statusOK   = []i2ctest.IO{{Addr: addr, W: []byte{0xF3, 0x2D}}, {Addr: addr, R: []byte{0x80, 0x10, 0xE1}}}
	serialOK   = []i2ctest.IO{{Addr: addr, W: []byte{0x89}}, {Addr: addr, R: []byte{0x01, 0x23, 0xA0, 0x45, 0x67, 0x53}}}
	measureRaw = []byte{0x66, 0x66, 0x93, 0x80, 0x00, 0xA2} // T 0x6666, RH 0x8000
)

func concat(parts ...[]i2ctest.IO) []i2ctest.IO {
	var out []i2ctest.IO
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func checkValues(t *testing.T, got []sensors.Value, temp, rh float64) {
	t.Helper()
	if len(got) != 2 || got[0].Quantity != "temperature" || got[0].Unit != "Cel" ||
		got[1].Quantity != "humidity" || got[1].Unit != "%RH" {
		t.Fatalf("got %+v", got)
	}
	if math.Abs(got[0].Value-temp) > 1e-9 || math.Abs(got[1].Value-rh) > 1e-9 {
		t.Fatalf("got T %v RH %v, want %v %v", got[0].Value, got[1].Value, temp, rh)
	}
}

func kindOf(t *testing.T, err error) sensors.Kind {
	t.Helper()
	return sensortest.Kind(t, err, "sht3x", func(w string) bool { return w != "" })
}

func TestSHT3xTranscript(t *testing.T) {
	tests := []struct {
		rep string
		cmd []byte
	}{
		{"", []byte{0x24, 0x00}},
		{sht3x.RepeatabilityHigh, []byte{0x24, 0x00}},
		{sht3x.RepeatabilityMedium, []byte{0x24, 0x0B}},
		{sht3x.RepeatabilityLow, []byte{0x24, 0x16}},
	}
	for _, tt := range tests {
		bus := &i2ctest.Playback{Ops: concat(statusOK, []i2ctest.IO{
			{Addr: addr, W: tt.cmd}, {Addr: addr, R: measureRaw},
		}), DontPanic: true}
		d, err := sht3x.New(&i2c.Dev{Bus: bus, Addr: addr}, sht3x.Options{Name: "room", Repeatability: tt.rep})
		if err != nil {
			t.Fatal(err)
		}
		if d.Name() != "room" {
			t.Fatal(d.Name())
		}
		v, err := d.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		checkValues(t, v, 25, 100*32768.0/65535)
		sensortest.CloseBus(t, bus)
	}
}

func TestSHT4xTranscript(t *testing.T) {
	tests := []struct {
		rep string
		cmd byte
	}{
		{"", 0xFD},
		{sht3x.RepeatabilityMedium, 0xF6},
		{sht3x.RepeatabilityLow, 0xE0},
	}
	for _, tt := range tests {
		bus := &i2ctest.Playback{Ops: concat(serialOK, []i2ctest.IO{
			{Addr: addr, W: []byte{tt.cmd}}, {Addr: addr, R: measureRaw},
		}), DontPanic: true}
		d, err := sht3x.New(&i2c.Dev{Bus: bus, Addr: addr}, sht3x.Options{Family: sht3x.FamilySHT4x, Repeatability: tt.rep})
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		checkValues(t, v, 25, -6+125*32768.0/65535)
		sensortest.CloseBus(t, bus)
	}
}

func TestNewBadOptions(t *testing.T) {
	for _, o := range []sht3x.Options{{Family: "sht2x"}, {Repeatability: "max"}} {
		bus := &i2ctest.Playback{DontPanic: true}
		if _, err := sht3x.New(&i2c.Dev{Bus: bus, Addr: addr}, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
		sensortest.CloseBus(t, bus)
	}
}

func TestNewStatusCRCMismatch(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: addr, W: []byte{0xF3, 0x2D}}, {Addr: addr, R: []byte{0x80, 0x10, 0xE2}},
	}, DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	_, err := sht3x.New(&i2c.Dev{Bus: bus, Addr: addr}, sht3x.Options{})
	if err == nil || kindOf(t, err) != sensors.KindBadData || !strings.Contains(err.Error(), "read status: CRC mismatch") {
		t.Fatalf("got %v", err)
	}
}

func TestNewSerialCRCMismatch(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: addr, W: []byte{0x89}}, {Addr: addr, R: []byte{0x01, 0x23, 0xA0, 0x45, 0x67, 0x00}},
	}, DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	_, err := sht3x.New(&i2c.Dev{Bus: bus, Addr: addr}, sht3x.Options{Family: sht3x.FamilySHT4x})
	if err == nil || kindOf(t, err) != sensors.KindBadData {
		t.Fatalf("got %v", err)
	}
}

func TestReadCRCMismatch(t *testing.T) {
	for _, bad := range [][]byte{
		{0x66, 0x66, 0x94, 0x80, 0x00, 0xA2}, // temperature CRC
		{0x66, 0x66, 0x93, 0x80, 0x01, 0xA2}, // humidity data flipped
	} {
		bus := &i2ctest.Playback{Ops: concat(statusOK, []i2ctest.IO{
			{Addr: addr, W: []byte{0x24, 0x00}}, {Addr: addr, R: bad},
		}), DontPanic: true}
		d, err := sht3x.New(&i2c.Dev{Bus: bus, Addr: addr}, sht3x.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Read(context.Background())
		if err == nil || kindOf(t, err) != sensors.KindBadData || v != nil {
			t.Errorf("% x: got %v, %v", bad, v, err)
		}
		sensortest.CloseBus(t, bus)
	}
}

func TestReadContextDone(t *testing.T) {
	bus := &i2ctest.Playback{Ops: concat(statusOK, []i2ctest.IO{{Addr: addr, W: []byte{0x24, 0x00}}}), DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := sht3x.New(&i2c.Dev{Bus: bus, Addr: addr}, sht3x.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = d.Read(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || kindOf(t, err) != sensors.KindTimeout {
		t.Fatalf("got %v", err)
	}
}

func Example() {
	// On a Pi: bus, _ := i2creg.Open("1"); c := &i2c.Dev{Bus: bus, Addr: 0x44}.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x44, W: []byte{0xF3, 0x2D}}, {Addr: 0x44, R: []byte{0x80, 0x10, 0xE1}},
		{Addr: 0x44, W: []byte{0x24, 0x00}}, {Addr: 0x44, R: []byte{0x66, 0x66, 0x93, 0x80, 0x00, 0xA2}},
	}}
	dev, err := sht3x.New(&i2c.Dev{Bus: bus, Addr: 0x44}, sht3x.Options{Name: "attic"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dev.Close()
	values, err := dev.Read(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, v := range values {
		fmt.Printf("%s/%s %.2f %s\n", dev.Name(), v.Quantity, v.Value, v.Unit)
	}
	// Output:
	// attic/temperature 25.00 Cel
	// attic/humidity 50.00 %RH
}
