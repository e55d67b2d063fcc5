#!/usr/bin/env bash
# A small, fixed mutation check of the test suite's own blind spots: each
# mutant below is a one-line change to the code that the named package's
# tests must catch. For each, in a copy of the repository (the files git
# tracks plus the untracked ones it does not ignore, as they are in the
# working tree, so uncommitted work is checked too), the script applies
# the change, checks that it changed the file and that the package still
# builds, runs only the named tests and requires them to FAIL. It prints a
# table and exits 1 if any mutant survives (or 2 if a mutant no longer
# applies: its pattern matched nothing, or the mutated code does not
# compile; fix the mutant's line).
#
# Adding a mutant is one line in the table below:
#   mutant NAME PACKAGE TESTS FILE PERL [GO_TEST_FLAGS]
#     NAME           short name for the table
#     PACKAGE        the package whose tests must catch it (./store/)
#     TESTS          the -run expression ('' runs every test)
#     FILE           the file to mutate, relative to the repository root
#     PERL           a perl substitution applied to the whole file
#                    (perl -0pi -e): it must change the file
#     GO_TEST_FLAGS  optional extra `go test` flags for this mutant, e.g.
#                    '-tags sioagent_nofsync' or '-race' (split on spaces)
#
# Environment: GO (default go); MUTANTS (a regexp: run only the mutants
# whose name matches); MUTANTS_TIMEOUT (go test -timeout per mutant,
# default 5m); MUTANTS_KEEP=1 keeps the copy for inspection. node_modules
# of the reference server is linked into the copy, so `make node-deps` must
# have run. See docs/TESTING.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
GO=${GO:-go}
filter=${MUTANTS:-}
timeout=${MUTANTS_TIMEOUT:-5m}

names=() pkgs=() tests=() files=() exprs=() flags=()

# mutant NAME PACKAGE TESTS FILE PERL [GO_TEST_FLAGS]: see above.
mutant() {
  if [ $# -lt 5 ] || [ $# -gt 6 ]; then
    echo "mutants.sh: mutant $1: want NAME PACKAGE TESTS FILE PERL [GO_TEST_FLAGS], got $# fields" >&2
    exit 2
  fi
  names+=("$1") pkgs+=("$2") tests+=("$3") files+=("$4") exprs+=("$5") flags+=("${6:-}")
}

## The mutants ------------------------------------------------------------------

# The drainer sends each payload without its last byte: the outbox tests
# compare the bytes the server stored (telemetry-digests) with what was
# enqueued.
mutant payload-last-byte ./outbox/ '^(TestLiveDelivery|TestRejections)$' outbox/send.go \
  's/Second: b\.Payload\}/Second: b.Payload[:max(len(b.Payload)-1, 0)]}/'
# The store writes each record without its last byte (the envelope's CRC
# still matches): the crash test compares what survived a kill with what
# each Append wrote.
mutant store-record-short ./store/ '^TestKillDuringAppends$' store/envelope.go \
  's/copy\(v\[envelopeHeader:\], data\)/copy(v[envelopeHeader:], data[:max(len(data)-1, 0)])/'
# The encoder drops the sub-second part of the base time.
mutant senml-bt-whole-seconds ./protocol/senml/ '^(TestEncodeRoundTripProperty|FuzzEncodeReadings|FuzzDecode)$' protocol/senml/senml.go \
  's/return float64\(t\.Unix\(\)\) \+ float64\(t\.Nanosecond\(\)\)\/float64\(time\.Second\)/return float64(t.Unix())/'
# The stored readings are sent with the times they were taken with, not
# re-timed against the clock at send time.
mutant telemetry-no-retime ./telemetry/ '^TestPrepare$' telemetry/senml.go \
  's/t, q := sensors\.Correct\(r, now\)/t, q := r.Time, sensors.TimeSynced/'
# The reader of the CBOR batches of earlier agents takes a float where the
# layout has an integer (the former decoder refused it).
mutant telemetry-v1-float-int ./telemetry/ '^(TestDecodeV1Acceptance|FuzzDecodeV1)$' telemetry/v1.go \
  's/case m != cborUnsigned && m != cborNegative:/case m != cborUnsigned && m != cborNegative && m != cborSimple:/'
# The stored batch decoder ignores trailing bytes.
mutant telemetry-trailing-bytes ./telemetry/ '^(TestDecodeErrors|FuzzDecode)$' telemetry/batch.go \
  's/if len\(r\.rest\) != 0 \{/if false \&\& len(r.rest) != 0 {/'
# The drainer's retry delay keeps growing across an ok ack.
mutant outbox-retry-no-reset ./outbox/ '^TestRetryDelayResetsAfterAnAck$' outbox/run.go \
  's/(\n\s*)r\.retry\.Reset\(\)/$1_ = r.retry/'
# Each watcher the sampler waits for at shutdown gets a fresh grace.
mutant grace-per-watcher ./sensors/ '^TestShutdownGraceCoversEveryWait$' sensors/sampler.go \
  's/case <-grace\.Done\(\):(\s*s\.log\.Warn\("sensor watcher ignored shutdown)/case <-time.After(ShutdownGrace):$1/'
# A wrong default 1-Wire directory.
mutant ds18b20-default-dir ./sensors/ds18b20/ '^TestNewDefaults$' sensors/ds18b20/ds18b20.go \
  's|const DefaultDir = "/sys/bus/w1/devices"|const DefaultDir = "/sys/bus/w1/device"|'
# The agent loses the batches queued before a restart (a fresh outbox).
mutant outbox-lost-at-start ./cmd/sioagent/ '^TestAgentSurvivesOutageAndKill$' agent/agent.go \
  's/(\n\s*)(if a\.st, err = store\.Open\(cfg\.Outbox\.Path,)/$1_ = os.Remove(cfg.Outbox.Path)$1$2/'

# Every fsync the store makes is removed (what the sioagent_nofsync build
# tag does): the power-cut tests must see it. Then each kind on its own.
mutant store-no-fsync ./store/ '^TestPowerCut' store/fsync.go \
  's/const fsyncOff = false/const fsyncOff = true/'
mutant store-bbolt-nosync ./store/ '^TestPowerCut' store/open.go \
  's/NoSync:       fsyncOff,/NoSync:       true,/'
mutant store-no-dir-fsync ./store/ '^TestPowerCut' store/open.go \
  's/if fsyncOff \{\n\t\treturn nil/if true {\n\t\treturn nil/'
mutant store-seq-sidecar-nosync ./store/ '^TestPowerCut' store/seqfloor.go \
  's/err == nil && !fsyncOff/err == nil \&\& false/'

# The same, seen end to end: the agent's outbox on the power-cut
# filesystem loses committed batches or hands their seqs out again.
mutant agent-no-fsync ./cmd/sioagent/ '^TestPowerCutAgentEndToEnd$' store/fsync.go \
  's/const fsyncOff = false/const fsyncOff = true/'
# A file full before the queue's bounds fails the append under
# drop-oldest again instead of dropping the oldest records.
mutant file-full-no-room ./store/ '^TestFileFullOfDeadLettersDropsOldest$' store/bounds.go \
  's/maxRoomAttempts = 16/maxRoomAttempts = 0/'
# The seq floor trusts any file within one block of the mark again (an
# older copy restored after a clean Close would reuse seqs).
mutant seq-trust-within-block ./store/ '^TestSeqsSkipOldFileSameBoot$' store/seqfloor.go \
  's/return f\.sameBoot && fileSeq > f\.base && fileSeq < f\.mark/return f.sameBoot && fileSeq > 0 && fileSeq < f.mark && f.mark-fileSeq <= seqBlock/'
# The store goes on writing on a handle whose commit failed on I/O.
mutant store-io-no-poison ./store/ '^TestPowerCutIOFaults$' store/failed.go \
  's/\treturn true\n\}\s*$/\treturn false\n}\n/'

# A panicking handler is no longer recovered by the dispatcher.
mutant handler-panic ./protocol/socketio/ '^TestHandlerPanicRecovered$' protocol/socketio/dispatch.go \
  's/d\.call\(t\.fn\)/t.fn()/'
# A removed handler still runs for the events queued before its removal.
mutant listener-removed-runs ./protocol/socketio/ '^TestRemovedHandlerSkipsQueuedEvents$' protocol/socketio/listeners.go \
  's/\} else if l\.gone\.Load\(\) \{/} else if false \&\& l.gone.Load() {/'
# A Strict typed event decodes its arguments leniently (a misspelt member
# is ignored instead of refused).
mutant typed-strict-ignored ./protocol/socketio/ '^TestTypedHandle$' protocol/socketio/typed.go \
  's/(func \(e TypedEvent\[A, R\]\) DecodeArgs\(a Args\) \(A, error\) \{\n\tif )e\.strict/$1false/'
# Socket.State's Changed channel is never closed: waiters miss every change.
mutant state-changed-not-closed ./protocol/socketio/ '^TestStateFollowsALostLinkLikeOnStatus$' protocol/socketio/state.go \
  's/close\(h\.changed\)/_ = h.changed/'
# The drainer ignores Options.DrainRate (it takes no tokens).
mutant drain-rate-ignored ./outbox/ '^TestDrainRateBoundsTheBacklog$' outbox/send.go \
  's/r\.d\.rate\.wait\(r\.round, len\(b\.Payload\)\)/r.d.rate.wait(r.round, 0)/'
# The auto window ignores its byte bound (AutoWindowMaxBytes): a server
# that never acks gets as many large records as the record window holds.
mutant window-bytes-ignored ./outbox/ '^TestAutoWindowBoundedWhenTheServerNeverAcks$' outbox/send.go \
  's/len\(r\.inflight\) == 0 \|\| r\.inBytes\+n <= AutoWindowMaxBytes/true/'
# The auto window's record bound (AutoWindowMaxRecords) is gone.
mutant window-records-ignored ./outbox/ '^TestAutoWindowBounds$' outbox/window.go \
  's/limit := AutoWindowMaxRecords\n/limit := 1 << 30\n/'
# Shutdown's flush does not wake at a change of the socket's state.
mutant flush-no-state-wake ./agent/ '^TestFlushNoticesADisconnection$' agent/run.go \
  's/(\n\t\tcase <-st\.Changed:\n\t\t\tcontinue)//'
# A histogram keeps a series for every new label value (no MaxSeries).
mutant metrics-series-unbounded ./metrics/ '^TestHistogramSeriesBound$' metrics/histogram.go \
  's/len\(h\.series\) >= MaxSeries/false/'
# The agent does not count disconnections: the metrics no longer follow
# what it did.
mutant metrics-disconnect-uncounted ./agent/ '^TestMetricsFollowTheAgent$' agent/agent.go \
  's/\n\t\t\ta\.metrics\.disconnects\.add\(1, socketio\.Reason\(reason\), ""\)//'
# The rollback guarantee of a remote configuration change: a change found
# pending at start (the agent was killed, crashed or lost power before the
# confirmation) is kept instead of rolled back...
mutant remote-pending-kept ./remoteconfig/ '^(TestPendingChangeRolledBackAtStart|TestCrashBetweenWritesRollsBack)$' remoteconfig/manager.go \
  's/if st\.Pending \{/if false \&\& st.Pending {/'
# ...and a change never confirmed outlives its deadline.
mutant remote-deadline-ignored ./remoteconfig/ '^TestDeadlineRollsBack$' remoteconfig/manager.go \
  's/t := time\.NewTimer\(within\)/t := time.NewTimer(within * 1000)/'
# The first seen end to end: the real agent, killed while a change is
# pending, starts with it.
mutant remote-pending-kept-e2e ./cmd/sioagent/ '^TestRemoteConfigKilledWhilePendingRolledBackAtStart$' remoteconfig/manager.go \
  's/if st\.Pending \{/if false \&\& st.Pending {/'

## The check --------------------------------------------------------------------

[ -d "$root/examples/server/node_modules" ] || {
  echo "mutants.sh: $root/examples/server/node_modules is missing: run \`make node-deps\` first" >&2
  exit 2
}

work=$(mktemp -d "${TMPDIR:-/tmp}/sioagent-mutants.XXXXXX")
cleanup() {
  if [ "${MUTANTS_KEEP:-}" = 1 ]; then echo "mutants.sh: copy kept in $work/repo"; else rm -rf "$work"; fi
}
trap cleanup EXIT
copy=$work/repo
mkdir -p "$copy"
# The working tree as it is (a clean clone in CI): tracked files and
# untracked ones that are not ignored, never node_modules or build outputs.
(cd "$root" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf -) | tar -C "$copy" -xf -
ln -s "$root/examples/server/node_modules" "$copy/examples/server/node_modules"

results=() survived=0 broken=0 started=$SECONDS
for i in "${!names[@]}"; do
  name=${names[$i]} pkg=${pkgs[$i]} file=${files[$i]}
  if [ -n "$filter" ] && ! [[ $name =~ $filter ]]; then continue; fi
  read -r -a extra <<<"${flags[$i]}"
  log=$work/$name.log
  target=$copy/$file
  t0=$SECONDS
  if [ ! -f "$target" ]; then
    result="BROKEN (no $file)"
  else
    cp -p "$target" "$work/original"
    perl -0pi -e "${exprs[$i]}" "$target"
    if cmp -s "$target" "$work/original"; then
      result="BROKEN (pattern no longer matches $file)"
    else
      echo "=== $name: go test ${extra[*]} -run '${tests[$i]}' $pkg" >"$log"
      rc=0
      (cd "$copy" && "$GO" test "${extra[@]}" -count=1 -timeout "$timeout" -run "${tests[$i]}" "$pkg") >>"$log" 2>&1 || rc=$?
      # Killed means a test failed, or the test binary crashed with a
      # panic the mutation let through (a handler's, say); a build
      # failure means the mutant itself is broken.
      if [ "$rc" -ne 0 ] && grep -q -- '^--- FAIL' "$log"; then
        result=killed
      elif [ "$rc" -ne 0 ] && grep -q '^panic: ' "$log" && ! grep -q 'build failed' "$log"; then
        result=killed
      elif [ "$rc" -ne 0 ]; then
        result="BROKEN (go test failed without a failing test: the mutated code does not build?)"
      else
        result=SURVIVED
      fi
    fi
    cp -p "$work/original" "$target"
  fi
  case $result in
    killed) ;;
    SURVIVED) survived=$((survived + 1)) ;;
    *) broken=$((broken + 1)) ;;
  esac
  results+=("$(printf '%-24s %-20s %-9s %4ds' "$name" "$pkg" "${result%% *}" $((SECONDS - t0)))")
  if [ "$result" != killed ]; then
    echo "mutants.sh: $name: $result" >&2
    [ -f "$log" ] && tail -n 40 "$log" | sed "s/^/    $name: /" >&2
  fi
done

printf '%-24s %-20s %-9s %5s\n' MUTATION PACKAGE RESULT TIME
printf '%s\n' "${results[@]}"
echo "${#results[@]} mutant(s) in $((SECONDS - started))s: $((${#results[@]} - survived - broken)) killed, $survived survived, $broken broken"
[ "$broken" -eq 0 ] || exit 2
[ "$survived" -eq 0 ] || exit 1
