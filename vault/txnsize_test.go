package vault_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/storetest"
)

// TestBatchFull: a batch of many files with long names, for an agency
// with post-quantum recipients, is refused at the item that would not fit
// in one commit, before its data; what it holds until then commits whole.
// Before, 1000 such files failed at the commit, after all were sent.
func TestBatchFull(t *testing.T) {
	fx := storetest.NewFixture(t, openBadger)
	acc, _ := storetest.NewAccess(t)
	b, err := fx.Store.NewCase("pq", acc)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	name := strings.Repeat("n", 1000)
	added := 0
	for ; added < 1000; added++ {
		w, err := b.Add(vault.KindAttachment, name)
		if errors.Is(err, vault.ErrBatchFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(w, "file %d", added); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("1000-byte names, post-quantum agency: %d files fit in one batch", added)
	if added == 1000 || added < 100 {
		t.Fatalf("%d files fit: want the batch refused short of 1000 and not before 100", added)
	}
	ref := storetest.Commit(t, b)
	c, err := fx.Store.Case(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) != added {
		t.Fatalf("the case holds %d items, want %d", len(c.Items), added)
	}
	got, err := storetest.Decrypt(t, fx.Store, ref, added, fx.PQAgency)
	if err != nil || string(got) != fmt.Sprintf("file %d", added-1) {
		t.Fatalf("the last item: %q, %v", got, err)
	}
}

// TestBatchFullInline: with every pack slot held, a batch of many small
// items does not keep them inline in the commit's transaction when they
// would not fit there: it waits for a slot and commits whole. Before, it
// failed at the commit.
func TestBatchFullInline(t *testing.T) {
	fx := storetest.NewFixture(t, openBadger)
	opts := fx.Opts
	opts.MaxUploads = 1
	s := openBadger(t, t.TempDir(), opts)
	// A large upload holds the only slot.
	big, bw := startLarge(t, s, make([]byte, 200<<10))

	acc, _ := storetest.NewAccess(t)
	b, err := s.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	small := make([]byte, 3<<10) // under the value threshold once sealed
	const n = 900
	for range n {
		rand.Read(small)
		storetest.Put(t, b, vault.KindAttachment, "", small)
	}
	done := make(chan error, 1)
	var ref string
	go func() {
		var err error
		ref, err = b.Commit()
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the commit did not wait for a slot: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	bw.Close()
	big.Abort()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the commit did not go on once a slot was free")
	}
	got, err := storetest.Decrypt(t, s, ref, n, fx.Agency)
	if err != nil || !bytes.Equal(got, small) {
		t.Fatalf("the last item: %v", err)
	}
}
