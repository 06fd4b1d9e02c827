package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"cleandrop/vault/backend"
	"cleandrop/vault/backend/badgerstore"
)

// span is one committed item's bytes in a pack file.
type span struct{ off, end int64 }

// refs are what the committed items reference: blob files by name,
// extents of pack files by pack name, and a shared store's objects.
type refs struct {
	items   int
	bytes   int64
	blobs   map[string]bool
	spans   map[string][]span
	objects map[string]bool
}

// loadRefs reads every item record.
func loadRefs(ctx context.Context, meta backend.Meta) (refs, error) {
	var r refs
	err := meta.View(ctx, func(tx backend.Tx) error {
		r = refs{blobs: make(map[string]bool), spans: make(map[string][]span), objects: make(map[string]bool)}
		return tx.Scan([]byte("i/"), func(_, v []byte) error {
			var rec itemRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			switch {
			case rec.Blob != "":
				r.blobs[rec.Blob] = true
			case rec.Pack != "":
				r.spans[rec.Pack] = append(r.spans[rec.Pack], span{rec.Off, rec.Off + rec.Size})
			case rec.Object != "":
				r.objects[rec.Object] = true
			default:
				return nil
			}
			r.items++
			r.bytes += rec.Size
			return nil
		})
	})
	for _, ss := range r.spans {
		slices.SortFunc(ss, func(a, b span) int { return int(a.off - b.off) })
	}
	return r, err
}

// gaps are the ranges of [0, end) that no span of ss (sorted) covers.
func gaps(ss []span, end int64) []span {
	var out []span
	var pos int64
	for _, s := range ss {
		if s.off > pos {
			out = append(out, span{pos, min(s.off, end)})
		}
		pos = max(pos, s.end)
	}
	if pos < end {
		out = append(out, span{pos, end})
	}
	return out
}

// nonZero counts the bytes of f in g that are not zero: what is left there
// of a batch that never committed.
func nonZero(f *os.File, g span) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for off := g.off; off < g.end; {
		m, err := f.ReadAt(buf[:min(int64(len(buf)), g.end-off)], off)
		for _, c := range buf[:m] {
			if c != 0 {
				n++
			}
		}
		off += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// zeroRange writes n zero bytes to f at off.
func zeroRange(f *os.File, off, n int64) error {
	buf := make([]byte, min(n, 64<<10))
	for n > 0 {
		m, err := f.WriteAt(buf[:min(n, int64(len(buf)))], off)
		if err != nil {
			return err
		}
		off += int64(m)
		n -= int64(m)
	}
	return nil
}

// An Accounting compares what a vault holds on disk with what its committed
// items reference; see [Account].
type Accounting struct {
	Items      int   // committed items stored in pack or blob files
	Referenced int64 // their bytes
	// Orphan counts the bytes of pack files outside every committed
	// item that are not zero, plus the bytes of blob and temporary files
	// that nothing references: ciphertext of batches that never committed.
	Orphan      int64
	OrphanFiles int // blob and temporary files nothing references
	Missing     int // items whose bytes lie beyond their pack's end or whose blob is gone
}

// Account opens the vault in dir read-only, which needs no server running
// on it, and accounts for its pack and blob files. It changes nothing on
// disk: a vault that [Open] has swept has no orphan bytes or files.
func Account(dir string) (Accounting, error) {
	var a Accounting
	key, err := os.ReadFile(filepath.Join(dir, keyFile))
	if err != nil {
		return a, fmt.Errorf("vault: account: %w", err)
	}
	db, err := badger.Open(badgerOptions(filepath.Join(dir, badgerDir), key, memTableSize, slog.New(slog.DiscardHandler)).WithReadOnly(true))
	clear(key)
	if err != nil {
		return a, fmt.Errorf("vault: account: open badger: %w", err)
	}
	defer db.Close()
	r, err := loadRefs(context.Background(), badgerstore.NewMeta(db))
	if err != nil {
		return a, fmt.Errorf("vault: account: %w", err)
	}
	a.Items, a.Referenced = r.items, r.bytes
	pdir := filepath.Join(dir, packDir)
	ents, err := os.ReadDir(pdir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return a, fmt.Errorf("vault: account: %w", err)
	}
	seen := make(map[string]bool)
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			fi, err := e.Info()
			if err != nil {
				return a, fmt.Errorf("vault: account: %w", err)
			}
			a.Orphan += fi.Size()
			a.OrphanFiles++
			continue
		}
		if packDay(name) == "" || !e.Type().IsRegular() {
			continue
		}
		seen[name] = true
		f, err := openBlob(filepath.Join(pdir, name))
		if err != nil {
			return a, fmt.Errorf("vault: account: %w", err)
		}
		fi, err := f.Stat()
		if err == nil {
			ss := r.spans[name]
			for _, s := range ss {
				if s.end > fi.Size() {
					a.Missing++
				}
			}
			for _, g := range gaps(ss, fi.Size()) {
				n, gerr := nonZero(f, g)
				a.Orphan += n
				if gerr != nil {
					err = gerr
					break
				}
			}
		}
		f.Close()
		if err != nil {
			return a, fmt.Errorf("vault: account: %w", err)
		}
	}
	for name, ss := range r.spans {
		if !seen[name] {
			a.Missing += len(ss)
		}
	}
	bents, err := os.ReadDir(filepath.Join(dir, blobDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return a, fmt.Errorf("vault: account: %w", err)
	}
	have := make(map[string]bool)
	for _, e := range bents {
		name := e.Name()
		have[name] = true
		if !e.Type().IsRegular() || !(strings.HasPrefix(name, tmpPrefix) || (strings.HasSuffix(name, blobExt) && !r.blobs[name])) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return a, fmt.Errorf("vault: account: %w", err)
		}
		a.Orphan += fi.Size()
		a.OrphanFiles++
	}
	for name := range r.blobs {
		if !have[name] {
			a.Missing++
		}
	}
	return a, nil
}
