package vault_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/storetest"
)

// commitCase commits a case of agency a1 with a text report and an
// attachment of n random bytes (n > 4 KiB goes to a pack).
func commitCase(s *vault.Store, acc vault.Access, n int) (string, error) {
	b, err := s.NewCase("a1", acc)
	if err != nil {
		return "", err
	}
	defer b.Abort()
	file := make([]byte, n)
	rand.Read(file)
	for _, it := range []struct {
		kind       vault.Kind
		name, data []byte
	}{{vault.KindReport, nil, []byte("report")}, {vault.KindAttachment, []byte("f"), file}} {
		w, err := b.Add(it.kind, string(it.name))
		if err != nil {
			return "", err
		}
		if _, err := w.Write(it.data); err != nil {
			return "", err
		}
		if err := w.Close(); err != nil {
			return "", err
		}
	}
	return b.Commit()
}

// A backup taken while cases are committed restores into a vault that
// holds every case committed before it began, each exactly as the live
// vault holds it, item by item.
func TestBackupWhileCommitting(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	var before []string
	for i := range 6 {
		acc, _ := storetest.NewAccess(t)
		ref, err := commitCase(f.Store, acc, []int{100, 200 << 10, 9 << 10}[i%3])
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, ref)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var during atomic.Int32
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				acc, _ := storetest.NewAccess(t)
				if _, err := commitCase(f.Store, acc, 150<<10); err != nil {
					t.Errorf("commit under backup: %v", err)
					return
				}
				during.Add(1)
			}
		})
	}
	for during.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	parts := map[string][]byte{}
	var order []string
	err := f.Store.Backup(func(name string, size int64, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if int64(len(b)) != size {
			return fmt.Errorf("%s: %d bytes, said %d", name, len(b), size)
		}
		parts[name], order = b, append(order, name)
		return nil
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "vault")
	var kv bytes.Buffer
	for _, name := range order {
		if strings.HasPrefix(name, vault.BackupKV) {
			kv.Write(parts[name])
			continue
		}
		p := vault.RestorePath(dir, name)
		if p == "" {
			t.Fatalf("part %s has no place in a vault", name)
		}
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, parts[name], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := vault.Restore(dir, &kv); err != nil {
		t.Fatal(err)
	}
	if err := vault.Restore(dir, bytes.NewReader(nil)); err == nil {
		t.Error("Restore over a restored vault succeeded")
	}
	r := openBadger(t, dir, f.Opts)
	got, err := r.Cases()
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, c := range got {
		in[c.Ref] = true
		live, err := f.Store.Case(c.Ref)
		if err != nil {
			t.Fatalf("restored case %s is not in the live vault: %v", c.Ref, err)
		}
		if !reflect.DeepEqual(c, live) {
			t.Errorf("case %s restored as %+v, live %+v", c.Ref, c, live)
		}
		for _, it := range c.Items {
			a, errA := storetest.Decrypt(t, r, c.Ref, it.ID, f.Agency)
			b, errB := storetest.Decrypt(t, f.Store, c.Ref, it.ID, f.Agency)
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("case %s item %d: restored %d bytes (%v), live %d bytes (%v)", c.Ref, it.ID, len(a), errA, len(b), errB)
			}
		}
	}
	for _, ref := range before {
		if !in[ref] {
			t.Errorf("case %s, committed before the backup, is not in it", ref)
		}
	}
	t.Logf("%d cases restored, %d parts; %d cases committed meanwhile", len(got), len(parts), during.Load())
}

// RestorePath takes only plain file names of the packs and blobs.
func TestRestorePath(t *testing.T) {
	for name, ok := range map[string]bool{
		"vault/packs/2026-12-02-00.pack": true,
		"vault/blobs/abc.age":            true,
		"vault/packs/../vault.key":       false,
		"vault/packs/":                   false,
		"vault/packs/a/b":                false,
		"vault/vault.key":                false,
		"vault/badger/0000":              false,
	} {
		if got := vault.RestorePath("/v", name) != ""; got != ok {
			t.Errorf("RestorePath(%q) = %v, want %v", name, got, ok)
		}
	}
}
