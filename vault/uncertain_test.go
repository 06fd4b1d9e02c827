package vault_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/backend/backendtest"
	"cleandrop/vault/storetest"
)

// openUnsure opens a shared vault over Badger whose metadata store can be
// made to lose its connection after a commit was sent.
func openUnsure(t *testing.T) (*vault.Store, *backendtest.Unsure) {
	t.Helper()
	un, blobs := backendtest.OpenUnsure(t, t.TempDir())
	f := storetest.NewFixture(t, func(t *testing.T, dir string, opts vault.Options) *vault.Store {
		opts.Tick = 10 * time.Millisecond
		s, err := vault.OpenShared(dir, vault.Shared{Meta: un, Blobs: blobs}, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	return f.Store, un
}

// TestCommitUncertain: a commit whose answer was lost says so
// (vault.ErrUncertain, a storage failure too), not that nothing was
// kept; whether it landed or not, the vault stays whole.
func TestCommitUncertain(t *testing.T) {
	s, un := openUnsure(t)
	for _, landed := range []bool{true, false} {
		acc, _ := storetest.NewAccess(t)
		b, err := s.NewCase("a1", acc)
		if err != nil {
			t.Fatal(err)
		}
		storetest.Put(t, b, vault.KindReport, "", []byte("the tender was rigged"))
		storetest.Put(t, b, vault.KindAttachment, "minutes.pdf", bytes.Repeat([]byte("minutes "), 1<<18))
		un.Arm(landed)
		_, err = b.Commit()
		b.Abort()
		if !errors.Is(err, vault.ErrUncertain) || !errors.Is(err, vault.ErrStorage) {
			t.Fatalf("landed %v: commit: %v, want vault.ErrUncertain", landed, err)
		}
		ref, _, err := s.AccessByLookup(acc.Lookup)
		var c vault.Case
		if err == nil {
			c, err = s.Case(ref)
		}
		switch {
		case landed && err != nil:
			t.Fatalf("the commit landed, but its case is not found: %v", err)
		case landed:
			for _, it := range c.Items {
				r, err := s.OpenItem(c.Ref, it.ID)
				if err != nil {
					t.Fatalf("the commit landed, but its item %d does not open: %v", it.ID, err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != it.Size {
					t.Fatalf("item %d: %d of %d bytes, %v", it.ID, n, it.Size, err)
				}
				r.Close()
			}
		case !errors.Is(err, vault.ErrNotFound):
			t.Fatalf("the commit did not land, but: %v", err)
		}
	}
	// The vault goes on.
	acc, _ := storetest.NewAccess(t)
	b, err := s.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, b, vault.KindReport, "", []byte("again"))
	if un.Armed() {
		t.Fatal("an uncertain commit still to come")
	}
	if _, err := b.Commit(); err != nil {
		t.Fatalf("a commit after the uncertain ones: %v", err)
	}
}
