package ds18b20_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/ds18b20"
	"github.com/sioagent/sioagent/sensors/internal/sensortest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const dev = "28-00000a1b2c3d"

// Fixtures in the kernel's w1_slave format (pi-deploy.md §2.4).
const (
	fileOK = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n" +
		"72 01 4b 46 7f ff 0e 10 57 t=23125\n"
	fileNegative = "5e ff 4b 46 7f ff 0c 10 1c : crc=1c YES\n" +
		"5e ff 4b 46 7f ff 0c 10 1c t=-10125\n"
	fileDisconnected = "ff ff ff ff ff ff ff ff ff : crc=c9 NO\n" +
		"ff ff ff ff ff ff ff ff ff t=-62\n"
	filePowerOn = "50 05 4b 46 7f ff 0c 10 1c : crc=1c YES\n" +
		"50 05 4b 46 7f ff 0c 10 1c t=85000\n"
)

// tree makes a fake /sys/bus/w1/devices with one device holding content.
func tree(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, dev), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dev, "w1_slave"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		milli int
		err   string
	}{
		{"ok", fileOK, 23125, ""},
		{"negative", fileNegative, -10125, ""},
		{"crc NO", fileDisconnected, 0, "CRC check failed"},
		{"power-on", filePowerOn, 0, "power-on value, conversion did not run"},
		{"one line", "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n", 0, "want 2 lines"},
		{"no t=", "a : crc=57 YES\nb\n", 0, "no t="},
		{"bad number", "a : crc=57 YES\nb t=2x\n", 0, "temperature"},
		{"out of range", "a : crc=57 YES\nb t=127000\n", 0, "outside"},
		{"minimum", "a : crc=57 YES\nb t=-55000\n", -55000, ""},
		{"zero", "a : crc=57 YES\nb t=0\n", 0, ""},
	}
	for _, tt := range tests {
		got, err := ds18b20.Parse([]byte(tt.in))
		if tt.err == "" {
			if err != nil || got != tt.milli {
				t.Errorf("%s: got %d, %v; want %d", tt.name, got, err, tt.milli)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: got %d, %v; want error containing %q", tt.name, got, err, tt.err)
		}
	}
}

func kindOf(t *testing.T, err error) sensors.Kind {
	t.Helper()
	return sensortest.Kind(t, err, "ds18b20", func(w string) bool { return strings.HasSuffix(w, "w1_slave") })
}

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    float64
		kind    sensors.Kind
	}{
		{"ok", fileOK, 23.125, 0},
		{"negative", fileNegative, -10.125, 0},
		{"disconnected", fileDisconnected, 0, sensors.KindBadData},
		{"power-on", filePowerOn, 0, sensors.KindBadData},
	}
	for _, tt := range tests {
		d, err := ds18b20.New(ds18b20.Options{Name: "tank", Dir: tree(t, tt.content), Device: dev})
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Read(context.Background())
		if tt.kind != 0 {
			if err == nil || kindOf(t, err) != tt.kind {
				t.Errorf("%s: got %v, %v", tt.name, v, err)
			}
			continue
		}
		want := sensors.Value{Quantity: "temperature", Unit: "Cel", Value: tt.want}
		if err != nil || len(v) != 1 || v[0] != want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.name, v, err, want)
		}
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestNewMissing(t *testing.T) {
	_, err := ds18b20.New(ds18b20.Options{Dir: t.TempDir(), Device: dev})
	if err == nil || kindOf(t, err) != sensors.KindMissing || !errors.Is(err, sensors.ErrMissing) {
		t.Fatalf("got %v", err)
	}
}

func TestReadRemoved(t *testing.T) {
	dir := tree(t, fileOK)
	d, err := ds18b20.New(ds18b20.Options{Dir: dir, Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	// The kernel removes the device directory when the sensor goes away.
	if err := os.RemoveAll(filepath.Join(dir, dev)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(context.Background()); kindOf(t, err) != sensors.KindMissing {
		t.Fatalf("got %v", err)
	}
}

func TestNewBadDevice(t *testing.T) {
	for _, id := range []string{"", "28-00000a1b2c3", "28_00000a1b2c3d", "../../../etc/x", "28-00000a1b2c3g"} {
		if _, err := ds18b20.New(ds18b20.Options{Dir: t.TempDir(), Device: id}); err == nil {
			t.Errorf("device %q accepted", id)
		}
	}
}

// kernelW1Devices is where the Linux w1 bus driver lists 1-Wire devices
// (the kernel's Documentation/w1/w1-generic.rst: /sys/bus/w1/devices/).
const kernelW1Devices = "/sys/bus/w1/devices"

// noSuchDevice is a well-formed device id that no real bus holds.
const noSuchDevice = "28-0000000000ff"

// Options without Dir read the kernel's 1-Wire directory: DefaultDir is
// that path, and New reports (or opens) the device under it without
// changing the caller's options.
func TestNewDefaults(t *testing.T) {
	if ds18b20.DefaultDir != kernelW1Devices {
		t.Fatalf("DefaultDir = %q, want the kernel's %q", ds18b20.DefaultDir, kernelW1Devices)
	}
	o := ds18b20.Options{Device: noSuchDevice}
	d, err := ds18b20.New(o)
	if o.Dir != "" || o.Name != "" {
		t.Fatal("options mutated")
	}
	want := filepath.Join(kernelW1Devices, noSuchDevice, "w1_slave")
	if err == nil {
		// Only a bus that really lists this device lets New succeed.
		d.Close()
		if _, serr := os.Stat(filepath.Dir(want)); serr != nil {
			t.Fatalf("New succeeded although %s is missing (%v)", filepath.Dir(want), serr)
		}
		return
	}
	var se *sensors.Error
	if !errors.As(err, &se) || se.Sensor != "ds18b20" || se.Where != want {
		t.Fatalf("New without Dir: %v (%#v), want a ds18b20 error at %s", err, se, want)
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "w1")
	defer os.RemoveAll(dir)
	_ = os.MkdirAll(filepath.Join(dir, "28-00000a1b2c3d"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "28-00000a1b2c3d", "w1_slave"),
		[]byte("72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"), 0o644)

	// On a Pi leave Dir empty for /sys/bus/w1/devices.
	dev, err := ds18b20.New(ds18b20.Options{Name: "tank", Dir: dir, Device: "28-00000a1b2c3d"})
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
	fmt.Printf("%s/%s %.3f %s\n", dev.Name(), values[0].Quantity, values[0].Value, values[0].Unit)
	// Output: tank/temperature 23.125 Cel
}
