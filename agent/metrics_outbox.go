package agent

import (
	"github.com/sioagent/sioagent/metrics"
	"github.com/sioagent/sioagent/outbox"
	"github.com/sioagent/sioagent/store"
	"github.com/sioagent/sioagent/wire"
)

// registerOutboxMetrics registers the families of the outbox: the store's
// queue and commits, the drainer's deliveries and the batcher's losses.
// Each write reads the store's and the drainer's counters once.
func (a *Agent) registerOutboxMetrics(r *metrics.Registry) {
	st := func(f func(store.Stats) float64) func(metrics.Emit) {
		return func(emit metrics.Emit) { emit(f(a.st.Stats())) }
	}
	dr := func(f func(outbox.Stats) float64) func(metrics.Emit) {
		return func(emit metrics.Emit) { emit(f(a.drainer.Stats())) }
	}
	r.GaugeFunc("sioagent_outbox_records", "Batches queued in the outbox, not yet acknowledged by the server.", nil, st(func(s store.Stats) float64 { return float64(s.Count) }))
	r.GaugeFunc("sioagent_outbox_bytes", "Stored size of the queued batches.", nil, st(func(s store.Stats) float64 { return float64(s.Bytes) }))
	r.GaugeFunc("sioagent_outbox_oldest_record_age_seconds", "Age of the oldest queued batch; 0 when the outbox is empty.", nil, st(func(s store.Stats) float64 { return s.OldestAge.Seconds() }))
	r.GaugeFunc("sioagent_outbox_file_bytes", "Size of the outbox database file.", nil, st(func(s store.Stats) float64 { return float64(s.FileSize) }))
	r.CounterFunc("sioagent_outbox_commits_total", "Write transactions committed to the outbox.", nil, st(func(s store.Stats) float64 { return float64(s.Commits) }))
	r.CounterFunc("sioagent_outbox_fsyncs_total", "fsync calls the outbox asked for (two per commit).", nil, st(func(s store.Stats) float64 { return float64(s.Syncs) }))
	r.CounterFunc("sioagent_outbox_dropped_total", "Queued batches deleted by a bound, by reason (max_bytes, max_records, max_age, max_file_size).", []string{"reason"}, func(emit metrics.Emit) {
		d := a.st.Stats().Drops
		emit(float64(d.MaxBytes), "max_bytes")
		emit(float64(d.MaxRecords), "max_records")
		emit(float64(d.MaxAge), "max_age")
		emit(float64(d.MaxFileSize), "max_file_size")
	})
	r.GaugeFunc("sioagent_outbox_dead_letters", "Batches kept in the dead-letter bucket (refused by the server for good, or unsendable).", nil, st(func(s store.Stats) float64 { return float64(s.DeadLetters) }))
	r.CounterFunc("sioagent_outbox_dead_lettered_total", "Batches moved to the dead-letter bucket since the outbox file was created.", nil, st(func(s store.Stats) float64 { return float64(s.DeadLettered) }))
	r.CounterFunc("sioagent_outbox_dead_letters_removed_total", "Dead letters deleted, by reason (bound: the dead-letter bounds; dropped: queue drop; requeued: put back in the queue), since the file was created.", []string{"reason"}, func(emit metrics.Emit) {
		s := a.st.Stats()
		emit(float64(s.DeadLettersDiscarded), "bound")
		emit(float64(s.DeadLettersDropped), "dropped")
		emit(float64(s.DeadLettersRequeued), "requeued")
	})
	r.CounterFunc("sioagent_outbox_quarantined_total", "Damaged records set aside since the outbox file was created.", nil, st(func(s store.Stats) float64 { return float64(s.Quarantined) }))

	r.GaugeFunc("sioagent_outbox_in_flight", "Batches sent whose ack has not arrived.", nil, dr(func(s outbox.Stats) float64 { return float64(s.InFlight) }))
	r.CounterFunc("sioagent_outbox_sent_total", "Telemetry events sent, redeliveries included.", nil, dr(func(s outbox.Stats) float64 { return float64(s.Sent) }))
	r.CounterFunc("sioagent_outbox_sent_bytes_total", "Payload bytes of the telemetry events sent, redeliveries included: rate() of it is the drain rate.", nil, dr(func(s outbox.Stats) float64 { return float64(s.SentBytes) }))
	r.GaugeFunc("sioagent_outbox_window", "The most batches the drainer may have in flight now ([outbox] window, or the auto window's current size).", nil, dr(func(s outbox.Stats) float64 { return float64(s.Window) }))
	r.GaugeFunc("sioagent_outbox_in_flight_bytes", "Payload bytes of the batches in flight.", nil, dr(func(s outbox.Stats) float64 { return float64(s.InFlightBytes) }))
	r.CounterFunc("sioagent_outbox_redeliveries_total", "Telemetry events of batches sent before (after a lost ack or a reconnection).", nil, dr(func(s outbox.Stats) float64 { return float64(s.Resends) }))
	r.CounterFunc("sioagent_outbox_acked_total", "Batches the server acknowledged, then deleted from the outbox.", nil, dr(func(s outbox.Stats) float64 { return float64(s.Acked) }))
	r.CounterFunc("sioagent_outbox_duplicate_acks_total", "Acks saying the server had the batch already.", nil, dr(func(s outbox.Stats) float64 { return float64(s.Duplicates) }))
	r.CounterFunc("sioagent_outbox_ack_failures_total", "Sends without a positive ack, by reason (rejected, timeout, disconnected).", []string{"reason"}, func(emit metrics.Emit) {
		s := a.drainer.Stats()
		emit(float64(s.Rejected), "rejected")
		emit(float64(s.Timeouts), "timeout")
		emit(float64(s.Disconnects), "disconnected")
	})
	if rate := a.cfg.Outbox.DrainRate; rate > 0 {
		r.GaugeFunc("sioagent_outbox_drain_rate_limit_bytes_per_second", "The configured bound of telemetry bytes per second ([outbox] drain_rate).", nil, func(emit metrics.Emit) { emit(float64(rate)) })
	}

	r.CounterFunc("sioagent_batches_stored_total", "Telemetry batches the agent stored in the outbox.", nil, func(emit metrics.Emit) { emit(float64(a.batch.enqueued.Load())) })
	r.CounterFunc("sioagent_readings_stored_total", "Readings the agent stored in the outbox.", nil, func(emit metrics.Emit) { emit(float64(a.batch.readings.Load())) })
	r.GaugeFunc("sioagent_readings_held", "Readings waiting in memory because the outbox refused them for now (stalled or full disk).", nil, func(emit metrics.Emit) {
		emit(float64(max(a.batch.heldN.Load(), 0)))
	})
	r.CounterFunc("sioagent_readings_lost_total", "Readings lost before the outbox, by reason.", []string{"reason"}, func(emit metrics.Emit) {
		losses := a.batch.losses.snapshot()
		for _, reason := range LossReasons() {
			emit(float64(losses[reason]), reason)
		}
	})
}

// registerRemoteConfigMetrics registers the families of the remote
// configuration: whether a change is pending, and the changes applied,
// confirmed and rolled back (by reason) since the process started.
func (a *Agent) registerRemoteConfigMetrics(r *metrics.Registry, rc RemoteConfig) {
	r.GaugeFunc("sioagent_remote_config_pending", "1 while a remote configuration change waits for its confirmation.", nil, func(emit metrics.Emit) {
		emit(metrics.Bool(rc.Status().Pending))
	})
	r.CounterFunc("sioagent_remote_config_applies_total", "Remote configuration changes applied (config:apply answered ok).", nil, func(emit metrics.Emit) {
		emit(float64(rc.Status().Applies))
	})
	r.CounterFunc("sioagent_remote_config_confirms_total", "Remote configuration changes confirmed (config:confirm).", nil, func(emit metrics.Emit) {
		emit(float64(rc.Status().Confirms))
	})
	r.CounterFunc("sioagent_remote_config_rollbacks_total", "Remote configuration changes rolled back, by reason (deadline, restart, failed).", []string{"reason"}, func(emit metrics.Emit) {
		rb := rc.Status().Rollbacks
		for _, reason := range wire.RollbackReasons() {
			emit(float64(rb[reason]), reason)
		}
	})
}
