package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"cleandrop/vault/backend"
)

// Blobs is a [backend.Blobs] of files under one directory: uploads/ for
// uploads, blobs/ for committed blobs.
type Blobs struct {
	uploads, blobs string
	now            func() time.Time
}

// OpenBlobs opens (creating them on first use) the blob directories under
// dir. now is the clock whose day committed blobs are dated to; nil means
// [time.Now].
func OpenBlobs(dir string, now func() time.Time) (*Blobs, error) {
	if now == nil {
		now = time.Now
	}
	b := &Blobs{uploads: filepath.Join(dir, "uploads"), blobs: filepath.Join(dir, "blobs"), now: now}
	for _, d := range []string{dir, b.uploads, b.blobs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob directory: %w", err)
		}
	}
	return b, nil
}

// Create implements [backend.Blobs].
func (b *Blobs) Create(ctx context.Context) (backend.Upload, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := backend.NewName()
	f, err := os.OpenFile(filepath.Join(b.uploads, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create upload: %w", err)
	}
	return &upload{b: b, ctx: ctx, name: name, f: f}, nil
}

type upload struct {
	b    *Blobs
	ctx  context.Context
	name string

	mu   sync.Mutex
	f    *os.File // nil once committed or aborted
	size int64
	err  error
}

func (u *upload) Name() string { return u.name }

func (u *upload) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.f == nil {
		return 0, errors.New("write to a finished upload")
	}
	if u.err != nil {
		return 0, u.err
	}
	if err := u.ctx.Err(); err != nil {
		u.err = err
		return 0, err
	}
	n, err := u.f.Write(p)
	u.size += int64(n)
	if err != nil {
		u.err = fmt.Errorf("write upload: %w", err)
	}
	return n, u.err
}

func (u *upload) Commit(ctx context.Context) (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.f == nil {
		return 0, errors.New("commit of a finished upload")
	}
	f := u.f
	u.f = nil
	tmp := filepath.Join(u.b.uploads, u.name)
	fail := func(err error) (int64, error) {
		f.Close()
		os.Remove(tmp)
		return 0, err
	}
	if u.err != nil {
		return fail(u.err)
	}
	if err := errors.Join(ctx.Err(), u.ctx.Err()); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("sync upload: %w", err))
	}
	if err := f.Close(); err != nil {
		return fail(fmt.Errorf("close upload: %w", err))
	}
	final := filepath.Join(u.b.blobs, u.name)
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, backend.ErrSwept
		}
		return fail(fmt.Errorf("commit upload: %w", err))
	}
	// Dated after the rename: in uploads/ an old time would invite the
	// sweep.
	day := midnight(u.b.now())
	if err := os.Chtimes(final, day, day); err != nil {
		os.Remove(final)
		return 0, fmt.Errorf("date blob: %w", err)
	}
	if err := syncDir(u.b.blobs); err != nil {
		return 0, err
	}
	return u.size, nil
}

func (u *upload) Abort(context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.f == nil {
		return nil
	}
	u.f.Close()
	u.f = nil
	err := os.Remove(filepath.Join(u.b.uploads, u.name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort upload: %w", err)
	}
	return nil
}

// midnight is the start of t's day in UTC.
func midnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// Open implements [backend.Blobs].
func (b *Blobs) Open(ctx context.Context, name string) (backend.Blob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !backend.ValidName(name) {
		return nil, backend.ErrNotFound
	}
	f, err := os.Open(filepath.Join(b.blobs, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, backend.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open blob: %w", err)
	}
	return &blob{File: f, size: fi.Size()}, nil
}

type blob struct {
	*os.File
	size int64
}

func (b *blob) Size() int64 { return b.size }

// Delete implements [backend.Blobs].
func (b *Blobs) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !backend.ValidName(name) {
		return nil
	}
	err := os.Remove(filepath.Join(b.blobs, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return syncDir(b.blobs)
}

// List implements [backend.Blobs].
func (b *Blobs) List(ctx context.Context, fn func(name string, size int64) error) error {
	entries, err := os.ReadDir(b.blobs)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !backend.ValidName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		if err := fn(e.Name(), fi.Size()); err != nil {
			return err
		}
	}
	return nil
}

// Sweep implements [backend.Blobs]: it removes files in uploads/ last
// written more than olderThan ago. An upload still being written is
// idle only if nothing was written to it for that long.
func (b *Blobs) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	entries, err := os.ReadDir(b.uploads)
	if err != nil {
		return 0, fmt.Errorf("sweep uploads: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed or aborted since ReadDir
		}
		if err != nil {
			return n, fmt.Errorf("sweep uploads: %w", err)
		}
		if !fi.ModTime().Before(cutoff) && olderThan > 0 {
			continue
		}
		err = os.Remove(filepath.Join(b.uploads, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("sweep uploads: %w", err)
		}
		n++
	}
	return n, nil
}
