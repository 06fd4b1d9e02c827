package vault

import (
	"cleandrop/vault/durable"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// DefaultMaxUploads is the number of pack slots when
// [Options.MaxUploads] is zero.
const DefaultMaxUploads = 16

const (
	packDir = "packs"
	packExt = ".pack"
)

// packName names slot i of day: "2025-03-03-07.pack".
func packName(day string, i int) string { return fmt.Sprintf("%s-%02d%s", day, i, packExt) }

// packDay is the day a pack's name carries, or "" for a name that is not
// a pack's.
func packDay(name string) string {
	base, ok := strings.CutSuffix(name, packExt)
	if !ok || len(base) != len("2006-01-02-00") || base[10] != '-' {
		return ""
	}
	return base[:10]
}

// A pack is one slot file: sealed items of many batches, one after the
// other. A batch holds its slot from its first large item to its commit
// or abort, and appends at the slot's end; nobody else writes it meanwhile.
type pack struct {
	name string
	day  string
	f    *os.File
	// direct is the same file opened for direct I/O (O_DIRECT), past the
	// page cache; nil where the file system or the system has none.
	direct *os.File
	end    int64 // end of the last committed extent; guarded by packs.mu
	busy   bool  // held by a batch; guarded by packs.mu

	// syncMu lets one fsync run at a time; synced is how far the file is
	// known durable, so that the batches of small items that wait for one
	// commit step share one fsync ([packs.sync]).
	syncMu sync.Mutex
	synced int64 // guarded by syncMu
}

// packs are the store's pack files: for every day, a fixed number of
// slots, created at the day's first tick (or at Open), so that their birth
// times follow the schedule and not the uploads.
type packs struct {
	dir  string
	n    int
	sem  chan struct{}   // one token per slot in use
	quit <-chan struct{} // closed when the store closes

	mu    sync.Mutex
	day   string
	live  []*pack        // the current day's slots
	held  map[*pack]bool // slots of earlier days still held by a batch
	dirty map[*pack]bool // written since the last tick, not live
}

// openPacks opens the pack directory, whose files Open has already swept,
// and starts day's slots.
func openPacks(dir string, n int, day string, quit <-chan struct{}) (*packs, error) {
	p := &packs{dir: dir, n: n, sem: make(chan struct{}, n), quit: quit,
		held: make(map[*pack]bool), dirty: make(map[*pack]bool)}
	if err := p.rotate(day); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// rotate makes day's slots the live ones, creating their files. Earlier
// days' slots are closed once no batch holds them; the empty ones are
// removed.
func (p *packs) rotate(day string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if day == p.day {
		return nil
	}
	live := make([]*pack, 0, p.n)
	for i := range p.n {
		name := packName(day, i)
		f, err := os.OpenFile(filepath.Join(p.dir, name), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			for _, pk := range live {
				pk.close()
			}
			return fmt.Errorf("pack %s: %w", name, err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			for _, pk := range live {
				pk.close()
			}
			return fmt.Errorf("pack %s: %w", name, err)
		}
		live = append(live, &pack{name: name, day: day, f: f, direct: openDirect(filepath.Join(p.dir, name), os.O_WRONLY),
			end: fi.Size(), synced: fi.Size()})
	}
	if err := durable.SyncDir(p.dir); err != nil {
		for _, pk := range live {
			pk.close()
		}
		return fmt.Errorf("packs: %w", err)
	}
	removed := false
	for _, pk := range p.live {
		if pk.busy {
			p.held[pk] = true
			continue
		}
		pk.close()
		delete(p.dirty, pk)
		if pk.end == 0 {
			os.Remove(filepath.Join(p.dir, pk.name))
			removed = true
		}
	}
	if removed {
		durable.SyncDir(p.dir)
	}
	p.day, p.live = day, live
	return nil
}

// acquire takes a free slot of the current day. When every slot is held
// it returns nil at once unless wait is set; with wait it waits until a
// slot is given back, the packs close ([errClosed]) or stop is closed
// ([errAborted]: the batch waiting for it was aborted).
func (p *packs) acquire(wait bool, stop <-chan struct{}) (*pack, error) {
	select {
	case p.sem <- struct{}{}:
	default:
		if !wait {
			return nil, nil
		}
		select {
		case p.sem <- struct{}{}:
		case <-p.quit:
			return nil, errClosed
		case <-stop:
			return nil, errAborted
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pk := range p.live {
		if !pk.busy {
			pk.busy = true
			return pk, nil
		}
	}
	<-p.sem
	return nil, errors.New("vault: no free pack slot") // cannot happen: held slots of earlier days are not live
}

// release gives back a slot whose batch has ended. With keep, the batch's
// bytes up to end stay (they are committed, or may be); without, the slot
// is cut back to its last committed extent.
func (p *packs) release(pk *pack, end int64, keep bool) error {
	p.mu.Lock()
	var err error
	if keep {
		pk.end = end
	} else if end > pk.end {
		err = pk.f.Truncate(pk.end)
	}
	pk.busy = false
	if pk.day != p.day {
		delete(p.held, pk)
		pk.close()
		p.dirty[pk] = true // touched once more at the next tick
	}
	p.mu.Unlock()
	<-p.sem
	return err
}

// touched lists the pack files that may have been written since the last
// call: the live slots, slots of earlier days still held or just released.
func (p *packs) touched() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.live)+len(p.held)+len(p.dirty))
	for _, pk := range p.live {
		out = append(out, filepath.Join(p.dir, pk.name))
	}
	for pk := range p.held {
		out = append(out, filepath.Join(p.dir, pk.name))
	}
	for pk := range p.dirty {
		out = append(out, filepath.Join(p.dir, pk.name))
		delete(p.dirty, pk)
	}
	return out
}

// close closes the slots' files. Batches still holding one fail.
func (p *packs) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pk := range p.live {
		pk.close()
	}
	for pk := range p.held {
		pk.close()
	}
}

// sync makes the pack durable at least up to upto, an end that a released
// batch kept. A batch of small items writes them, gives the slot back and
// calls sync at its commit step: the first batch of the step syncs what
// all of them kept, the others find it done.
func (p *packs) sync(pk *pack, upto int64) error {
	p.mu.Lock()
	end := pk.end // kept before this sync starts: covered by it
	p.mu.Unlock()
	pk.syncMu.Lock()
	defer pk.syncMu.Unlock()
	if pk.synced >= upto {
		return nil
	}
	if err := pk.f.Sync(); err != nil {
		return err
	}
	pk.synced = max(pk.synced, end)
	return nil
}

// close syncs what the pack kept and closes it: a pack of an earlier day
// may hold the small items of a batch that still waits for its commit
// step, which then finds them durable.
func (pk *pack) close() {
	pk.syncMu.Lock()
	defer pk.syncMu.Unlock()
	if pk.synced < pk.end {
		pk.f.Sync()
		pk.synced = pk.end
	}
	pk.f.Close()
	if pk.direct != nil {
		pk.direct.Close()
	}
}

// sweepPacks cuts every pack back to the end of its last committed extent
// (spans, by pack name, sorted), dropping what a crash left of uncommitted
// batches at its end, punches out what such batches left between committed
// extents (a batch of small items gives its slot back before its commit,
// and a later batch may append and commit first), removes empty packs of
// days before today and any stray file.
func sweepPacks(dir, today string, spans map[string][]span) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	changed := 0
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(dir, name)
		if !e.Type().IsRegular() {
			continue
		}
		day := packDay(name)
		if day == "" {
			if strings.HasPrefix(name, tmpPrefix) {
				if err := os.Remove(path); err != nil {
					return changed, err
				}
				changed++
			}
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return changed, err
		}
		var end int64
		if ss := spans[name]; len(ss) > 0 {
			end = slices.MaxFunc(ss, func(a, b span) int { return cmp.Compare(a.end, b.end) }).end
		}
		if end == 0 && fi.Size() == 0 && day < today {
			if err := os.Remove(path); err != nil {
				return changed, err
			}
			changed++
			continue
		}
		cut, err := sweepPack(path, fi.Size(), end, spans[name])
		if err != nil {
			return changed, err
		}
		if cut {
			changed++
		}
	}
	if changed > 0 {
		return changed, durable.SyncDir(dir)
	}
	return 0, nil
}

// sweepPack cuts the pack at path (size bytes) back to end and clears the
// ciphertext between its committed extents ss; it reports whether it
// changed the file.
func sweepPack(path string, size, end int64, ss []span) (changed bool, err error) {
	f, err := openRW(path)
	if err != nil {
		return false, err
	}
	defer func() {
		if changed && err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if size > end {
		if err := f.Truncate(end); err != nil {
			return false, err
		}
		changed = true
	}
	for _, g := range gaps(ss, end) {
		n, err := nonZero(f, g)
		if err != nil {
			return changed, err
		}
		if n == 0 {
			continue // cleared at an earlier start
		}
		if err := punch(f, g.off, g.end-g.off); err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}
