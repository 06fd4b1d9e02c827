package notify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the host's zoneinfo
)

func TestSchedulerNext(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		hour  int
		loc   *time.Location
		after string // RFC 3339
		want  string // RFC 3339, UTC
	}{
		{"before the hour", 7, time.UTC, "2026-11-26T06:59:59Z", "2026-11-26T07:00:00Z"},
		{"exactly at the hour", 7, time.UTC, "2026-11-26T07:00:00Z", "2026-11-27T07:00:00Z"},
		{"just after the hour", 7, time.UTC, "2026-11-26T07:00:00.000000001Z", "2026-11-27T07:00:00Z"},
		{"nil location is UTC", 7, nil, "2026-11-26T08:00:00Z", "2026-11-27T07:00:00Z"},
		{"across midnight", 7, berlin, "2026-11-26T23:59:00+01:00", "2026-11-27T06:00:00Z"},
		{"midnight hour", 0, berlin, "2026-11-26T23:59:00+01:00", "2026-11-26T23:00:00Z"},
		{"across new year", 7, berlin, "2026-12-31T22:00:00+01:00", "2027-01-01T06:00:00Z"},
		{"after given in another zone", 7, berlin, "2026-11-26T05:30:00Z", "2026-11-26T06:00:00Z"},
		// 2026-03-29 02:00 CET -> 03:00 CEST.
		{"spring forward, 07:00 CET to 07:00 CEST", 7, berlin, "2026-03-28T07:00:00+01:00", "2026-03-29T05:00:00Z"},
		{"spring forward, 02:00 does not exist", 2, berlin, "2026-03-28T02:00:00+01:00", "2026-03-29T01:00:00Z"},
		{"spring forward, day after", 2, berlin, "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"},
		// 2026-10-25 03:00 CEST -> 02:00 CET.
		{"fall back, 07:00 CEST to 07:00 CET", 7, berlin, "2026-10-24T07:00:00+02:00", "2026-10-25T06:00:00Z"},
		{"fall back, day after", 7, berlin, "2026-10-25T06:00:00Z", "2026-10-26T06:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Scheduler{Hour: tt.hour, Loc: tt.loc}
			got := s.Next(utc(tt.after))
			if want := utc(tt.want); !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", tt.after, got.UTC().Format(time.RFC3339), tt.want)
			}
		})
	}

	// On the fall-back day 02:00 happens twice; there must be one run only.
	t.Run("fall back, 02:00 twice, one run", func(t *testing.T) {
		s := &Scheduler{Hour: 2, Loc: berlin}
		first := s.Next(utc("2026-10-24T12:00:00Z"))
		if l := first.In(berlin); l.Day() != 25 || l.Hour() != 2 || l.Minute() != 0 {
			t.Fatalf("first = %s", l)
		}
		second := s.Next(first)
		if l := second.In(berlin); l.Day() != 26 || l.Hour() != 2 {
			t.Fatalf("second = %s, want 2026-10-26 02:00", l)
		}
	})
}

// fakeClock is a clock whose Sleep moves time forward at once.
type fakeClock struct {
	mu       sync.Mutex
	now      time.Time
	sleeps   int
	maxSleep time.Duration
	jump     time.Duration // added once to the sleep that reaches jumpAt (a suspend)
	jumpAt   time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps++
	c.maxSleep = max(c.maxSleep, d)
	c.now = c.now.Add(d)
	if !c.jumpAt.IsZero() && !c.now.Before(c.jumpAt) {
		c.now = c.now.Add(c.jump)
		c.jumpAt = time.Time{}
	}
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestSchedulerLoop(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	day := func(d int) time.Time { return time.Date(2026, 3, d, 7, 0, 0, 0, berlin) }
	type event struct {
		at  time.Time
		err error // nil: ran
	}
	tests := []struct {
		name  string
		runs  int                              // stop after this many events
		setup func(c *fakeClock, s *Scheduler) // optional
		fail  map[int]bool                     // Run fails on these calls
		want  []event
	}{
		{
			name: "three days across DST",
			runs: 3,
			want: []event{{day(28), nil}, {day(29), nil}, {day(30), nil}},
		},
		{
			name: "a failed run does not stop the loop",
			runs: 2,
			fail: map[int]bool{0: true},
			want: []event{{day(28), errRunFailed}, {day(29), nil}},
		},
		{
			name: "woke up too late: skip the day, never send at an odd hour",
			runs: 2,
			setup: func(c *fakeClock, s *Scheduler) {
				c.jumpAt, c.jump = day(28), 30*time.Minute // wakes 28th 07:30, past Grace
				s.Grace = 10 * time.Minute
			},
			want: []event{{day(28), ErrMissed}, {day(29), nil}},
		},
		{
			name: "a run that overruns the next slot does not cause a catch-up run",
			runs: 2,
			fail: map[int]bool{},
			setup: func(c *fakeClock, s *Scheduler) {
				run := s.Run
				first := true
				s.Run = func(ctx context.Context, at time.Time) error {
					if first {
						first = false
						c.advance(30 * time.Hour) // until 29th 13:00
					}
					return run(ctx, at)
				}
			},
			want: []event{{day(28), nil}, {day(30), nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 3, 27, 10, 0, 0, 0, berlin)
			clock := &fakeClock{now: start}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			var got []event
			var calls int
			record := func(e event) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, e)
				if len(got) == tt.runs {
					cancel()
				}
			}
			s := &Scheduler{Hour: 7, Loc: berlin, Now: clock.Now, Sleep: clock.Sleep}
			s.Run = func(ctx context.Context, at time.Time) error {
				if now := clock.Now(); now.Before(at) || now.Sub(at) > s.Grace && s.Grace > 0 {
					t.Errorf("run for %s at %s", at, now)
				}
				calls++
				if tt.fail[calls-1] {
					return errRunFailed
				}
				record(event{at, nil})
				return nil
			}
			s.OnError = func(at time.Time, err error) { record(event{at, err}) }
			if tt.setup != nil {
				tt.setup(clock, s)
			}
			err := s.Loop(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Loop = %v, want context.Canceled", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("events %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].at.Equal(tt.want[i].at) || !errors.Is(got[i].err, tt.want[i].err) || (tt.want[i].err == nil) != (got[i].err == nil) {
					t.Errorf("event %d = %s %v, want %s %v", i, got[i].at, got[i].err, tt.want[i].at, tt.want[i].err)
				}
			}
			if clock.maxSleep > maxNap {
				t.Errorf("a single sleep of %v, want at most %v", clock.maxSleep, maxNap)
			}
			t.Logf("%d fake sleeps", clock.sleeps)
		})
	}
}

var errRunFailed = errors.New("run failed")

func TestSchedulerLoopConfig(t *testing.T) {
	run := func(context.Context, time.Time) error { return nil }
	for _, s := range []*Scheduler{{Hour: 24, Run: run}, {Hour: -1, Run: run}, {Hour: 7}} {
		if err := s.Loop(context.Background()); err == nil || errors.Is(err, context.Canceled) {
			t.Errorf("Loop(%+v) = %v, want a configuration error", s, err)
		}
	}
}

// TestSchedulerLoopRealClock: with the real clock and timer, Loop returns
// promptly when its context ends.
func TestSchedulerLoopRealClock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s := &Scheduler{Hour: (time.Now().UTC().Hour() + 12) % 24, Run: func(context.Context, time.Time) error {
		t.Error("ran")
		return nil
	}}
	start := time.Now()
	err := s.Loop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Loop = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Loop took %v to stop", d)
	}
}
