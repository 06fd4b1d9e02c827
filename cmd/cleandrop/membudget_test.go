package main

import (
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestBudget: the limit is the live heap, the runtime's overhead, a
// headroom and the blocks, one more when two or more run at once, and
// never over the ceiling.
func TestBudget(t *testing.T) {
	const mib = 1 << 20
	block := int64(64 * mib)
	scaled := func(n int64) int64 { return n + n/19 }
	for _, c := range []struct {
		live, over int64
		blocks     int
		ceiling    int64
		want       int64
	}{
		{20 * mib, 10 * mib, 1, 1 << 40, scaled(20*mib + 10*mib + 5*mib + 64*mib)},  // headroom live/4
		{8 * mib, 10 * mib, 1, 1 << 40, scaled(8*mib + 10*mib + 4*mib + 64*mib)},    // headroom floor
		{20 * mib, 10 * mib, 2, 1 << 40, scaled(20*mib + 10*mib + 5*mib + 192*mib)}, // one block more
		{20 * mib, 10 * mib, 2, 224 * mib, 224 * mib},                               // ceiling
	} {
		if got := budget(memory{live: c.live, overhead: c.over}, block, c.blocks, c.ceiling); got != c.want {
			t.Errorf("budget(live %d MiB, %d blocks, ceiling %d MiB) = %.1f MiB, want %.1f", c.live/mib, c.blocks, c.ceiling/mib, float64(got)/mib, float64(c.want)/mib)
		}
	}
}

// TestMemBudgetHold: the limit keeps room for as many blocks as last ran
// at once for the hold time, then comes back to one.
func TestMemBudgetHold(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	m := &memBudget{block: 64 << 20, ceiling: math.MaxInt64, hold: 200 * time.Millisecond, blocks: 1}
	defer m.stop()
	m.set()
	one := debug.SetMemoryLimit(-1)
	m.enter()
	m.enter()
	two := debug.SetMemoryLimit(-1)
	if two < one+2*m.block {
		t.Fatalf("two derivations: limit %d, want at least %d", two, one+2*m.block)
	}
	m.leave()
	m.leave()
	m.mu.Lock()
	blocks := m.blocks
	m.mu.Unlock()
	if blocks != 2 {
		t.Fatalf("just after two derivations the limit holds %d blocks, want 2", blocks)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.mu.Lock()
		blocks, limit := m.blocks, debug.SetMemoryLimit(-1)
		m.mu.Unlock()
		if blocks == 1 {
			if limit >= two-m.block {
				t.Fatalf("back to one block, the limit is %d MiB, want below %d", limit>>20, (two-m.block)>>20)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the limit still holds two blocks after the hold time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDerivationWithoutCollection: with the budget, a derivation's 64 MiB
// block is allocated without the collection that GOGC=100 runs for it.
func TestDerivationWithoutCollection(t *testing.T) {
	// Alone in a process of its own: the collections other tests' work
	// sets off in this one would count.
	if os.Getenv("CLEANDROP_GC_ALONE") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDerivationWithoutCollection$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "CLEANDROP_GC_ALONE=1", "CLEANDROP_TEST_BIN="+bin)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestDerivationWithoutCollection") {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	block := int64(64 << 20)
	alloc := func() int {
		runtime.GC()
		before := readMemory().gcs
		b := make([]byte, block)
		b[0] = 1
		time.Sleep(100 * time.Millisecond) // a collection the block set off ends
		runtime.KeepAlive(b)
		return int(readMemory().gcs - before)
	}
	if n := alloc(); n == 0 {
		t.Fatal("GOGC=100 ran no collection for a 64 MiB block: the test shows nothing")
	}
	m := startMemBudget(block, math.MaxInt64)
	defer m.stop()
	m.enter()
	n := alloc()
	m.leave()
	if n != 0 {
		t.Fatalf("with the budget a 64 MiB block set off %d collections, want none", n)
	}
}
