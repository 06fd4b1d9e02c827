package vault_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"cleandrop/vault"
	"cleandrop/vault/storetest"
)

// TestSettleLargeCase: a case grown over several batches to more than one
// transaction can hold is settled all the same, in several; before, its
// settling failed with Badger's "Txn is too big", every day, and the
// cases after it in the day's order were never settled.
func TestSettleLargeCase(t *testing.T) {
	defer vault.SetMemTableSize(1 << 20)()
	fx := storetest.NewFixture(t, openBadger)
	acc, _ := storetest.NewAccess(t)
	b, err := fx.Store.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("n", 1000)
	ref, items := "", 0
	for batch := 0; batch < 3; batch++ {
		if batch > 0 {
			if b, err = fx.Store.Append(ref); err != nil {
				t.Fatal(err)
			}
		}
		for {
			w, err := b.Add(vault.KindAttachment, name)
			if errors.Is(err, vault.ErrBatchFull) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			items++
			fmt.Fprintf(w, "item %d", items)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		ref = storetest.Commit(t, b)
	}
	t.Logf("a case of %d items in 3 batches, each as full as one commit takes", items)
	if err := fx.Store.SettleCase(ref); err != nil {
		t.Fatalf("settle: %v", err)
	}
	fx.Reopen(t)
	c, err := fx.Store.Case(ref)
	if err != nil || len(c.Items) != items {
		t.Fatalf("after settling: %d items, %v; want %d", len(c.Items), err, items)
	}
	for _, id := range []int{1, items / 2, items} {
		got, err := storetest.Decrypt(t, fx.Store, ref, id, fx.Agency)
		if err != nil || string(got) != fmt.Sprintf("item %d", id) {
			t.Fatalf("item %d after settling: %q, %v", id, got, err)
		}
	}
}
