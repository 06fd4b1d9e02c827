package web

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFairBound: never more than the slots at once, and a key's excess
// over PerKey is refused at once without running.
func TestFairBound(t *testing.T) {
	f := NewFair(2, 3)
	var running, peak, ran, busy, after atomic.Int64
	f.After = func() {
		if running.Load() > 2 {
			t.Error("After ran outside a slot")
		}
		after.Add(1)
	}
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f.Do(context.Background(), "flooder", func() {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				running.Add(-1)
				ran.Add(1)
			})
			if errors.Is(err, ErrBusy) {
				busy.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("200 calls from one key, 2 slots, 3 per key: ran %d, refused %d, peak %d at once", ran.Load(), busy.Load(), peak.Load())
	if peak.Load() > 2 {
		t.Fatalf("%d ran at once, want at most 2", peak.Load())
	}
	if ran.Load()+busy.Load() != 200 || busy.Load() == 0 {
		t.Fatalf("ran %d + refused %d != 200, or nothing refused", ran.Load(), busy.Load())
	}
	// After runs in its own goroutine once fn returns, holding the slot
	// until it is done, so the last slots free shortly after Do returns.
	waitQueued(t, f, 0)
	if after.Load() != ran.Load() {
		t.Fatalf("After ran %d times for %d calls", after.Load(), ran.Load())
	}
}

// TestFairTurns: with the only slot held and a flooder's queue full, a
// newcomer's call runs next, before the flooder's queued ones.
func TestFairTurns(t *testing.T) {
	f := NewFair(1, 4)
	hold := make(chan struct{})
	started := make(chan struct{})
	var order []string
	var mu sync.Mutex
	record := func(s string) func() {
		return func() { mu.Lock(); order = append(order, s); mu.Unlock() }
	}
	go f.Do(context.Background(), "flooder", func() { close(started); <-hold })
	<-started
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); f.Do(context.Background(), "flooder", record("flooder")) }()
	}
	waitQueued(t, f, 4)
	if err := f.Do(context.Background(), "flooder", record("x")); !errors.Is(err, ErrBusy) {
		t.Fatalf("fifth flooder call: %v, want ErrBusy", err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); f.Do(context.Background(), "reporter", record("reporter")) }()
	waitQueued(t, f, 5)
	close(hold)
	wg.Wait()
	t.Logf("order after the held slot: %v", order)
	if len(order) != 4 || order[1] != "reporter" && order[0] != "reporter" {
		t.Fatalf("order %v: the reporter waited behind the flooder's queue", order)
	}
}

func waitQueued(t *testing.T, f *Fair, n int) {
	t.Helper()
	for range 1000 {
		if f.Queued() == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("queued %d, want %d", f.Queued(), n)
}

// TestFairCancel: a waiter whose request ends leaves the queue and its
// key's count.
func TestFairCancel(t *testing.T) {
	f := NewFair(1, 2)
	hold := make(chan struct{})
	started := make(chan struct{})
	go f.Do(context.Background(), "a", func() { close(started); <-hold })
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Do(ctx, "b", func() { t.Error("a cancelled call ran") }) }()
	waitQueued(t, f, 2)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	close(hold)
	waitQueued(t, f, 0)
	if err := f.Do(context.Background(), "b", func() {}); err != nil {
		t.Fatal(err)
	}
}

// TestFairAfterOffTheCallersPath: Do returns once fn has, while After
// still runs; the slot passes on only when After has finished.
func TestFairAfterOffTheCallersPath(t *testing.T) {
	f := NewFair(1, 2)
	release := make(chan struct{})
	f.After = func() { <-release }
	returned := make(chan struct{})
	go func() {
		f.Do(context.Background(), "a", func() {})
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("Do waited for After")
	}
	second := make(chan struct{})
	go func() {
		f.Do(context.Background(), "b", func() {})
		close(second)
	}()
	select {
	case <-second:
		t.Fatal("the slot passed on before After finished")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("the slot did not pass on after After finished")
	}
}

// TestFairBefore: Before runs in the slot, just before fn, for every
// call; one that panics frees the slot as a panicking fn does.
func TestFairBefore(t *testing.T) {
	f := NewFair(1, 5)
	var order []string
	var mu sync.Mutex
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	f.Before = func() { note("before") }
	f.After = func() { note("after") }
	for range 2 {
		if err := f.Do(context.Background(), "a", func() { note("fn") }); err != nil {
			t.Fatal(err)
		}
		waitQueued(t, f, 0)
	}
	if got := strings.Join(order, " "); got != "before fn after before fn after" {
		t.Fatalf("order: %s", got)
	}

	f.Before = func() { panic("before") }
	func() {
		defer func() { recover() }()
		f.Do(context.Background(), "a", func() { t.Error("fn ran after Before panicked") })
	}()
	f.Before = nil
	ran := false
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Do(ctx, "b", func() { ran = true }); err != nil || !ran {
		t.Fatalf("the slot was not freed after Before panicked: %v", err)
	}
}
