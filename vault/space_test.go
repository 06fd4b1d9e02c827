package vault_test

import (
	"bytes"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/backend/backendtest"
	"cleandrop/vault/storetest"
)

// TestSpace checks what the store does as its file system fills: below
// the configured floor it refuses new batches and cuts a long upload that
// crosses it (ErrLowSpace); below Badger's reserve it writes nothing to
// Badger (ErrNoSpace), because Badger's mapped files turn a full disk into
// SIGBUS; and each time nothing of the refused batch is left, and the store
// works again once space is back.
func TestSpace(t *testing.T) {
	const mib = 1 << 20
	var free atomic.Int64
	free.Store(1 << 40)
	defer vault.SetFreeSpace(free.Load)()
	f := storetest.NewFixture(t, openBadger)
	f.Opts.MinFree = 100 * mib
	f.Reopen(t)
	first, _, _ := newReport(t, f.Store, "before the disk filled")
	kept := storetest.StoredBytes(t, f.Dir)

	t.Run("floor refuses new batches", func(t *testing.T) {
		free.Store(99 * mib)
		defer free.Store(1 << 40)
		acc, _ := storetest.NewAccess(t)
		if _, err := f.Store.NewCase("a1", acc); !errors.Is(err, vault.ErrLowSpace) {
			t.Errorf("NewCase below the floor: %v, want ErrLowSpace", err)
		}
		if _, err := f.Store.Append(first); !errors.Is(err, vault.ErrLowSpace) {
			t.Errorf("Append below the floor: %v, want ErrLowSpace", err)
		}
	})

	t.Run("floor cuts a long upload", func(t *testing.T) {
		defer free.Store(1 << 40)
		b, err := f.Store.Append(first)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Abort()
		w, err := b.Add(vault.KindAttachment, "long.bin")
		if err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, mib)
		var werr error
		for i := 0; i < 64 && werr == nil; i++ {
			if i == 4 {
				free.Store(99 * mib) // the upload crosses the floor
			}
			_, werr = w.Write(chunk)
		}
		if !errors.Is(werr, vault.ErrLowSpace) {
			t.Fatalf("a 64 MiB upload crossing the floor: %v, want ErrLowSpace", werr)
		}
		w.Close()
		b.Abort()
		if n := storetest.StoredBytes(t, f.Dir); n != kept {
			t.Errorf("%d bytes stored after the cut upload, want %d", n, kept)
		}
	})

	t.Run("no Badger write below its reserve", func(t *testing.T) {
		defer free.Store(1 << 40)
		f.Opts.MinFree = 0 // the reserve holds even with the floor off
		f.Reopen(t)
		acc, _ := storetest.NewAccess(t)
		b, err := f.Store.NewCase("a1", acc)
		if err != nil {
			t.Fatal(err)
		}
		storetest.Put(t, b, vault.KindReport, "", []byte("on a full disk"))
		free.Store(mib)
		if _, err := b.Commit(); !errors.Is(err, vault.ErrNoSpace) {
			t.Fatalf("commit below Badger's reserve: %v, want ErrNoSpace", err)
		}
		if err := f.Store.PutRecord("space-test", "1", []byte("x")); !errors.Is(err, vault.ErrNoSpace) {
			t.Errorf("record write below Badger's reserve: %v, want ErrNoSpace", err)
		}
		if n := len(mustCases(t, f.Store)); n != 1 {
			t.Errorf("%d cases, want 1", n)
		}
		free.Store(1 << 40)
		ref, _, _ := newReport(t, f.Store, "after space came back")
		if got, err := storetest.Decrypt(t, f.Store, ref, 1, f.Agency); err != nil || !bytes.Equal(got, []byte("after space came back")) {
			t.Errorf("report after space came back: %q, %v", got, err)
		}
		if err := f.Store.Close(); err != nil {
			t.Fatal(err)
		}
		f.Store = openBadger(t, f.Dir, f.Opts) // sweeps what the refused commit left
		f.Store.Close()
		a, err := vault.Account(f.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if a.Orphan != 0 || a.OrphanFiles != 0 || a.Missing != 0 || a.Items != 2 {
			t.Errorf("accounting: %+v, want 2 items, nothing orphan or missing", a)
		}
		f.Store = openBadger(t, f.Dir, f.Opts)
	})

	t.Run("no open below Badger's reserve", func(t *testing.T) {
		defer free.Store(1 << 40)
		if err := f.Store.Close(); err != nil {
			t.Fatal(err)
		}
		free.Store(mib)
		if s, err := vault.Open(f.Dir, f.Opts); !errors.Is(err, vault.ErrNoSpace) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("Open below Badger's reserve: %v, want ErrNoSpace", err)
		}
		free.Store(1 << 40)
		f.Store = openBadger(t, f.Dir, f.Opts)
		if n := len(mustCases(t, f.Store)); n != 2 {
			t.Errorf("%d cases after reopening, want 2", n)
		}
	})
}

// TestRoomOfSharedStore: a shared store keeps nothing on the local disk
// but its key, yet files beside it (the cleaner's spool) are held to the
// free-space floor; the embedded vault's Room is its own uploads' check.
func TestRoomOfSharedStore(t *testing.T) {
	const mib = 1 << 20
	var free atomic.Int64
	free.Store(1 << 40)
	// Put back after the stores' own cleanups have closed them: their
	// schedules read the measure until then.
	t.Cleanup(vault.SetFreeSpace(free.Load))
	un, blobs := backendtest.OpenUnsure(t, t.TempDir())
	s, err := vault.OpenShared(t.TempDir(), vault.Shared{Meta: un, Blobs: blobs}, vault.Options{Tick: 10 * time.Millisecond, MinFree: 100 * mib})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := openBadger(t, t.TempDir(), vault.Options{MinFree: 100 * mib})
	for _, st := range []*vault.Store{s, e} {
		if err := st.Room(); err != nil {
			t.Fatalf("room with space: %v", err)
		}
		free.Store(99 * mib)
		if err := st.Room(); !errors.Is(err, vault.ErrLowSpace) {
			t.Fatalf("room below the floor: %v, want ErrLowSpace", err)
		}
		free.Store(1 << 40)
	}
}
