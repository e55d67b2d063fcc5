package sensors

import (
	"testing"
	"time"
)

func TestCorrect(t *testing.T) {
	// The device booted with its clock restored to 2024-03-01 (last save
	// before a long power cut); NTP later stepped it to 2024-03-05.
	restored := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	real := time.Date(2024, 3, 5, 8, 30, 0, 0, time.UTC)
	reading := Reading{Sensor: "s", Quantity: "q", Time: restored.Add(10 * time.Second), Mono: 20 * time.Second, Boot: "b1"}
	syncedReading := reading
	syncedReading.Synced = true
	tests := []struct {
		name     string
		r        Reading
		now      Stamp
		want     time.Time
		wantQual TimeQuality
	}{
		{"synced reading kept", syncedReading,
			Stamp{Wall: real, Mono: time.Hour, Boot: "b2", Synced: true}, syncedReading.Time, TimeSynced},
		{"clock jumped forward by days", reading,
			Stamp{Wall: real, Mono: 80 * time.Second, Boot: "b1", Synced: true}, real.Add(-60 * time.Second), TimeCorrected},
		{"clock stepped backwards", reading,
			Stamp{Wall: restored.Add(-48 * time.Hour), Mono: 30 * time.Second, Boot: "b1", Synced: true},
			restored.Add(-48*time.Hour - 10*time.Second), TimeCorrected},
		{"same boot, still unsynced", reading,
			Stamp{Wall: restored.Add(70 * time.Second), Mono: 80 * time.Second, Boot: "b1"}, restored.Add(10 * time.Second), TimeRelative},
		{"same boot, unsynced, wall stepped by hand", reading,
			Stamp{Wall: restored.Add(time.Hour), Mono: 80 * time.Second, Boot: "b1"}, restored.Add(time.Hour - 60*time.Second), TimeRelative},
		{"earlier boot, now synced", reading,
			Stamp{Wall: real, Mono: 5 * time.Second, Boot: "b2", Synced: true}, reading.Time, TimeUncertain},
		{"earlier boot, unsynced", reading,
			Stamp{Wall: restored, Mono: 500 * time.Second, Boot: "b2"}, reading.Time, TimeUncertain},
		{"unknown boot", Reading{Time: restored, Mono: time.Second},
			Stamp{Wall: real, Mono: time.Hour, Synced: true}, restored, TimeUncertain},
		{"mono from the future", reading,
			Stamp{Wall: real, Mono: time.Second, Boot: "b1", Synced: true}, reading.Time, TimeUncertain},
		{"read just now", reading,
			Stamp{Wall: real, Mono: 20 * time.Second, Boot: "b1", Synced: true}, real, TimeCorrected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, q := Correct(tc.r, tc.now)
			if !got.Equal(tc.want) || q != tc.wantQual {
				t.Fatalf("Correct = %v, %v; want %v, %v", got, q, tc.want, tc.wantQual)
			}
		})
	}
}

func TestTimeQualityString(t *testing.T) {
	want := map[TimeQuality]string{TimeSynced: "synced", TimeCorrected: "corrected", TimeRelative: "relative", TimeUncertain: "uncertain", 99: "unknown"}
	for q, s := range want {
		if q.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(q), q.String(), s)
		}
	}
}

func TestProcessClock(t *testing.T) {
	a, b := newProcessClock(), newProcessClock()
	s1, s2 := a.Now(), a.Now()
	if s1.Boot == "" || s1.Boot != s2.Boot || s1.Boot == b.Now().Boot {
		t.Fatalf("boot ids: %q %q %q", s1.Boot, s2.Boot, b.Now().Boot)
	}
	if s2.Mono < s1.Mono || s1.Synced {
		t.Fatalf("stamps %+v then %+v", s1, s2)
	}
}
