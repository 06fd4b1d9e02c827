package vault

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"cleandrop/vault/backend"
)

// Shared are the stores of a vault that several front-ends share: its
// records in a transactional database, its large items in an object store.
type Shared struct {
	Meta  backend.Meta
	Blobs backend.Blobs
}

// ErrOtherKey: the shared stores were made with another vault.key than
// the one in the data directory.
var ErrOtherKey = errors.New("vault: the shared store was made with another vault.key: copy vault.key from the front-end that made it")

// checkKey is the record whose value proves the vault key: sealed under
// the key's metadata key, it opens only under the same key.
var checkKey = []byte("z/vault")

const checkValue = "cleandrop shared vault v1"

// Derivations of the vault key for a shared store.
const (
	metaLabel = "cleandrop vault: metadata values v1"
	keysLabel = "cleandrop vault: metadata keys v1"
)

// Shared-store timing: uploadIdle is the default of [Options.SweepAfter];
// reapEvery bounds how often a front-end looks for committed blobs that
// no item references (the last step of a batch that failed or crashed
// between its objects' commit and its records'): such a blob is deleted
// when two looks, that far apart, found it so.
var (
	uploadIdle = DefaultSweepAfter
	reapEvery  = time.Hour
)

// reapInterval is the time between two looks of the reaper.
func (s *Store) reapInterval() time.Duration { return min(reapEvery, s.idle) }

// objectTimeout bounds the completion of one object.
const objectTimeout = 10 * time.Minute

// OpenShared opens the vault whose records are in sh.Meta and whose large
// items are in sh.Blobs, stores that other front-ends may share. dir holds
// vault.key (made on first use, mode 0600): every front-end of one vault
// needs the same one. The records are sealed with XChaCha20-Poly1305 under
// a key derived from it before they reach sh.Meta, and the variable parts
// of their keys are HMACs under another ([keyer]), so the database sees
// neither case metadata nor references, lookup keys or officers' names.
// Small items are kept in the records; large ones are blobs with random
// names, committed before the records that reference them.
//
// The store keeps the schedule of [Open]: commits on the grid of ticks,
// and a cover write at every tick. It has no files but vault.key, so no
// free-space floor or file times of its own: see docs/threat-model.md for
// what the database and the object store keep by themselves. Closing the
// store closes sh.Meta, but not sh.Blobs, which has nothing to close.
func OpenShared(dir string, sh Shared, opts Options) (*Store, error) {
	if sh.Meta == nil || sh.Blobs == nil {
		return nil, errors.New("vault: a shared store needs a metadata store and a blob store")
	}
	s, err := newStore(dir, opts)
	if err != nil {
		return nil, err
	}
	s.objects = sh.Blobs
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	key, err := loadKey(dir)
	if err != nil {
		return nil, err
	}
	v, err := deriveShared(key, sh.Meta)
	if err != nil {
		return nil, err
	}
	s.meta, s.k, s.auditKey = v.meta, v.k, v.auditKey
	if err := s.checkKey(); err != nil {
		s.cancel()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(s.ctx, metaTimeout)
	n, err := s.objects.Sweep(ctx, s.idle)
	cancel()
	if err != nil {
		s.log.Warn("vault: sweep abandoned uploads", "err", dbErr("sweep", err))
	} else if n > 0 {
		s.log.Info("vault: removed abandoned uploads", "count", n)
	}
	go s.run()
	return s, nil
}

// checkKey proves that the store was made with this vault key, marking
// a new store as made with it.
func (s *Store) checkKey() error {
	ctx, cancel := context.WithTimeout(s.ctx, metaTimeout)
	defer cancel()
	err := s.meta.Update(ctx, func(tx backend.Tx) error {
		_, err := proveKey(tx, true)
		return err
	})
	if errors.Is(err, ErrOtherKey) {
		return err
	}
	if err != nil {
		return fmt.Errorf("vault: open the shared store: %w", dbErr("check key", err))
	}
	return nil
}

// sharedView is what a vault key gives over a shared store: its records
// sealed, the keyer that hides its keys' parts, the audit log's MAC key.
type sharedView struct {
	meta     backend.Meta
	k        keyer
	auditKey []byte
}

// deriveShared derives from key, which it clears, the keys of a shared
// store whose records are in meta.
func deriveShared(key []byte, meta backend.Meta) (sharedView, error) {
	defer clear(key)
	if len(key) != 32 {
		return sharedView{}, fmt.Errorf("vault: %s: want 32 bytes, have %d", keyFile, len(key))
	}
	var keys [3][]byte
	for i, label := range []string{metaLabel, keysLabel, auditLabel} {
		k, err := hkdf.Key(sha256.New, key, nil, label, 32)
		if err != nil {
			return sharedView{}, fmt.Errorf("vault: %w", err)
		}
		keys[i] = k
	}
	sealed, err := backend.Sealed(meta, keys[0])
	clear(keys[0])
	if err != nil {
		return sharedView{}, fmt.Errorf("vault: %w", err)
	}
	return sharedView{meta: sealed, k: keyer{mac: keys[1]}, auditKey: keys[2]}, nil
}

// readShared is deriveShared with the key in dir, which it never makes.
func readShared(dir string, meta backend.Meta) (sharedView, error) {
	key, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return sharedView{}, fmt.Errorf("vault: %w", err)
	}
	return deriveShared(key, meta)
}

// proveKey reads the check value in tx (of a sealed Meta): fresh when the
// store holds none yet, which it then writes if write is set; [ErrOtherKey]
// when the value does not open under this key.
func proveKey(tx backend.Tx, write bool) (fresh bool, err error) {
	v, err := tx.Get(checkKey)
	switch {
	case errors.Is(err, backend.ErrNotFound):
		if write {
			return true, tx.Put(checkKey, []byte(checkValue))
		}
		return true, nil
	case errors.Is(err, backend.ErrTampered):
		return false, ErrOtherKey
	case err != nil:
		return false, err
	case !bytes.Equal(v, []byte(checkValue)):
		return false, ErrOtherKey
	}
	return false, nil
}

// writeObject is [spill.Write] in a shared store: the first inlineMax bytes
// are kept in memory, and an item that outgrows them streams into a new
// upload.
func (s *spill) writeObject(p []byte) (int, error) {
	if s.up == nil && s.buf.Len()+len(p) <= inlineMax {
		s.buf.Write(p)
	} else {
		if s.up == nil {
			up, err := s.b.s.objects.Create(s.b.s.ctx)
			if err != nil {
				return 0, dbErr("create object", err)
			}
			s.up = up
			if _, err := up.Write(s.buf.Bytes()); err != nil {
				return 0, dbErr("write object", err)
			}
			s.buf = bytes.Buffer{}
		}
		if _, err := s.up.Write(p); err != nil {
			return 0, dbErr("write object", err)
		}
	}
	s.n += int64(len(p))
	return len(p), nil
}

// commitObjects commits the uploads of the batch's items, before the
// transaction that references them; b.mu is held. On an error the batch
// is discarded, which aborts the uploads left and deletes the objects
// committed.
func (b *Batch) commitObjects() error {
	for _, p := range b.items {
		if p.up == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(b.s.ctx, objectTimeout)
		n, err := p.up.Commit(ctx)
		cancel()
		if err != nil {
			return err
		}
		name := p.up.Name()
		p.up = nil
		b.objects = append(b.objects, name)
		if n != p.size {
			return fmt.Errorf("object holds %d bytes, not %d", n, p.size)
		}
		p.object = name
	}
	return nil
}

// abortUploads aborts the uploads of items not committed.
func (b *Batch) abortUploads(items []*pending) {
	for _, p := range items {
		if p.up != nil {
			abortUpload(b.s, p.up)
			p.up = nil
		}
	}
}

// deleteObjects deletes the objects the batch committed; b.mu is held. A
// failure leaves them to the reaper.
func (b *Batch) deleteObjects() {
	b.s.deleteObjects(b.objects, "delete the object of a failed batch")
	b.objects = nil
}

// deleteObjects deletes the shared store's objects names, each within
// metaTimeout, even once the vault is closing; a failure is logged with
// what, and the reaper removes the object later.
func (s *Store) deleteObjects(names []string, what string) {
	for _, name := range names {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), metaTimeout)
		if err := s.objects.Delete(ctx, name); err != nil {
			s.log.Warn("vault: "+what, "err", dbErr("delete object", err))
		}
		cancel()
	}
}

func abortUpload(s *Store, up backend.Upload) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), metaTimeout)
	defer cancel()
	if err := up.Abort(ctx); err != nil {
		s.log.Warn("vault: abort an upload", "err", dbErr("abort upload", err))
	}
}

// reaper deletes a shared store's committed blobs that no item references,
// in two looks reapEvery apart: a blob between its commit and its batch's
// transaction is unreferenced for a moment, never for reapEvery.
type reaper struct {
	mu       sync.Mutex
	running  bool
	last     time.Time       // when the last look began
	suspects map[string]bool // unreferenced at the last look
	looks    int             // looks finished
	wg       sync.WaitGroup
}

// due reports whether a look should begin at the tick at.
func (r *reaper) due(at time.Time, every time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.running && (r.last.IsZero() || at.Sub(r.last) >= every)
}

// start begins a look in its own goroutine: it crosses the network, which
// the schedule's goroutine must not wait for.
func (r *reaper) start(s *Store) {
	r.mu.Lock()
	r.running, r.last = true, time.Now()
	suspects := r.suspects
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		next, n, err := s.reap(suspects)
		r.mu.Lock()
		r.running = false
		r.looks++
		if err == nil {
			r.suspects = next
		}
		r.mu.Unlock()
		switch {
		case err != nil && s.ctx.Err() == nil:
			s.log.Warn("vault: look for unreferenced objects", "err", dbErr("reap", err))
		case n > 0:
			s.log.Info("vault: removed objects of failed batches", "count", n)
		}
	}()
}

// wait waits for a look under way.
func (r *reaper) wait() { r.wg.Wait() }

// reap removes abandoned uploads, then deletes the blobs found
// unreferenced now and in the last look (suspects), and returns the blobs
// unreferenced now. The blobs are listed before the records are read, so
// a blob whose batch commits in between is seen referenced.
func (s *Store) reap(suspects map[string]bool) (map[string]bool, int, error) {
	ctx := s.ctx
	if _, err := s.objects.Sweep(ctx, s.idle); err != nil {
		return nil, 0, err
	}
	var names []string
	if err := s.objects.List(ctx, func(name string, _ int64) error {
		names = append(names, name)
		return nil
	}); err != nil {
		return nil, 0, err
	}
	r, err := loadRefs(ctx, s.meta)
	if err != nil {
		return nil, 0, err
	}
	next := make(map[string]bool)
	removed := 0
	for _, name := range names {
		if r.objects[name] {
			continue
		}
		if !suspects[name] {
			next[name] = true
			continue
		}
		if err := s.objects.Delete(ctx, name); err != nil {
			return nil, removed, err
		}
		removed++
	}
	return next, removed, nil
}

// CheckShared tells whether the vault key in dir is the one the shared
// stores were made with, without opening the vault: nil when it is, or
// when the stores hold no vault yet (fresh), with or without a key in dir;
// [ErrOtherKey] when another key made them. It writes nothing.
func CheckShared(ctx context.Context, dir string, sh Shared) (fresh bool, err error) {
	key, err := os.ReadFile(filepath.Join(dir, keyFile))
	if errors.Is(err, os.ErrNotExist) {
		// Without a key, only a store that holds no vault is fine.
		err := sh.Meta.View(ctx, func(tx backend.Tx) error {
			_, err := tx.Get(checkKey)
			return err
		})
		if errors.Is(err, backend.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, dbErr("check key", err)
		}
		return false, fmt.Errorf("vault: %s is missing: %w", keyFile, os.ErrNotExist)
	}
	if err != nil {
		return false, fmt.Errorf("vault: %w", err)
	}
	v, err := deriveShared(key, sh.Meta)
	if err != nil {
		return false, err
	}
	clear(v.auditKey)
	err = v.meta.View(ctx, func(tx backend.Tx) error {
		var err error
		fresh, err = proveKey(tx, false)
		return err
	})
	if err != nil && !errors.Is(err, ErrOtherKey) {
		err = dbErr("check key", err)
	}
	return fresh, err
}

// AccountShared accounts for the blobs of the shared store whose key is in
// dir, as [Account] does for files: committed blobs that no item references
// (Orphan bytes, OrphanFiles blobs) and items whose blob is not committed
// (Missing). Uploads not yet committed are the object store's own to list.
// It writes nothing. While front-ends commit, a blob committed between
// the listing and the reading of the records counts as Missing.
func AccountShared(ctx context.Context, dir string, sh Shared) (Accounting, error) {
	var a Accounting
	v, err := readShared(dir, sh.Meta)
	if err != nil {
		return a, fmt.Errorf("vault: account: %w", err)
	}
	clear(v.auditKey)
	// Blobs first, records second: a batch committing in between is
	// seen with its records.
	blobs := map[string]int64{}
	if err := sh.Blobs.List(ctx, func(name string, size int64) error {
		blobs[name] = size
		return nil
	}); err != nil {
		return a, fmt.Errorf("vault: account: %w", dbErr("list objects", err))
	}
	r, err := loadRefs(ctx, v.meta)
	if err != nil {
		return a, fmt.Errorf("vault: account: %w", dbErr("read items", err))
	}
	a.Items, a.Referenced = r.items, r.bytes
	for name, size := range blobs {
		if !r.objects[name] {
			a.Orphan += size
			a.OrphanFiles++
		}
	}
	for name := range r.objects {
		if _, ok := blobs[name]; !ok {
			a.Missing++
		}
	}
	return a, nil
}
