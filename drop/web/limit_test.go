package web

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBucketRace fires many takers at once: no more can pass than the
// bucket holds. The old Allow-then-Failed let every one of them through.
func TestBucketRace(t *testing.T) {
	b := NewBucket(20, time.Hour, nil)
	var passed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if b.Take() {
				passed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("300 concurrent takers, burst 20: %d passed", passed.Load())
	if passed.Load() != 20 {
		t.Fatalf("%d passed, want 20", passed.Load())
	}
}

func TestBuckets(t *testing.T) {
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	bs := NewBuckets(2, time.Minute, 4, now)
	victim := bs.Get("victim")
	victim.Take()
	victim.Take()
	t.Run("other keys cannot drain a key", func(t *testing.T) {
		for i := range 100 {
			b := bs.Get(fmt.Sprint("flood", i))
			for b.Take() {
			}
		}
		if bs.Get("victim") != victim {
			t.Fatal("the victim's spent bucket was forgotten: its tries were reset")
		}
		if bs.Get("victim").Take() {
			t.Fatal("the victim's spent bucket was refilled")
		}
		if bs.Len() > 4 {
			t.Fatalf("%d buckets kept, at most 4", bs.Len())
		}
	})
	t.Run("a new key is not blocked when the table is full", func(t *testing.T) {
		if !bs.Get("newcomer").Take() {
			t.Fatal("a new key was refused because the table was full of spent buckets")
		}
	})
	t.Run("full buckets make room", func(t *testing.T) {
		clock = clock.Add(time.Hour)
		b := bs.Get("later")
		b.Take()
		if bs.Get("later") != b {
			t.Fatal("a new key was not kept after the old buckets refilled")
		}
		if bs.Len() > 4 {
			t.Fatalf("%d buckets kept, at most 4", bs.Len())
		}
	})
}
