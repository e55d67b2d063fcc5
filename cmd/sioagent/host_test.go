package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"periph.io/x/conn/v3/driver/driverreg"
)

// periphNoBus is what periph's i2creg.Open says when no bus is registered.
const periphNoBus = "did you forget to call Init()?"

func TestI2COpenErrorNamesMissingDevices(t *testing.T) {
	devices := filepath.Join(t.TempDir(), "i2c-*")
	err := i2cOpenError("1", errors.New("i2creg: no bus found; "+periphNoBus), devices)
	msg := err.Error()
	if strings.Contains(msg, periphNoBus) {
		t.Errorf("error %q repeats periph's Init() hint", msg)
	}
	for _, want := range []string{`I2C bus "1"`, "no I2C bus", devices, "enable I2C"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
}

func TestI2COpenErrorKeepsCauseWhenDevicesExist(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "i2c-1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("i2creg: can't open unknown bus: \"7\"")
	err := i2cOpenError("7", cause, filepath.Join(dir, "i2c-*"))
	if !errors.Is(err, cause) {
		t.Errorf("error %q does not wrap the cause", err)
	}
	if strings.Contains(err.Error(), "no I2C bus") {
		t.Errorf("error %q claims there is no bus", err)
	}
}

// On a machine without /dev/i2c-* (this one: a build host or container),
// `sioagent scan` goes through periph's real drivers and must say the
// device files are missing, not periph's "did you forget to call Init()?".
func TestScanWithoutI2CDevicesSaysSo(t *testing.T) {
	if found, _ := filepath.Glob(i2cDevices); len(found) > 0 {
		t.Skipf("this machine has I2C buses (%v)", found)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"scan", "--bus", "1"}, &stdout, &stderr)
	if code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	msg := stderr.String()
	if strings.Contains(msg, periphNoBus) || !strings.Contains(msg, "no I2C bus (no "+i2cDevices+")") {
		t.Errorf("stderr %q does not say that %s is missing", msg, i2cDevices)
	}
}

// The drivers of a Pi are the ones registered, and no other board's: the
// binary keeps only what it registers (cross/size checks the bytes).
func TestPeriphDriversAreThePis(t *testing.T) {
	state, err := driverreg.Init()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range state.Loaded {
		names = append(names, d.String())
	}
	for _, f := range append(state.Skipped, state.Failed...) {
		names = append(names, f.D.String())
	}
	want := []string{"ioctl-gpio", "sysfs-i2c"}
	if runtime.GOARCH == "arm" || runtime.GOARCH == "arm64" {
		want = append(want, "bcm283x-gpio") // periph registers it on ARM only
	}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("driver %q not registered (registered: %v)", w, names)
		}
	}
	for _, other := range []string{"rpi", "allwinner-gpio", "beaglebone", "chip", "pine64", "odroid-c1"} {
		if slices.Contains(names, other) {
			t.Errorf("driver %q of another board is registered", other)
		}
	}
}
