package sensors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sioagent/sioagent/internal/backoff"
)

// Defaults and limits of a Sampler.
const (
	// DefaultTimeout is the read timeout of a sensor whose Schedule has none.
	DefaultTimeout = 2 * time.Second
	// DefaultMaxBackoff is the longest wait between retries of a failing
	// sensor when SamplerOptions.MaxBackoff is zero.
	DefaultMaxBackoff = 5 * time.Minute
	// MinBackoff is the base wait before retrying a failed read; jitter
	// (BackoffJitter) may shorten a single wait below it.
	MinBackoff = time.Second
	// BackoffJitter is the fraction by which a retry delay is randomly
	// lengthened or shortened, so that sensors on one bus do not retry in
	// lock step.
	BackoffJitter = 0.2
	// ReadGrace is how long, after its timeout, a driver's Read may take to
	// return before the sampler gives up waiting for it. A Read still running
	// then is "stuck": the sensor is not read again until it returns.
	ReadGrace = 250 * time.Millisecond
	// ShutdownGrace bounds how long Run waits, once its context is done, for
	// stuck reads and watchers to return before it closes the sensors.
	ShutdownGrace = time.Second
	// ProgressTick is the longest a sampling loop sleeps without recording
	// progress (see Sampler.Progress).
	ProgressTick = time.Second
)

// Errors of a Sampler.
var (
	// ErrUnknownSensor is returned for a sensor name the sampler does not
	// have.
	ErrUnknownSensor = errors.New("unknown sensor")
	// ErrSamplerClosed is returned by Read once Run has closed the sensors.
	ErrSamplerClosed = errors.New("sampler closed")
	// ErrAlreadyRunning is returned by a second call of Run.
	ErrAlreadyRunning = errors.New("sampler already running")
)

// Schedule says how a Sampler samples one sensor.
type Schedule struct {
	// Sensor is the sensor; its Name must be unique and not empty.
	Sensor Sensor
	// Driver names the driver, e.g. "bme280"; Where names the bus and
	// address or pin. Both only label errors and status.
	Driver, Where string
	// Interval is the time between periodic reads; it must be positive.
	Interval time.Duration
	// Timeout bounds one Read; zero means DefaultTimeout. It is never more
	// than Interval.
	Timeout time.Duration
}

// SamplerOptions configures a Sampler.
type SamplerOptions struct {
	// Clock stamps the readings; nil means a process-local clock that is
	// never synced (use sensors/clock for the system clock).
	Clock Clock
	// Logger receives failure and recovery messages; nil means slog.Default().
	Logger *slog.Logger
	// OnReadings receives every batch of readings from periodic reads
	// (urgent false) and from a Watcher's events (urgent true). It is called
	// from the sampler's goroutines, possibly concurrently for different
	// sensors, and must not block for long. Readings of a read that
	// finishes after Run's context is done are passed too (Run returns
	// after that call). nil discards readings.
	OnReadings func(rs []Reading, urgent bool)
	// MaxBackoff is the longest wait between retries of a failing sensor;
	// zero means DefaultMaxBackoff. A sensor whose interval is longer retries
	// at its interval.
	MaxBackoff time.Duration
	// OnRead, when set, is called after every read (periodic and on
	// demand) with the sensor's name, how long the driver's Read took
	// (zero when it was not called, because an earlier read has not
	// returned) and the read's error (an *Error, whose Kind says what went
	// wrong), nil on success: for metrics. It is called from the reading
	// goroutine and must be quick.
	OnRead func(sensor string, took time.Duration, err error)
}

// SensorStatus is a snapshot of how one sensor is doing.
type SensorStatus struct {
	// Name, Driver and Where are as in the Schedule.
	Name, Driver, Where string
	// Interval and Timeout are the current periodic interval and read
	// timeout.
	Interval, Timeout time.Duration
	// Reads counts the reads attempted (periodic and on demand), Failures
	// those that failed.
	Reads, Failures uint64
	// ConsecutiveFailures counts the periodic reads that failed since the
	// last success.
	ConsecutiveFailures int
	// Events counts the batches a Watcher emitted.
	Events uint64
	// LastReading is the wall time of the last successful read; zero if none.
	LastReading time.Time
	// LastError is the text of the last failure; empty if none or if the
	// sensor has recovered since.
	LastError string
	// Next is when the next periodic read is due; zero if not scheduled.
	Next time.Time
	// Stuck reports that a Read ignored its timeout and has not returned.
	Stuck bool
}

// Sampler reads a set of sensors, each on its own interval, stamps the
// values and hands them to SamplerOptions.OnReadings. A failing, slow or
// panicking sensor never stops or delays the others.
type Sampler struct {
	clock      Clock
	log        *slog.Logger
	onReadings func([]Reading, bool)
	maxBackoff time.Duration
	onRead     func(string, time.Duration, error)
	minBackoff time.Duration  // MinBackoff; tests shorten it
	jitter     func() float64 // uniform in [0,1); tests fix it

	entries []*entry
	byName  map[string]*entry
	created time.Time
	started atomic.Bool
	closed  atomic.Bool
}

// entry is the state of one sensor.
type entry struct {
	sensor      Sensor
	driver      string
	where       string
	maxTimeout  time.Duration // Schedule.Timeout or DefaultTimeout
	sem         chan struct{} // held while the sensor is read or closed
	wake        chan struct{} // SetInterval wakes the loop
	stuck       chan struct{} // guarded by sem; closed when a stuck Read returns
	mu          sync.Mutex    // guards the fields below
	interval    time.Duration
	next        time.Time
	reads       uint64
	failures    uint64
	consecutive int
	events      uint64
	lastReading time.Time
	lastErr     string
	progress    time.Time
	isStuck     bool
}

// NewSampler checks the schedules and returns a Sampler for them. Sensor
// names must be unique and not empty, intervals positive and sensors not nil.
func NewSampler(opts SamplerOptions, schedules []Schedule) (*Sampler, error) {
	s := &Sampler{
		clock:      opts.Clock,
		log:        opts.Logger,
		onReadings: opts.OnReadings,
		maxBackoff: opts.MaxBackoff,
		onRead:     opts.OnRead,
		minBackoff: MinBackoff,
		jitter:     rand.Float64,
		byName:     make(map[string]*entry, len(schedules)),
		created:    time.Now(),
	}
	if s.clock == nil {
		s.clock = newProcessClock()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.onReadings == nil {
		s.onReadings = func([]Reading, bool) {}
	}
	if s.maxBackoff < 0 {
		return nil, fmt.Errorf("sensors: negative max backoff %v", s.maxBackoff)
	}
	if s.maxBackoff == 0 {
		s.maxBackoff = DefaultMaxBackoff
	}
	for i, sc := range schedules {
		e, err := newEntry(i, sc)
		if err != nil {
			return nil, err
		}
		name := sc.Sensor.Name()
		if _, dup := s.byName[name]; dup {
			return nil, fmt.Errorf("sensors: schedule %d: duplicate sensor name %q", i, name)
		}
		e.progress = s.created
		s.byName[name] = e
		s.entries = append(s.entries, e)
	}
	return s, nil
}

func newEntry(i int, sc Schedule) (*entry, error) {
	if sc.Sensor == nil {
		return nil, fmt.Errorf("sensors: schedule %d: nil sensor", i)
	}
	name := sc.Sensor.Name()
	if name == "" {
		return nil, fmt.Errorf("sensors: schedule %d: sensor has an empty name", i)
	}
	if sc.Interval <= 0 {
		return nil, fmt.Errorf("sensors: sensor %q: interval %v is not positive", name, sc.Interval)
	}
	if sc.Timeout < 0 {
		return nil, fmt.Errorf("sensors: sensor %q: negative timeout %v", name, sc.Timeout)
	}
	t := sc.Timeout
	if t == 0 {
		t = DefaultTimeout
	}
	return &entry{
		sensor:     sc.Sensor,
		driver:     sc.Driver,
		where:      sc.Where,
		maxTimeout: t,
		interval:   sc.Interval,
		sem:        make(chan struct{}, 1),
		wake:       make(chan struct{}, 1),
	}, nil
}

// name returns the sensor's name.
func (e *entry) name() string { return e.sensor.Name() }

// timeout returns the read timeout: the configured one, at most the interval.
func (e *entry) timeout() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return min(e.maxTimeout, e.interval)
}

// Run samples every sensor until ctx is done: each sensor is read at once
// and then every interval, and each Watcher's Watch runs in its own
// goroutine. When ctx is done Run stops everything, waits at most
// ShutdownGrace for reads and watchers that ignore ctx, closes every sensor
// exactly once and returns ctx's error. Run may be called only once.
func (s *Sampler) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	var loops sync.WaitGroup
	watchDone := make([]chan struct{}, 0, len(s.entries))
	for _, e := range s.entries {
		loops.Go(func() { s.loop(ctx, e) })
		if w, ok := e.sensor.(Watcher); ok {
			done := make(chan struct{})
			watchDone = append(watchDone, done)
			go func() {
				defer close(done)
				s.watch(ctx, e, w)
			}()
		}
	}
	<-ctx.Done()
	loops.Wait() // each loop returns within its read timeout plus ReadGrace
	// One deadline for the whole shutdown, as a context: its Done channel
	// stays closed once it fires, for every wait below.
	grace, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	for _, done := range watchDone {
		select {
		case <-done:
		case <-grace.Done():
			s.log.Warn("sensor watcher ignored shutdown; closing its sensor anyway")
		}
	}
	s.closeAll(grace.Done())
	return ctx.Err()
}

// closeAll closes every sensor once, after any Read in progress, waiting for
// reads until deadline fires. Reads that start later fail with
// ErrSamplerClosed.
func (s *Sampler) closeAll(deadline <-chan struct{}) {
	s.closed.Store(true)
	expired := false
	for _, e := range s.entries {
		held := false
		if !expired {
			select {
			case e.sem <- struct{}{}:
				held = true
			case <-deadline:
				expired = true
			}
		}
		if held && e.stuck != nil && !expired {
			select {
			case <-e.stuck:
			case <-deadline:
				expired = true
			}
		}
		if expired {
			s.log.Warn("closing sensor while a read is still running", "sensor", e.name())
		}
		if err := safeClose(e.sensor); err != nil {
			s.log.Warn("closing sensor failed", "sensor", e.name(), "err", s.wrapErr(e, err))
		}
		if held {
			<-e.sem
		}
	}
}

// loop reads e every interval until ctx is done.
func (s *Sampler) loop(ctx context.Context, e *entry) {
	e.mu.Lock()
	e.next = time.Now()
	e.mu.Unlock()
	for ctx.Err() == nil {
		s.markProgress(e)
		wait := e.untilNext()
		if wait <= 0 {
			s.sample(ctx, e)
			continue
		}
		t := time.NewTimer(min(wait, ProgressTick))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-e.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

func (s *Sampler) markProgress(e *entry) {
	e.mu.Lock()
	e.progress = time.Now()
	e.mu.Unlock()
}

func (e *entry) untilNext() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Until(e.next)
}

// sample takes one periodic reading of e, reports it and schedules the next.
func (s *Sampler) sample(ctx context.Context, e *entry) {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	if ctx.Err() != nil || s.closed.Load() {
		<-e.sem
		return
	}
	rs, err := s.readLocked(ctx, e)
	<-e.sem
	if err != nil {
		if ctx.Err() == nil {
			s.failed(e, err)
		} // else shutting down: a failure of no interest
		return
	}
	// A read that finished while Run is stopping still hands its
	// readings over: they were taken, and Run returns only after this.
	s.succeeded(e)
	s.onReadings(rs, false)
}

func (s *Sampler) failed(e *entry, err error) {
	e.mu.Lock()
	e.consecutive++
	n := e.consecutive
	delay := retryDelay(max(e.interval, s.minBackoff), s.maxBackoff, n, s.jitter())
	e.next = time.Now().Add(delay)
	e.mu.Unlock()
	if n == 1 {
		s.log.Warn("sensor failing", "sensor", e.name(), "err", err, "retry_in", delay)
	}
}

func (s *Sampler) succeeded(e *entry) {
	e.mu.Lock()
	n := e.consecutive
	e.consecutive = 0
	e.lastErr = ""
	e.next = time.Now().Add(e.interval)
	e.mu.Unlock()
	if n > 0 {
		s.log.Info("sensor recovered", "sensor", e.name(), "failures", n)
	}
}

// retryDelay returns the delay before retry number n (n >= 1) of a sensor
// whose retries start at base: base doubled per failure, at most limit (or
// base if that is longer), lengthened or shortened by up to BackoffJitter
// according to r in [0,1), never past the limit (backoff.Proportional).
func retryDelay(base, limit time.Duration, n int, r float64) time.Duration {
	b := backoff.Backoff{Base: base, Max: limit, Jitter: BackoffJitter, Rand: func() float64 { return r }}
	return b.Delay(n - 1)
}

// SetInterval changes the interval of the named sensor at once: its next
// periodic read is d after now.
func (s *Sampler) SetInterval(name string, d time.Duration) error {
	e, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("sensors: set interval of %q: %w", name, ErrUnknownSensor)
	}
	if d <= 0 {
		return fmt.Errorf("sensors: set interval of %q: %v is not positive", name, d)
	}
	e.mu.Lock()
	e.interval = d
	e.next = time.Now().Add(d)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return nil
}

// Status returns a snapshot of every sensor, in schedule order.
func (s *Sampler) Status() []SensorStatus {
	out := make([]SensorStatus, 0, len(s.entries))
	for _, e := range s.entries {
		e.mu.Lock()
		out = append(out, SensorStatus{
			Name:                e.name(),
			Driver:              e.driver,
			Where:               e.where,
			Interval:            e.interval,
			Timeout:             min(e.maxTimeout, e.interval),
			Reads:               e.reads,
			Failures:            e.failures,
			ConsecutiveFailures: e.consecutive,
			Events:              e.events,
			LastReading:         e.lastReading,
			LastError:           e.lastErr,
			Next:                e.next,
			Stuck:               e.isStuck,
		})
		e.mu.Unlock()
	}
	return out
}

// Progress returns the last time every sampling loop made progress: the
// oldest of the loops' latest wake-ups. Each loop wakes at least every
// ProgressTick, and a read holds it for at most its timeout plus ReadGrace,
// so a Progress older than that means the sampler is wedged. Before Run it
// is the time the sampler was created.
func (s *Sampler) Progress() time.Time {
	p := s.created
	for i, e := range s.entries {
		e.mu.Lock()
		if i == 0 || e.progress.Before(p) {
			p = e.progress
		}
		e.mu.Unlock()
	}
	return p
}
