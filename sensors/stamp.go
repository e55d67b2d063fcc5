package sensors

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Stamp is the time at which something happened, as seen by every clock the
// agent has: the wall clock, the boot-relative monotonic clock and whether the
// wall clock was synchronised.
type Stamp struct {
	// Wall is the wall-clock time. It may be wrong by the time the device was
	// powered off unless Synced is true.
	Wall time.Time
	// Mono is the boot-relative monotonic time (CLOCK_BOOTTIME on Linux),
	// valid only within the boot named by Boot.
	Mono time.Duration
	// Boot identifies the boot Mono belongs to.
	Boot string
	// Synced reports whether the wall clock was synchronised.
	Synced bool
}

// Clock tells the time. sensors/clock implements it for the system; tests
// inject their own.
type Clock interface {
	// Now returns the current time.
	Now() Stamp
}

// ClockFunc adapts a function to the Clock interface.
type ClockFunc func() Stamp

// Now calls f.
func (f ClockFunc) Now() Stamp { return f() }

// bootIDBytes is the number of random bytes of a process-local boot id.
const bootIDBytes = 16

// processClock is the Clock a Sampler uses when none is given: the wall
// clock, never synced, with Mono measured from the clock's creation and a
// random Boot id, so that readings are only comparable within one process.
type processClock struct {
	start time.Time
	boot  string
}

func newProcessClock() *processClock {
	b := make([]byte, bootIDBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported systems.
	return &processClock{start: time.Now(), boot: "process-" + hex.EncodeToString(b)}
}

// Now implements Clock.
func (c *processClock) Now() Stamp {
	return Stamp{Wall: time.Now(), Mono: time.Since(c.start), Boot: c.boot}
}

// TimeQuality says how far the time Correct returns can be trusted.
type TimeQuality int

// Qualities of a corrected reading time, from best to worst.
const (
	// TimeSynced means the reading was taken with a synchronised clock; its
	// Time is right as it is.
	TimeSynced TimeQuality = iota
	// TimeCorrected means the reading was taken unsynced in the current boot
	// and the clock has been synchronised since: the time was recomputed from
	// the monotonic clock and is right.
	TimeCorrected
	// TimeRelative means the reading was taken in the current boot and the
	// clock is still unsynchronised: only its age (now.Mono - r.Mono) is
	// right. The time returned is now.Wall minus that age.
	TimeRelative
	// TimeUncertain means the reading was taken unsynced in an earlier boot
	// (or its boot is unknown): its Time is returned as it is and may be
	// wrong by the time the device was off.
	TimeUncertain
)

// String returns the quality's name as used in logs and on the wire.
func (q TimeQuality) String() string {
	switch q {
	case TimeSynced:
		return "synced"
	case TimeCorrected:
		return "corrected"
	case TimeRelative:
		return "relative"
	case TimeUncertain:
		return "uncertain"
	default:
		return "unknown"
	}
}

// Correct returns the best wall-clock time for r given the current time now,
// and how far it can be trusted.
//
// A Pi has no real-time clock: after a power cut the wall clock starts from
// the time it was last saved and jumps (forward, or backward) when NTP
// synchronises it. Readings taken in the same boot keep their position on the
// boot-relative monotonic clock, which never jumps, so once the clock is
// synchronised their wall time is now.Wall - (now.Mono - r.Mono).
func Correct(r Reading, now Stamp) (time.Time, TimeQuality) {
	if r.Synced {
		return r.Time, TimeSynced
	}
	if r.Boot == "" || r.Boot != now.Boot || r.Mono > now.Mono {
		// Another boot, an unknown boot, or a monotonic time from the future
		// (which cannot be of this boot): nothing to correct with.
		return r.Time, TimeUncertain
	}
	t := now.Wall.Add(-(now.Mono - r.Mono))
	if now.Synced {
		return t, TimeCorrected
	}
	return t, TimeRelative
}
