package clock

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// queryAdjtimex asks the kernel for the clock state without changing it.
func queryAdjtimex() (int, int, error) {
	var tx unix.Timex // Modes 0: read only
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return 0, 0, fmt.Errorf("clock: adjtimex: %w", err)
	}
	return state, int(tx.Status), nil
}

// bootID reads the boot id from path.
func bootID(path string) (string, error) { return readBootID(path) }

// monoSource returns CLOCK_BOOTTIME, which keeps counting during suspend.
func monoSource() (func() time.Duration, error) {
	if _, err := boottime(); err != nil {
		return nil, err
	}
	return func() time.Duration {
		d, _ := boottime() // checked once in New; cannot fail later
		return d
	}, nil
}

func boottime() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, fmt.Errorf("clock: clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	return time.Duration(ts.Nano()), nil
}
