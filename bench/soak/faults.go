package main

import (
	"context"
	"math/rand/v2"
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
	faultRestart                  // the server process restarts: its state is lost
	numFaultKinds
)

// linkFaults are the kinds the fault loop picks from at random; restarts
// come on their own schedule.
var linkFaults = []faultKind{faultCut, faultClose, faultFreeze}

var faultNames = [numFaultKinds]string{"cut", "close", "freeze", "restart"}

func (k faultKind) String() string { return faultNames[k] }

// faultJitter spreads the interval between link faults: each one comes
// after cut-every × [1-faultJitter, 1+faultJitter).
const faultJitter = 0.5

// injector injects the faults: a random link fault every cutEvery (with
// jitter) and a server restart every restartEvery. It runs on one
// goroutine, so faults never overlap: a freeze holds the loop until thaw.
type injector struct {
	proxy        *faultproxy.Proxy
	server       *nodeserver.Server
	mon          *monitor
	rng          *rand.Rand
	cutEvery     time.Duration // 0: no link faults
	restartEvery time.Duration // 0: no restarts
	freezeFor    time.Duration
}

// run injects faults until ctx ends; it returns an error only if the
// server could not be restarted. The proxy is never left frozen.
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
			if err := f.restart(); err != nil {
				return err
			}
			restarts.Reset(f.restartEvery)
		}
	}
}

// nextInterval returns the jittered delay before the next link fault.
func (f *injector) nextInterval() time.Duration {
	if f.cutEvery <= 0 {
		return 0
	}
	spread := 1 - faultJitter + 2*faultJitter*f.rng.Float64()
	return time.Duration(float64(f.cutEvery) * spread)
}

// inject applies one link fault.
func (f *injector) inject(ctx context.Context, kind faultKind) {
	f.mon.faultInjected(kind)
	switch kind {
	case faultCut:
		f.proxy.Cut()
	case faultClose:
		f.proxy.CloseAll()
	case faultFreeze:
		f.freeze(ctx)
	}
}

// freeze makes the link half-open for freezeFor (or until ctx ends), then
// thaws it.
func (f *injector) freeze(ctx context.Context) {
	f.proxy.Freeze()
	t := time.NewTimer(f.freezeFor)
	defer t.Stop()
	full := true
	select {
	case <-t.C:
	case <-ctx.Done():
		full = false // the soak ends: thaw now
	}
	f.proxy.Thaw()
	f.mon.freezeEnded(full)
}

// restart restarts the server on the same port.
func (f *injector) restart() error {
	f.mon.restartBegins()
	err := f.server.Relaunch()
	f.mon.restartEnds(err)
	return err
}
