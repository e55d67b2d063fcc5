package i2cscan_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/sioagent/sioagent/sensors/i2cscan"
	"periph.io/x/conn/v3/physic"
)

// fakeDev answers reads with resp[last command written], or probe for a
// read before any command.
type fakeDev struct {
	resp map[string][]byte
	last string
}

// fakeBus is a map-based i2c.Bus: absent addresses NACK the way periph's
// sysfs-i2c reports it (errno formatted with %v, so only the text is left).
type fakeBus struct {
	devs  map[uint16]*fakeDev
	busy  map[uint16]bool
	fail  map[uint16]error
	probe []uint16 // addresses probed with a 1-byte read, in order
}

func (b *fakeBus) String() string                  { return "fake" }
func (b *fakeBus) SetSpeed(physic.Frequency) error { return nil }

func (b *fakeBus) Tx(addr uint16, w, r []byte) error {
	if w == nil && len(r) == 1 {
		b.probe = append(b.probe, addr)
	}
	if err := b.fail[addr]; err != nil {
		return err
	}
	if b.busy[addr] {
		return fmt.Errorf("sysfs-i2c: %v", syscall.EBUSY)
	}
	d, ok := b.devs[addr]
	if !ok {
		return fmt.Errorf("sysfs-i2c: %v", syscall.ENXIO)
	}
	if w != nil {
		d.last = fmt.Sprintf("%x", w)
	}
	if r != nil {
		resp, ok := d.resp[d.last]
		if !ok {
			resp = []byte{0}
		}
		if len(resp) < len(r) {
			return fmt.Errorf("sysfs-i2c: %v", syscall.EIO) // NACKed mid-read
		}
		copy(r, resp)
	}
	return nil
}

func dev(resp map[string][]byte) *fakeDev { return &fakeDev{resp: resp} }

func TestScanIdentifies(t *testing.T) {
	bus := &fakeBus{devs: map[uint16]*fakeDev{
		0x44: dev(map[string][]byte{"f32d": {0x80, 0x10, 0xE1}}), // SHT3x, CRC ok
		0x45: dev(map[string][]byte{"f32d": {0x80, 0x10, 0xE2}}), // bad CRC
		0x48: dev(map[string][]byte{"01": {0x85, 0x83}}),         // ADS reset value
		0x49: dev(map[string][]byte{"01": {0xC3, 0x83}}),         // ADS after single shot
		0x4A: dev(map[string][]byte{"01": {0x60, 0xA0}}),         // TMP102 config
		0x50: dev(nil),                                           // EEPROM
		0x76: dev(map[string][]byte{"d0": {0x58}}),
		0x77: dev(map[string][]byte{"d0": {0x60}}),
	}, busy: map[uint16]bool{0x68: true}}
	got, err := i2cscan.Scan(context.Background(), bus, i2cscan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []i2cscan.Found{
		{Addr: 0x44, Chip: "SHT3x"},
		{Addr: 0x45, Chip: ""},
		{Addr: 0x48, Chip: "ADS1x15"},
		{Addr: 0x49, Chip: "ADS1x15?"},
		{Addr: 0x4A, Chip: ""},
		{Addr: 0x50, Chip: ""},
		{Addr: 0x68, InUse: true},
		{Addr: 0x76, Chip: "BMP280"},
		{Addr: 0x77, Chip: "BME280"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if len(bus.probe) != 0x77-0x08+1 || bus.probe[0] != 0x08 || bus.probe[len(bus.probe)-1] != 0x77 {
		t.Fatalf("probed %d addresses from %#x to %#x", len(bus.probe), bus.probe[0], bus.probe[len(bus.probe)-1])
	}
}

func TestScanBoschIDs(t *testing.T) {
	for id, want := range map[byte]string{0x60: "BME280", 0x58: "BMP280", 0x56: "BMP280", 0x57: "BMP280", 0x55: "BMP180", 0x61: "BME680", 0x12: ""} {
		bus := &fakeBus{devs: map[uint16]*fakeDev{0x76: dev(map[string][]byte{"d0": {id}})}}
		got, err := i2cscan.Scan(context.Background(), bus, i2cscan.Options{First: 0x76, Last: 0x76})
		if err != nil || len(got) != 1 || got[0].Chip != want {
			t.Errorf("id %#x: got %+v, %v; want %q", id, got, err, want)
		}
	}
}

func TestScanRange(t *testing.T) {
	bus := &fakeBus{}
	if _, err := i2cscan.Scan(context.Background(), bus, i2cscan.Options{First: 0x40, Last: 0x4F}); err != nil {
		t.Fatal(err)
	}
	if len(bus.probe) != 16 || bus.probe[0] != 0x40 || bus.probe[15] != 0x4F {
		t.Fatalf("probed %x", bus.probe)
	}
	for _, o := range []i2cscan.Options{{First: 0x50, Last: 0x40}, {Last: 0x80}} {
		if _, err := i2cscan.Scan(context.Background(), &fakeBus{}, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestScanBusError(t *testing.T) {
	broken := errors.New("bus stuck")
	bus := &fakeBus{
		devs: map[uint16]*fakeDev{0x20: dev(nil)},
		fail: map[uint16]error{0x30: broken},
	}
	got, err := i2cscan.Scan(context.Background(), bus, i2cscan.Options{})
	if !errors.Is(err, broken) || !strings.Contains(err.Error(), "0x30") {
		t.Fatalf("got %v", err)
	}
	if len(got) != 1 || got[0].Addr != 0x20 {
		t.Fatalf("found so far: %+v", got)
	}
}

func TestScanContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	bus := &fakeBus{}
	if _, err := i2cscan.Scan(ctx, bus, i2cscan.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if len(bus.probe) != 0 {
		t.Fatalf("probed %x after cancel", bus.probe)
	}
}

func TestFormat(t *testing.T) {
	var b bytes.Buffer
	err := i2cscan.Format(&b, []i2cscan.Found{{Addr: 0x44, Chip: "SHT3x"}, {Addr: 0x50}, {Addr: 0x68, InUse: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := "ADDR  CHIP\n0x44  SHT3x\n0x50  ?\n0x68  UU (in use by a kernel driver)\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func Example() {
	// On a Pi: bus, _ := i2creg.Open("1").
	bus := &fakeBus{devs: map[uint16]*fakeDev{
		0x44: dev(map[string][]byte{"f32d": {0x80, 0x10, 0xE1}}),
		0x76: dev(map[string][]byte{"d0": {0x60}}),
	}}
	found, err := i2cscan.Scan(context.Background(), bus, i2cscan.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = i2cscan.Format(os.Stdout, found)
	// Output:
	// ADDR  CHIP
	// 0x44  SHT3x
	// 0x76  BME280
}
