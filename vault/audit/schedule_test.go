package audit

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTick checks the schedule: once ticking, an entry is written only at
// the next tick, which also sets the files' modification times to the
// tick's; a zero tick ends the schedule.
func TestTick(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tick := time.Date(2025, 3, 3, 12, 0, 1, 0, time.UTC)
	l.Tick(tick)
	for _, p := range l.touched() {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(tick) {
			t.Errorf("%s: mtime %v after a tick at %v", filepath.Base(p), fi.ModTime().UTC(), tick)
		}
	}
	done := make(chan Entry)
	go func() {
		e, err := l.Append(sample(0))
		if err != nil {
			t.Error(err)
		}
		done <- e
	}()
	select {
	case <-done:
		t.Fatal("an entry was written between ticks")
	case <-time.After(100 * time.Millisecond):
	}
	if n := lines(t, dir); n != 0 {
		t.Fatalf("%d lines before the tick", n)
	}
	l.Tick(tick.Add(time.Second))
	if e := <-done; e.Seq != 1 {
		t.Errorf("entry %+v", e)
	}
	if n := lines(t, dir); n != 1 {
		t.Fatalf("%d lines after the tick", n)
	}
	fi, _ := os.Stat(filepath.Join(dir, headName))
	if !fi.ModTime().Equal(tick.Add(time.Second)) {
		t.Errorf("head mtime %v", fi.ModTime().UTC())
	}
	l.Tick(time.Time{})
	if _, err := l.Append(sample(1)); err != nil {
		t.Fatal(err)
	}
	if n := lines(t, dir); n != 2 {
		t.Fatalf("%d lines after the schedule ended", n)
	}
}

func lines(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
