package vault_test

import (
	"bytes"
	"errors"
	"testing"

	"cleandrop/vault"
	"cleandrop/vault/storetest"
)

// TestSweepClearsGaps leaves ciphertext of a batch that never committed
// between two committed extents of one pack (a batch of small items gives
// its slot back before its commit, and the next batch appends after it):
// the next start clears it, and Account finds nothing left over while the
// committed items still read back.
func TestSweepClearsGaps(t *testing.T) {
	f := storetest.NewFixture(t, openBadger)
	first, acc, _ := newReport(t, f.Store, "first report, committed")

	// A second report with the first one's lookup fails at its commit,
	// after its small item went to the pack.
	b, err := f.Store.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, b, vault.KindReport, "", []byte("never committed"))
	if _, err := b.Commit(); !errors.Is(err, vault.ErrExists) {
		t.Fatalf("commit with a used lookup: %v, want ErrExists", err)
	}
	last, _, _ := newReport(t, f.Store, "last report, committed after the gap")
	if err := f.Store.Close(); err != nil {
		t.Fatal(err)
	}

	a, err := vault.Account(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Orphan == 0 {
		t.Fatalf("no orphan bytes before the sweep (%+v): the test does not make a gap", a)
	}
	f.Store = openBadger(t, f.Dir, f.Opts)
	if err := f.Store.Close(); err != nil {
		t.Fatal(err)
	}
	a, err = vault.Account(f.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Orphan != 0 || a.OrphanFiles != 0 || a.Missing != 0 || a.Items != 2 {
		t.Errorf("after the sweep: %+v, want 2 items and nothing orphan or missing", a)
	}
	f.Store = openBadger(t, f.Dir, f.Opts)
	for ref, want := range map[string]string{first: "first report, committed", last: "last report, committed after the gap"} {
		got, err := storetest.Decrypt(t, f.Store, ref, 1, f.Agency)
		if err != nil || !bytes.Equal(got, []byte(want)) {
			t.Errorf("case %s after the sweep: %q, %v", ref, got, err)
		}
	}
}
