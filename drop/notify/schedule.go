package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultGrace is how late a run may start when Scheduler.Grace is 0.
const DefaultGrace = 15 * time.Minute

// maxNap caps one real sleep, so a suspended or clock-stepped machine
// notices the wall clock within a minute.
const maxNap = time.Minute

// ErrMissed is passed to Scheduler.OnError when a run was skipped because
// the scheduler woke up more than Grace after the fixed hour.
var ErrMissed = errors.New("digest run missed its hour; skipped")

// Scheduler runs a job once a day at Hour:00 in Loc.
type Scheduler struct {
	Hour int            // 0-23
	Loc  *time.Location // nil means UTC
	// Run does the day's work; at is the scheduled time (pass it to
	// [Compose]). An error does not stop the loop; it goes to OnError.
	Run func(ctx context.Context, at time.Time) error
	// OnError, if set, hears about failed and missed runs.
	OnError func(at time.Time, err error)
	// Grace is how late after the hour a run may still start; later, the day
	// is skipped so mail never goes out at a telling time. 0 means
	// DefaultGrace.
	Grace time.Duration
	// Now and Sleep are the clock, for tests; nil means the real ones.
	// Sleep returns early with ctx's error when ctx ends.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Next returns the first Hour:00 in Loc strictly after after. On a day when
// Hour:00 does not exist (a DST gap) it is the instant time.Date picks,
// which is one hour later on the wall clock; on a day when it occurs twice
// it is one of the two, so there is still exactly one run per day.
func (s *Scheduler) Next(after time.Time) time.Time {
	loc := s.Loc
	if loc == nil {
		loc = time.UTC
	}
	l := after.In(loc)
	for d := 0; ; d++ {
		t := time.Date(l.Year(), l.Month(), l.Day()+d, s.Hour, 0, 0, 0, loc)
		if t.After(after) {
			return t
		}
	}
}

// Loop waits for each Next time and calls Run, until ctx ends; then it
// returns ctx's error. It returns at once if the Scheduler is misconfigured.
func (s *Scheduler) Loop(ctx context.Context) error {
	if s.Hour < 0 || s.Hour > 23 {
		return fmt.Errorf("digest scheduler: hour %d out of range 0-23", s.Hour)
	}
	if s.Run == nil {
		return errors.New("digest scheduler: no Run function")
	}
	now, sleep := s.Now, s.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = realSleep
	}
	grace := s.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	report := func(at time.Time, err error) {
		if s.OnError != nil {
			s.OnError(at, err)
		}
	}

	at := s.Next(now())
	for {
		for {
			d := at.Sub(now())
			if d <= 0 {
				break
			}
			if err := sleep(ctx, min(d, maxNap)); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if now().Sub(at) > grace {
			report(at, ErrMissed)
		} else if err := s.Run(ctx, at); err != nil {
			report(at, err)
		}
		// Never run twice for one slot, and never catch up on missed ones.
		next := s.Next(at)
		if n := now(); next.Before(n) {
			next = s.Next(n)
		}
		at = next
	}
}

func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
