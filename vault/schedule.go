package vault

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"cleandrop/vault/backend"
)

// DefaultTick is the period of a store's schedule when [Options.Tick] is
// zero: the longest a commit waits, and how often the store writes when
// nothing happens.
const DefaultTick = time.Second

// errClosed is returned to writes that arrive once Close has begun.
var errClosed = fmt.Errorf("vault: store closed: %w", badger.ErrDBClosed)

// coverKey is the one key every tick overwrites, so that the store writes
// at every tick whether or not anyone reported. Its value stays far below
// Badger's value threshold: it lives in the LSM tree, where compaction keeps
// one version of it.
var coverKey = []byte("z/cover")

// commitSteps divides a tick into the moments at which waiting commits
// are applied.
const commitSteps = 64

// A gate admits the writes that wait for one commit step.
type gate struct {
	open chan struct{}
	n    int // writers waiting; guarded by clock.mu
	wg   sync.WaitGroup
}

// clock runs the store's schedule. At every wall-clock multiple of period
// (a tick) the store writes its cover transaction, runs the hooks and sets
// the times of every file that may have changed. Commits wait at the
// current gate, which opens at the next commit step, a multiple of
// period/commitSteps: they are applied together, on the grid, and what
// they change on disk keeps its times only until the next tick.
type clock struct {
	period, step time.Duration

	mu      sync.Mutex
	next    *gate
	hooks   []func(time.Time)
	closing bool
	last    time.Time // the last tick's time
	wake    chan struct{}
	quit    chan struct{} // closed by Close
	done    chan struct{} // closed when the loop has run its last tick
}

func newClock(period time.Duration) *clock {
	return &clock{
		period: period, step: max(period/commitSteps, time.Microsecond),
		next: &gate{open: make(chan struct{})}, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
	}
}

// after is the first multiple of d strictly after t.
func after(t time.Time, d time.Duration) time.Time {
	p := int64(d)
	return time.Unix(0, (t.UnixNano()/p+1)*p)
}

// atTick runs fn at the next commit step, together with every other write
// waiting for it, and returns its error. It returns errClosed once Close
// has begun.
func (s *Store) atTick(fn func() error) error {
	c := s.clock
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return errClosed
	}
	g := c.next
	g.n++
	g.wg.Add(1)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	defer g.wg.Done()
	<-g.open
	if err := s.badgerRoom(); err != nil {
		return err // a write to Badger on a full disk is a SIGBUS: see badgerReserve
	}
	return fn()
}

// OnTick adds a function that the store calls at every tick, after that
// tick's commits and cover write, with the tick's time; and once with the
// zero time when the store closes and the schedule ends. It runs on the
// store's schedule goroutine: it must not wait for a tick itself. The audit
// log uses it to write and touch its files on the store's schedule.
func (s *Store) OnTick(fn func(at time.Time)) {
	s.clock.mu.Lock()
	defer s.clock.mu.Unlock()
	s.clock.hooks = append(s.clock.hooks, fn)
}

// run is the schedule's loop. Once Close has begun it runs until the next
// commit step, so that writes already waiting are committed on the grid,
// and returns.
func (s *Store) run() {
	c := s.clock
	defer close(c.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	quit := c.quit
	for {
		now := time.Now()
		c.mu.Lock()
		waiting, closing := c.next.n > 0, c.closing
		c.mu.Unlock()
		at := after(now, c.period)
		if st := after(now, c.step); (waiting || closing) && st.Before(at) {
			at = st
		}
		timer.Reset(time.Until(at))
		select {
		case <-timer.C:
		case <-c.wake:
			timer.Stop()
			continue
		case <-quit:
			quit = nil
			timer.Stop()
			continue
		}
		full := at.UnixNano()%int64(c.period) == 0
		s.tick(at, full)
		if closing {
			return
		}
	}
}

// tick opens the gate of the commit step at and, when at is a tick, writes
// the cover transaction, runs the hooks and sets the file times.
func (s *Store) tick(at time.Time, full bool) {
	c := s.clock
	c.mu.Lock()
	g := c.next
	c.next = &gate{open: make(chan struct{})}
	hooks := c.hooks
	if full {
		c.last = at
	}
	c.mu.Unlock()

	if full && s.packs != nil {
		if err := s.packs.rotate(s.day()); err != nil {
			s.log.Warn("vault: start the day's pack files", "err", err)
		}
	}
	close(g.open)
	g.wg.Wait()
	if !full {
		return
	}
	if err := s.badgerRoom(); err != nil {
		// No commit passes the gate either: there is no report's
		// time for the cover write to hide.
		s.log.Warn("vault: disk nearly full: no cover write", "err", err)
	} else if err := s.cover(); err != nil {
		s.log.Warn("vault: cover write", "err", err)
	} else if s.db != nil && s.mem.rotateDue(at) {
		s.rotate(at)
	}
	if s.objects != nil && s.reaper.due(at) {
		s.reaper.start(s)
	}
	for _, h := range hooks {
		h(at)
	}
	s.touch(at)
}

// coverSize is the size of the cover value. It is far below Badger's
// value threshold, so the value lives in the LSM tree where compaction
// keeps one version of it; and large beside the records of a report (about
// 2 KiB, once their ciphertext is in packs), so that when Badger's memtable
// fills and it makes new files depends mostly on the ticks.
const coverSize = 512

// cover overwrites the cover key with random bytes.
func (s *Store) cover() error {
	v := make([]byte, coverSize)
	rand.Read(v)
	ctx, cancel := context.WithTimeout(s.ctx, metaTimeout)
	defer cancel()
	return s.meta.Update(ctx, func(tx backend.Tx) error { return s.put(tx, coverKey, v) })
}

// touch sets the modification time of every file and directory the store
// may have written since the last tick to at. Setting a time also sets the
// change time to the present, a moment after the tick. The access time
// goes one day past the tick: later than both, and in the future, it is
// one that a relatime mount does not update when the file is read, so
// reads leave no time either.
func (s *Store) touch(at time.Time) {
	if s.packs == nil {
		return // a shared store has no files of its own but its key
	}
	atime := at.Add(24 * time.Hour)
	set := func(p string) {
		if err := os.Chtimes(p, atime, at); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("vault: set file times", "err", err)
		}
	}
	bdir := filepath.Join(s.dir, badgerDir)
	if ents, err := os.ReadDir(bdir); err == nil {
		for _, e := range ents {
			set(filepath.Join(bdir, e.Name()))
		}
	}
	set(bdir)
	for _, p := range s.packs.touched() {
		set(p)
	}
	set(s.packs.dir)
	set(s.dir)
}
