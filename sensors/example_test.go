package sensors_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sioagent/sioagent/sensors"
	"github.com/sioagent/sioagent/sensors/sim"
)

func ExampleSampler() {
	counter, err := sim.New(sim.Options{Name: "demo", Signal: sim.SignalCounter, Quantity: "count"})
	if err != nil {
		panic(err)
	}
	clock := sensors.ClockFunc(func() sensors.Stamp {
		return sensors.Stamp{Wall: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), Mono: time.Minute, Boot: "b1"}
	})
	got := make(chan []sensors.Reading, 10)
	s, err := sensors.NewSampler(sensors.SamplerOptions{
		Clock:      clock,
		OnReadings: func(rs []sensors.Reading, urgent bool) { got <- rs },
	}, []sensors.Schedule{{Sensor: counter, Driver: sim.Driver, Interval: time.Hour}})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()

	rs := <-got // the first periodic read happens at once
	fmt.Println(rs[0].Name(), rs[0].Value, rs[0].Time.Format(time.RFC3339))
	rs, _ = s.Read(ctx, "demo") // an on-demand read, as for sensor:read
	fmt.Println(rs[0].Name(), rs[0].Value)

	cancel()
	fmt.Println(<-done)
	// Output:
	// demo/count 1 2024-03-01T12:00:00Z
	// demo/count 2
	// context canceled
}

func ExampleCorrect() {
	// Taken 10 s after boot, before NTP sync, with the clock still at the
	// time it was saved before a week-long power cut.
	r := sensors.Reading{Time: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), Mono: 10 * time.Second, Boot: "b1"}
	// Now, 70 s after boot, the clock has been synced.
	now := sensors.Stamp{Wall: time.Date(2024, 3, 8, 9, 0, 0, 0, time.UTC), Mono: 70 * time.Second, Boot: "b1", Synced: true}
	t, q := sensors.Correct(r, now)
	fmt.Println(t.Format(time.RFC3339), q)
	// Output: 2024-03-08T08:59:00Z corrected
}
