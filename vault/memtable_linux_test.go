package vault_test

import (
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/storetest"
)

// TestMemtableRotatesOnTicks writes, half-way between ticks, bursts of
// records that together overfill Badger's memtable, and checks that every
// file Badger made was born on a tick, not at a burst: the store rotates
// the memtable itself at a tick before Badger would at a write.
func TestMemtableRotatesOnTicks(t *testing.T) {
	// Bursts are half-way between ticks. A file born on a tick, or while
	// the compactions a rotation starts run (up to some hundreds of
	// milliseconds on a busy machine), is more than allowed from them;
	// without the rotation, tables were born 50-70 ms after a burst.
	const tick, allowed = 2 * time.Second, 150 * time.Millisecond
	defer vault.SetMemTableSize(1 << 20)()
	dir := t.TempDir()
	agencies := storetest.NewFixture(t, openBadger).Opts.Agencies
	s, err := vault.Open(dir, vault.Options{Agencies: agencies, Tick: tick})
	if err != nil {
		t.Fatal(err)
	}
	// Eight bursts of 100 records of 3 KiB: 2.4 MiB in all, more than the
	// memtable holds, each burst committed at one commit step.
	time.Sleep(tick) // what Open made is born a tick before the first burst
	var bursts []time.Time
	for b := range 8 {
		bursts = append(bursts, midTick(tick))
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Go(func() {
				if err := s.PutRecord("test", fmt.Sprintf("%d-%d", b, i), randBytes(3<<10)); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	// Let the last flush and its compactions finish, then stop.
	time.Sleep(2 * tick)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, btime := statAll(t, filepath.Join(dir, "badger"))
	if !btime {
		t.Skip("the file system reports no birth times")
	}
	tables, nearest := 0, time.Duration(math.MaxInt64)
	var near string
	for _, f := range files {
		if filepath.Ext(f.path) == ".sst" {
			tables++
		}
		bt := f.times["btime"]
		for _, b := range bursts {
			d := bt.Sub(b).Abs()
			if d < nearest {
				nearest, near = d, filepath.Base(f.path)
			}
			if d < allowed {
				t.Errorf("%s was born %v from a burst of writes (at %v, a burst at %v)", filepath.Base(f.path), d, bt.Format("15:04:05.000"), b.Format("15:04:05.000"))
			}
		}
	}
	measured(t, "%d files under badger/, %d tables; nearest birth to a burst: %v (%s); tick %v, allowed %v", len(files), tables, nearest, near, tick, allowed)
	if tables == 0 {
		t.Fatal("no table was flushed: the test wrote too little to fill a memtable")
	}
}
