package ads1115_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/ads1115"
	"github.com/sioagent/sioagent/sensors/internal/sensortest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

const addr = 0x48

func TestConfigWord(t *testing.T) {
	// Bits: OS[15] MUX[14:12] PGA[11:9] MODE[8] DR[7:5] COMP_MODE[4]
	// COMP_POL[3] COMP_LAT[2] COMP_QUE[1:0].
	tests := []struct {
		ch, pga, dr uint16
		want        uint16
	}{
		// AIN0, ±4.096 V, 128 SPS: 0x8000 | 100<<12 (0x4000) | 001<<9 (0x0200)
		// | 0x0100 | 100<<5 (0x0080) | 0x0003 = 0xC383.
		{0, 1, 4, 0xC383},
		// AIN3, ±6.144 V, 860 SPS: 0x8000 | 111<<12 (0x7000) | 000<<9 | 0x0100
		// | 111<<5 (0x00E0) | 0x0003 = 0xF1E3.
		{3, 0, 7, 0xF1E3},
		// AIN1, ±0.256 V, 8 SPS: 0x8000 | 101<<12 (0x5000) | 101<<9 (0x0A00)
		// | 0x0100 | 000<<5 | 0x0003 = 0xDB03.
		{1, 5, 0, 0xDB03},
		// AIN2, ±2.048 V, 250 SPS: 0x8000 | 110<<12 (0x6000) | 010<<9 (0x0400)
		// | 0x0100 | 101<<5 (0x00A0) | 0x0003 = 0xE5A3.
		{2, 2, 5, 0xE5A3},
	}
	for _, tt := range tests {
		if got := ads1115.ConfigWord(tt.ch, tt.pga, tt.dr); got != tt.want {
			t.Errorf("ConfigWord(%d, %d, %d) = %#04x, want %#04x", tt.ch, tt.pga, tt.dr, got, tt.want)
		}
	}
}

func TestVolts(t *testing.T) {
	tests := []struct {
		raw  int16
		fsr  float64
		want float64
	}{
		{0, 4.096, 0},
		{32767, 4.096, 4.096 * 32767 / 32768}, // positive full scale: 4.095875 V
		{-32768, 4.096, -4.096},               // negative full scale
		{-1, 4.096, -0.000125},                // 0xFFFF, 1 LSB = 125 µV
		{1, 6.144, 0.0001875},                 // 187.5 µV
		{1, 2.048, 0.0000625},                 // 62.5 µV
		{-16384, 0.256, -0.128},
	}
	for _, tt := range tests {
		if got := ads1115.Volts(tt.raw, tt.fsr); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Volts(%d, %g) = %v, want %v", tt.raw, tt.fsr, got, tt.want)
		}
	}
}

func TestConversionWait(t *testing.T) {
	if got := ads1115.ConversionWait(128); got != 8593750*time.Nanosecond { // 1.1/128 s
		t.Errorf("128 SPS: %v", got)
	}
	if got := ads1115.ConversionWait(8); got != 137500*time.Microsecond {
		t.Errorf("8 SPS: %v", got)
	}
}

var probe = i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0x85, 0x83}} // reset value

func TestReadTranscript(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		probe,
		// AIN0 at ±2.048 V, 860 SPS: 0x8000|0x4000|0x0400|0x0100|0x00E0|3 = 0xC5E3.
		{Addr: addr, W: []byte{0x01, 0xC5, 0xE3}},
		{Addr: addr, W: []byte{0x01}, R: []byte{0x45, 0xE3}}, // OS=0: converting
		{Addr: addr, W: []byte{0x01}, R: []byte{0xC5, 0xE3}}, // OS=1: done
		{Addr: addr, W: []byte{0x00}, R: []byte{0x40, 0x00}}, // 16384 → 1.024 V
		// AIN3: MUX 111 → 0xF5E3.
		{Addr: addr, W: []byte{0x01, 0xF5, 0xE3}},
		{Addr: addr, W: []byte{0x01}, R: []byte{0xF5, 0xE3}},
		{Addr: addr, W: []byte{0x00}, R: []byte{0xC0, 0x00}}, // -16384 → -1.024 V
	}, DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	o := ads1115.Options{Name: "adc", Channels: []int{0, 3}, FullScale: 2.048, DataRate: 860}
	d, err := ads1115.New(&i2c.Dev{Bus: bus, Addr: addr}, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Channels[0] = 2 // the driver must have its own copy
	v, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []sensors.Value{{Quantity: "ain0", Unit: "V", Value: 1.024}, {Quantity: "ain3", Unit: "V", Value: -1.024}}
	if len(v) != 2 || v[0] != want[0] || v[1] != want[1] {
		t.Fatalf("got %+v, want %+v", v, want)
	}
}

func TestReadDefaults(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		probe,
		{Addr: addr, W: []byte{0x01, 0xC3, 0x83}}, // AIN0, ±4.096 V, 128 SPS
		{Addr: addr, W: []byte{0x01}, R: []byte{0xC3, 0x83}},
		{Addr: addr, W: []byte{0x00}, R: []byte{0x7F, 0xFF}}, // positive full scale
	}, DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := ads1115.New(&i2c.Dev{Bus: bus, Addr: addr}, ads1115.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || v[0].Quantity != "ain0" || v[0].Value != 4.096*32767/32768 || d.Name() != "ads1115" {
		t.Fatalf("got %+v (%s)", v, d.Name())
	}
}

func TestNewBadOptions(t *testing.T) {
	for _, o := range []ads1115.Options{
		{Channels: []int{4}},
		{Channels: []int{-1}},
		{Channels: []int{1, 1}},
		{FullScale: 5},
		{FullScale: -4.096},
		{DataRate: 100},
	} {
		bus := &i2ctest.Playback{DontPanic: true}
		if _, err := ads1115.New(&i2c.Dev{Bus: bus, Addr: addr}, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
		sensortest.CloseBus(t, bus)
	}
}

func kindOf(t *testing.T, err error) sensors.Kind {
	t.Helper()
	return sensortest.Kind(t, err, "ads1115", sensortest.WhereIs("playback 0x48"))
}

func TestReadNeverDone(t *testing.T) {
	ops := []i2ctest.IO{probe, {Addr: addr, W: []byte{0x01, 0xC5, 0xE3}}}
	for i := 0; i < 11; i++ { // first check + 10 bounded polls
		ops = append(ops, i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0x45, 0xE3}})
	}
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := ads1115.New(&i2c.Dev{Bus: bus, Addr: addr}, ads1115.Options{FullScale: 2.048, DataRate: 860})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(context.Background()); kindOf(t, err) != sensors.KindBusy {
		t.Fatalf("got %v", err)
	}
}

func TestReadContextDone(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{probe, {Addr: addr, W: []byte{0x01, 0xC3, 0x83}}}, DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := ads1115.New(&i2c.Dev{Bus: bus, Addr: addr}, ads1115.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := d.Read(ctx); !errors.Is(err, context.DeadlineExceeded) || kindOf(t, err) != sensors.KindTimeout {
		t.Fatalf("got %v", err)
	}
}

func Example() {
	// On a Pi: bus, _ := i2creg.Open("1"); c := &i2c.Dev{Bus: bus, Addr: 0x48}.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x48, W: []byte{0x01}, R: []byte{0x85, 0x83}},
		{Addr: 0x48, W: []byte{0x01, 0xC3, 0x83}},
		{Addr: 0x48, W: []byte{0x01}, R: []byte{0xC3, 0x83}},
		{Addr: 0x48, W: []byte{0x00}, R: []byte{0x1A, 0x00}}, // 6656
	}}
	dev, err := ads1115.New(&i2c.Dev{Bus: bus, Addr: 0x48}, ads1115.Options{Name: "soil"})
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
		fmt.Printf("%s/%s %.3f %s\n", dev.Name(), v.Quantity, v.Value, v.Unit)
	}
	// Output: soil/ain0 0.832 V
}
