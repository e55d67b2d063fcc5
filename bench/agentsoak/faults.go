package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sioagent/sioagent/bench/internal/soakutil"
	"github.com/sioagent/sioagent/internal/faultproxy"
	"github.com/sioagent/sioagent/internal/nodeserver"
)

// faultKind is one kind of injected fault.
type faultKind int

const (
	faultCut     faultKind = iota // every proxied connection reset (RST)
	faultClose                    // every proxied connection closed cleanly (FIN)
	faultFreeze                   // the proxy stops forwarding (half-open link), then thaws
	faultRefuse                   // server down: connections reset, new ones refused for a while
	faultRestart                  // the server process restarts: its memory is lost
	numFaultKinds
)

// linkFaults are the kinds the fault loop picks from at random; restarts
// come on their own schedule.
var linkFaults = [...]faultKind{faultCut, faultClose, faultFreeze, faultRefuse}

var faultNames = [numFaultKinds]string{"cut", "close", "freeze", "refuse", "restart"}

// String returns the fault's name in the report.
func (k faultKind) String() string { return faultNames[k] }

const (
	// faultJitter spreads the interval between link faults: each one comes
	// after fault-every × [1-faultJitter, 1+faultJitter).
	faultJitter = 0.5
	// freezeFor is how long a freeze lasts: longer than pingInterval +
	// pingTimeout, so the agent must notice the dead link by itself.
	freezeFor = 3 * time.Second
	// refuseFor is how long the server is "down" in a refuse fault.
	refuseFor = 4 * time.Second
	// restartSettle is the pause between freezing the agent's link and
	// counting what the old server stored, so that a write the proxy had
	// in progress lands (and is counted) first.
	restartSettle = 200 * time.Millisecond
)

// faultCounts counts the injected faults by kind.
type faultCounts [numFaultKinds]int

// total is the number of faults of every kind.
func (c faultCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// injector injects the faults: a random link fault every faultEvery (with
// jitter) and a server restart every restartEvery. It runs on one
// goroutine, so faults never overlap: a freeze or refusal holds the loop
// until it ends, and the proxy is always left forwarding and accepting.
type injector struct {
	proxy        *faultproxy.Proxy
	server       *nodeserver.Server
	ledger       *ledger
	tr           *tracer
	rng          *rand.Rand
	faultEvery   time.Duration // 0: no link faults
	restartEvery time.Duration // 0: no restarts

	mu       sync.Mutex
	injected faultCounts
}

// run injects faults until ctx ends. It returns an error, and stops, only
// if a server restart failed or what the old server stored could not be
// counted (then the soak cannot tell what was lost).
func (f *injector) run(ctx context.Context) error {
	faults := soakutil.NewTimer(f.nextInterval())
	defer faults.Stop()
	restarts := soakutil.NewTimer(f.restartEvery)
	defer restarts.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-faults.C():
			f.inject(ctx, linkFaults[f.rng.IntN(len(linkFaults))])
			faults.Reset(f.nextInterval())
		case <-restarts.C():
			if err := f.restart(ctx); err != nil {
				return err
			}
			restarts.Reset(f.restartEvery)
		}
	}
}

// counts returns the faults injected so far.
func (f *injector) counts() faultCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

func (f *injector) record(kind faultKind) {
	f.mu.Lock()
	f.injected[kind]++
	f.mu.Unlock()
	f.tr.printf("fault: %s", kind)
}

// nextInterval returns the jittered delay before the next link fault.
func (f *injector) nextInterval() time.Duration {
	if f.faultEvery <= 0 {
		return 0
	}
	spread := 1 - faultJitter + 2*faultJitter*f.rng.Float64()
	return time.Duration(float64(f.faultEvery) * spread)
}

// inject applies one link fault.
func (f *injector) inject(ctx context.Context, kind faultKind) {
	f.record(kind)
	switch kind {
	case faultCut:
		f.proxy.Cut()
	case faultClose:
		f.proxy.CloseAll()
	case faultFreeze:
		f.proxy.Freeze()
		sleep(ctx, freezeFor)
		f.proxy.Thaw()
	case faultRefuse:
		f.proxy.SetRefuse(true)
		f.proxy.Cut()
		sleep(ctx, refuseFor)
		f.proxy.SetRefuse(false)
	}
}

// restart restarts the server on the same port. The agent's link is
// frozen first, so nothing reaches the old server after it is counted;
// the restart then breaks the frozen connections, as a crash would.
func (f *injector) restart(ctx context.Context) error {
	f.proxy.Freeze()
	defer f.proxy.Thaw()
	sleep(ctx, restartSettle)
	if ctx.Err() != nil {
		return nil // the soak ends: the final count covers this server
	}
	f.record(faultRestart)
	// Counted even if ctx ends meanwhile: the server is restarted next.
	if err := f.ledger.count(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("counting before server restart %d: %w", f.counts()[faultRestart], err)
	}
	if err := f.server.Relaunch(); err != nil {
		return fmt.Errorf("server restart %d: %w", f.counts()[faultRestart], err)
	}
	return nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
