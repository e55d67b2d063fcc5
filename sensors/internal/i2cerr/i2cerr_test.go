package i2cerr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/internal/i2cerr"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func TestClassify(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	tests := []struct {
		name string
		err  error
		want sensors.Kind
	}{
		{"nil", nil, sensors.KindOther},
		{"ENXIO wrapped", fmt.Errorf("tx: %w", syscall.ENXIO), sensors.KindMissing},
		{"EIO", syscall.EIO, sensors.KindMissing},
		// periph's sysfs-i2c formats the errno with %v, losing the chain.
		{"ENXIO as text", fmt.Errorf("sysfs-i2c: %v", syscall.ENXIO), sensors.KindMissing},
		{"EBUSY", fmt.Errorf("x: %w", syscall.EBUSY), sensors.KindBusy},
		{"EAGAIN as text", fmt.Errorf("sysfs-i2c: %v", syscall.EAGAIN), sensors.KindBusy},
		{"ETIMEDOUT", syscall.ETIMEDOUT, sensors.KindTimeout},
		{"deadline", fmt.Errorf("wait: %w", expired.Err()), sensors.KindTimeout},
		{"canceled", context.Canceled, sensors.KindOther},
		{"sensor error keeps kind", fmt.Errorf("x: %w", &sensors.Error{Kind: sensors.KindBadData}), sensors.KindBadData},
		{"other", io.ErrUnexpectedEOF, sensors.KindOther},
	}
	for _, tt := range tests {
		if got := i2cerr.Classify(tt.err); got != tt.want {
			t.Errorf("%s: Classify(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestSiteBus(t *testing.T) {
	s := i2cerr.Site{Sensor: "air", Driver: "bme280", Where: "/dev/i2c-1 0x76"}
	err := s.Bus("read chip id", syscall.ENXIO)
	var se *sensors.Error
	if !errors.As(err, &se) {
		t.Fatalf("%T is not *sensors.Error", err)
	}
	if se.Kind != sensors.KindMissing || se.Sensor != "air" || se.Driver != "bme280" || se.Where != "/dev/i2c-1 0x76" {
		t.Fatalf("got %+v", se)
	}
	if !errors.Is(err, syscall.ENXIO) || !errors.Is(err, sensors.ErrMissing) {
		t.Fatalf("chain lost: %v", err)
	}
	want := `sensor "air" (bme280 at /dev/i2c-1 0x76): missing: read chip id: no such device or address`
	if err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
	if again := s.Bus("outer", err); again != err {
		t.Fatalf("sensor error re-wrapped: %v", again)
	}
}

func TestSleep(t *testing.T) {
	if err := i2cerr.Sleep(context.Background(), time.Millisecond, "x"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// An hour-long wait must return at once when ctx is already done.
	err := i2cerr.Sleep(ctx, time.Hour, "conversion")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel2()
	err = i2cerr.Sleep(ctx2, time.Hour, "conversion")
	if !errors.Is(err, context.DeadlineExceeded) || i2cerr.Classify(err) != sensors.KindTimeout {
		t.Fatalf("got %v", err)
	}
}

func TestDefaultWhere(t *testing.T) {
	d := &i2c.Dev{Bus: &i2ctest.Playback{}, Addr: 0x48}
	if got := i2cerr.DefaultWhere("", d); got != "playback 0x48" {
		t.Fatalf("got %q", got)
	}
	if got := i2cerr.DefaultWhere("/dev/i2c-1 0x48", d); got != "/dev/i2c-1 0x48" {
		t.Fatalf("got %q", got)
	}
}

func ExampleClassify() {
	err := fmt.Errorf("sysfs-i2c: %v", syscall.ENXIO)
	fmt.Println(i2cerr.Classify(err))
	// Output: missing
}
