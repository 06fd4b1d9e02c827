package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"filippo.io/age"

	"cleandrop/drop/desk"
	"cleandrop/onion"
	"cleandrop/vault"
)

// fakeOnion records the client lists an officers hands tor.
type fakeOnion struct {
	mu   sync.Mutex
	sets [][]onion.ClientKey
}

func (f *fakeOnion) SetClients(_ context.Context, keys []onion.ClientKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets = append(f.sets, slices.Clone(keys))
	return nil
}

func (f *fakeOnion) calls() [][]onion.ClientKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sets)
}

// TestOfficerOnionFollowsTheSharedStore: two front-ends share one
// accounts store (as two servers on one PostgreSQL do). An officer added
// through A's control socket reaches B's officer onion at B's next sync,
// and one revoked through A leaves it; a sync that finds nothing changed
// hands tor nothing (revoking restarts tor, so a needless call costs).
func TestOfficerOnionFollowsTheSharedStore(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	st, err := vault.Open(t.TempDir(), vault.Options{Agencies: []vault.Agency{{ID: "acc", Name: "A", Recipients: []age.Recipient{id.Recipient()}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acc := desk.NewAccounts(st, nil, nil)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	newFrontEnd := func() (*officers, *fakeOnion) {
		o := &officers{acc: acc, agencies: map[string]bool{"acc": true}, log: quiet}
		f := &fakeOnion{}
		keys, err := o.clients()
		if err != nil {
			t.Fatal(err)
		}
		o.setService(f, keys)
		return o, f
	}
	addOfficer := func(name string) string {
		if _, err := acc.Add(name, "officer", []string{"acc"}); err != nil {
			t.Fatal(err)
		}
		pub, _, err := onion.NewClientKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := acc.SetClientKey(name, pub); err != nil {
			t.Fatal(err)
		}
		return pub
	}
	first := addOfficer("alice")
	a, fa := newFrontEnd()
	b, fb := newFrontEnd()

	// Nothing changed: B hands tor nothing.
	if changed, err := b.sync(false); err != nil || changed || len(fb.calls()) != 0 {
		t.Fatalf("an unchanged list was handed to tor: changed %v, %v, %d calls", changed, err, len(fb.calls()))
	}
	// Added on A (as officer add does: the account, its key, A's refresh).
	second := addOfficer("bob")
	if err := a.refresh(); err != nil {
		t.Fatal(err)
	}
	if len(fa.calls()) != 1 {
		t.Fatalf("A's refresh made %d calls", len(fa.calls()))
	}
	changed, err := b.sync(false)
	want := sortedKeys([]onion.ClientKey{{Name: clientName("alice"), Public: first}, {Name: clientName("bob"), Public: second}})
	if err != nil || !changed || len(fb.calls()) != 1 || !slices.Equal(fb.calls()[0], want) {
		t.Fatalf("B after bob was added on A: changed %v, %v, calls %v, want one with %v", changed, err, fb.calls(), want)
	}
	if changed, _ := b.sync(false); changed || len(fb.calls()) != 1 {
		t.Fatal("B handed tor the same list twice")
	}
	if changed, _ := a.sync(false); changed {
		t.Fatal("A handed tor again the list its refresh gave it")
	}
	// Revoked on A.
	if err := acc.Revoke("alice"); err != nil {
		t.Fatal(err)
	}
	if changed, err := b.sync(false); err != nil || !changed {
		t.Fatalf("B after alice was revoked on A: changed %v, %v", changed, err)
	}
	if got := fb.calls()[1]; len(got) != 1 || got[0].Name != clientName("bob") {
		t.Fatalf("B's officer onion after the revocation admits %v, want bob alone", got)
	}
}
