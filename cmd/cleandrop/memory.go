package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The process's memory is argon2's blocks and the rest. x/crypto/argon2
// allocates a derivation's 64 MiB afresh at every call, and Go's default
// pacing (GOGC=100) handles that badly both ways:
//   - a derivation's allocation outgrows the heap goal (twice the live
//     heap) at once, so a collection runs during every derivation,
//     marking the whole heap on a core the derivation needs;
//   - once collected, a block's pages stay resident for the next one, but
//     when small allocations have taken some of them the next derivation
//     maps a new 64 MiB beside the old one's remains, and nothing gives
//     those back (docs/benchmarks.md).
//
// So the memory limit, not GOGC, paces the collector (GOGC off), and the
// limit follows the derivations: what is live, what the runtime holds
// beside it, a headroom for garbage, and room for the derivations'
// blocks. A derivation then fits under the limit without a collection;
// one that must map fresh pages makes the allocator give back free pages
// above the limit at once; and a collection after each derivation
// (Fair.After) frees its block for the next. After every collection the
// limit is set again from the live heap, so it grows with the load and
// the collector never chases a heap that outgrew it. GOGC or GOMEMLIMIT
// in the environment turn all this off (serve.go).

// memBudget sets the process's soft memory limit around the derivations.
type memBudget struct {
	block   int64         // one derivation's memory
	ceiling int64         // memory_limit_mib: the limit never goes above it
	hold    time.Duration // how long the limit keeps blocks that were in use

	mu      sync.Mutex
	running int       // derivations between Before and their fn's return
	blocks  int       // blocks the limit holds: the most derivations at once lately, at least one
	since   time.Time // when blocks derivations last ran at once
	timer   *time.Timer
	gcs     uint64 // the collection live was taken from
	live    int64  // live heap at that collection, blocks of derivations running then left out
	stopped bool
}

// headroomFloor is the least garbage the limit leaves room for beside the
// live heap; above 16 MiB live, the headroom is a quarter of the live heap.
const headroomFloor = 4 << 20

// blockHold is how long the limit keeps room for as many blocks as were
// last in use at once. Lowered at once, the limit would make the runtime
// give a freed block back to the system just before the next derivation
// of a busy moment takes it again, faulting its 64 MiB in anew: five
// times the derivation's cost on the development machine.
const blockHold = 10 * time.Second

// startMemBudget turns GOGC off and sets the first limit. The caller
// passes [memBudget.enter] and [memBudget.leave] to the derivations'
// [web.Fair] as Before and After.
func startMemBudget(block, ceiling int64) *memBudget {
	m := &memBudget{block: block, ceiling: ceiling, hold: blockHold, blocks: 1}
	m.set()
	debug.SetGCPercent(-1)
	m.afterEachGC()
	return m
}

// enter counts a derivation in; the limit makes room for its block.
func (m *memBudget) enter() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running++
	if m.running >= m.blocks {
		m.blocks, m.since = m.running, time.Now()
	}
	m.setLocked()
}

// leave counts a derivation out once its fn has returned, collects its
// block so that the next derivation reuses the memory, and sets the limit
// again.
func (m *memBudget) leave() {
	m.mu.Lock()
	m.running--
	m.mu.Unlock()
	runtime.GC()
	m.set()
}

func (m *memBudget) set() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setLocked()
}

// stop leaves the limit and GOGC as they are from now on (tests).
func (m *memBudget) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
}

// setLocked sets the limit from the runtime's counters, first letting go
// of blocks unused for m.hold; m.mu is held.
func (m *memBudget) setLocked() {
	if m.stopped {
		return
	}
	if want := max(1, m.running); m.blocks > want {
		if wait := m.hold - time.Since(m.since); wait <= 0 {
			m.blocks = want
		} else if m.timer == nil {
			m.timer = time.AfterFunc(wait, func() {
				m.mu.Lock()
				defer m.mu.Unlock()
				m.timer = nil
				m.setLocked()
			})
		}
	}
	mem := readMemory()
	if mem.gcs != m.gcs {
		// A collection while derivations run counts their blocks as live.
		m.gcs, m.live = mem.gcs, max(0, mem.live-m.block*int64(m.running))
	}
	mem.live = m.live
	debug.SetMemoryLimit(budget(mem, m.block, m.blocks, m.ceiling))
}

// afterEachGC sets the limit again after every collection, for as long
// as the process runs: a finalizer runs once its object is found
// unreachable, that is after the next collection, and arms the next.
func (m *memBudget) afterEachGC() {
	runtime.SetFinalizer(&gcSentinel{m}, func(g *gcSentinel) {
		g.m.set()
		g.m.mu.Lock()
		stopped := g.m.stopped
		g.m.mu.Unlock()
		if !stopped {
			g.m.afterEachGC()
		}
	})
}

// gcSentinel holds a pointer, so that the runtime never packs it with
// other small objects, which would keep it alive past a collection.
type gcSentinel struct{ m *memBudget }

// memory is what the limit is computed from, in bytes.
type memory struct {
	gcs      uint64 // collections so far
	live     int64  // heap objects marked live by the last collection
	overhead int64  // resident beside the heap's objects and free pages: stacks, span remains, the runtime's own
}

var memorySamples = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/gc/cycles/total:gc-cycles",
}

func readMemory() memory {
	s := make([]metrics.Sample, len(memorySamples))
	for i, n := range memorySamples {
		s[i].Name = n
	}
	metrics.Read(s)
	u := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	v := func(i int) int64 { return int64(min(u(i), math.MaxInt64)) } // #nosec G115 -- clamped
	return memory{live: v(0), overhead: max(0, v(1)-v(2)-v(3)-v(4)), gcs: u(5)}
}

// budget is the limit for mem with room for blocks derivations of block
// bytes each, at most ceiling: the live heap and what the runtime holds
// beside it, a headroom for garbage, and the blocks. With derivations
// running two or more at once it leaves room for one block more: a slot
// freed and taken again at once finds its old block split by small
// allocations often enough that, without that room, the allocator gave
// blocks back and faulted new ones in all through a busy moment (the
// small-reports benchmark fell from 1.1 to 0.31 and 0.73 of the KDF
// limit). The runtime's scavenger aims 5% below the limit, so the limit
// is set that much above.
func budget(mem memory, block int64, blocks int, ceiling int64) int64 {
	headroom := max(headroomFloor, mem.live/4)
	if blocks > 1 {
		blocks++
	}
	want := mem.live + mem.overhead + headroom + block*int64(blocks)
	return min(want+want/19, ceiling)
}
