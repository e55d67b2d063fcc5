package outbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"

	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/protocol/socketio"
	"github.com/sioagent/sioagent/store"
)

// childEnv, when set, makes the test binary run a helper process (see
// crash_test.go) instead of the tests.
const childEnv = "OUTBOX_TEST_CHILD"

// testTimeout bounds every wait of the tests.
const testTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	goleak.VerifyTestMain(m)
}

// openStore opens a store in a fresh directory, closes it when the test
// ends and then checks the file (bbolt's consistency check).
func openStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.db")
	st, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
		if err := checkFile(path); err != nil {
			t.Errorf("check %s: %v", path, err)
		}
	})
	return st, path
}

// checkFile runs bbolt's consistency check on a closed database file.
func checkFile(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// fastReconnect is client options that reconnect within tens of
// milliseconds, so outage tests do not wait for the default backoff.
func fastReconnect() *socketio.Options {
	return &socketio.Options{
		ReconnectDelay:    20 * time.Millisecond,
		ReconnectDelayMax: 100 * time.Millisecond,
	}
}

// device is a drainer on its own client and socket.
type device struct {
	id     string
	client *socketio.Client
	sock   *socketio.Socket
	d      *outbox.Drainer

	connectedAt chan time.Time // one value per connection, newest kept
}

// newDevice creates a client of url, a socket on "/" wired to a drainer of
// st, and connects it in the background (it keeps trying while the server
// is down). The client is closed when the test ends.
func newDevice(t testing.TB, url string, st *store.Store, opts outbox.Options) *device {
	t.Helper()
	c, err := socketio.New(url, fastReconnect())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dev := &device{id: opts.DeviceID, client: c, connectedAt: make(chan time.Time, 1)}
	var d *outbox.Drainer
	dev.sock = c.Socket("/", &socketio.SocketOptions{
		SendBuffer: -1,
		OnConnect: func(bool) {
			d.Wake()
			select {
			case <-dev.connectedAt:
			default:
			}
			dev.connectedAt <- time.Now()
		},
	})
	d, err = outbox.NewDrainer(st, dev.sock, &opts)
	if err != nil {
		t.Fatal(err)
	}
	dev.d = d
	ctx, cancel := context.WithCancel(context.Background())
	connected := make(chan struct{})
	go func() {
		defer close(connected)
		_ = dev.sock.Connect(ctx) // keeps trying in the background when ctx ends
	}()
	t.Cleanup(func() {
		cancel()
		<-connected
	})
	return dev
}

// run runs the drainer until the test ends and checks how Run returned.
func (dev *device) run(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- dev.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
}

// observer is a plain client of the Node server that asks for telemetry
// statistics. It connects straight to the server, never through a proxy.
type observer struct {
	client *socketio.Client
	sock   *socketio.Socket
}

func newObserver(t testing.TB, url string) *observer {
	t.Helper()
	c, err := socketio.New(url, fastReconnect())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := c.Socket("/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("observer: %v", err)
	}
	return &observer{client: c, sock: s}
}

// serverStats is the reply of the example server's telemetry-stats.
type serverStats struct {
	Stored     int         `json:"stored"`
	Duplicates int         `json:"duplicates"`
	Rejected   int         `json:"rejected"`
	Ignored    int         `json:"ignored"`
	Records    int         `json:"records"`
	Runs       [][2]uint64 `json:"runs"`
}

// seqs expands Runs: the stored seqs in arrival order.
func (s serverStats) seqs() []uint64 {
	var out []uint64
	for _, r := range s.Runs {
		for seq := r[0]; seq <= r[1]; seq++ {
			out = append(out, seq)
		}
	}
	return out
}

// stats asks the server what it stored for deviceID.
func (o *observer) stats(t testing.TB, deviceID string) serverStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	args, err := o.sock.EmitWithAck(ctx, "telemetry-stats", map[string]string{"deviceId": deviceID})
	if err != nil {
		t.Fatalf("telemetry-stats: %v", err)
	}
	var s serverStats
	if err := args.Decode(0, &s); err != nil {
		t.Fatalf("telemetry-stats: %v", err)
	}
	return s
}

// reject sets a fault on the server (see telemetry-reject in
// examples/server/server.js).
func (o *observer) reject(t testing.TB, deviceID, mode string, times int, seqs ...uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req := map[string]any{"deviceId": deviceID, "seqs": seqs, "mode": mode, "times": times}
	args, err := o.sock.EmitWithAck(ctx, "telemetry-reject", req)
	if err != nil {
		t.Fatalf("telemetry-reject: %v", err)
	}
	if ok, err := socketio.Arg[bool](args, 0); err != nil || !ok {
		t.Fatalf("telemetry-reject refused %v (%v)", req, err)
	}
}

// produce enqueues n batches with producers goroutines (so that they share
// commits) and returns their seqs in increasing order.
func produce(t testing.TB, st *store.Store, n, producers int) []uint64 {
	t.Helper()
	seqs, _ := producePayloads(t, st, n, producers)
	return seqs
}

// sent maps each enqueued seq to the payload enqueued under it.
type sent map[uint64][]byte

// add records the payloads of other in s.
func (s sent) add(other sent) {
	for seq, p := range other {
		s[seq] = p
	}
}

// producePayloads is produce that also returns which payload each seq
// holds (producers share seqs in no fixed order).
func producePayloads(t testing.TB, st *store.Store, n, producers int) ([]uint64, sent) {
	t.Helper()
	var mu sync.Mutex
	var seqs []uint64
	payloads := make(sent, n)
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := p; i < n; i += producers {
				seq, err := outbox.Enqueue(context.Background(), st, 3, outbox.ContentTypeSenMLCBOR, payload(i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				seqs = append(seqs, seq)
				payloads[seq] = payload(i)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Enqueue: %v", err)
	}
	slices.Sort(seqs)
	return seqs, payloads
}

// payload is a recognisable batch of about 100 bytes.
func payload(i int) []byte {
	return fmt.Appendf(nil, "batch %08d %s", i, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
}

// waitFor polls cond every few milliseconds until it holds or the test
// timeout passes.
func waitFor(t testing.TB, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > testTimeout {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// queued returns the seqs left in the store, oldest first.
func queued(t testing.TB, st *store.Store) []uint64 {
	t.Helper()
	var out []uint64
	var after uint64
	for {
		recs, err := st.PeekAfter(after, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return out
		}
		for _, r := range recs {
			out = append(out, r.Seq)
		}
		after = recs[len(recs)-1].Seq
	}
}

// checkDelivered checks that the server stored exactly want (each once),
// in increasing order.
func checkDelivered(t testing.TB, s serverStats, want []uint64) {
	t.Helper()
	got := s.seqs()
	if len(got) != len(want) {
		t.Fatalf("server stored %d batches, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("server stored seq %d at position %d, want %d (runs %v)", got[i], i, want[i], s.Runs)
		}
	}
}

// digestsPage is how many digests each telemetry-digests request asks for
// (the server's cap is MAX_DIGESTS in examples/server/server.js).
const digestsPage = 500

// digests asks the server for the sha256 (hex) of every batch it stored
// for deviceID, by seq.
func (o *observer) digests(t testing.TB, deviceID string) map[uint64]string {
	t.Helper()
	out := make(map[uint64]string)
	var after uint64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		args, err := o.sock.EmitWithAck(ctx, "telemetry-digests", map[string]any{"deviceId": deviceID, "after": after, "limit": digestsPage})
		cancel()
		if err != nil {
			t.Fatalf("telemetry-digests: %v", err)
		}
		var page [][2]any // [seq, sha256 hex]
		if err := args.Decode(0, &page); err != nil {
			t.Fatalf("telemetry-digests: %v", err)
		}
		if len(page) == 0 {
			return out
		}
		for _, e := range page {
			seq, ok1 := e[0].(float64)
			d, ok2 := e[1].(string)
			if !ok1 || !ok2 || seq <= float64(after) {
				t.Fatalf("telemetry-digests: malformed entry %v after seq %d", e, after)
			}
			after = uint64(seq)
			out[after] = d
		}
	}
}

// digest is the sha256 (hex) of b, as the server computes it.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkContents checks that the server stored, for deviceID, exactly the
// seqs of want and under each the very bytes enqueued with it: not only
// which seqs arrived, but what they carried.
func checkContents(t testing.TB, o *observer, deviceID string, want sent) {
	t.Helper()
	got := o.digests(t, deviceID)
	for seq, p := range want {
		d, ok := got[seq]
		if !ok {
			t.Fatalf("the server holds no batch for seq %d", seq)
		}
		if d != digest(p) {
			t.Fatalf("the server stored seq %d with sha256 %s, want %s (the %d bytes %q)", seq, d, digest(p), len(p), p)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("the server holds %d batches, want %d", len(got), len(want))
	}
}
