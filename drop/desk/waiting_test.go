package desk

import (
	"errors"
	"testing"
	"time"

	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// TestCountWaiting follows one officer's work as cases arrive, are read,
// acknowledged and fall overdue: the digest's counts must follow it, and
// cases of other agencies never count.
func TestCountWaiting(t *testing.T) {
	f := newFixture(t)
	secret := f.enrol("alice", RoleOfficer, "acc")
	count := func(want Waiting) {
		t.Helper()
		o, err := f.acc.Officer("alice")
		if err != nil {
			t.Fatal(err)
		}
		cases, err := f.store.Cases()
		if err != nil {
			t.Fatal(err)
		}
		got, err := CountWaiting(f.store, cases, stage.EU, o, stage.Today(f.clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("CountWaiting = %+v, want %+v", got, want)
		}
	}
	count(Waiting{})
	ref1, _ := f.newCase("acc", "first")
	f.newCase("acc", "second")
	f.newCase("other", "not alice's")
	count(Waiting{New: 2, Unread: 4}) // a report and a file each

	b := f.login("alice", secret)
	if resp, _ := b.get("/cases/" + ref1); resp.StatusCode != 200 {
		t.Fatalf("open case: %d", resp.StatusCode)
	}
	count(Waiting{New: 2, Unread: 2})

	if err := f.store.Post(ref1, "acknowledged", vault.KindNote, []byte("thanks")); err != nil {
		t.Fatal(err)
	}
	count(Waiting{New: 1, Unread: 2})

	f.clock.Add(8 * 24 * time.Hour) // past the 7-day acknowledgement
	count(Waiting{New: 1, Overdue: 1, Unread: 2})
}

func TestSetDigest(t *testing.T) {
	f := newFixture(t)
	if _, err := f.acc.Add("alice", RoleOfficer, []string{"acc"}); err != nil {
		t.Fatal(err)
	}
	const key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n..."
	tests := []struct {
		name, user, email, key string
		err                    error // nil: accepted
		on                     bool  // digest on afterwards
	}{
		{"display name", "alice", "Alice <alice@agency.example>", key, ErrBadEmail, false},
		{"not an address", "alice", "alice", key, ErrBadEmail, false},
		{"header injection", "alice", "alice@agency.example\r\nBcc: x@evil.example", key, ErrBadEmail, false},
		{"unknown officer", "nobody", "a@agency.example", key, ErrNoOfficer, false},
		{"on", "alice", "alice@agency.example", key, nil, true},
		{"off", "alice", "", "", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.acc.SetDigest(tc.user, tc.email, tc.key, "")
			if !errors.Is(err, tc.err) {
				t.Fatalf("SetDigest = %v, want %v", err, tc.err)
			}
			o, _ := f.acc.Officer("alice")
			if o.Digest() != tc.on {
				t.Fatalf("digest on = %v, want %v (%+v)", o.Digest(), tc.on, o)
			}
		})
	}
	if err := f.acc.SetDigest("alice", "alice@agency.example", "", ""); err == nil {
		t.Fatal("an address without a key was accepted")
	}
	if err := f.acc.SetDigest("alice", "alice@agency.example", key, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.acc.Revoke("alice"); err != nil {
		t.Fatal(err)
	}
	if o, _ := f.acc.Officer("alice"); o.DigestEmail != "" || o.DigestKey != "" {
		t.Errorf("revoking kept the officer's address and key: %+v", o)
	}
	if err := f.acc.SetDigest("alice", "alice@agency.example", key, ""); !errors.Is(err, ErrNoOfficer) {
		t.Fatalf("revoked officer turned the digest on: %v", err)
	}
}
