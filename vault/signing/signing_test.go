package signing

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"cleandrop/drop/notify/notifytest"
)

var manifest = []byte(`{"format": "cleandrop-bundle/1", "ref": "CD-7K3M-Q9XW"}` + "\n")

func TestSignVerify(t *testing.T) {
	s, err := Generate("cleandrop test (drop)")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----")) {
		t.Fatalf("not an armored signature:\n%s", sig)
	}
	v, err := ParseVerifier(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if v.Fingerprint() != s.Fingerprint() || len(strings.ReplaceAll(v.Fingerprint(), " ", "")) != 40 {
		t.Fatalf("fingerprints %q, %q", v.Fingerprint(), s.Fingerprint())
	}
	if err := v.Verify(manifest, sig); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	other, _ := Generate("someone else")
	otherSig, _ := other.Sign(manifest)
	changed := bytes.Replace(manifest, []byte("Q9XW"), []byte("Q9XV"), 1)
	for _, tc := range []struct {
		name     string
		msg, sig []byte
		want     error
		text     string
	}{
		{"manifest changed", changed, sig, ErrBadSignature, ""},
		{"another key", manifest, otherSig, ErrOtherKey, other.Fingerprint()},
		{"garbled", manifest, []byte("-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"), ErrNoSignature, ""},
		{"empty", manifest, nil, ErrNoSignature, ""},
		{"a public key", manifest, s.PublicKey(), ErrNoSignature, ""},
	} {
		err := v.Verify(tc.msg, tc.sig)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want %v mentioning %q", tc.name, err, tc.want, tc.text)
		}
	}
	if _, err := ParseVerifier([]byte("hello")); err == nil {
		t.Error("ParseVerifier accepted garbage")
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "signing")
	s, created, err := LoadOrCreate(dir, "cleandrop test")
	if err != nil || !created {
		t.Fatalf("LoadOrCreate: %v, created %v", err, created)
	}
	for name, mode := range map[string]os.FileMode{SecretFile: 0o600, PublicFile: 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v mode %v", name, err, st.Mode())
		}
	}
	s2, created, err := LoadOrCreate(dir, "cleandrop test")
	if err != nil || created || s2.Fingerprint() != s.Fingerprint() {
		t.Fatalf("reload: %v created %v, %s vs %s", err, created, s2.Fingerprint(), s.Fingerprint())
	}
	pub, _ := os.ReadFile(filepath.Join(dir, PublicFile))
	if !bytes.Equal(pub, s.PublicKey()) || bytes.Contains(pub, []byte("PRIVATE")) {
		t.Errorf("public.asc is not the public key")
	}
	// public.asc follows the secret key: restored when lost or changed.
	for _, damage := range []func(){
		func() { os.Remove(filepath.Join(dir, PublicFile)) },
		func() { os.WriteFile(filepath.Join(dir, PublicFile), []byte("not the key"), 0o644) },
	} {
		damage()
		if _, _, err := LoadOrCreate(dir, "x"); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, PublicFile)); !bytes.Equal(b, s.PublicKey()) {
			t.Error("public.asc was not restored from the secret key")
		}
	}
	os.Chmod(filepath.Join(dir, SecretFile), 0o644)
	if _, _, err := LoadOrCreate(dir, "x"); !errors.Is(err, ErrInsecure) {
		t.Errorf("world-readable secret key: %v", err)
	}
	os.Remove(filepath.Join(dir, SecretFile))
	if _, _, err := LoadOrCreate(dir, "x"); err == nil {
		t.Error("a lost secret key was silently replaced")
	}
}

// TestGPGAgrees checks signatures against GnuPG in both directions.
func TestGPGAgrees(t *testing.T) {
	g := notifytest.NewGPG(t)
	s, _ := Generate("cleandrop test")
	sig, _ := s.Sign(manifest)
	dir := t.TempDir()
	m, sg := filepath.Join(dir, "manifest.json"), filepath.Join(dir, "manifest.json.sig")
	os.WriteFile(m, manifest, 0o600)
	os.WriteFile(sg, sig, 0o600)
	g.Run(s.PublicKey(), "--import")
	if _, stderr, err := g.Try(nil, "--verify", sg, m); err != nil {
		t.Fatalf("gpg --verify refused a good signature: %v\n%s", err, stderr)
	}
	os.WriteFile(m, bytes.Replace(manifest, []byte("Q9XW"), []byte("Q9XV"), 1), 0o600)
	if _, _, err := g.Try(nil, "--verify", sg, m); err == nil {
		t.Fatal("gpg --verify accepted a changed manifest")
	}

	// A signature gpg makes with its own key: ours says "another key".
	fpr := g.GenKey("someone@example.org", "ed25519", "sign", "never")
	os.WriteFile(m, manifest, 0o600)
	gsig := g.Run(nil, "--armor", "--detach-sign", "--local-user", fpr, "--output", "-", m)
	v, _ := ParseVerifier(s.PublicKey())
	if err := v.Verify(manifest, gsig); !errors.Is(err, ErrOtherKey) || !strings.Contains(err.Error(), Format(mustHex(fpr))) {
		t.Errorf("gpg's own signature: %v", err)
	}
	// And a key exported by gpg verifies gpg's signature here.
	gv, err := ParseVerifier([]byte(g.ExportPublic(fpr)))
	if err != nil {
		t.Fatal(err)
	}
	if err := gv.Verify(manifest, gsig); err != nil {
		t.Errorf("gpg's signature with gpg's key: %v", err)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestTimesAreDays(t *testing.T) {
	s, _ := Generate("cleandrop test")
	sig, _ := s.Sign(manifest)
	blk, err := armor.Decode(bytes.NewReader(sig))
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.NewReader(blk.Body).Next()
	if err != nil {
		t.Fatal(err)
	}
	for what, tm := range map[string]time.Time{"key": s.e.PrimaryKey.CreationTime, "signature": p.(*packet.Signature).CreationTime} {
		if tm.UTC() != midnight(tm) {
			t.Errorf("%s time %v is not a day", what, tm)
		}
	}
}

// FuzzVerify feeds the verifier arbitrary signature files: it must refuse
// them with one of its errors, never accept one or panic.
func FuzzVerify(f *testing.F) {
	s, _ := Generate("cleandrop fuzz")
	good, _ := s.Sign(manifest)
	f.Add(good)
	f.Add([]byte("-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJ\n-----END PGP SIGNATURE-----\n"))
	f.Add(s.PublicKey())
	v, _ := ParseVerifier(s.PublicKey())
	f.Fuzz(func(t *testing.T, sig []byte) {
		err := v.Verify(bytes.Replace(manifest, []byte("CD-"), []byte("XX-"), 1), sig)
		if err == nil {
			t.Fatal("a signature over other bytes was accepted")
		}
		if !errors.Is(err, ErrNoSignature) && !errors.Is(err, ErrOtherKey) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrKeyInvalid) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}
