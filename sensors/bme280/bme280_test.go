package bme280_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/bme280"
	"github.com/sioagent/sioagent/sensors/internal/sensortest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

const addr = 0x76

// periphCalTP and periphCalH are the calibration bytes of a real BME280
// from periph's TestI2CSenseBME280_success (note T3 = 0x0032 = 50 there).
var (
	periphCalTP = []byte{0x10, 0x6e, 0x6c, 0x66, 0x32, 0x0, 0x5d, 0x95, 0xb8, 0xd5, 0xd0, 0xb, 0x77, 0x1e, 0x9d, 0xff, 0xf9, 0xff, 0xac, 0x26, 0xa, 0xd8, 0xbd, 0x10, 0x0, 0x4b}
	periphCalH  = []byte{0x6e, 0x1, 0x0, 0x13, 0x5, 0x0, 0x1e}
)

// vector2CalTP is periph's TestCalibration280Int calibration
// (T1 28176 T2 26220 T3 350 P1 38237 P2 -10824 P3 3024 P4 7799 P5 -99
// P6 -7 P7 9900 P8 -10230 P9 4285, 0xA0 unused, H1 75) little-endian.
var vector2CalTP = []byte{
	0x10, 0x6e, 0x6c, 0x66, 0x5e, 0x01, 0x5d, 0x95, 0xb8, 0xd5, 0xd0, 0x0b, 0x77, 0x1e,
	0x9d, 0xff, 0xf9, 0xff, 0xac, 0x26, 0x0a, 0xd8, 0xbd, 0x10, 0x00, 0x4b,
}

// datasheetCalTP is the BMP280 datasheet example calibration
// (T1 27504 T2 26435 T3 -1000 P1 36477 P2 -10685 P3 3024 P4 2855 P5 140
// P6 -7 P7 15500 P8 -14600 P9 6000) little-endian, then 0xA0 and 0xA1 = 0.
var datasheetCalTP = []byte{
	0x70, 0x6b, 0x43, 0x67, 0x18, 0xfc, 0x7d, 0x8e, 0x43, 0xd6, 0xd0, 0x0b, 0x27, 0x0b,
	0x8c, 0x00, 0xf9, 0xff, 0x8c, 0x3c, 0xf8, 0xc6, 0x70, 0x17, 0x00, 0x00,
}

// Default settings (x1 oversampling, filter off):
// ctrl_meas = osrs_t 001<<5 | osrs_p 001<<2 = 0x24 (+ mode 01 = 0x25).
var (
	bmeInit = []i2ctest.IO{
		{Addr: addr, W: []byte{0xD0}, R: []byte{0x60}},
		{Addr: addr, W: []byte{0x88}, R: nil}, // R set per test
		{Addr: addr, W: []byte{0xE1}, R: nil},
		{Addr: addr, W: []byte{0xF4, 0x24, 0xF2, 0x01, 0xF5, 0x00}},
	}
	bmeTrigger = i2ctest.IO{Addr: addr, W: []byte{0xF2, 0x01, 0xF4, 0x25}}
	idle       = i2ctest.IO{Addr: addr, W: []byte{0xF3}, R: []byte{0x00}}
	busy       = i2ctest.IO{Addr: addr, W: []byte{0xF3}, R: []byte{0x08}}
)

func bmeOps(tp, h []byte, more ...i2ctest.IO) []i2ctest.IO {
	ops := append([]i2ctest.IO(nil), bmeInit...)
	ops[1].R, ops[2].R = tp, h
	return append(ops, more...)
}

type want struct {
	q   string
	u   string
	v   float64
	tol float64
}

func check(t *testing.T, got []sensors.Value, ws []want) {
	t.Helper()
	if len(got) != len(ws) {
		t.Fatalf("got %d values %+v, want %d", len(got), got, len(ws))
	}
	for i, w := range ws {
		g := got[i]
		if g.Quantity != w.q || g.Unit != w.u || math.Abs(g.Value-w.v) > w.tol {
			t.Errorf("value %d = %+v, want %s %v %s (±%g)", i, g, w.q, w.v, w.u, w.tol)
		}
	}
}

func TestReadBME280PeriphTranscript(t *testing.T) {
	bus := &i2ctest.Playback{Ops: bmeOps(periphCalTP, periphCalH,
		bmeTrigger, busy, idle,
		i2ctest.IO{Addr: addr, W: []byte{0xF7}, R: []byte{0x4a, 0x52, 0xc0, 0x80, 0x96, 0xc0, 0x7a, 0x76}},
	), DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, bme280.Options{Name: "air"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "air" || d.Chip() != "BME280" {
		t.Fatalf("Name %q Chip %q", d.Name(), d.Chip())
	}
	v, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// periph: 23.720 °C, 100942695312500 nPa, 6530560 tenth-µRH.
	check(t, v, []want{
		{"temperature", "Cel", 23.72, 0},
		{"pressure", "Pa", 100942.6953125, 0},
		{"humidity", "%RH", 65.3056, 0.001},
	})
}

func TestReadBME280Vector(t *testing.T) {
	// adc_P 309104 = 0x4B770, adc_T 524112 = 0x7FF50, adc_H 30987 = 0x790B.
	data := []byte{0x4b, 0x77, 0x00, 0x7f, 0xf5, 0x00, 0x79, 0x0b}
	bus := &i2ctest.Playback{Ops: bmeOps(vector2CalTP, periphCalH,
		bmeTrigger, idle, i2ctest.IO{Addr: addr, W: []byte{0xF7}, R: data},
		bmeTrigger, idle, i2ctest.IO{Addr: addr, W: []byte{0xF7}, R: data},
	), DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, bme280.Options{Want: bme280.WantBME280})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		v, err := d.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// T=2293, P=25611063/256, H=64686/1024.
		check(t, v, []want{
			{"temperature", "Cel", 22.93, 0},
			{"pressure", "Pa", 25611063.0 / 256, 0},
			{"humidity", "%RH", 64686.0 / 1024, 0},
		})
	}
}

func TestReadBMP280Datasheet(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: addr, W: []byte{0xD0}, R: []byte{0x58}},
		{Addr: addr, W: []byte{0x88}, R: datasheetCalTP},
		{Addr: addr, W: []byte{0xF4, 0x24, 0xF5, 0x00}}, // no ctrl_hum on a BMP280
		{Addr: addr, W: []byte{0xF4, 0x25}},
		idle,
		// adc_P 415148 = 0x655AC, adc_T 519888 = 0x7EED0; 6 bytes.
		{Addr: addr, W: []byte{0xF7}, R: []byte{0x65, 0x5a, 0xc0, 0x7e, 0xed, 0x00}},
	}, DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, bme280.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Chip() != "BMP280" || d.Name() != "bme280" {
		t.Fatalf("Chip %q Name %q", d.Chip(), d.Name())
	}
	v, err := d.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	check(t, v, []want{
		{"temperature", "Cel", 25.08, 0},
		{"pressure", "Pa", 25767233.0 / 256, 0}, // 100653.25 Pa
	})
}

func TestNewOptionsRegisters(t *testing.T) {
	// x16/x2/x4, filter 16: ctrl_meas = 101<<5 | 010<<2 = 0xA0|0x08 = 0xA8;
	// ctrl_hum = 011 = 0x03; config = filter 100<<2 = 0x10.
	bus := &i2ctest.Playback{Ops: bmeOps(periphCalTP, periphCalH)[:3], DontPanic: true}
	bus.Ops = append(bus.Ops, i2ctest.IO{Addr: addr, W: []byte{0xF4, 0xA8, 0xF2, 0x03, 0xF5, 0x10}})
	defer sensortest.CloseBus(t, bus)
	o := bme280.Options{TemperatureOversampling: 16, PressureOversampling: 2, HumidityOversampling: 4, Filter: 16}
	keep := o
	if _, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, o); err != nil {
		t.Fatal(err)
	}
	if o != keep {
		t.Fatal("options mutated")
	}
}

func TestNewBadOptions(t *testing.T) {
	for _, o := range []bme280.Options{
		{Want: "bme680"},
		{TemperatureOversampling: 3},
		{HumidityOversampling: 32},
		{Filter: 5},
	} {
		bus := &i2ctest.Playback{DontPanic: true} // no bus traffic at all
		_, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, o)
		if err == nil {
			t.Errorf("%+v: no error", o)
		}
		sensortest.CloseBus(t, bus)
	}
}

func kindOf(t *testing.T, err error) sensors.Kind {
	t.Helper()
	return sensortest.Kind(t, err, "bme280", sensortest.WhereIs("playback 0x76"))
}

func TestNewWrongChip(t *testing.T) {
	tests := []struct {
		id   byte
		want string
		msg  string
	}{
		{0x12, "", "chip id 0x12, want 0x60 (BME280) or 0x58/0x56/0x57 (BMP280)"},
		{0x61, "", "chip id 0x61"},
		{0x58, bme280.WantBME280, "is a BMP280"},
		{0x60, bme280.WantBMP280, "is a BME280"},
	}
	for _, tt := range tests {
		bus := &i2ctest.Playback{Ops: []i2ctest.IO{{Addr: addr, W: []byte{0xD0}, R: []byte{tt.id}}}, DontPanic: true}
		_, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, bme280.Options{Want: tt.want})
		if err == nil || kindOf(t, err) != sensors.KindBadData || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("id %#x want %q: got %v", tt.id, tt.want, err)
		}
		sensortest.CloseBus(t, bus)
	}
}

func TestNewBusError(t *testing.T) {
	// The playback expects a different register, so the bus fails the Tx.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{{Addr: addr, W: []byte{0x00}, R: []byte{0}}}, DontPanic: true}
	_, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, bme280.Options{})
	if err == nil || !strings.Contains(err.Error(), "read chip id") {
		t.Fatalf("got %v", err)
	}
	kindOf(t, err)
}

func TestReadSkipped(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"temperature", []byte{0x65, 0x5a, 0xc0, 0x80, 0x00, 0x00, 0x79, 0x0b}},
		{"pressure", []byte{0x80, 0x00, 0x00, 0x7f, 0xf5, 0x00, 0x79, 0x0b}},
		{"humidity", []byte{0x4b, 0x77, 0x00, 0x7f, 0xf5, 0x00, 0x80, 0x00}},
	}
	for _, tt := range tests {
		bus := &i2ctest.Playback{Ops: bmeOps(vector2CalTP, periphCalH,
			bmeTrigger, idle, i2ctest.IO{Addr: addr, W: []byte{0xF7}, R: tt.data}), DontPanic: true}
		d, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, bme280.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.Read(context.Background())
		if err == nil || kindOf(t, err) != sensors.KindBadData || !strings.Contains(err.Error(), tt.name+" raw") {
			t.Errorf("%s skipped: got %v", tt.name, err)
		}
		sensortest.CloseBus(t, bus)
	}
}

func TestReadStaysBusy(t *testing.T) {
	ops := bmeOps(periphCalTP, periphCalH, bmeTrigger)
	for i := 0; i < 6; i++ { // first check + 5 bounded polls
		ops = append(ops, busy)
	}
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, bme280.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Read(context.Background())
	if err == nil || kindOf(t, err) != sensors.KindBusy {
		t.Fatalf("got %v", err)
	}
}

func TestReadContextDone(t *testing.T) {
	bus := &i2ctest.Playback{Ops: bmeOps(periphCalTP, periphCalH, bmeTrigger), DontPanic: true}
	defer sensortest.CloseBus(t, bus)
	d, err := bme280.New(&i2c.Dev{Bus: bus, Addr: addr}, bme280.Options{})
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
	// On a Pi: bus, _ := i2creg.Open("1"); c := &i2c.Dev{Bus: bus, Addr: 0x76}.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x76, W: []byte{0xD0}, R: []byte{0x58}},
		{Addr: 0x76, W: []byte{0x88}, R: datasheetCalTP},
		{Addr: 0x76, W: []byte{0xF4, 0x24, 0xF5, 0x00}},
		{Addr: 0x76, W: []byte{0xF4, 0x25}},
		{Addr: 0x76, W: []byte{0xF3}, R: []byte{0x00}},
		{Addr: 0x76, W: []byte{0xF7}, R: []byte{0x65, 0x5a, 0xc0, 0x7e, 0xed, 0x00}},
	}}
	dev, err := bme280.New(&i2c.Dev{Bus: bus, Addr: 0x76}, bme280.Options{Name: "shed", Where: "/dev/i2c-1 0x76"})
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
	fmt.Println(dev.Chip())
	for _, v := range values {
		fmt.Printf("%s/%s %.2f %s\n", dev.Name(), v.Quantity, v.Value, v.Unit)
	}
	// Output:
	// BMP280
	// shed/temperature 25.08 Cel
	// shed/pressure 100653.25 Pa
}
