package vault_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"cleandrop/vault"
	"cleandrop/vault/bundle"
	"cleandrop/vault/storetest"

	"filippo.io/age"
)

// FuzzReceiveReferral feeds arbitrary bytes to the desk's referral
// reader, against a store holding the case the seeds refer. A refused
// bundle leaves the store as it was (no new case, no custody link); an
// accepted one makes exactly one case, for the agency the referral names,
// and records the SHA-256 of exactly the bytes read. After the first, each
// is a referral again, with a reason, so that its items are read too.
func FuzzReceiveReferral(f *testing.F) {
	a1, _ := age.GenerateX25519Identity()
	a2, _ := age.GenerateX25519Identity()
	s, err := vault.Open(f.TempDir(), vault.Options{
		Agencies: []vault.Agency{
			{ID: "a1", Name: "Agency One", Recipients: []age.Recipient{a1.Recipient()}},
			{ID: "a2", Name: "Agency Two", Recipients: []age.Recipient{a2.Recipient()}},
		},
		Now:  func() time.Time { return storetest.Now },
		Tick: time.Millisecond,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	reply, _ := age.GenerateX25519Identity()
	b, err := s.NewCase("a1", vault.Access{Lookup: []byte("fuzz lookup"), ReplyRecipient: reply.Recipient().String()})
	if err != nil {
		f.Fatal(err)
	}
	for _, it := range []struct {
		kind       vault.Kind
		name, data string
	}{{vault.KindReport, "", "the report"}, {vault.KindAttachment, "Bericht.pdf", "%PDF-1.4 attached"}, {vault.KindQuestion, "", "when?"}} {
		w, err := b.Add(it.kind, it.name)
		if err != nil {
			f.Fatal(err)
		}
		w.Write([]byte(it.data))
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
	}
	ref, err := b.Commit()
	if err != nil {
		f.Fatal(err)
	}
	var exp, tarball bytes.Buffer
	if err := s.Export(&exp, ref); err != nil {
		f.Fatal(err)
	}
	if _, err := bundle.MakeReferral(bytes.NewReader(exp.Bytes()), []age.Identity{a1}, "a2", []age.Recipient{a2.Recipient()}, &tarball, bundle.OpenOptions{}); err != nil {
		f.Fatal(err)
	}
	valid := tarball.Bytes()
	f.Add(valid)
	f.Add(valid[:len(valid)-1600])
	f.Add(exp.Bytes())
	f.Add([]byte{})
	for _, at := range []int{600, 1100, len(valid) / 2, len(valid) - 1500} {
		flipped := bytes.Clone(valid)
		flipped[at] ^= 1
		f.Add(flipped)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before, err := s.Cases()
		if err != nil {
			t.Fatal(err)
		}
		from, _ := s.Case(ref)
		opts := vault.ReceiveOptions{Stage: "referred", Officer: "officer.one"}
		if len(from.Custody) > 0 { // referred before: the items are read only with a reason
			opts.Reason = vault.ReferralReasons[0]
		}
		link, err := s.ReceiveReferral(bytes.NewReader(data), ref, opts)
		after, _ := s.Cases()
		now, _ := s.Case(ref)
		if err != nil {
			if len(after) != len(before) || len(now.Custody) != len(from.Custody) {
				t.Fatalf("refused (%v), but cases %d -> %d, custody %d -> %d", err, len(before), len(after), len(from.Custody), len(now.Custody))
			}
			return
		}
		sum := sha256.Sum256(data)
		if len(after) != len(before)+1 || len(now.Custody) != len(from.Custody)+1 ||
			link.Agency != "a2" || link.Bundle != hex.EncodeToString(sum[:]) {
			t.Fatalf("accepted: cases %d -> %d, custody %d -> %d, link %+v", len(before), len(after), len(from.Custody), len(now.Custody), link)
		}
		got, err := s.Case(link.Ref)
		if err != nil || got.Agency != "a2" {
			t.Fatalf("the new case %s: %+v, %v", link.Ref, got, err)
		}
	})
}
