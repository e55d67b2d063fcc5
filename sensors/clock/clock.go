// Package clock is the system clock of sioagent: it stamps readings with the
// wall clock, the boot-relative monotonic clock (CLOCK_BOOTTIME), the boot id
// and whether the wall clock is synchronised, which a Raspberry Pi without a
// real-time clock needs to put readings taken before NTP sync in their place
// (see sensors.Correct).
package clock

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sioagent/sioagent/sensors"
)

// Defaults of Options.
const (
	// DefaultSyncFile exists once systemd-timesyncd has synchronised the
	// clock in this boot.
	DefaultSyncFile = "/run/systemd/timesync/synchronized"
	// DefaultBootIDFile holds the id of the current boot.
	DefaultBootIDFile = "/proc/sys/kernel/random/boot_id"
	// DefaultCheckEvery is how long the synchronisation state is cached.
	DefaultCheckEvery = 10 * time.Second
)

// Kernel clock states as returned by adjtimex(2) (same values on every Linux
// architecture).
const (
	// TimeError is the adjtimex state of an unsynchronised clock.
	TimeError = 5
	// StaUnsync is the adjtimex status bit of an unsynchronised clock.
	StaUnsync = 0x40
)

// Options configures a Clock.
type Options struct {
	// SyncFile is a file that exists once the clock has been synchronised;
	// empty means DefaultSyncFile.
	SyncFile string
	// BootIDFile holds the boot id; empty means DefaultBootIDFile.
	BootIDFile string
	// Adjtimex queries the kernel clock state without changing it; nil
	// means adjtimex(2) with Modes 0 (on Linux). The clock is synced when
	// state != TimeError and status&StaUnsync == 0. An error (EPERM under a
	// seccomp filter) means "unknown": only SyncFile is used.
	Adjtimex func() (state int, status int, err error)
	// CheckEvery is how long the synchronisation state is cached; zero means
	// DefaultCheckEvery, a negative value checks on every call.
	CheckEvery time.Duration
	// TrustSystem trusts the wall clock at all times, without checking
	// SyncFile or the kernel: for boards with a real-time clock and time
	// daemons that set neither (the [clock] trust = "system" setting).
	TrustSystem bool
}

// Where the synchronisation state comes from (Clock.Sync).
const (
	// SourceTrusted: Options.TrustSystem, the clock is never checked.
	SourceTrusted = "trusted by configuration"
	// SourceSyncFile: SyncFile exists (systemd-timesyncd synchronised it).
	SourceSyncFile = "systemd-timesyncd"
	// SourceKernel: the kernel's NTP state says synchronised (adjtimex).
	SourceKernel = "kernel NTP state"
)

// Clock is the system clock. It implements sensors.Clock and is safe for
// concurrent use.
type Clock struct {
	syncFile   string
	adjtimex   func() (int, int, error)
	checkEvery time.Duration
	boot       string
	mono       func() time.Duration

	trusted bool // Options.TrustSystem

	mu      sync.Mutex
	checked time.Time // when synced was last computed (monotonic)
	synced  bool
	source  string // of synced: one of the Source constants, "" when not synced
}

// New returns the system clock. It reads the boot id once.
func New(opts Options) (*Clock, error) {
	c := &Clock{
		syncFile:   opts.SyncFile,
		adjtimex:   opts.Adjtimex,
		checkEvery: opts.CheckEvery,
		trusted:    opts.TrustSystem,
	}
	if c.syncFile == "" {
		c.syncFile = DefaultSyncFile
	}
	if c.adjtimex == nil {
		c.adjtimex = queryAdjtimex
	}
	if c.checkEvery == 0 {
		c.checkEvery = DefaultCheckEvery
	}
	bootFile := opts.BootIDFile
	if bootFile == "" {
		bootFile = DefaultBootIDFile
	}
	boot, err := bootID(bootFile)
	if err != nil {
		return nil, err
	}
	c.boot = boot
	mono, err := monoSource()
	if err != nil {
		return nil, err
	}
	c.mono = mono
	return c, nil
}

// readBootID returns the trimmed contents of path.
func readBootID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("clock: read boot id: %w", err)
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("clock: boot id file %s is empty", path)
	}
	return id, nil
}

// Now implements sensors.Clock.
func (c *Clock) Now() sensors.Stamp {
	synced := c.Synced()
	return sensors.Stamp{Wall: time.Now(), Mono: c.mono(), Boot: c.boot, Synced: synced}
}

// Boot returns the id of the current boot.
func (c *Clock) Boot() string { return c.boot }

// Synced reports whether the wall clock is synchronised (see Sync).
func (c *Clock) Synced() bool {
	synced, _ := c.Sync()
	return synced
}

// Sync reports whether the wall clock is trusted and why (one of the
// Source constants; "" when it is not): always with Options.TrustSystem,
// else once the sync file exists or the kernel says so. The answer is
// cached for CheckEvery.
func (c *Clock) Sync() (synced bool, source string) {
	if c.trusted {
		return true, SourceTrusted
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.checked.IsZero() && c.checkEvery > 0 && time.Since(c.checked) < c.checkEvery {
		return c.synced, c.source
	}
	c.source = c.check()
	c.synced = c.source != ""
	c.checked = time.Now()
	return c.synced, c.source
}

// check computes where the synchronisation comes from, "" for nowhere.
func (c *Clock) check() string {
	if _, err := os.Stat(c.syncFile); err == nil {
		return SourceSyncFile
	}
	state, status, err := c.adjtimex()
	if err != nil {
		return "" // unknown: the file alone decides
	}
	if state != TimeError && status&StaUnsync == 0 {
		return SourceKernel
	}
	return ""
}
