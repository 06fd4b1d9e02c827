package vault_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"

	"cleandrop/vault"
)

func TestRecords(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	opts := vault.Options{Agencies: []vault.Agency{{ID: "acc", Name: "A", Recipients: []age.Recipient{id.Recipient()}}}}
	s := openBadger(t, dir, opts)
	if _, err := s.Record("officer", "alice"); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("absent record: %v", err)
	}
	for _, n := range []string{"carol", "alice", "bob"} {
		if err := s.PutRecord("officer", n, []byte("v-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	s.PutRecord("seen", "alice/CD-1", []byte("3"))
	s.PutRecord("officer", "bob", []byte("v-bob2"))
	rs, err := s.Records("officer")
	if err != nil || len(rs) != 3 || rs[0].ID != "alice" || string(rs[1].Value) != "v-bob2" || rs[2].ID != "carol" {
		t.Fatalf("Records = %+v, %v", rs, err)
	}
	if err := s.DeleteRecord("officer", "alice"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openBadger(t, dir, opts)
	if rs, _ := s.Records("officer"); len(rs) != 2 {
		t.Fatalf("after reopen: %+v", rs)
	}
	if v, _ := s.Record("seen", "alice/CD-1"); string(v) != "3" {
		t.Fatalf("seen = %q", v)
	}
	for _, bad := range [][2]string{{"", "x"}, {"a/b", "x"}, {"officer", ""}} {
		if s.PutRecord(bad[0], bad[1], nil) == nil {
			t.Errorf("PutRecord(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestAddSealed(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	s := openBadger(t, t.TempDir(), vault.Options{Agencies: []vault.Agency{{ID: "acc", Name: "A", Recipients: []age.Recipient{id.Recipient()}}}})
	reply, _ := age.GenerateX25519Identity()
	b, err := s.NewCase("acc", vault.Access{Lookup: []byte("lookup-1"), KDF: "k", ReplyRecipient: reply.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := b.Add(vault.KindReport, "")
	io.WriteString(w, "report")
	w.Close()
	ref, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	aw, _ := age.Encrypt(&sealed, id.Recipient(), reply.Recipient())
	io.WriteString(aw, strings.Repeat("offline note ", 10000)) // spills to a blob
	aw.Close()

	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"plain text", []byte("hello\n"), vault.ErrNotAge},
		{"armored", []byte("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n"), vault.ErrNotAge},
		{"header only start", []byte("age-encryption.org/v1\n-> X25519 x\n"), vault.ErrNotAge},
		{"sealed", sealed.Bytes(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := s.Append(ref)
			defer b.Abort()
			err := b.AddSealed(vault.KindNote, bytes.NewReader(tc.in), nil)
			if !errors.Is(err, tc.err) {
				t.Fatalf("AddSealed: %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if _, err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			c, _ := s.Case(ref)
			rc, _ := s.OpenItem(ref, c.Items[len(c.Items)-1].ID)
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, tc.in) {
				t.Fatal("sealed item not stored byte for byte")
			}
		})
	}
}

func TestPost(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	s := openBadger(t, t.TempDir(), vault.Options{Agencies: []vault.Agency{{ID: "acc", Name: "A", Recipients: []age.Recipient{id.Recipient()}}}})
	reply, _ := age.GenerateX25519Identity()
	b, _ := s.NewCase("acc", vault.Access{Lookup: []byte("l"), KDF: "k", ReplyRecipient: reply.Recipient().String()})
	w, _ := b.Add(vault.KindReport, "")
	io.WriteString(w, "r")
	w.Close()
	ref, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Post(ref, "", vault.KindQuestion, nil); err == nil {
		t.Fatal("an empty post was accepted")
	}
	if err := s.Post(ref, "acknowledged", vault.KindNote, []byte("thanks")); err != nil {
		t.Fatal(err)
	}
	if err := s.Post(ref, "", vault.KindQuestion, []byte("when?")); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Case(ref)
	if c.Stage != "acknowledged" || len(c.Items) != 3 || c.Items[1].Kind != vault.KindNote || c.Items[2].Batch != 3 {
		t.Fatalf("case after posts: stage %s, items %+v", c.Stage, c.Items)
	}
	rc, _ := s.OpenItem(ref, 3)
	r, err := age.Decrypt(rc, reply)
	if err != nil {
		t.Fatalf("question not sealed to the reply key: %v", err)
	}
	if got, _ := io.ReadAll(r); string(got) != "when?" {
		t.Fatalf("question = %q", got)
	}
	if err := s.Post("CD-0000-0000", "closed", vault.KindNote, nil); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("post to unknown case: %v", err)
	}
}

func TestUpdateRecordCompareAndSwap(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	s := openBadger(t, t.TempDir(), vault.Options{Agencies: []vault.Agency{{ID: "acc", Name: "A", Recipients: []age.Recipient{id.Recipient()}}}})
	// Concurrent increments all land: each reads the value the one before
	// it stored.
	const n = 16
	errs := make(chan error, n)
	for range n {
		go func() {
			errs <- s.UpdateRecord("count", "c", func(old []byte) ([]byte, error) {
				return append(old, 'x'), nil
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Record("count", "c"); err != nil || len(v) != n {
		t.Fatalf("after %d increments: %q, %v", n, v, err)
	}
	// An error from fn comes back unchanged and stores nothing.
	stop := errors.New("stop")
	if err := s.UpdateRecord("count", "c", func([]byte) ([]byte, error) { return []byte("y"), stop }); err != stop {
		t.Fatalf("fn's error: %v", err)
	}
	if v, _ := s.Record("count", "c"); len(v) != n {
		t.Fatalf("stored after an error: %q", v)
	}
	// nil deletes; an absent record is nil to fn.
	if err := s.UpdateRecord("count", "c", func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record("count", "c"); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.UpdateRecord("count", "c", func(old []byte) ([]byte, error) {
		if old != nil {
			return nil, errors.New("old not nil")
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkUpdateRecordOnSchedule is one compare-and-swap of a record on
// the store's default schedule (commits wait for the next commit step):
// what a failed sign-in would cost if its budget were a record.
func BenchmarkUpdateRecordOnSchedule(b *testing.B) {
	id, _ := age.GenerateX25519Identity()
	s, err := vault.Open(b.TempDir(), vault.Options{Agencies: []vault.Agency{{ID: "acc", Name: "A", Recipients: []age.Recipient{id.Recipient()}}}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for range b.N {
		if err := s.UpdateRecord("throttle.login", "alice", func(old []byte) ([]byte, error) {
			return append(old[:0:0], 'x'), nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
