package vault_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cleandrop/vault"
	"cleandrop/vault/bundle"
	"cleandrop/vault/storetest"

	"filippo.io/age"
)

const identityText = "name: Canary Reporter-7f3a\ncontact: signal +976 0000 7f3a\n"

// identityFixture is a store whose agency a1 has a custodian, holding one
// case with a report, a question and an identity filed for purpose.
func identityFixture(t *testing.T) (f *storetest.Fixture, custodian, reply *age.X25519Identity, ref string) {
	t.Helper()
	f = storetest.NewFixture(t, openBadger)
	custodian, _ = age.GenerateX25519Identity()
	f.Opts.Agencies[0].Custodian = []age.Recipient{custodian.Recipient()}
	f.Reopen(t)
	acc, reply := storetest.NewAccess(t)
	b, err := f.Store.NewCase("a1", acc)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, b, vault.KindReport, "", []byte("the report"))
	ref = storetest.Commit(t, b)
	if err := f.Store.Post(ref, "", vault.KindQuestion, []byte("a question")); err != nil {
		t.Fatal(err)
	}
	b, err = f.Store.Append(ref)
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.AddIdentity(vault.PurposeBoth)
	if err != nil {
		t.Fatalf("AddIdentity: %v", err)
	}
	io.WriteString(w, identityText)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	storetest.Commit(t, b)
	return f, custodian, reply, ref
}

func TestIdentitySealedToCustodianOnly(t *testing.T) {
	f, custodian, reply, ref := identityFixture(t)
	c, err := f.Store.Case(ref)
	if err != nil {
		t.Fatal(err)
	}
	it := c.Items[len(c.Items)-1]
	if it.Kind != vault.KindIdentity || it.Purpose != vault.PurposeBoth || it.Batch != 3 {
		t.Fatalf("identity item = %+v", it)
	}
	for _, other := range c.Items[:len(c.Items)-1] {
		if other.Purpose != "" {
			t.Errorf("item %d (%s) has a purpose %q", other.ID, other.Kind, other.Purpose)
		}
	}
	open := func(id age.Identity) ([]byte, error) {
		rc, err := f.Store.OpenItem(ref, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		r, err := age.Decrypt(rc, id)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}
	got, err := open(custodian)
	if err != nil || string(got) != identityText {
		t.Fatalf("custodian opens %q, %v", got, err)
	}
	for name, id := range map[string]age.Identity{"case officer": f.Agency, "reporter's reply key": reply, "other agency": f.Other} {
		var nm *age.NoIdentityMatchError
		if _, err := open(id); !errors.As(err, &nm) {
			t.Errorf("%s: opening the identity gave %v, want no identity match", name, err)
		}
	}
	// The custodian's key opens nothing else of the case.
	rc, _ := f.Store.OpenItem(ref, 1)
	defer rc.Close()
	if _, err := age.Decrypt(rc, custodian); err == nil {
		t.Error("the custodian's key opens the report")
	}
}

func TestIdentityRefused(t *testing.T) {
	f, _, _, ref := identityFixture(t)
	b, err := f.Store.Append(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	if _, err := b.AddIdentity("fame"); err == nil {
		t.Error("AddIdentity took an unknown purpose")
	}
	if _, err := b.Add(vault.KindIdentity, ""); err == nil {
		t.Error("Add took an identity, which would be sealed to the case officers")
	}
	if err := b.AddSealed(vault.KindIdentity, strings.NewReader("age-encryption.org/v1\n-> X25519 x\n--- y\n"), nil); err == nil {
		t.Error("AddSealed took an identity sealed elsewhere")
	}

	// An agency without a custodian takes no identity.
	ref2, _, _ := f.NewReport(t, "another report")
	f.Opts.Agencies[0].Custodian = nil
	f.Reopen(t)
	b2, err := f.Store.Append(ref2)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Abort()
	if _, err := b2.AddIdentity(vault.PurposeReward); !errors.Is(err, vault.ErrNoCustodian) {
		t.Errorf("AddIdentity without a custodian: %v, want ErrNoCustodian", err)
	}
}

func TestIdentityExportOpen(t *testing.T) {
	f, custodian, _, ref := identityFixture(t)
	tarball := export(t, f.Store, ref)
	if bytes.Contains(tarball, []byte("Canary")) {
		t.Fatal("the bundle holds the identity in plaintext")
	}

	t.Run("case officer", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		th, err := bundle.Open(bytes.NewReader(tarball), []age.Identity{f.Agency}, out)
		if err != nil {
			t.Fatalf("OpenBundle: %v", err)
		}
		if len(th.Entries) != 3 || th.Entries[0].Text != "the report" || th.Entries[0].Sealed {
			t.Fatalf("entries = %+v", th.Entries)
		}
		id := th.Entries[2]
		if id.Kind != vault.KindIdentity || !id.Sealed || id.Purpose != vault.PurposeBoth || id.Text != "" || id.File != "" {
			t.Fatalf("identity entry = %+v", id)
		}
		noCanary(t, out)
		txt, _ := os.ReadFile(filepath.Join(out, "thread.txt"))
		if !strings.Contains(string(txt), "Purpose: protection and reward") || !strings.Contains(string(txt), "sealed to the agency's custodian") {
			t.Errorf("thread.txt does not say the identity is sealed to the custodian:\n%s", txt)
		}
	})
	t.Run("custodian", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		th, err := bundle.Open(bytes.NewReader(tarball), []age.Identity{custodian}, out)
		if err != nil {
			t.Fatalf("OpenBundle: %v", err)
		}
		id := th.Entries[2]
		if id.Sealed || id.Text != identityText || id.Purpose != vault.PurposeBoth {
			t.Fatalf("identity entry = %+v", id)
		}
		if !th.Entries[0].Sealed || !th.Entries[1].Sealed || th.Entries[0].Text != "" {
			t.Errorf("the custodian's key opened case items: %+v", th.Entries[:2])
		}
		got, _ := os.ReadFile(filepath.Join(out, id.File))
		if string(got) != identityText {
			t.Errorf("%s = %q", id.File, got)
		}
	})
	t.Run("another agency", func(t *testing.T) {
		_, err := bundle.Open(bytes.NewReader(tarball), []age.Identity{f.Other}, filepath.Join(t.TempDir(), "out"))
		var nm *age.NoIdentityMatchError
		if !errors.As(err, &nm) {
			t.Errorf("OpenBundle with a stranger's key: %v, want no identity match", err)
		}
	})
	t.Run("damaged identity", func(t *testing.T) {
		// A sealed identity the key cannot open is still checked.
		ents := readTar(t, tarball)
		last := &ents[len(ents)-1]
		last.body = bytes.Clone(last.body)
		last.body[len(last.body)-1] ^= 1
		_, err := bundle.Open(bytes.NewReader(writeTar(t, ents)), []age.Identity{f.Agency}, filepath.Join(t.TempDir(), "out"))
		if !errors.Is(err, bundle.ErrTampered) {
			t.Errorf("OpenBundle of a damaged identity: %v, want ErrTampered", err)
		}
	})
}

// noCanary fails if any file under dir holds the identity's plaintext.
func noCanary(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("Canary")) {
				t.Errorf("%s holds the identity", path)
			}
		}
		return nil
	})
}

func TestIdentityNotReferred(t *testing.T) {
	f, _, _, ref := identityFixture(t)
	var out bytes.Buffer
	info, err := bundle.MakeReferral(bytes.NewReader(export(t, f.Store, ref)), []age.Identity{f.Agency},
		"a2", []age.Recipient{f.Other.Recipient()}, &out, bundle.OpenOptions{})
	if err != nil {
		t.Fatalf("MakeReferral: %v", err)
	}
	if info.Items != 2 || info.Identities != 1 {
		t.Errorf("referral carries %d items and leaves %d identities, want 2 and 1", info.Items, info.Identities)
	}
	link, err := f.Store.ReceiveReferral(bytes.NewReader(out.Bytes()), ref, vault.ReceiveOptions{Officer: "officer.one"})
	if err != nil {
		t.Fatalf("ReceiveReferral: %v", err)
	}
	to, err := f.Store.Case(link.Ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range to.Items {
		if it.Kind == vault.KindIdentity {
			t.Error("the identity travelled with the referral")
		}
	}
}
